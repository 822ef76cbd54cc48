"""The one in-memory model of a dataset: what every format reads and writes, what the project store
loads and saves, and what the detectors train on.
"""
from __future__ import annotations

import dataclasses
from collections import defaultdict
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .geometry import Box, Correction, ExtremePoints
from .masks import Polygons, Rle, polygons_to_rle, rle_area


class Source(StrEnum):
    HUMAN = "human"
    MODEL = "model"
    IMPORTED = "imported"


class Review(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class Shape(StrEnum):
    """What an annotation is. Only a region (box, extreme points, optional mask) is an object a detector
    learns; lines and point sets come from other tools (LabelMe, CVAT) and are carried where a format
    can hold them and reported where it cannot."""

    REGION = "region"
    POLYLINE = "polyline"  # an open line through `points`, in order
    POINTS = "points"  # a set of points, such as keypoints


SHAPE_NAMES = {Shape.REGION: "regions", Shape.POLYLINE: "polylines", Shape.POINTS: "point sets"}


class ImageStatus(StrEnum):
    TODO = "todo"
    IN_PROGRESS = "in-progress"
    DONE = "done"
    SKIPPED = "skipped"


@dataclass(slots=True)
class Category:
    id: int
    name: str
    color: str | None = None
    supercategory: str | None = None


@dataclass(slots=True)
class ImageRecord:
    id: int
    file_name: str  # relative to the dataset's image folder, '/'-separated
    width: int
    height: int
    status: ImageStatus = ImageStatus.TODO
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Annotation:
    """One object. `box` always holds; it follows the extreme points whenever they are set.

    An imported annotation keeps the box its file gave until someone edits it, because real files round
    their boxes and a round trip must not move them. `area` caches the mask area (None: not computed).
    """

    id: int
    image_id: int
    category_id: int
    box: Box
    extreme: ExtremePoints | None = None
    polygons: Polygons | None = None
    rle: Rle | None = None
    iscrowd: bool = False
    source: Source = Source.HUMAN
    score: float | None = None
    review: Review = Review.ACCEPTED
    attributes: dict[str, Any] = field(default_factory=dict)
    area: float | None = None
    shape: Shape = Shape.REGION
    points: list[float] | None = None  # flat x, y of a polyline or point set; None for a region
    corrections: tuple[Correction, ...] = ()  # added after the extreme clicks; the mask backends use them

    @classmethod
    def from_extreme(cls, id: int, image_id: int, category_id: int, extreme: ExtremePoints, **kw: Any) -> Annotation:
        return cls(id=id, image_id=image_id, category_id=category_id, box=extreme.box, extreme=extreme, **kw)

    @classmethod
    def from_points(cls, id: int, image_id: int, category_id: int, shape: Shape, points: list[float],
                    **kw: Any) -> Annotation:
        """A polyline or point set; its box is the points' bounds (zero wide for a single point)."""
        xs, ys = points[0::2], points[1::2]
        box = Box(min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))
        return cls(id=id, image_id=image_id, category_id=category_id, box=box, shape=shape, points=points, **kw)

    @property
    def has_mask(self) -> bool:
        return bool(self.polygons) or self.rle is not None

    def with_extreme(self, extreme: ExtremePoints) -> Annotation:
        """An edit of the points: the box follows them exactly, and correction points outside it go."""
        box = extreme.box
        return dataclasses.replace(self, extreme=extreme, box=box, area=None if not self.has_mask else self.area,
                                   corrections=tuple(c for c in self.corrections if c.inside(box)))

    def with_mask(self, polygons: Polygons | None = None, rle: Rle | None = None) -> Annotation:
        return dataclasses.replace(self, polygons=polygons, rle=rle, area=None)

    def mask_rle(self, height: int, width: int) -> Rle | None:
        if self.rle is not None:
            return self.rle
        if self.polygons:
            return polygons_to_rle(self.polygons, height, width)
        return None

    def compute_area(self, height: int, width: int) -> float:
        """COCO's `area`: the mask's pixel area, or the box area when there is no mask."""
        rle = self.mask_rle(height, width)
        return rle_area(rle) if rle is not None else self.box.area


@dataclass
class Dataset:
    images: list[ImageRecord] = field(default_factory=list)
    categories: list[Category] = field(default_factory=list)
    annotations: list[Annotation] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)
    licenses: list[Any] = field(default_factory=list)

    def annotations_by_image(self) -> dict[int, list[Annotation]]:
        grouped: dict[int, list[Annotation]] = defaultdict(list)
        for ann in self.annotations:
            grouped[ann.image_id].append(ann)
        return grouped

    def image_by_id(self) -> dict[int, ImageRecord]:
        return {img.id: img for img in self.images}
