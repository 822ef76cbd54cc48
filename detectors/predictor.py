"""A trained detector as the rest of the program uses it: a run directory in, detections with four
extreme points out, in the photo's own pixels."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from .checkpoints import load_matching
from .configs import read_model
from .detection_data import prepare
from .sapd import SAPD, Detections, LevelOutputs, decode


class Predictor:
    def __init__(self, model: SAPD, classes: list[str], size: int, device: str = "cpu", amp: bool | None = None):
        """A model in memory, such as the one being trained (validation after each epoch). `amp`: half
        precision for the network on a GPU (the default there); decoding is always in full precision."""
        self.model, self.classes, self.size = model, list(classes), size
        self.device = torch.device(device)
        self.amp = self.device.type == "cuda" if amp is None else amp
        self.model.to(self.device).eval()

    @classmethod
    def load(cls, run: str | os.PathLike, device: str = "cpu") -> Predictor:
        """The detector a training run wrote; anything else is refused with what it holds."""
        run = Path(run)
        config, state = read_model(run, "sapd")
        model = SAPD(len(config["classes"]), config["depth"], config["channels"])
        load_matching(model, state, run)
        return cls(model, config["classes"], config["img_size"], device)

    @torch.inference_mode()
    def __call__(self, image: np.ndarray, score_threshold: float = 0.05) -> Detections:
        """Detections on one RGB photo, boxes and extreme points in its pixels."""
        tensor, scale = prepare(image, self.size)
        with torch.autocast("cuda", enabled=self.amp):
            outputs, _ = self.model(tensor[None].to(self.device))
        [found] = decode([LevelOutputs(o.cls.float(), o.distances.float(), o.extremes.float()) for o in outputs],
                         score_threshold)
        height, width = image.shape[:2]
        limit = torch.tensor([width, height, width, height], dtype=found.boxes.dtype, device=found.boxes.device)
        boxes = torch.minimum((found.boxes / scale).clamp(min=0), limit)
        extremes = torch.minimum((found.extremes / scale).clamp(min=0), limit[:2])
        return Detections(boxes.cpu(), found.scores.cpu(), found.labels.cpu(), extremes.cpu())
