"""A simulated annotator: the four clicks a person would make on an object whose mask we know, exact or
as imprecise as a hand (DEXTR's protocol: each click moved to a random object pixel near the true
extreme). The mask evaluation and DEXTR's training both click this way, and both add correction
clicks where the mask is most wrong."""
from __future__ import annotations

import cv2
import numpy as np

from converters import Box, Correction, ExtremePoints, UserError
from converters.masks import extreme_points_from_mask

#: A jittered set of clicks that contradicts itself (tiny objects) is drawn again this many times,
#: then the exact clicks are used.
TRIES = 5


def simulated_clicks(mask: np.ndarray, jitter: float = 0.0, rng: np.random.Generator | None = None) -> ExtremePoints | None:
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


def _near(centres: np.ndarray, point: tuple[float, float], jitter: float, rng: np.random.Generator) -> tuple[float, float]:
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
    height, width = truth.shape
    x0, y0, x1, y1 = box.pixels(width, height)
    best: tuple[int, bool, np.ndarray] | None = None
    for foreground, error in ((True, truth & ~made), (False, made & ~truth)):
        region = error[y0:y1, x0:x1].astype(np.uint8)
        count, parts, stats, _ = cv2.connectedComponentsWithStats(region, connectivity=8)
        if count <= 1:
            continue
        largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        area = int(stats[largest, cv2.CC_STAT_AREA])
        if best is None or area > best[0]:
            best = (area, foreground, parts == largest)
    if best is None:
        return None
    _, foreground, part = best
    padded = np.pad(part.astype(np.uint8), 1)  # the box's edge counts as the region's border
    distance = cv2.distanceTransform(padded, cv2.DIST_L2, 5)[1:-1, 1:-1]
    row, col = np.unravel_index(int(np.argmax(distance)), distance.shape)
    return Correction(x0 + col + 0.5, y0 + row + 0.5, foreground)
