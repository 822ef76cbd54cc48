"""SAPD as a model kind (the network, targets, loss and decoding are in `detectors.sapd`). One schedule,
measured in progress from 0 to 1: linear warm-up, then the rate drops by 10 at 3/4 and 11/12 of it (the
paper's epochs 9 and 11 of 12); the first half trains each instance on its single best level, the second
half on the levels the selection net picks."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from converters import Dataset

from ..backbones import load_imagenet
from ..configs import DEPTH, NAMES, between
from ..detection_data import DetectionSamples, collate, load_photos
from ..predictor import Predictor
from ..sapd import SAPD, Instances, LevelOutputs, decode, sapd_loss
from .base import ModelKind, Option, Role, TrainingDefaults, Validator

WARMUP = 0.05  # share of the schedule
DROPS = (0.75, 11 / 12)
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


def decoded(outputs: list[LevelOutputs], score_threshold: float):
    return decode(in_full_precision(outputs), score_threshold)


class SapdKind(ModelKind):
    name, title, role = "sapd", "a SAPD detector", Role.DETECTOR
    keys = {"depth": DEPTH, "img_size": between(64, 4096), "channels": between(8, 1024, default=256),
            "classes": NAMES}
    #: AdamW: from scratch on a few images it learns in minutes (fruits_nuts, 8 minutes on a CPU: AP50
    #: 0.61 against 0.09 with SGD); SGD with momentum is the paper's, for long runs.
    defaults = TrainingDefaults(epochs=12, batch=4, rates={"adamw": 1e-3, "sgd": 1e-2}, clip=10.0)
    options = (Option("--img-size", "img_size", "training image side in pixels (default 384)"),
               Option("--channels", "channels", "FPN and head width (default 128 for a CPU; the paper's is 256)"))

    def new_config(self, depth: int) -> dict[str, Any]:
        return {"arch": self.name, "depth": depth, "img_size": 384, "channels": 128}

    def build(self, config: dict[str, Any], backbone_weights: Path | None = None) -> SAPD:
        model = SAPD(len(config["classes"]), config["depth"], config["channels"])
        if backbone_weights is not None:
            load_imagenet(model.backbone, backbone_weights)
            model.backbone.freeze_bn = True
        return model

    def training_set(self, dataset: Dataset, image_root: Path) -> tuple[list, dict[str, Any]]:
        photos, classes = load_photos(dataset, image_root)
        return photos, {"classes": classes}

    def described(self, samples: list, config: dict[str, Any]) -> str:
        return f"{len(samples)} images, {len(config['classes'])} classes"

    def training_data(self, samples: list, config: dict[str, Any]):
        return DetectionSamples(samples, config["img_size"]), collate

    def training_step(self, model: nn.Module, config: dict[str, Any], amp: bool, seed: int) -> TrainingStep:
        return TrainingStep(model, amp)

    def to_device(self, batch, device: str, memory_format: torch.memory_format):
        images, targets = batch
        return (images.to(device, memory_format=memory_format),
                [Instances(t.boxes.to(device), t.labels.to(device), t.extremes.to(device)) for t in targets])

    def rate(self, share: float) -> float:
        if share < WARMUP:
            return 0.1 + 0.9 * share / WARMUP
        return 0.1 ** sum(share >= d for d in DROPS)

    def validator(self, dataset: Dataset, image_root: Path) -> Validator:
        """Box AP on the held-out file, as val_ap, val_ap50, val_ap75 and val_extreme_error."""
        from ..detector_eval import evaluate_detector

        def validate(model: nn.Module, config: dict[str, Any]) -> dict[str, float]:
            scores = evaluate_detector(self.predictor(model, config, str(next(model.parameters()).device)),
                                       dataset, image_root)
            return {f"val_{key}": scores[key] for key in ("ap", "ap50", "ap75", "extreme_error")}
        return validate

    def predictor(self, model: nn.Module, config: dict[str, Any], device: str) -> Predictor:
        return Predictor(model, config["classes"], config["img_size"], decoded, device)


SAPD_KIND = SapdKind()
