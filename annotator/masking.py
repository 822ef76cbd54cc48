"""Which masks a backend may (re)make, and how a made mask is stored.

A mask made from the clicks carries the attribute `mask_method` naming its backend. A mask without it
was drawn by a person or came with imported labels, and no backend ever replaces it. A made mask is
replaced when another backend is asked for, which is how the app swaps its instant octagon for the
real mask, and how an interrupted `annotator masks` run resumes where it stopped. A correction point
marks the mask `stale`: it is shown until the backend answers, and the points change it only near
themselves (`detectors.mask_backends.corrections`), so whatever the person fixed by hand stays fixed.
"Remake mask" marks it `remake`: the backend's mask from the clicks and points replaces it whole.
"""
from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from converters import Annotation, Correction, ExtremePoints, Shape, Source, UserError
from converters.masks import mask_to_polygons, polygons_to_mask, rle_to_mask, without_small_holes
from detectors.mask_backends import Network, masks_from_extremes

from .store import Project

MASK_METHOD = "mask_method"
#: What `mask_method` says of a mask that waits for its backend: the instant octagon, a mask whose
#: correction points changed since (it is what the points correct), or one to be replaced whole.
PLACEHOLDERS = ("octagon", "stale", "remake")


def needs_mask(ann: Annotation, backend: str) -> bool:
    """Whether `backend` should make this object's mask: it has clicks, it is an instance, and its mask
    is missing or was made by another backend."""
    if ann.shape is not Shape.REGION or ann.extreme is None or ann.iscrowd:
        return False
    made_by = ann.attributes.get(MASK_METHOD)
    if ann.has_mask and made_by is None:
        return False
    return made_by != backend


def awaits_mask(ann: Annotation, backend: str) -> bool:
    """What the app's worker makes: a missing mask or the instant octagon; never another backend's."""
    return needs_mask(ann, backend) and ann.attributes.get(MASK_METHOD) in (None, *PLACEHOLDERS)


def with_octagon(ann: Annotation, extreme: ExtremePoints) -> Annotation:
    """`ann` on new clicks with the mask drawn at once, until a backend answers: ExtremeNet's octagon."""
    moved = ann.with_extreme(extreme).with_mask(polygons=[extreme.octagon()])
    return dataclasses.replace(moved, attributes={**ann.attributes, MASK_METHOD: "octagon"})


def with_corrections(ann: Annotation, corrections: tuple[Correction, ...], remake: bool = False) -> Annotation:
    """`ann` with new correction points: its mask stays on screen, marked stale, until the backend's
    answer corrects it near the points; with `remake` (or while the octagon still waits) the backend's
    mask from the clicks and the points will replace it whole."""
    waiting = ann.attributes.get(MASK_METHOD) in ("octagon", "remake")
    mark = "remake" if remake or waiting or not ann.has_mask else "stale"
    return dataclasses.replace(ann, corrections=corrections, attributes={**ann.attributes, MASK_METHOD: mark},
                               source=Source.HUMAN)


def correction_base(ann: Annotation) -> Annotation | None:
    """The label whose mask the person placed the correction points on, which they correct; None when
    the backend's mask replaces it whole. The mask is read where it is made (`make_mask`, in the
    worker), not here: a painted mask is RLE, and decoding it is not the window thread's work."""
    if ann.attributes.get(MASK_METHOD) != "stale" or not ann.corrections or not ann.has_mask:
        return None
    return ann


def with_made_mask(ann: Annotation, polygons: list[list[float]], backend: str) -> Annotation:
    """`ann` with a backend's mask (exact polygons, as `mask_to_polygons` traces them)."""
    return dataclasses.replace(ann.with_mask(polygons=polygons), attributes={**ann.attributes, MASK_METHOD: backend})


@dataclasses.dataclass(frozen=True)
class MadeMask:
    polygons: list[list[float]]  # in image coordinates
    backend: str
    note: str = ""


#: Around one object the backend sees this share of the box's longer side on every side (at least
#: CROP_MIN px): more than GrabCut's margin and DEXTR's 50 px relaxation, so the result is the same as
#: on the whole image, at a cost that follows the object's size, not the photo's.
CROP_SHARE = 0.4
CROP_MIN = 64
#: A larger crop is shrunk to this side first: every backend works at a few hundred pixels anyway
#: (GrabCut 200, DEXTR 256 or 512), and tracing a full-resolution mask of a large object in a
#: 24-megapixel photo took most of a second.
CROP_MAX = 768
#: A made mask's holes under this share of its area are filled (GrabCut leaves pinholes of a few to a few
#: hundred pixels in textured objects); a larger hole, or one a background correction point is in, stays.
HOLE_SHARE = 0.005


def make_mask(image: np.ndarray, extreme: ExtremePoints, backend: str, network: Network | None = None,
              corrections: tuple[Correction, ...] = (), before: Annotation | None = None) -> MadeMask:
    """One object's mask, made on a crop around it and traced into polygons: the app's background
    worker calls this for each new or moved object, on photos of any size. `before`: the label whose
    mask the correction points correct (`correction_base`)."""
    height, width = image.shape[:2]
    box = extreme.box
    margin = max(CROP_MIN, CROP_SHARE * max(box.w, box.h))
    x0, y0 = max(0, int(box.x - margin)), max(0, int(box.y - margin))
    x1, y1 = min(width, int(box.x + box.w + margin) + 1), min(height, int(box.y + box.h + margin) + 1)
    step = max(1, max(x1 - x0, y1 - y0) // CROP_MAX)  # skipping pixels first keeps the copy small
    crop = np.ascontiguousarray(image[y0:y1:step, x0:x1:step])  # the app passes a strided view of Qt's pixels
    if max(crop.shape[:2]) > CROP_MAX:
        shrink = CROP_MAX / max(crop.shape[:2])
        crop = cv2.resize(crop, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA)
    sx, sy = crop.shape[1] / (x1 - x0), crop.shape[0] / (y1 - y0)
    shifted = ExtremePoints.checked_before(*[((x - x0) * sx, (y - y0) * sy) for x, y in (
        extreme.top, extreme.left, extreme.bottom, extreme.right)])
    moved = [Correction((c.x - x0) * sx, (c.y - y0) * sy, c.foreground) for c in corrections]
    base = None if before is None else _crop_of(before, height, width, (x0, y0, x1, y1), crop.shape[:2])
    [result] = masks_from_extremes(crop, [shifted], backend, network, [moved], [base])
    mask = without_small_holes(result.mask, HOLE_SHARE, [(c.x, c.y) for c in moved if not c.foreground])
    polygons = [[x0 + v / sx if k % 2 == 0 else y0 + v / sy for k, v in enumerate(p)]
                for p in mask_to_polygons(mask)]
    return MadeMask(polygons, result.backend, result.note)


def _crop_of(ann: Annotation, height: int, width: int, window: tuple[int, int, int, int],
             shape: tuple[int, ...]) -> np.ndarray:
    """The label's mask over the crop `window` (x0, y0, x1, y1) of the image, at the crop's `shape`:
    polygons are drawn at the crop's scale, RLE is decoded and cut."""
    x0, y0, x1, y1 = window
    sx, sy = shape[1] / (x1 - x0), shape[0] / (y1 - y0)
    if ann.polygons:
        shifted = [[(v - x0) * sx if k % 2 == 0 else (v - y0) * sy for k, v in enumerate(p)] for p in ann.polygons]
        return polygons_to_mask(shifted, shape[0], shape[1]).astype(bool)
    cut = rle_to_mask(ann.mask_rle(height, width))[y0:y1, x0:x1]
    return cv2.resize(cut.astype(np.uint8), (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST).astype(bool)


def apply_made_mask(project: Project, label_id: int, extreme: ExtremePoints, corrections: tuple[Correction, ...],
                    made: MadeMask) -> Annotation | None:
    """Store a mask the worker made for these points, unless the label changed meanwhile (moved,
    corrected, deleted, given a drawn mask, or undone): then the mask answers a question nobody asks
    any more."""
    try:
        ann = project.annotation(label_id)
    except UserError:
        return None
    if ann.extreme != extreme or ann.corrections != corrections or not awaits_mask(ann, made.backend):
        return None
    return project.update_annotation(with_made_mask(ann, made.polygons, made.backend))
