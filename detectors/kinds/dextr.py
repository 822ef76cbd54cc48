"""DEXTR as a model kind (input, network, loss and decoding are in `detectors.dextr`): Adam with a
poly-decaying rate, the balanced loss on the logits scaled up to the crop.

A network with the background channel learns from correction points: before each step, a pass without
gradients shows where the network is wrong now, and each object gets up to three points in those
regions (`with_corrections`), as interactive segmentation trains (RITM's iterative sampling, one round).
A quarter of the objects get none, so the network still works with the four clicks alone."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from converters import Box, Dataset
from converters.masks import mask_iou

from ..backbones import load_imagenet, widened_inputs
from ..checkpoints import load_matching, read_foreign_state_dict
from ..configs import DEPTH, between, one_of
from ..dextr import (
    CLICKS_ONLY,
    LIGHT,
    OFFICIAL,
    THRESHOLD,
    WITH_BACKGROUND,
    DextrNet,
    DextrPredictor,
    balanced_bce,
    click_heatmap,
    dextr_net,
)
from ..dextr_data import Object, ObjectCrops, load_objects, synthetic_objects
from ..mask_backends import STEERED, Network, masks_from_extremes, steering
from ..mask_backends.simulate import sampled_corrections, simulated_clicks
from .base import ModelKind, Option, TrainingDefaults, TrainingStep, Validator

POLY_POWER = 0.9
#: The chances that a training object gets 0, 1, 2 or 3 correction points.
CORRECTION_COUNTS = (0.25, 0.25, 0.25, 0.25)


class DextrStep(TrainingStep):
    def __init__(self, model: DextrNet, seed: int):
        super().__init__(model)
        self.corrected = model.conv1.in_channels == WITH_BACKGROUND
        self.rng = np.random.default_rng(seed)

    def outputs(self, batch: tuple[torch.Tensor, torch.Tensor, torch.Tensor], share: float) -> torch.Tensor:
        x, y, boxes = batch
        if self.corrected:
            x = with_corrections(self.model, x, y, boxes, self.rng)
        return self.model(x)

    def loss(self, outputs: torch.Tensor, batch: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
             share: float) -> dict[str, torch.Tensor]:
        y = batch[1]
        logits = F.interpolate(outputs, size=y.shape[-2:], mode="bilinear", align_corners=True)
        return {"loss": balanced_bce(logits, y)}


def with_corrections(model: DextrNet, x: torch.Tensor, y: torch.Tensor, boxes: torch.Tensor,
                     rng: np.random.Generator) -> torch.Tensor:
    """The batch with correction points where `model`, as it is now, is wrong inside each object's box:
    foreground points drawn into the clicks' channel, background points into the last one."""
    with torch.no_grad():
        logits = F.interpolate(model(x), size=y.shape[-2:], mode="bilinear", align_corners=True)
    made = (torch.sigmoid(logits)[:, 0] > THRESHOLD).cpu().numpy()
    truth = y[:, 0].cpu().numpy() > 0.5
    x = x.clone()
    for k, box in enumerate(boxes.tolist()):
        count = int(rng.choice(len(CORRECTION_COUNTS), p=CORRECTION_COUNTS))
        points = sampled_corrections(made[k], truth[k], Box(*box), count, rng)
        for channel, foreground in ((3, True), (4, False)):
            chosen = [(c.x, c.y) for c in points if c.foreground is foreground]
            if chosen:
                heat = torch.from_numpy(click_heatmap(np.array(chosen), x.shape[-1])).to(x)
                x[k, channel] = torch.maximum(x[k, channel], heat)
    return x


def mean_iou(make: Network, objects: list[Object]) -> float:
    """Exact clicks from each mask, the mask `make` makes from them, IoU; averaged."""
    scores = []
    for image, mask in objects:
        [made] = make(image, [simulated_clicks(mask)], [()])
        scores.append(mask_iou(made, mask))
    return float(np.mean(scores))


def backend_masks(backend: str, network: Network | None = None) -> Network:
    """A mask backend's masks as the window makes them, to score the network with and against."""
    def make(image: np.ndarray, extremes, corrections) -> list[np.ndarray]:
        return [r.mask for r in masks_from_extremes(image, extremes, backend, network, corrections)]
    return make


class DextrKind(ModelKind):
    name = "dextr"
    keys = {"depth": DEPTH, "crop": between(32, 1024), "output_stride": one_of(8, 16, default=8),
            "inputs": one_of(CLICKS_ONLY, WITH_BACKGROUND, default=CLICKS_ONLY)}
    defaults = TrainingDefaults(epochs=30, batch=8, rates={"adam": 1e-3})
    options = (Option("--crop", "crop", "crop side in pixels (default: 256, or 512 for resnet101)"),
               Option("--clicks-only", "inputs", "the paper's 4-input network, trained without correction "
                      "points (by default a 5th input takes background correction points, and training adds "
                      "corrections where the network is wrong)", value=CLICKS_ONLY, default=WITH_BACKGROUND))

    def new_config(self, depth: int) -> dict[str, Any]:
        return {**(OFFICIAL if depth >= 50 else LIGHT), "depth": depth, "inputs": WITH_BACKGROUND}

    def build(self, config: dict[str, Any], backbone_weights: Path | None = None) -> DextrNet:
        model = dextr_net(config, freeze_bn=backbone_weights is not None)
        if backbone_weights is not None:
            load_imagenet(model, backbone_weights)
        return model

    def training_set(self, dataset: Dataset, image_root: Path) -> tuple[list, dict[str, Any]]:
        return load_objects(dataset, image_root), {}

    def described(self, samples: list, config: dict[str, Any]) -> str:
        return f"{len(samples)} objects (crop {config['crop']}, {config['inputs']} inputs)"

    def synthetic(self, count: int) -> list:
        return synthetic_objects(count, seed=1)

    def training_data(self, samples: list, config: dict[str, Any]):
        return ObjectCrops(samples, config["crop"], inputs=config["inputs"]), None

    def training_step(self, model: nn.Module, config: dict[str, Any], seed: int) -> DextrStep:
        return DextrStep(model, seed)

    def to_device(self, batch, device: str, memory_format: torch.memory_format):
        x, y, boxes = batch
        return x.to(device, memory_format=memory_format), y.to(device), boxes

    def rate(self, share: float) -> float:
        return (1 - share) ** POLY_POWER

    def validator(self, dataset: Dataset, image_root: Path) -> Validator:
        """Mean IoU from exact clicks on the held-out objects: the network's as val_mean_iou, GrabCut's
        steered by it (the `dextr-grabcut` backend) as val_steered_iou, and GrabCut's alone as
        val_grabcut_iou (once): whether the network does better than the backend that needs no model,
        which the window's learning asks before it switches."""
        objects = load_objects(dataset, image_root)
        grabcut: list[float] = []

        def validate(model: nn.Module, config: dict[str, Any]) -> dict[str, float]:
            device = str(next(model.parameters()).device)
            if not grabcut:
                grabcut.append(mean_iou(backend_masks("grabcut"), objects))
            network = self.predictor(model, config, device)
            return {"val_mean_iou": mean_iou(network, objects), "val_grabcut_iou": grabcut[0],
                    "val_steered_iou": mean_iou(backend_masks(STEERED, steering(network)), objects)}
        return validate

    def fitness(self, metrics: dict[str, Any]) -> float | None:
        return metrics.get("val_mean_iou")

    def predictor(self, model: nn.Module, config: dict[str, Any], device: str) -> DextrPredictor:
        return DextrPredictor(model, config["crop"], device)

    def read(self, weights: str | os.PathLike) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        """Our model directory, or an official `.pth` file (the paper's network, `OFFICIAL`)."""
        if Path(weights).is_dir():
            return super().read(weights)
        return OFFICIAL, read_foreign_state_dict(weights)

    def config_of(self, weights: str | os.PathLike) -> dict[str, Any]:
        return super().config_of(weights) if Path(weights).is_dir() else dict(OFFICIAL)

    def start_from(self, model: nn.Module, weights: Path) -> None:
        """A first layer with fewer inputs (the official 4) is widened with blank channels."""
        load_matching(model, widened_inputs(self.read(weights)[1], model), weights)


DEXTR = DextrKind()
