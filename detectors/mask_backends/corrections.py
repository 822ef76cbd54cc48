"""What a correction point changes: the mask a person already has, only near the point.

Remaking the whole mask from the clicks and every point (GrabCut or DEXTR with one more seed) lowered
the IoU after a third of the simulated annotator's corrections on fruits_nuts: the new mask moved the
edge elsewhere, and around the point its region reached past the object's edge. A point now changes
only the part of the remade mask that (1) holds the point, (2) is wrong in the mask before it, and (3)
lies no farther from that mask's edge than REACH times the point's own distance from it, and within
SPAN times that distance of the point (only about the point itself where it lies within THIN of the
edge). The point is taken, as a person places it and as the simulated
annotator does, in the middle of what is wrong: what is wrong reaches about as far past it as the point
lies from the edge. Measured with `annotator eval-masks --corrections` (benchmarks/README.md).
"""
from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from converters import Correction

#: How far from the mask's edge a point may change the mask, as a multiple of the point's distance to
#: that edge; and how far from the point along the edge. On fruits_nuts (2 corrections): 1.25 and 4
#: lowered the IoU after 0.4% of the corrections, 1.5 and 8 after 4.2% (IoU a little higher).
REACH = 1.25
SPAN = 4.0
#: A point nearer the edge than THIN lies in an error band a pixel or two wide, along which the remade
#: edge is as often a pixel out as in: a change along the band was half right, and so lowered the IoU
#: after 9.6% of the corrections on turned boards. There a foreground point adds only what lies within
#: its own distance of it, and a background point takes away only its own pixel: taking away a pixel of
#: the object costs the IoU more than adding one of background gains it ((I-1)/(U-1) < I/U < (I+1)/(U+1)).
THIN = 2.0
THIN_SPAN = {True: 1.0, False: 0.0}  # by the point's side: foreground or background


def corrected(before: np.ndarray, remade: np.ndarray, points: Sequence[Correction]) -> np.ndarray:
    """`before` (bool) changed by each point in turn where `remade` (the backend's mask from the clicks
    and every point) says so. A point `before` already obeys changes nothing, so the points of earlier
    corrections can be passed again."""
    mask = before.copy()
    for point in points:
        mask = _one(mask, remade, point)
    return mask


def _one(mask: np.ndarray, remade: np.ndarray, point: Correction) -> np.ndarray:
    height, width = mask.shape
    col, row = min(width - 1, max(0, int(point.x))), min(height - 1, max(0, int(point.y)))
    wrong = ~mask if point.foreground else mask  # the side of the edge the point lies on, if it is wrong
    if not wrong[row, col]:
        return mask
    depth = cv2.distanceTransform(wrong.astype(np.uint8), cv2.DIST_L2, 5)
    reach = min(float(depth[row, col]), float(height + width))  # no edge at all: the whole mask
    span = (SPAN if reach >= THIN else THIN_SPAN[point.foreground]) * reach
    rows, cols = np.ogrid[:height, :width]
    near = (depth <= REACH * reach) & ((rows - row) ** 2 + (cols - col) ** 2 <= span ** 2)
    change = wrong & (remade if point.foreground else ~remade) & near
    change[row, col] = True
    _, parts = cv2.connectedComponents(change.astype(np.uint8), connectivity=8)
    part = parts == parts[row, col]
    return mask | part if point.foreground else mask & ~part
