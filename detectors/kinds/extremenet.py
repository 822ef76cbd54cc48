"""ExtremeNet as a model kind (network, targets, loss and decoding are in `detectors.extremenet`). The
samples are the detectors' (a flip swaps left and right); the heat-map targets are drawn as the batch
is put together, in the loader's workers."""
from __future__ import annotations

import functools
from typing import Any

import torch
from torch import nn

from ..detection_data import DetectionSamples
from ..detections import Detections, Instances
from ..extremenet import ExtremeNet, ExtremeOutputs, ExtremeTargets, decode, extreme_loss, extreme_targets
from .base import Option, TrainingDefaults
from .detector import DETECTOR_KEYS, DetectorKind


class TrainingStep(nn.Module):
    def __init__(self, model: ExtremeNet, amp: bool):
        super().__init__()
        self.model = model
        self.amp = amp

    def forward(self, batch: tuple[torch.Tensor, list[ExtremeTargets]], share: float) -> dict[str, torch.Tensor]:
        images, targets = batch
        with torch.autocast("cuda", enabled=self.amp):
            outputs = self.model(images)
        return extreme_loss(ExtremeOutputs(outputs.heat.float(), outputs.offsets.float()), targets)


def collate(batch: list[tuple[torch.Tensor, Instances]], num_classes: int) -> tuple[torch.Tensor, list[ExtremeTargets]]:
    images = torch.stack([image for image, _ in batch])
    size = tuple(images.shape[-2:])
    return images, [extreme_targets(t.extremes, t.labels, size, num_classes) for _, t in batch]


def decoded(outputs: ExtremeOutputs, score_threshold: float) -> list[Detections]:
    return [decode(outputs.heat[n], outputs.offsets[n], score_threshold) for n in range(outputs.heat.shape[0])]


class ExtremeNetKind(DetectorKind):
    name, title = "extremenet", "an ExtremeNet detector"
    keys = DETECTOR_KEYS
    #: The detectors' AdamW; CenterNet's Adam at 1.25e-4 is for batches of 32 over 140 epochs.
    defaults = TrainingDefaults(epochs=12, batch=4, rates={"adamw": 1e-3, "sgd": 1e-2}, clip=10.0)
    options = (Option("--img-size", "img_size", "training image side in pixels (default 384)"),)
    decode = staticmethod(decoded)

    def new_config(self, depth: int) -> dict[str, Any]:
        return {"arch": self.name, "depth": depth, "img_size": 384}

    def network(self, config: dict[str, Any]) -> ExtremeNet:
        return ExtremeNet(len(config["classes"]), config["depth"])

    def training_data(self, samples: list, config: dict[str, Any]):
        return (DetectionSamples(samples, config["img_size"]),
                functools.partial(collate, num_classes=len(config["classes"])))

    def training_step(self, model: nn.Module, config: dict[str, Any], amp: bool, seed: int) -> TrainingStep:
        return TrainingStep(model, amp)

    def to_device(self, batch, device: str, memory_format: torch.memory_format):
        images, targets = batch
        return (images.to(device, memory_format=memory_format),
                [ExtremeTargets(t.heat.to(device), t.cells.to(device), t.offsets.to(device)) for t in targets])


EXTREMENET = ExtremeNetKind()
