"""ExtremeNet as a model kind (network, targets, loss and decoding are in `detectors.extremenet`). The
samples are the detectors' (a flip swaps left and right); the heat-map targets are drawn as the batch
is put together, in the loader's workers."""
from __future__ import annotations

import functools
from typing import Any

import torch

from ..configs import Key
from ..detection_data import DetectionSamples, guess_extremes
from ..detections import Detections, GroundTruth
from ..extremenet import ExtremeNet, ExtremeOutputs, ExtremeTargets, decode, extreme_loss, extreme_targets
from .base import Option, TrainingStep
from .detector import AUGMENT, DETECTOR_KEYS, IMG_SIZE, DetectorKind


class ExtremeStep(TrainingStep):
    def outputs(self, batch: tuple[torch.Tensor, list[ExtremeTargets]], share: float) -> ExtremeOutputs:
        return self.model(batch[0])

    def loss(self, outputs: ExtremeOutputs, batch: tuple[torch.Tensor, list[ExtremeTargets]],
             share: float) -> dict[str, torch.Tensor]:
        return extreme_loss(outputs, batch[1])


def collate(batch: list[tuple[torch.Tensor, GroundTruth]],
            num_classes: int) -> tuple[torch.Tensor, list[ExtremeTargets]]:
    images = torch.stack([image for image, _ in batch])
    size = tuple(images.shape[-2:])
    return images, [extreme_targets(t.extremes, t.labels, size, num_classes, t.known) for _, t in batch]


def decoded(outputs: ExtremeOutputs, score_threshold: float) -> list[Detections]:
    return [decode(outputs.heat[n], outputs.offsets[n], score_threshold) for n in range(outputs.heat.shape[0])]


#: Where a box-only object's extreme points come from, for a detector that learns boxes from its extreme
#: points alone: the sides' midpoints (exact boxes, wrong points), or GrabCut in the box (points on the
#: object, the midpoints where it finds nothing). Midpoints by default: on the chess photos (VOC boxes)
#: they gave held-out AP50 0.798 +- 0.024 against 0.754 +- 0.037 (benchmarks/README.md, ADR 0013).
BOX_POINTS = ("midpoints", "grabcut")
BOX_POINTS_OPTION = Option("--box-points", "box_points", "where a box-only object's extreme points come from: "
                           "midpoints (of the box's sides) or grabcut (a mask in the box) (default midpoints)",
                           choices=BOX_POINTS, default=BOX_POINTS[0])


class ExtremeNetKind(DetectorKind):
    name = "extremenet"
    keys = {**DETECTOR_KEYS, "box_points": Key(" or ".join(BOX_POINTS), lambda v: v in BOX_POINTS, BOX_POINTS[0])}
    options = (IMG_SIZE, AUGMENT, BOX_POINTS_OPTION)
    decode = staticmethod(decoded)
    step = ExtremeStep

    def new_config(self, depth: int) -> dict[str, Any]:
        return {**super().new_config(depth), "box_points": BOX_POINTS[0]}

    def described(self, samples: list, config: dict[str, Any]) -> str:
        boxes_only = sum(int((~p.known).sum()) for p in samples)
        where = "GrabCut in their boxes, else the sides' midpoints" if config["box_points"] == "grabcut" else \
            "the sides' midpoints"
        return super().described(samples, config) + (
            f", {boxes_only} box-only objects with extreme points from {where}" if boxes_only else "")

    def network(self, config: dict[str, Any]) -> ExtremeNet:
        return ExtremeNet(len(config["classes"]), config["depth"])

    def training_data(self, samples: list, config: dict[str, Any]):
        """Box-only objects get extreme points (`box_points`): ExtremeNet's boxes come from its extreme
        points alone, so without them it learns nothing of those objects, and misses them."""
        if config["box_points"] == "grabcut":
            guess_extremes(samples)
        for photo in samples:  # the midpoints `load_photos` placed, or GrabCut's where it found the object
            photo.known[:] = True
        return (DetectionSamples(samples, config["img_size"], augment=config["augment"]),
                functools.partial(collate, num_classes=len(config["classes"])))


EXTREMENET = ExtremeNetKind()
