"""A simulated annotator: the four clicks a person would make on an object whose mask we know, exact or
as imprecise as a hand (DEXTR's protocol: each click moved to a random object pixel near the true
extreme). The mask evaluation and DEXTR's training both click this way, and both add correction
clicks where the mask is most wrong."""
from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from converters import Box, Correction, ExtremePoints, UserError
from converters.masks import extreme_points_from_mask

#: A jittered set of clicks that contradicts itself (tiny objects) is drawn again this many times,
#: then the exact clicks are used.
TRIES = 5


def simulated_clicks(mask: np.ndarray, jitter: float = 0.0,
                     rng: np.random.Generator | None = None) -> ExtremePoints | None:
    """ExtremeNet's extreme points of the mask; with `jitter` > 0 each one is moved to a random mask pixel
    within `jitter` px of it. None for an empty mask."""
    exact = extreme_points_from_mask(mask)
    if exact is None or jitter <= 0:
        return exact
    rng = rng or np.random.default_rng()
    rows, cols = np.nonzero(mask)
    centres = np.stack([cols + 0.5, rows + 0.5], axis=1)
    for _ in range(TRIES):
        clicks = [_near(centres, point, jitter, rng) for point in (exact.top, exact.left, exact.bottom, exact.right)]
        try:
            return ExtremePoints.from_clicks(clicks)
        except UserError:
            continue
    return exact


def _near(centres: np.ndarray, point: tuple[float, float], jitter: float,
          rng: np.random.Generator) -> tuple[float, float]:
    distance = np.hypot(centres[:, 0] - point[0], centres[:, 1] - point[1])
    close = np.flatnonzero(distance <= jitter)
    if close.size == 0:
        return point
    x, y = centres[rng.choice(close)]
    return float(x), float(y)


def next_correction(made: np.ndarray, truth: np.ndarray, box: Box) -> Correction | None:
    """The correction click of the standard interactive-segmentation protocol: at the interior point
    (farthest from its border) of the largest error region inside the box; a missed region gives a
    foreground point, a spill a background one. None when nothing inside the box is wrong."""
    regions = error_regions(made, truth, box)
    if not regions:
        return None
    depth = (region := max(regions, key=lambda r: r.area)).depth()
    row, col = np.unravel_index(int(np.argmax(depth)), depth.shape)
    return region.point(row, col)


def sampled_corrections(made: np.ndarray, truth: np.ndarray, box: Box, count: int,
                        rng: np.random.Generator) -> list[Correction]:
    """Training's correction points: up to `count`, each in another error region inside the box (drawn
    with chances in proportion to their areas), at a random pixel of the region's deeper half, so the
    network learns from points near, not only at, the simulated annotator's."""
    if count <= 0:
        return []
    regions = error_regions(made, truth, box)
    points: list[Correction] = []
    while regions and len(points) < count:
        areas = np.array([r.area for r in regions], dtype=np.float64)
        region = regions.pop(int(rng.choice(len(regions), p=areas / areas.sum())))
        depth = region.depth()
        rows, cols = np.nonzero(depth >= depth.max() / 2)
        pick = int(rng.integers(len(rows)))
        points.append(region.point(rows[pick], cols[pick]))
    return points


@dataclasses.dataclass(frozen=True)
class ErrorRegion:
    area: int
    foreground: bool  # missed by the mask (a foreground correction fixes it), else spilled
    parts: np.ndarray  # the box's labelled error parts (shared by the regions of one kind)
    label: int
    x0: int
    y0: int

    def depth(self) -> np.ndarray:
        """Within the box, each pixel's distance to the region's border (the box's edge is one), 0 outside."""
        padded = np.pad((self.parts == self.label).astype(np.uint8), 1)
        return cv2.distanceTransform(padded, cv2.DIST_L2, 5)[1:-1, 1:-1]

    def point(self, row: int, col: int) -> Correction:
        return Correction(self.x0 + col + 0.5, self.y0 + row + 0.5, self.foreground)


def error_regions(made: np.ndarray, truth: np.ndarray, box: Box) -> list[ErrorRegion]:
    """Where `made` is wrong inside the box: the 8-connected parts of the misses, then of the spills."""
    height, width = truth.shape
    x0, y0, x1, y1 = box.pixels(width, height)
    regions = []
    for foreground, error in ((True, truth & ~made), (False, made & ~truth)):
        count, parts, stats, _ = cv2.connectedComponentsWithStats(error[y0:y1, x0:x1].astype(np.uint8), connectivity=8)
        regions += [ErrorRegion(int(stats[k, cv2.CC_STAT_AREA]), foreground, parts, k, x0, y0) for k in range(1, count)]
    return regions
