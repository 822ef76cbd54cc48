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

from .corrections import corrected
from .grabcut import grabcut_mask

#: Below this many pixels on a side, only the octagon is drawn: there is nothing left to segment.
MIN_SIDE = 4
#: A result covering less than this share of the octagon's area is taken as "found nothing".
MIN_AREA_SHARE = 0.1

#: Whatever the backend made, the mask holds a disc this share of the box's longer side (at least one
#: pixel) around each foreground correction point and none of the disc around a background one.
CORRECTION_SHARE = 0.01

#: A backend's work on one image: the image, every object's clicks and its correction points in, one
#: mask per object out (all objects at once, so a network can batch them).
Network = Callable[[np.ndarray, Sequence[ExtremePoints], Sequence[Sequence[Correction]]], list[np.ndarray]]


@dataclasses.dataclass(frozen=True)
class Backend:
    """A mask backend. One that needs weights says what they are (`weights`, in words) and how they load
    (`load`, called where they are used: torch is imported only then); the others `make` masks as they are.
    The octagon makes neither: it is the fallback every backend returns when it finds nothing."""
    name: str
    help: str
    correctable: bool  # whether correction points steer it (the octagon follows the extreme points alone)
    make: Network | None = None
    weights: str = ""
    load: Callable[[str], Network] | None = None
    weight_files: str = ""  # the file dialog's filter, e.g. "config.json *.pth"


def _grabcut(image: np.ndarray, extremes: Sequence[ExtremePoints],
             corrections: Sequence[Sequence[Correction]]) -> list[np.ndarray]:
    return [grabcut_mask(image, e, c) for e, c in zip(extremes, corrections, strict=True)]


def _load_dextr(weights: str) -> Network:
    from ..kinds.dextr import DEXTR

    return DEXTR.load(weights)


def steering(network) -> Network:
    """A DEXTR network steering GrabCut: the network says what the object is, GrabCut puts its edges on
    the image's. A pixel is the object's where two of three say so: GrabCut from the network's chances
    of object (in place of the clicks' first outline), GrabCut from the clicks alone, and the network
    (chance over a half). Over the 315 objects after each of three seeds' learning runs on fruits_nuts
    (benchmarks/README.md), against GrabCut alone's 0.927: the steered GrabCut alone 0.938, the vote
    0.940, with SURE_PRIOR 0.99 instead of 0.97 0.942. `network`: a `DextrPredictor`."""
    def steered(image: np.ndarray, extremes: Sequence[ExtremePoints],
                corrections: Sequence[Sequence[Correction]]) -> list[np.ndarray]:
        chances = network.probabilities(image, extremes, corrections)
        return [_two_of_three(grabcut_mask(image, e, c, prior=p), grabcut_mask(image, e, c), p > 0.5)
                for e, c, p in zip(extremes, corrections, chances, strict=True)]
    return steered


def _two_of_three(*opinions: np.ndarray) -> np.ndarray:
    return sum(o.astype(np.uint8) for o in opinions) >= 2


def _load_steered(weights: str) -> Network:
    return steering(_load_dextr(weights))


STEERED = "dextr-grabcut"
DEXTR_WEIGHTS = "a model directory from `annotator train`, or the official dextr_*.pth file"
BACKENDS: dict[str, Backend] = {b.name: b for b in (
    Backend("octagon", "instant, from the clicks alone", correctable=False),
    Backend("grabcut", "follows the image (default)", correctable=True, make=_grabcut),
    Backend("dextr", "the DEXTR network", correctable=True, weights=DEXTR_WEIGHTS, load=_load_dextr,
            weight_files="config.json *.pth"),
    Backend(STEERED, "GrabCut steered by a DEXTR network (what the window's learning makes)",
            correctable=True, weights=DEXTR_WEIGHTS, load=_load_steered, weight_files="config.json *.pth"),
)}
BACKEND_NAMES = tuple(BACKENDS)


@dataclasses.dataclass(frozen=True)
class MaskResult:
    mask: np.ndarray  # bool, the image's height x width
    backend: str  # the backend that made it: "octagon" after a fallback
    note: str = ""  # why the octagon was used instead of the chosen backend


def octagon_mask(height: int, width: int, extreme: ExtremePoints) -> np.ndarray:
    return polygons_to_mask([extreme.octagon()], height, width).astype(bool)


def masks_from_extremes(
    image: np.ndarray,
    extremes: Sequence[ExtremePoints],
    backend: str = "octagon",
    network: Network | None = None,
    corrections: Sequence[Sequence[Correction]] | None = None,
    before: Sequence[np.ndarray | None] | None = None,
) -> list[MaskResult]:
    """One mask per set of extreme points on one RGB image (height x width x 3, uint8), and per object
    its correction points (none by default). `network`: the loaded weights of a backend that needs them.
    An object's correction points change its mask `before` (the one the person saw when they placed
    them) only near each point (`corrected`); without one, that is the backend's mask from the clicks."""
    corrections = corrections or [()] * len(extremes)
    before = before or [None] * len(extremes)
    if backend not in BACKENDS:
        raise ValueError(f"unknown mask backend {backend!r}: choose one of {', '.join(BACKEND_NAMES)}")
    entry = BACKENDS[backend]
    height, width = image.shape[:2]
    octagons = [octagon_mask(height, width, e) for e in extremes]
    make = network if entry.weights else entry.make
    if make is None:
        if entry.weights:
            raise ValueError(f"backend {backend!r} needs its weights: {entry.weights}")
        return [MaskResult(m, "octagon") for m in octagons]
    large = [k for k, e in enumerate(extremes) if min(e.box.w, e.box.h) >= MIN_SIDE]
    found = make(image, [extremes[k] for k in large], [corrections[k] for k in large]) if large else []
    unseen = [k for k in large if corrections[k] and before[k] is None]
    plain = dict(zip(unseen, make(image, [extremes[k] for k in unseen], [()] * len(unseen)) if unseen else [],
                     strict=True))
    results = [MaskResult(m, "octagon", f"smaller than {MIN_SIDE} px: octagon used") for m in octagons]
    for k, mask in zip(large, found, strict=True):
        if before[k] is None and mask.sum() < MIN_AREA_SHARE * octagons[k].sum():
            results[k] = MaskResult(octagons[k], "octagon", f"{backend} found no object: octagon used")
            continue  # with a mask on screen, the points correct it whatever the backend found
        mask = obey(mask, extremes[k], corrections[k])
        if corrections[k]:
            base = before[k] if before[k] is not None else plain[k]
            mask = corrected(base.astype(bool), mask, corrections[k])
        results[k] = MaskResult(mask, backend)
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


def mask_from_extremes(image: np.ndarray, extreme: ExtremePoints, backend: str = "octagon",
                       network: Network | None = None, corrections: Sequence[Correction] = (),
                       before: np.ndarray | None = None) -> MaskResult:
    return masks_from_extremes(image, [extreme], backend, network, [corrections], [before])[0]
