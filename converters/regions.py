"""An object region built from what a file gives: outlines, a mask, a box, clicked extreme points.

Formats without an extreme-points field (LabelMe polygons, CVAT shapes) get them derived from the mask
with ExtremeNet's rule, the box then follows them exactly: the outline's own bounds.
"""
from __future__ import annotations

from typing import Any

from .geometry import Box, ExtremePoints
from .masks import Polygons, Rle, extreme_points_from_mask, extreme_points_from_polygons, rle_bbox, rle_to_mask
from .model import Annotation


def region(id: int, image_id: int, category_id: int, *, polygons: Polygons | None = None, rle: Rle | None = None,
           box: Box | None = None, extreme: ExtremePoints | None = None, iscrowd: bool = False,
           **kw: Any) -> Annotation:
    """A region annotation; give at least a box or a mask. A crowd region gets no extreme points."""
    if extreme is None and not iscrowd:
        if polygons:
            extreme = extreme_points_from_polygons(polygons)
        elif rle is not None:
            extreme = extreme_points_from_mask(rle_to_mask(rle))
    if box is None:
        if extreme is not None:
            box = extreme.box
        elif rle is not None:
            box = Box(*rle_bbox(rle))
        elif polygons:
            xs = [v for p in polygons for v in p[0::2]]
            ys = [v for p in polygons for v in p[1::2]]
            box = Box(min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))
        else:
            raise ValueError("a region needs a box or a mask")
    return Annotation(id=id, image_id=image_id, category_id=category_id, box=box, extreme=extreme,
                      polygons=polygons or None, rle=rle, iscrowd=iscrowd, **kw)
