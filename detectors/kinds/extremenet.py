"""ExtremeNet as a model kind (network, targets, loss and decoding are in `detectors.extremenet`). The
samples are the detectors' (a flip swaps left and right); the heat-map targets are drawn as the batch
is put together, in the loader's workers."""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import torch

from converters import Dataset

from ..detection_data import DetectionSamples, guess_extremes
from ..detections import Detections, GroundTruth
from ..extremenet import ExtremeNet, ExtremeOutputs, ExtremeTargets, decode, extreme_loss, extreme_targets
from .detector import AUGMENT, DETECTOR_KEYS, IMG_SIZE, DetectorKind, DetectorStep


class TrainingStep(DetectorStep):
    def forward(self, batch: tuple[torch.Tensor, list[ExtremeTargets]], share: float) -> dict[str, torch.Tensor]:
        images, targets = batch
        outputs = self.model(images)
        return extreme_loss(ExtremeOutputs(outputs.heat.float(), outputs.offsets.float()), targets)


def collate(batch: list[tuple[torch.Tensor, GroundTruth]],
            num_classes: int) -> tuple[torch.Tensor, list[ExtremeTargets]]:
    images = torch.stack([image for image, _ in batch])
    size = tuple(images.shape[-2:])
    return images, [extreme_targets(t.extremes, t.labels, size, num_classes, t.known) for _, t in batch]


def decoded(outputs: ExtremeOutputs, score_threshold: float) -> list[Detections]:
    return [decode(outputs.heat[n], outputs.offsets[n], score_threshold) for n in range(outputs.heat.shape[0])]


class ExtremeNetKind(DetectorKind):
    name = "extremenet"
    keys = DETECTOR_KEYS
    options = (IMG_SIZE, AUGMENT)
    decode = staticmethod(decoded)
    step = TrainingStep

    def training_set(self, dataset: Dataset, image_root: Path) -> tuple[list, dict[str, Any]]:
        """Box-only objects get extreme points from GrabCut in their boxes (the sides' midpoints where it finds
        nothing): ExtremeNet's boxes come from its extreme points alone, so without them it learns nothing
        of those objects (said by `described`)."""
        photos, keys = super().training_set(dataset, image_root)
        guess_extremes(photos)
        return photos, keys

    def described(self, samples: list, config: dict[str, Any]) -> str:
        guessed = sum(int(p.guessed.sum()) for p in samples)
        return super().described(samples, config) + (
            f", {guessed} box-only objects with extreme points guessed (GrabCut in their boxes, else the sides' "
            "midpoints)" if guessed else "")

    def network(self, config: dict[str, Any]) -> ExtremeNet:
        return ExtremeNet(len(config["classes"]), config["depth"])

    def training_data(self, samples: list, config: dict[str, Any]):
        return (DetectionSamples(samples, config["img_size"], augment=config["augment"]),
                functools.partial(collate, num_classes=len(config["classes"])))


EXTREMENET = ExtremeNetKind()
