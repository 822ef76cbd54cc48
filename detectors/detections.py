"""What every detector trains on and puts out, whatever its network: an image's true objects
(`GroundTruth`) and its detections (`Detections`), each with four extreme points."""
from __future__ import annotations

import dataclasses

import torch

from converters import ExtremePoints, UserError

from .ops import nms
from .suggesting import MAX_SUGGESTIONS, SAME_OBJECT


@dataclasses.dataclass
class GroundTruth:
    """One image's ground truth: boxes K x 4, labels K, extreme points K x 4 x 2, and whether each
    object's extreme points are known (K, bool; default all): a box-only object (VOC, YOLO) trains the
    box and the centre, and nothing where its extreme points would be."""
    boxes: torch.Tensor
    labels: torch.Tensor
    extremes: torch.Tensor
    known: torch.Tensor = None  # type: ignore[assignment]  # filled in below

    def __post_init__(self) -> None:
        if self.known is None:
            self.known = torch.ones(len(self.boxes), dtype=torch.bool, device=self.boxes.device)


@dataclasses.dataclass
class Detections:
    boxes: torch.Tensor  # K x 4: x0, y0, x1, y1
    scores: torch.Tensor  # K
    labels: torch.Tensor  # K, 0-based class indices
    extremes: torch.Tensor  # K x 4 x 2: top, left, bottom, right

    def extreme_points(self) -> list[ExtremePoints | None]:
        """Each detection's extreme points as the labels hold them; None for one without width or height,
        which no object has."""
        out: list[ExtremePoints | None] = []
        for extreme in self.extremes.tolist():
            try:
                out.append(ExtremePoints(*(tuple(p) for p in extreme)))
            except UserError:
                out.append(None)
        return out

    def suggestible(self, min_score: float, limit: int = MAX_SUGGESTIONS, overlap: float = SAME_OBJECT
                    ) -> Detections:
        """What is worth showing a person, best first: detections scoring at least `min_score`, one per
        object whatever its class (a box overlapping a better one of another class by IoU above `overlap`
        is that object seen as another class), at most `limit`."""
        enough = (self.scores >= min_score).nonzero().squeeze(1)
        kept = enough[nms(self.boxes[enough], self.scores[enough], overlap, limit)]
        return Detections(self.boxes[kept], self.scores[kept], self.labels[kept], self.extremes[kept])


def boxes_of(extremes: torch.Tensor) -> torch.Tensor:
    """The boxes (K x 4) that K x 4 x 2 extreme points span: left's x, top's y, right's x, bottom's y."""
    return torch.stack([extremes[:, 1, 0], extremes[:, 0, 1], extremes[:, 3, 0], extremes[:, 2, 1]], dim=1)
