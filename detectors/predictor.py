"""A trained detector as the rest of the program uses it: a photo in, detections with four extreme
points out, in the photo's own pixels. The kind's `decode` turns its network's outputs into
detections on the network's square input; this class does the rest, the same for every detector."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from .detection_data import prepare
from .detections import Detections

#: What the network's forward returned on a batch, and a score threshold, in; one Detections per image out.
Decode = Callable[[Any, float], list[Detections]]


class Predictor:
    def __init__(self, model: nn.Module, classes: list[str], size: int, decode: Decode, device: str = "cpu",
                 amp: bool | None = None):
        """`amp`: half precision for the network on a GPU (the default there); `decode` runs in full
        precision. A model in memory works too, such as the one being trained (validation)."""
        self.model, self.classes, self.size, self.decode = model, list(classes), size, decode
        self.device = torch.device(device)
        self.amp = self.device.type == "cuda" if amp is None else amp
        self.model.to(self.device).eval()

    @torch.inference_mode()
    def __call__(self, image: np.ndarray, score_threshold: float = 0.05) -> Detections:
        """Detections on one RGB photo, boxes and extreme points in its pixels."""
        tensor, scale = prepare(image, self.size)
        with torch.autocast("cuda", enabled=self.amp):
            outputs = self.model(tensor[None].to(self.device))
        [found] = self.decode(outputs, score_threshold)
        height, width = image.shape[:2]
        limit = torch.tensor([width, height, width, height], dtype=found.boxes.dtype, device=found.boxes.device)
        boxes = torch.minimum((found.boxes / scale).clamp(min=0), limit)
        extremes = torch.minimum((found.extremes / scale).clamp(min=0), limit[:2])
        return Detections(boxes.cpu(), found.scores.cpu(), found.labels.cpu(), extremes.cpu())
