"""A simulated annotator: the four clicks a person would make on an object whose mask we know, exact or
as imprecise as a hand (DEXTR's protocol: each click moved to a random object pixel near the true
extreme). The mask evaluation and DEXTR's training both click this way."""
from __future__ import annotations

import numpy as np

from converters import ExtremePoints, UserError
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
