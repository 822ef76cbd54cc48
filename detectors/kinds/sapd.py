"""SAPD as a model kind (the network, targets, loss and decoding are in `detectors.sapd`). The
detectors' schedule (`DetectorKind.rate`), measured in progress from 0 to 1; the first half trains
each instance on its single best level, the second half on the levels the selection net picks."""
from __future__ import annotations

from typing import Any

import torch

from ..configs import between
from ..detection_data import DetectionSamples, collate
from ..detections import Detections, GroundTruth
from ..device import in_float32
from ..sapd import SAPD, LevelOutputs, decode, sapd_loss
from .base import Option, TrainingStep
from .detector import AUGMENT, DETECTOR_KEYS, IMG_SIZE, DetectorKind

SOFT_SELECTION_FROM = 0.5


class SapdStep(TrainingStep):
    """The selection net runs on the features inside the loss (in float32), so the step holds it too."""

    def outputs(self, batch: tuple[torch.Tensor, list[GroundTruth]],
                share: float) -> tuple[list[LevelOutputs], list[torch.Tensor]]:
        return self.model(batch[0])

    def loss(self, outputs: tuple[list[LevelOutputs], list[torch.Tensor]],
             batch: tuple[torch.Tensor, list[GroundTruth]], share: float) -> dict[str, torch.Tensor]:
        levels, features = outputs
        return sapd_loss(levels, features, batch[1], self.model.selection, share >= SOFT_SELECTION_FROM)


def decoded(forward: tuple[list[LevelOutputs], list[torch.Tensor]], score_threshold: float) -> list[Detections]:
    """The network's forward (the head's outputs and the features) to detections."""
    return decode(in_float32(forward[0]), score_threshold)


class SapdKind(DetectorKind):
    name = "sapd"
    keys = {**DETECTOR_KEYS, "channels": between(8, 1024, default=256)}
    options = (IMG_SIZE, AUGMENT,
               Option("--channels", "channels", "FPN and head width (default 128 for a CPU; the paper's is 256)"))
    decode = staticmethod(decoded)
    step = SapdStep

    def new_config(self, depth: int) -> dict[str, Any]:
        return {**super().new_config(depth), "channels": 128}

    def network(self, config: dict[str, Any]) -> SAPD:
        return SAPD(len(config["classes"]), config["depth"], config["channels"])

    def training_data(self, samples: list, config: dict[str, Any]):
        return DetectionSamples(samples, config["img_size"], augment=config["augment"]), collate


SAPD_KIND = SapdKind()
