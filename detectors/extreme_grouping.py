"""ExtremeNet's grouping: which top, left, bottom and right peaks of one class make an object.

The reference decoding scores all K^4 combinations as one dense tensor (2.56 M at K = 40; the paper
measured 150 ms of grouping per image on a GPU). The geometric check prunes almost all of them, and it
can run first: a left and a right peak fix the box's sides, so only tops and bottoms between them, above
and below both, can join them. The groups found are exactly the brute force's (tests/extreme_reference.py
is that brute force, and the tests compare the two on random heat maps); the work grows with the pairs
and groups that pass, not with K^4.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EXTREME_THRESHOLD = 0.1  # a group with an extreme point scored below this is rejected
CENTRE_THRESHOLD = 0.1  # as is one whose centre map is below this at the box centre


@dataclass(frozen=True)
class Peaks:
    """One class's peaks of one extreme map: integer heat-map cells and their scores."""

    xs: np.ndarray  # (K,) int
    ys: np.ndarray  # (K,) int
    scores: np.ndarray  # (K,) float


@dataclass(frozen=True)
class Groups:
    """The accepted groups: for each, the index of its top, left, bottom and right peak, and its score."""

    top: np.ndarray
    left: np.ndarray
    bottom: np.ndarray
    right: np.ndarray
    scores: np.ndarray

    def __len__(self) -> int:
        return len(self.scores)


def centre_of(left_x: np.ndarray, right_x: np.ndarray, top_y: np.ndarray, bottom_y: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
    """The heat-map cell a group's centre score is read at: the middle of its box, rounded down."""
    return (left_x + right_x) // 2, (top_y + bottom_y) // 2


def group_score(t: np.ndarray, l: np.ndarray, b: np.ndarray, r: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """The paper's score: the four extreme scores and the centre's counted twice, averaged."""
    return (t + l + b + r + 2 * centre) / 6


def group_extremes(top: Peaks, left: Peaks, bottom: Peaks, right: Peaks, centre: np.ndarray,
                   extreme_threshold: float = EXTREME_THRESHOLD,
                   centre_threshold: float = CENTRE_THRESHOLD) -> Groups:
    """Every (top, left, bottom, right) of one class where the top is topmost, the left leftmost, the
    bottom lowest and the right rightmost (ties allowed), every extreme scores at least
    `extreme_threshold`, and the centre map (H, W) at the box centre at least `centre_threshold`."""
    ti, li, bi, ri = (np.flatnonzero(p.scores >= extreme_threshold) for p in (top, left, bottom, right))
    # left-right pairs whose box has a width of zero or more
    pl, pr = np.nonzero(left.xs[li][:, None] <= right.xs[ri][None, :])
    pl, pr = li[pl], ri[pr]
    lo_x, hi_x = left.xs[pl][:, None], right.xs[pr][:, None]
    highest = np.minimum(left.ys[pl], right.ys[pr])[:, None]
    lowest = np.maximum(left.ys[pl], right.ys[pr])[:, None]
    tops = (lo_x <= top.xs[ti]) & (top.xs[ti] <= hi_x) & (top.ys[ti] <= highest)
    bottoms = (lo_x <= bottom.xs[bi]) & (bottom.xs[bi] <= hi_x) & (bottom.ys[bi] >= lowest)
    pair, t, b = _join(tops, bottoms)
    t, b, l, r = ti[t], bi[b], pl[pair], pr[pair]
    cx, cy = centre_of(left.xs[l], right.xs[r], top.ys[t], bottom.ys[b])
    centre_scores = centre[cy, cx]
    kept = centre_scores >= centre_threshold
    t, l, b, r = t[kept], l[kept], b[kept], r[kept]
    scores = group_score(top.scores[t], left.scores[l], bottom.scores[b], right.scores[r], centre_scores[kept])
    return Groups(t, l, b, r, scores)


def _join(tops: np.ndarray, bottoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pair, top, bottom) for every pair's every allowed top with every allowed bottom, from the
    (pairs, tops) and (pairs, bottoms) masks, without looping over the pairs."""
    t_pair, t = np.nonzero(tops)  # row-major: grouped by pair
    _, b = np.nonzero(bottoms)
    b_count = bottoms.sum(axis=1)
    b_start = np.cumsum(b_count) - b_count
    repeats = b_count[t_pair]  # each (pair, top) meets each of its pair's bottoms
    first = np.cumsum(repeats) - repeats
    within = np.arange(repeats.sum()) - np.repeat(first, repeats)
    chosen = np.repeat(b_start[t_pair], repeats) + within
    return np.repeat(t_pair, repeats), np.repeat(t, repeats), b[chosen]


def group_points(groups: Groups, top: Peaks, left: Peaks, bottom: Peaks, right: Peaks) -> np.ndarray:
    """(N, 4, 2): each group's top, left, bottom and right peak as an (x, y) heat-map cell."""
    chosen = (groups.top, groups.left, groups.bottom, groups.right)
    return np.stack([np.stack([p.xs[i], p.ys[i]], axis=-1) for p, i in
                     zip((top, left, bottom, right), chosen, strict=True)], axis=1)
