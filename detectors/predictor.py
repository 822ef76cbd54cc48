"""A trained detector as the rest of the program uses it: a photo in, detections with four extreme
points out, in the photo's own pixels. The kind's `decode` turns its network's outputs into
detections on the network's square input; this class does the rest, the same for every detector."""
from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from .detection_data import prepare
from .detections import Detections
from .device import fast_layout, inference_precision

#: What the network's forward returned on a batch, and a score threshold, in; one Detections per image out.
Decode = Callable[[Any, float], list[Detections]]


class Predictor:
    def __init__(self, model: nn.Module, classes: list[str], size: int, decode: Decode, device: str = "cpu",
                 amp: bool | None = None, min_score: float | None = None):
        """`amp`: the network in reduced precision where that is fast (`inference_precision`: float16 on
        a GPU, bfloat16 on a CPU that has it natively), the default; False: float32. `decode` runs in
        full precision. A model in memory works too, such as the one being trained (validation).
        `min_score`: the score from which its detections are worth suggesting, if its training measured
        one on held-out images."""
        self.model, self.classes, self.size, self.decode = model, list(classes), size, decode
        self.min_score = min_score
        self.device = torch.device(device)
        self.amp = amp is None or amp
        self.layout = fast_layout(self.device) if self.amp else torch.contiguous_format
        self.model.to(self.device).eval()

    @torch.inference_mode()
    def __call__(self, image: np.ndarray, score_threshold: float = 0.05,
                 original: tuple[int, int] | None = None) -> Detections:
        """Detections on one RGB photo, boxes and extreme points in its pixels; `original`: the (width,
        height) of the photo that `image` is a shrunk decode of, whose pixels they are in then."""
        tensor, scale = prepare(image, self.size)
        with inference_precision(self.device) if self.amp else contextlib.nullcontext():
            outputs = self.model(tensor[None].to(self.device, memory_format=self.layout))
        [found] = self.decode(outputs, score_threshold)
        height, width = image.shape[:2]
        full_width, full_height = original or (width, height)
        per_pixel = torch.tensor([full_width / width, full_height / height], dtype=found.boxes.dtype,
                                 device=found.boxes.device) / scale
        limit = torch.tensor([full_width, full_height], dtype=found.boxes.dtype, device=found.boxes.device)
        boxes = torch.minimum((found.boxes * per_pixel.repeat(2)).clamp(min=0), limit.repeat(2))
        extremes = torch.minimum((found.extremes * per_pixel).clamp(min=0), limit)
        return Detections(boxes.cpu(), found.scores.cpu(), found.labels.cpu(), extremes.cpu())
