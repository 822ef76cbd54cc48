"""An object region built from what a file gives (outlines, a mask, a box, clicked extreme points), and
the extreme points of objects whose file gave only a mask.

Readers keep what the file holds; `derive_extremes` then gives every masked object without extreme
points the ones its mask defines (ExtremeNet's rule), in one place, and only when the result needs
them: converting COCO to YOLO, a format without them, must not pay for a million derivations.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .errors import UserError
from .geometry import Box, ExtremePoints, check_coordinates
from .masks import (
    Polygons,
    Rle,
    extreme_points_from_mask,
    extreme_points_of_many,
    rle_bbox,
    rle_to_mask,
    valid_polygons,
)
from .model import Annotation, Dataset, Shape
from .report import Report

DERIVED = "{n} objects without extreme points: derived from their masks (ExtremeNet's rule)"


def region(id: int, image_id: int, category_id: int, *, polygons: Polygons | None = None, rle: Rle | None = None,
           box: Box | None = None, extreme: ExtremePoints | None = None, iscrowd: bool = False,
           size: tuple[int, int] | None = None, **kw: Any) -> Annotation:
    """A region annotation; give at least a box or a mask. Without a box, it is the extreme points' box,
    else the mask's bounds (the box its derived extreme points will have). With the image's (width,
    height), coordinates that are not finite, or lie further outside the image than its own size, are
    refused: rasterising an outline a billion pixels long takes all the memory there is."""
    if size is not None:
        for flat in polygons or []:
            check_coordinates(flat, size, "outline")
        if box is not None:
            check_coordinates([box.x, box.y, box.x + box.w, box.y + box.h], size, "box")
        if extreme is not None:
            check_coordinates([v for p in extreme.as_dict().values() for v in p], size, "extreme points")
    if box is None:
        if extreme is not None:
            box = extreme.box
        elif rle is not None:
            box = Box(*rle_bbox(rle))
        elif polygons and valid_polygons(polygons):
            xs = [v for p in valid_polygons(polygons) for v in p[0::2]]
            ys = [v for p in valid_polygons(polygons) for v in p[1::2]]
            box = Box(min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))
        else:
            raise UserError("a region needs a box, or a mask of at least three points")
    return Annotation(id=id, image_id=image_id, category_id=category_id, box=box, extreme=extreme,
                      polygons=polygons or None, rle=rle, iscrowd=iscrowd, **kw)


Make = Callable[[int, int, int], Annotation]


def checked(make: Make, file: Any, place: str) -> Make:
    """A reader's `make(id, image_id, category_id)`, tried once now, so that a bad region is refused
    with the file and the place it came from rather than later, when neither is known."""
    try:
        make(0, 0, 0)
    except UserError as e:
        raise e.at(file, place) from None
    return make


_PASS = 50_000  # objects per numpy pass: fast as one pass, and its arrays stay small beside a million objects


def derive_extremes(ds: Dataset, report: Report | None = None) -> None:
    """Give each masked object without extreme points (crowd regions aside) the ones its mask defines."""
    without = [a for a in ds.annotations if a.extreme is None and a.shape is Shape.REGION and not a.iscrowd]
    outlined = [a for a in without if a.polygons]
    for start in range(0, len(outlined), _PASS):
        chunk = outlined[start:start + _PASS]
        for a, extreme in zip(chunk, extreme_points_of_many([a.polygons or [] for a in chunk]), strict=True):
            a.extreme = extreme
    for a in without:
        if not a.polygons and a.rle is not None:
            a.extreme = extreme_points_from_mask(rle_to_mask(a.rle))
    derived = sum(a.extreme is not None for a in without)
    if report is not None:
        report.add(DERIVED, derived)
