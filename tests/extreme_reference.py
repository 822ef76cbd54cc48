"""The reference grouping, as ExtremeNet's decoding does it: every combination of the four extreme
maps' peaks, checked at once. Slow on purpose; the tests and benchmarks/extreme_grouping.py hold
detectors.extreme_grouping to it."""
from __future__ import annotations

import numpy as np

from detectors.extreme_grouping import CENTRE_THRESHOLD, EXTREME_THRESHOLD, Peaks, centre_of, group_score


def brute_force_groups(top: Peaks, left: Peaks, bottom: Peaks, right: Peaks, centre: np.ndarray,
                       extreme_threshold: float = EXTREME_THRESHOLD,
                       centre_threshold: float = CENTRE_THRESHOLD) -> dict[tuple[int, int, int, int], float]:
    """(top, left, bottom, right) peak indices -> score, for every accepted group."""
    t, l, b, r = np.meshgrid(*(np.arange(len(p.scores)) for p in (top, left, bottom, right)), indexing="ij")
    ty, by, lx, rx = top.ys[t], bottom.ys[b], left.xs[l], right.xs[r]
    ys = np.stack([ty, left.ys[l], by, right.ys[r]])
    xs = np.stack([top.xs[t], lx, bottom.xs[b], rx])
    topmost, lowest = ty == ys.min(axis=0), by == ys.max(axis=0)
    leftmost, rightmost = lx == xs.min(axis=0), rx == xs.max(axis=0)
    scores = [p.scores[i] for p, i in ((top, t), (left, l), (bottom, b), (right, r))]
    cx, cy = centre_of(lx, rx, ty, by)
    centre_scores = centre[cy, cx]
    ok = topmost & lowest & leftmost & rightmost & (centre_scores >= centre_threshold)
    for s in scores:
        ok &= s >= extreme_threshold
    total = group_score(*scores, centre_scores)
    return {(int(a), int(c), int(d), int(e)): float(total[a, c, d, e])
            for a, c, d, e in zip(*np.nonzero(ok), strict=True)}
