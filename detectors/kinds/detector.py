"""What every detector kind shares: the photos with their boxes and extreme points to train on, the
augmented samples, the rate's shape, validation by box AP, and the `Predictor` around the network.
A detector kind adds its network, its loss and its decoding."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import torch
from torch import nn

from converters import Dataset

from ..backbones import load_imagenet
from ..configs import DEPTH, NAMES, Key, between
from ..detection_data import AUGMENTS, load_photos
from ..predictor import Decode, Predictor
from .base import ModelKind, Option, TrainingDefaults, TrainingStep, Validator

WARMUP = 0.05  # share of the schedule
DROPS = (0.75, 11 / 12)  # SAPD's epochs 9 and 11 of 12; CenterNet's 90 and 120 of 140 are near
#: The keys of every detector's config.json.
DETECTOR_KEYS = {"depth": DEPTH, "img_size": between(64, 2048), "classes": NAMES,
                 "augment": Key(" or ".join(AUGMENTS), lambda v: v in AUGMENTS, "light")}
IMG_SIZE = Option("--img-size", "img_size", "training image side in pixels (default 384)")
#: What a new run augments with, when the person does not say (`benchmarks/detector_seeds.py` chose it).
DEFAULT_AUGMENT = "paste"  # ADR 0012
AUGMENT = Option("--augment", "augment", "light (flip, colour, scale), mosaic (and half the samples mosaics of four "
                 "photos) or paste (and objects pasted onto other photos by their masks) (default "
                 f"{DEFAULT_AUGMENT})", choices=AUGMENTS, default=DEFAULT_AUGMENT)


class DetectorKind(ModelKind):
    decode: Decode  # the network's forward on a batch to Detections on its input (a staticmethod)
    step: type[TrainingStep]  # the kind's training step
    #: AdamW: from scratch on a few images SAPD learns in minutes (fruits_nuts, 8 minutes on a CPU: AP50
    #: 0.61 against 0.09 with SGD), and so does ExtremeNet; SGD with momentum is the papers', for long runs
    #: (CenterNet's Adam at 1.25e-4 is for batches of 32 over 140 epochs).
    defaults = TrainingDefaults(epochs=12, batch=4, rates={"adamw": 1e-3, "sgd": 1e-2}, clip=10.0)

    def new_config(self, depth: int) -> dict[str, Any]:
        return {"arch": self.name, "depth": depth, "img_size": 384, "augment": DEFAULT_AUGMENT}

    def network(self, config: dict[str, Any]) -> nn.Module:
        """The kind's network, with a torchvision-layout ResNet as `backbone`."""
        raise NotImplementedError

    def build(self, config: dict[str, Any], backbone_weights: Path | None = None) -> nn.Module:
        """ImageNet weights in the backbone train with its batch norm frozen: a detector's batches are
        too small to estimate it."""
        model = self.network(config)
        if backbone_weights is not None:
            load_imagenet(model.backbone, backbone_weights)
            model.backbone.freeze_bn = True
        return model

    def training_set(self, dataset: Dataset, image_root: Path) -> tuple[list, dict[str, Any]]:
        photos, classes = load_photos(dataset, image_root)
        return photos, {"classes": classes}

    def described(self, samples: list, config: dict[str, Any]) -> str:
        return f"{len(samples)} images, {len(config['classes'])} classes"

    def training_step(self, model: nn.Module, config: dict[str, Any], seed: int) -> TrainingStep:
        return self.step(model)

    def to_device(self, batch: tuple[torch.Tensor, list], device: str, memory_format: torch.memory_format
                  ) -> tuple[torch.Tensor, list]:
        """The images, and each image's targets (a dataclass of tensors), on `device`."""
        images, targets = batch
        return (images.to(device, memory_format=memory_format),
                [type(t)(**{f.name: getattr(t, f.name).to(device) for f in dataclasses.fields(t)}) for t in targets])

    def rate(self, share: float) -> float:
        """A linear warm-up, then the rate drops by 10 at each of `DROPS`."""
        if share < WARMUP:
            return 0.1 + 0.9 * share / WARMUP
        return 0.1 ** sum(share >= d for d in DROPS)

    def validator(self, dataset: Dataset, image_root: Path) -> Validator:
        """Box AP on the held-out file, as val_ap, val_ap50, val_ap75 and val_extreme_error, and the score
        threshold at which the suggestions' F1 is best, with their precision and recall there
        (val_suggest_score, val_suggest_precision, val_suggest_recall)."""
        from ..detector_eval import evaluate_detector

        def validate(model: nn.Module, config: dict[str, Any]) -> dict[str, float]:
            scores = evaluate_detector(self.predictor(model, config, str(next(model.parameters()).device)),
                                       dataset, image_root)
            return {f"val_{key}": scores[key] for key in ("ap", "ap50", "ap75", "extreme_error", "suggest_score",
                                                          "suggest_precision", "suggest_recall")}
        return validate

    def fitness(self, metrics: dict[str, Any]) -> float | None:
        """Held-out AP50, the share of objects a person need not draw; AP breaks ties."""
        if metrics.get("val_ap50") is None:
            return None
        return metrics["val_ap50"] + 1e-3 * (metrics.get("val_ap") or 0.0)

    def predictor(self, model: nn.Module, config: dict[str, Any], device: str) -> Predictor:
        """With the minimum score at which the model's suggestions did best on its held-out images."""
        return Predictor(model, config["classes"], config["img_size"], self.decode, device,
                         min_score=config.get("held_out", {}).get("val_suggest_score"))
