"""SAPD as a model kind (the network, targets, loss and decoding are in `detectors.sapd`). The
detectors' schedule (`DetectorKind.rate`), measured in progress from 0 to 1; the first half trains
each instance on its single best level, the second half on the levels the selection net picks."""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..configs import between
from ..detection_data import DetectionSamples, collate
from ..detections import Detections, Instances
from ..sapd import SAPD, LevelOutputs, decode, sapd_loss
from .base import Option, TrainingDefaults
from .detector import DETECTOR_KEYS, DetectorKind

SOFT_SELECTION_FROM = 0.5


class TrainingStep(nn.Module):
    """Forward pass and loss as one module, so that DistributedDataParallel sees every parameter the
    loss uses (the selection net runs on the features inside the loss)."""

    def __init__(self, model: SAPD, amp: bool):
        super().__init__()
        self.model = model
        self.amp = amp

    def forward(self, batch: tuple[torch.Tensor, list[Instances]], share: float) -> dict[str, torch.Tensor]:
        images, targets = batch
        with torch.autocast("cuda", enabled=self.amp):
            outputs, features = self.model(images)
        return sapd_loss(in_full_precision(outputs), [f.float() for f in features], targets, self.model.selection,
                         share >= SOFT_SELECTION_FROM)


def in_full_precision(outputs: list[LevelOutputs]) -> list[LevelOutputs]:
    """The head's outputs as float32: the loss and decoding run in full precision under AMP too."""
    return [LevelOutputs(o.cls.float(), o.distances.float(), o.extremes.float()) for o in outputs]


def decoded(forward: tuple[list[LevelOutputs], list[torch.Tensor]], score_threshold: float) -> list[Detections]:
    """The network's forward (the head's outputs and the features) to detections."""
    return decode(in_full_precision(forward[0]), score_threshold)


class SapdKind(DetectorKind):
    name, title = "sapd", "a SAPD detector"
    keys = {**DETECTOR_KEYS, "channels": between(8, 1024, default=256)}
    #: AdamW: from scratch on a few images it learns in minutes (fruits_nuts, 8 minutes on a CPU: AP50
    #: 0.61 against 0.09 with SGD); SGD with momentum is the paper's, for long runs.
    defaults = TrainingDefaults(epochs=12, batch=4, rates={"adamw": 1e-3, "sgd": 1e-2}, clip=10.0)
    options = (Option("--img-size", "img_size", "training image side in pixels (default 384)"),
               Option("--channels", "channels", "FPN and head width (default 128 for a CPU; the paper's is 256)"))
    decode = staticmethod(decoded)

    def new_config(self, depth: int) -> dict[str, Any]:
        return {"arch": self.name, "depth": depth, "img_size": 384, "channels": 128}

    def network(self, config: dict[str, Any]) -> SAPD:
        return SAPD(len(config["classes"]), config["depth"], config["channels"])

    def training_data(self, samples: list, config: dict[str, Any]):
        return DetectionSamples(samples, config["img_size"]), collate

    def training_step(self, model: nn.Module, config: dict[str, Any], amp: bool, seed: int) -> TrainingStep:
        return TrainingStep(model, amp)

    def to_device(self, batch, device: str, memory_format: torch.memory_format):
        images, targets = batch
        return (images.to(device, memory_format=memory_format),
                [Instances(t.boxes.to(device), t.labels.to(device), t.extremes.to(device)) for t in targets])


SAPD_KIND = SapdKind()
