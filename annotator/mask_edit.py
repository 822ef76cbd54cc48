"""A person's edits of a mask's pixels: brush and eraser strokes, and the outline dragged as a polygon.

The rule that keeps an object whole: a mask a person drew decides the object. Its extreme points
move to the mask's extremes (ExtremeNet's rule; a point that still touches its side stays where it
was clicked), and the box follows the points, so box, points and mask never contradict each other.
The eraser leaves the pixels at the clicked points, so it never shrinks the box the person clicked (a
point moves by dragging it); the brush painting past the box grows it, and the window says so.
A backend's mask, made from the points, lies inside their box by construction. A drawn mask is
stored as RLE, exact to the pixel, without `mask_method`: no backend replaces it unless the person
asks again (new clicks, a correction point, a dragged extreme point).
"""
from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import cv2
import numpy as np

from converters import Annotation, ExtremePoints, Source, UserError
from converters.geometry import ROLES
from converters.masks import extreme_points_from_mask, mask_to_rle, rle_to_mask

from .masking import MASK_METHOD

Point = tuple[float, float]
#: The outline offered for editing strays from the mask's outer border by at most this share of the
#: object's larger side (at least a pixel): labelme-like polygons of about a dozen vertices, whatever the
#: object's size. The person steps through the others with [ and ] in the outline tool.
OUTLINE_TOLERANCE = 0.02
OUTLINE_TOLERANCES = (0.0025, 0.005, 0.01, 0.015, 0.02, 0.03, 0.04, 0.06, 0.08, 0.1)
#: The eraser leaves the pixels within this many of a clicked extreme point.
KEPT_PX = 1


def pixel_mask(ann: Annotation, height: int, width: int) -> np.ndarray:
    """The object's mask as booleans (all False when it has none)."""
    rle = ann.mask_rle(height, width)
    return rle_to_mask(rle).astype(bool) if rle is not None else np.zeros((height, width), dtype=bool)


def painted(mask: np.ndarray, stroke: Sequence[Point], radius: float, erase: bool = False) -> np.ndarray:
    """`mask` with a round brush of `radius` px drawn along the stroke (the points the hand passed)."""
    out = np.ascontiguousarray(mask, dtype=np.uint8)  # decoded RLE is column-major; cv2 draws on rows
    ink = 0 if erase else 1
    thickness = max(1, int(round(2 * radius)))
    points = [(int(np.floor(x)), int(np.floor(y))) for x, y in stroke]
    for a, b in zip(points, points[1:] or points, strict=False):  # one point: a dot
        cv2.line(out, a, b, ink, thickness)
    for p in points[:1] + points[-1:]:  # round ends, even for a single dab
        cv2.circle(out, p, max(0, int(round(radius))), ink, -1)
    return out.astype(bool)


def with_drawn_mask(ann: Annotation, mask: np.ndarray) -> Annotation:
    """`ann` with a mask a person drew: stored exactly, and the points and box following it."""
    extreme = following_points(ann.extreme, mask)
    if extreme is None:
        raise UserError("that leaves the object without a pixel: delete it instead (Delete)")
    attributes = {k: v for k, v in ann.attributes.items() if k != MASK_METHOD}
    return dataclasses.replace(ann.with_extreme(extreme).with_mask(rle=mask_to_rle(mask)), attributes=attributes,
                               source=Source.HUMAN)


def keeping_points(erased: np.ndarray, before: np.ndarray, points: ExtremePoints | None) -> np.ndarray:
    """`erased` with the pixels at each clicked extreme point (and their neighbours) as they were in
    `before`, where they still touch what is left: the eraser stops short of the points, so the box the
    person clicked stays. A point whose surroundings were all erased goes with them (the person took
    that part away; the window says the box moved)."""
    if points is None or not erased.any():
        return erased
    out = erased.copy()
    height, width = before.shape
    for role in ROLES:
        row, col = _pixel_of(points, role)
        rows = slice(max(0, row - KEPT_PX), min(height, row + KEPT_PX + 1))
        cols = slice(max(0, col - KEPT_PX), min(width, col + KEPT_PX + 1))
        reach = KEPT_PX + 1
        if erased[max(0, row - reach):row + reach + 1, max(0, col - reach):col + reach + 1].any():
            out[rows, cols] |= before[rows, cols]
    return out


def _pixel_of(points: ExtremePoints, role: str) -> tuple[int, int]:
    """(row, col) of the pixel an extreme point names: a right or bottom point lies on the far edge of
    its pixel."""
    x, y = getattr(points, role)
    return int(np.floor(y)) - (role == "bottom"), int(np.floor(x)) - (role == "right")


def following_points(before: ExtremePoints | None, mask: np.ndarray) -> ExtremePoints | None:
    """The mask's extreme points; a point of `before` that still lies on its side of the mask, on a
    mask pixel, is kept as clicked. None for an empty mask."""
    found = extreme_points_from_mask(mask)
    if found is None or before is None:
        return found
    height, width = mask.shape
    kept = {}
    for role in ROLES:
        x, y = getattr(before, role)
        target = getattr(found, role)
        axis = 1 if role in ("top", "bottom") else 0
        row, col = _pixel_of(before, role)
        on_side = (x, y)[axis] == target[axis] and 0 <= row < height and 0 <= col < width and mask[row, col]
        kept[role] = (x, y) if on_side else target
    return ExtremePoints(**kept)


def outline(mask: np.ndarray, tolerance: float = OUTLINE_TOLERANCE) -> list[Point]:
    """The outer border of the mask's largest part as polygon vertices through its border pixels'
    centres, simplified for dragging by hand to within `tolerance` of the part's larger side. A drag
    changes the mask only between the polygon before and after it, so a coarse polygon loses none of
    the mask's detail. Empty for an empty mask."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return []
    largest = max(contours, key=lambda c: (cv2.contourArea(c), len(c)))
    side = max(cv2.boundingRect(largest)[2:])
    simple = cv2.approxPolyDP(largest, outline_pixels(tolerance, side), True)
    return [(float(x) + 0.5, float(y) + 0.5) for x, y in simple.reshape(-1, 2)]


def stepped_tolerance(tolerance: float, step: int) -> float:
    """The outline tolerance `step` places along `OUTLINE_TOLERANCES` from the one nearest `tolerance`."""
    nearest = min(range(len(OUTLINE_TOLERANCES)), key=lambda k: abs(OUTLINE_TOLERANCES[k] - tolerance))
    return OUTLINE_TOLERANCES[min(len(OUTLINE_TOLERANCES) - 1, max(0, nearest + step))]


def outline_pixels(tolerance: float, side: float) -> float:
    """How far, in pixels, an outline may stray from a mask `side` pixels across."""
    return max(1.0, tolerance * side)


def reshaped(mask: np.ndarray, before: Sequence[Point], after: Sequence[Point]) -> np.ndarray:
    """The mask after its outline moved from `before` to `after`: what the new outline newly covers
    is added, what it no longer covers is removed, and everything else (holes inside, other parts
    outside) stays as it was."""
    if len(after) < 3:
        raise UserError("an outline needs at least three points")
    height, width = mask.shape
    old, new = _filled(before, height, width), _filled(after, height, width)
    return (mask & ~(old & ~new)) | (new & ~old)


def _filled(polygon: Sequence[Point], height: int, width: int) -> np.ndarray:
    """The pixels whose centres lie inside the polygon."""
    out = np.zeros((height, width), np.uint8)
    shift = 4  # cv2 draws fixed-point vertices: 1/16 px
    vertices = np.round((np.asarray(polygon, np.float64) - 0.5) * (1 << shift)).astype(np.int32)
    cv2.fillPoly(out, [vertices], 1, lineType=cv2.LINE_8, shift=shift)
    return out.astype(bool)

