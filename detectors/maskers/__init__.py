"""Masks from four extreme points: one interface over the octagon, extreme-clicking GrabCut and DEXTR,
used by the app, the `masks` and `eval-masks` commands and training alike.

A backend that finds nothing, or next to nothing, does not fail the person's click: the octagon is
returned instead, with the reason, so that an object always gets a mask.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import cv2
import numpy as np

from converters import Correction, ExtremePoints
from converters.masks import polygons_to_mask

from .grabcut import grabcut_mask

#: Below this many pixels on a side, only the octagon is drawn: there is nothing left to segment.
MIN_SIDE = 4
#: A result covering less than this share of the octagon's area is taken as "found nothing".
MIN_AREA_SHARE = 0.1

METHODS = ("octagon", "grabcut", "dextr")

#: Backends that take correction points; the octagon follows the extreme points alone.
CORRECTABLE = ("grabcut", "dextr")
#: Whatever the backend made, the mask holds a disc this share of the box's longer side (at least one
#: pixel) around each foreground correction point and none of the disc around a background one.
CORRECTION_SHARE = 0.01

#: A loaded DEXTR network: the image, every object's clicks and its correction points in, one mask per
#: object out. A network trained with corrections sees them; `obey` makes sure of them either way.
DextrFunction = Callable[[np.ndarray, Sequence[ExtremePoints], Sequence[Sequence[Correction]]], list[np.ndarray]]


@dataclasses.dataclass(frozen=True)
class MaskResult:
    mask: np.ndarray  # bool, the image's height x width
    method: str  # the backend that made it: "octagon" after a fallback
    note: str = ""  # why the octagon was used instead of the chosen backend


def octagon_mask(height: int, width: int, extreme: ExtremePoints) -> np.ndarray:
    return polygons_to_mask([extreme.octagon()], height, width).astype(bool)


def masks_from_extremes(
    image: np.ndarray,
    extremes: Sequence[ExtremePoints],
    method: str = "octagon",
    dextr: DextrFunction | None = None,
    corrections: Sequence[Sequence[Correction]] | None = None,
) -> list[MaskResult]:
    """One mask per set of extreme points on one RGB image (height x width x 3, uint8), and per object
    its correction points (none by default).

    `dextr` is needed for method "dextr"; it is given all the objects at once so that it can batch them."""
    corrections = corrections or [()] * len(extremes)
    if method not in METHODS:
        raise ValueError(f"unknown mask method {method!r}: choose one of {', '.join(METHODS)}")
    height, width = image.shape[:2]
    octagons = [octagon_mask(height, width, e) for e in extremes]
    if method == "octagon":
        return [MaskResult(m, "octagon") for m in octagons]
    large = [k for k, e in enumerate(extremes) if min(e.box.w, e.box.h) >= MIN_SIDE]
    if method == "grabcut":
        found = [grabcut_mask(image, extremes[k], corrections[k]) for k in large]
    else:
        if dextr is None:
            raise ValueError("method 'dextr' needs the network: load it with --weights")
        found = dextr(image, [extremes[k] for k in large], [corrections[k] for k in large]) if large else []
    results = [MaskResult(m, "octagon", f"smaller than {MIN_SIDE} px: octagon used") for m in octagons]
    for k, mask in zip(large, found, strict=True):
        if mask.sum() < MIN_AREA_SHARE * octagons[k].sum():
            results[k] = MaskResult(octagons[k], "octagon", f"{method} found no object: octagon used")
        else:
            results[k] = MaskResult(obey(mask, extremes[k], corrections[k]), method)
    return results


def obey(mask: np.ndarray, extreme: ExtremePoints, corrections: Sequence[Correction]) -> np.ndarray:
    """`mask` holding every foreground correction point and none of the background ones (in the order
    given, inside the box only): the promise a correction makes, kept whatever the backend did."""
    if not corrections:
        return mask
    box = extreme.box
    radius = max(1, int(round(CORRECTION_SHARE * max(box.w, box.h))))
    height, width = mask.shape
    x0, y0, x1, y1 = box.pixels(width, height)
    inside = np.ascontiguousarray(mask[y0:y1, x0:x1], dtype=np.uint8)
    for c in corrections:
        cv2.circle(inside, (int(c.x) - x0, int(c.y) - y0), radius, int(c.foreground), -1)
    out = mask.copy()
    out[y0:y1, x0:x1] = inside.astype(bool)
    return out


def mask_from_extremes(image: np.ndarray, extreme: ExtremePoints, method: str = "octagon",
                       dextr: DextrFunction | None = None, corrections: Sequence[Correction] = ()) -> MaskResult:
    return masks_from_extremes(image, [extreme], method, dextr, [corrections])[0]
