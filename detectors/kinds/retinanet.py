"""RetinaNet as a model kind (network, targets, loss and decoding are in `detectors.retinanet`). Its
anchors are config: `--anchors default` (3 scales x 3 ratios per level, the paper's), `kmeans` (45
anchors fitted to the training boxes at the input size with the 1 - IoU distance, 9 per level from
the smallest up), fixed once the run starts, `learned` (from the default ones, trained with the
network; config.json holds them as they are after each epoch), or `meta` (MetaAnchor: trained on
priors around the default ones, it runs with any anchors given to `load`, without retraining)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from converters import Dataset, UserError

from ..anchor_boxes import STANDARD, box_sizes, by_level, kmeans
from ..configs import Key, between
from ..detection_data import DetectionSamples, collate
from ..detections import Detections, GroundTruth
from ..device import in_float32
from ..fpn import STRIDES
from ..retinanet import (
    ANCHOR_RATE,
    CLUSTER_UNTIL,
    CLUSTER_WEIGHT,
    RetinaNet,
    RetinaOutputs,
    decode,
    jittered,
    retina_loss,
    temperature_at,
)
from .base import Option, TrainingStep
from .detector import AUGMENT, DETECTOR_KEYS, IMG_SIZE, DetectorKind

DEFAULT_ANCHORS = [[[round(w, 2), round(h, 2)] for w, h in level] for level in STANDARD["retinanet"]]
ANCHOR_MODES = ("default", "kmeans", "learned", "meta")


def _anchor_list(value: Any) -> bool:
    """Per level (one per FPN level), the same number of [w, h] pairs, each side a positive number."""
    try:
        array = np.array(value, float)
    except (TypeError, ValueError):
        return False
    return array.ndim == 3 and array.shape[0] == len(STRIDES) and array.shape[2] == 2 and array.shape[1] >= 1 \
        and bool(np.isfinite(array).all() and (array > 0).all())


ANCHORS = Key(f"a list of {len(STRIDES)} levels, each the same number of [width, height] pairs above 0",
              _anchor_list, DEFAULT_ANCHORS)


class RetinaStep(TrainingStep):
    """With anchor functions (MetaAnchor), each step trains on priors drawn around the anchors."""

    def __init__(self, model: RetinaNet, seed: int = 0):
        super().__init__(model)
        self.priors = torch.Generator().manual_seed(seed)

    def outputs(self, batch: tuple[torch.Tensor, list[GroundTruth]], share: float) -> RetinaOutputs:
        shapes = jittered(self.model.shapes, self.priors) if self.model.meta else None
        return self.model(batch[0], shapes)

    def loss(self, outputs: RetinaOutputs, batch: tuple[torch.Tensor, list[GroundTruth]],
             share: float) -> dict[str, torch.Tensor]:
        learned = isinstance(self.model.log_shapes, torch.nn.Parameter)
        return retina_loss(outputs, batch[1], temperature_at(share) if learned else None,
                           CLUSTER_WEIGHT if share < CLUSTER_UNTIL else 0.0)


def decoded(outputs: RetinaOutputs, score_threshold: float) -> list[Detections]:
    return decode(in_float32(outputs), score_threshold)


class RetinaNetKind(DetectorKind):
    name = "retinanet"
    keys = {**DETECTOR_KEYS, "channels": between(8, 1024, default=256), "anchors": ANCHORS,
            "anchor_mode": Key(" or ".join(ANCHOR_MODES), lambda v: v in ANCHOR_MODES, "default")}
    options = (IMG_SIZE, AUGMENT,
               Option("--channels", "channels", "FPN and head width (default 128 for a CPU; the paper's is 256)"),
               Option("--anchors", "anchor_mode", "default (3 scales x 3 ratios per level), kmeans (45 fitted to "
                      "the training boxes, 9 per level), learned (from the default ones, trained with the "
                      "network) or meta (MetaAnchor: anchor functions, run later with other anchors)",
                      choices=ANCHOR_MODES, default="default"))
    decode = staticmethod(decoded)

    def new_config(self, depth: int) -> dict[str, Any]:
        return {**super().new_config(depth), "channels": 128, "anchors": DEFAULT_ANCHORS, "anchor_mode": "default"}

    def completed(self, config: dict[str, Any], dataset: Dataset | None) -> dict[str, Any]:
        if config.get("anchor_mode") in ("default", "learned", "meta"):
            return {**config, "anchors": DEFAULT_ANCHORS}
        if dataset is None:
            raise UserError("--anchors kmeans fits the anchors to labels: give --data")
        count = len(STRIDES) * len(DEFAULT_ANCHORS[0])
        _, scaled, _, _ = box_sizes(dataset, config["img_size"])
        try:
            fitted = kmeans(scaled, count)
        except ValueError as e:
            raise UserError(f"--anchors kmeans: {e}") from None
        return {**config, "anchors": [np.round(level, 2).tolist() for level in by_level(fitted, len(STRIDES))]}

    def network(self, config: dict[str, Any]) -> RetinaNet:
        return RetinaNet(len(config["classes"]), config["depth"], config["channels"], config["anchors"],
                         learned=config["anchor_mode"] == "learned", meta=config["anchor_mode"] == "meta")

    def parameter_groups(self, model: torch.nn.Module) -> list[tuple[list[torch.nn.Parameter], float]]:
        shapes = [p for name, p in model.named_parameters() if name == "log_shapes"]
        rest = [p for name, p in model.named_parameters() if p.requires_grad and name != "log_shapes"]
        return [(rest, 1.0), (shapes, ANCHOR_RATE)]

    def training_step(self, model: torch.nn.Module, config: dict[str, Any], seed: int) -> RetinaStep:
        return RetinaStep(model, seed)

    def anchored(self, config: dict[str, Any], anchors: list, weights: Path) -> dict[str, Any]:
        """Any anchors for a MetaAnchor model; for the others, as many per level as it was trained with
        (its last layers have one set of outputs per anchor)."""
        if config["anchor_mode"] == "learned":
            raise UserError("--anchors: this model learned its anchors with its weights (--anchors learned) and "
                            "runs with those; train another kind of anchors to run with others",
                            weights / "config.json")
        levels = [np.asarray(level, float).reshape(-1, 2) for level in anchors]
        if len(levels) != len(STRIDES):
            raise UserError(f"--anchors: RetinaNet has {len(STRIDES)} levels (P3-P7), the anchors given have "
                            f"{len(levels)}: write them with annotator anchors --levels {len(STRIDES)}")
        counts = {len(level) for level in levels}
        trained = len(config["anchors"][0])
        if config["anchor_mode"] != "meta" and counts != {trained}:
            raise UserError(f"--anchors: this model was trained with {trained} anchors per level and takes no "
                            "other number (a MetaAnchor model, --anchors meta, takes any)", weights / "config.json")
        if len(counts) != 1:
            raise UserError("--anchors: every level needs the same number of anchors")
        return {**config, "anchors": [level.tolist() for level in levels]}

    def trained_config(self, config: dict[str, Any], model: torch.nn.Module) -> dict[str, Any]:
        """Learned anchors as they are now, so that config.json always says what the model uses."""
        if config["anchor_mode"] != "learned":
            return config
        return {**config, "anchors": np.round(model.shapes.detach().cpu().numpy(), 2).tolist()}

    def training_data(self, samples: list, config: dict[str, Any]):
        return DetectionSamples(samples, config["img_size"], augment=config["augment"]), collate


RETINANET = RetinaNetKind()
