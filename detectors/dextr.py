"""DEXTR (Maninis et al., CVPR 2018): a mask from four extreme points by a network that sees the crop
around the object and a heat map of the clicks. Input, model, loss and decoding side by side.

- Input: the points' box enlarged by RELAX px (zero outside the image), resized to a square crop; a 4th
  channel with one Gaussian per click (pixel-wise max, 0..255), and the foreground correction points
  with them, as the paper adds a fifth click; for our models a 5th channel of the background correction
  points (one channel cannot say "not here"). No mean/std normalisation.
- Model: a dilated ResNet (output stride 8) and a PSP head, keyed as the official checkpoints are, so
  `dextr_pascal-sbd.pth` loads as it is (ResNet-101, crop 512). A light variant (ResNet-18, crop 256,
  output stride 16) is for labelling on a CPU.
- Loss: class-balanced BCE.
- Decoding: logits up to the crop, sigmoid, back to the box, threshold; nothing outside the box.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from converters import Box, Correction, ExtremePoints

from .backbones import ResNet
from .device import fast_layout, inference_precision

RELAX = 50
SIGMA = 10.0
THRESHOLD = 0.8
#: Input channels: RGB and the clicks (the paper's), or also the background correction points (ours).
CLICKS_ONLY, WITH_BACKGROUND = 4, 5
OFFICIAL = {"arch": "dextr", "depth": 101, "crop": 512, "output_stride": 8, "inputs": CLICKS_ONLY}
#: Output stride 16 (only the last stage dilated): 3x faster than 8 on a CPU at the same crop.
LIGHT = {"arch": "dextr", "depth": 18, "crop": 256, "output_stride": 16, "inputs": WITH_BACKGROUND}
DILATIONS = {8: (1, 1, 2, 4), 16: (1, 1, 1, 2)}


# -- input ------------------------------------------------------------------------------------------
def crop_box(extreme: ExtremePoints, relax: int = RELAX) -> tuple[int, int, int, int]:
    """The pixels [x0, x1) x [y0, y1) the network sees: the points' box and `relax` px around it. It may
    reach outside the image; that part is zero."""
    b = extreme.box
    return (math.floor(b.x) - relax, math.floor(b.y) - relax,
            math.ceil(b.x + b.w) + relax, math.ceil(b.y + b.h) + relax)


def click_heatmap(points: np.ndarray, size: int, sigma: float = SIGMA) -> np.ndarray:
    """One Gaussian per point (x, y in crop pixel-edge coordinates), combined by maximum, in 0..255:
    exp(-4 ln2 d^2 / sigma^2), so sigma is the full width at half maximum. Pixel (i, j) is sampled at
    its centre (j + 0.5, i + 0.5). No points: all zero."""
    points = np.asarray(points, dtype=np.float32).reshape(-1, 2)
    if not len(points):
        return np.zeros((size, size), np.float32)
    centres = np.arange(size, dtype=np.float32) + 0.5
    dx = centres[None, :] - points[:, 0, None]  # points x columns
    dy = centres[None, :] - points[:, 1, None]
    gx = np.exp(-4 * math.log(2) * dx ** 2 / sigma ** 2)
    gy = np.exp(-4 * math.log(2) * dy ** 2 / sigma ** 2)
    return 255 * np.max(gy[:, :, None] * gx[:, None, :], axis=0)


def crop_input(image: np.ndarray, extreme: ExtremePoints, size: int, corrections: Sequence[Correction] = (),
               inputs: int = CLICKS_ONLY, relax: int = RELAX) -> np.ndarray:
    """The network's input for one object: size x size x `inputs`, float32, RGB and heat maps in 0..255.
    With 4 inputs the background correction points are left out (`obey` applies them to the mask)."""
    x0, y0, x1, y1 = crop_box(extreme, relax)
    crop = padded_crop(image, x0, y0, x1, y1)
    crop = cv2.resize(crop, (size, size), interpolation=cv2.INTER_CUBIC).astype(np.float32)
    scale = np.array([size / (x1 - x0), size / (y1 - y0)])

    def heatmap(points: list) -> np.ndarray:
        return click_heatmap((np.array(points, dtype=np.float64).reshape(-1, 2) - [x0, y0]) * scale, size)[:, :, None]

    clicks = [extreme.top, extreme.left, extreme.bottom, extreme.right]
    channels = [np.clip(crop, 0, 255), heatmap(clicks + [(c.x, c.y) for c in corrections if c.foreground])]
    if inputs == WITH_BACKGROUND:
        channels.append(heatmap([(c.x, c.y) for c in corrections if not c.foreground]))
    return np.concatenate(channels, axis=2)


def box_in_crop(extreme: ExtremePoints, size: int, relax: int = RELAX) -> Box:
    """The points' box in the crop's pixels: where the decoded mask may be, so where training looks for
    errors to correct."""
    x0, y0, x1, y1 = crop_box(extreme, relax)
    sx, sy = size / (x1 - x0), size / (y1 - y0)
    b = extreme.box
    return Box((b.x - x0) * sx, (b.y - y0) * sy, b.w * sx, b.h * sy)


def crop_target(mask: np.ndarray, extreme: ExtremePoints, size: int, relax: int = RELAX) -> np.ndarray:
    """The training target for one object: its mask cut and resized as `crop_input` cuts the image."""
    x0, y0, x1, y1 = crop_box(extreme, relax)
    crop = padded_crop(mask.astype(np.uint8), x0, y0, x1, y1)
    return cv2.resize(crop, (size, size), interpolation=cv2.INTER_NEAREST).astype(np.float32)


def padded_crop(image: np.ndarray, x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
    """image[y0:y1, x0:x1] (the first three channels of a colour image), zero where the box leaves it."""
    if image.ndim == 3:
        image = image[:, :, :3]
    height, width = image.shape[:2]
    out = np.zeros((y1 - y0, x1 - x0) + image.shape[2:], dtype=image.dtype)
    sx0, sy0, sx1, sy1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
    if sx1 > sx0 and sy1 > sy0:
        out[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = image[sy0:sy1, sx0:sx1]
    return out


# -- model ------------------------------------------------------------------------------------------
class PSPHead(nn.Module):
    """Pyramid pooling (1, 2, 3, 6 bins) over the last features, then one 1x1 logit map."""

    def __init__(self, channels: int, out_channels: int, bins: Sequence[int] = (1, 2, 3, 6)):
        super().__init__()
        self.stages = nn.ModuleList(
            nn.Sequential(nn.AdaptiveAvgPool2d(b), nn.Conv2d(channels, channels // 4, 1, bias=False),
                          nn.BatchNorm2d(channels // 4), nn.ReLU(inplace=True)) for b in bins)
        self.bottleneck = nn.Sequential(nn.Conv2d(channels * 2, out_channels, 1, bias=False),
                                        nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))
        self.final = nn.Conv2d(out_channels, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        pooled = [F.interpolate(stage(x), size=size, mode="bilinear", align_corners=True) for stage in self.stages]
        return self.final(self.bottleneck(torch.cat(pooled + [x], dim=1)))


class DextrNet(ResNet):
    """Keys as the official checkpoints: the backbone at the top level, the head as `layer5`."""

    def __init__(self, depth: int = 101, output_stride: int = 8, freeze_bn: bool = False, inputs: int = CLICKS_ONLY):
        if output_stride not in DILATIONS:
            raise ValueError(f"output stride must be one of {sorted(DILATIONS)}")
        super().__init__(depth, in_channels=inputs, dilations=DILATIONS[output_stride], stride_in_1x1=True,
                         freeze_bn=freeze_bn)
        channels = self.channels[-1]
        self.layer5 = PSPHead(channels, 512 if channels >= 2048 else 128)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits at 1/8 (or 1/16) of the crop."""
        return self.layer5(super().forward(x)[-1])


# -- loss -------------------------------------------------------------------------------------------
def balanced_bce(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """BCE with the positives weighted by the share of negatives in the batch and the negatives by the
    share of positives, averaged over the pixels: a small object counts as much as its background."""
    target = target.float()
    total = target.numel()
    positives = target.sum()
    per_pixel = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    weight = torch.where(target > 0.5, (total - positives) / total, positives / total)
    return (weight * per_pixel).sum() / total


# -- decoding ---------------------------------------------------------------------------------------
def paste_probability(probability: np.ndarray, extreme: ExtremePoints, height: int, width: int,
                      relax: int = RELAX) -> np.ndarray:
    """The crop's probabilities back on the image (float32): resized to the crop box, and kept only inside
    the points' box (the relax margin is context, never object); zero elsewhere."""
    x0, y0, x1, y1 = crop_box(extreme, relax)
    resized = cv2.resize(probability.astype(np.float32), (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
    pasted = np.zeros((height, width), dtype=np.float32)
    bx0, by0 = max(x0 + relax, 0), max(y0 + relax, 0)
    bx1, by1 = min(x1 - relax, width), min(y1 - relax, height)
    if bx1 > bx0 and by1 > by0:
        pasted[by0:by1, bx0:bx1] = resized[by0 - y0:by1 - y0, bx0 - x0:bx1 - x0]
    return pasted


class DextrPredictor:
    """A loaded network as the mask backends call it: an RGB image and many objects' clicks and
    correction points in, one mask per object out, the objects run as one batch."""

    def __init__(self, model: DextrNet, crop: int, device: str | torch.device = "cpu"):
        self.device = torch.device(device)
        self.layout = fast_layout(self.device)
        self.model = model.to(self.device, memory_format=self.layout).eval()
        self.crop = crop
        self.inputs = model.conv1.in_channels

    def __call__(self, image: np.ndarray, extremes: Sequence[ExtremePoints],
                 corrections: Sequence[Sequence[Correction]] | None = None) -> list[np.ndarray]:
        return [p > THRESHOLD for p in self.probabilities(image, extremes, corrections)]

    @torch.inference_mode()
    def probabilities(self, image: np.ndarray, extremes: Sequence[ExtremePoints],
                      corrections: Sequence[Sequence[Correction]] | None = None) -> list[np.ndarray]:
        """Per object, its chance of object per pixel of the image (zero outside its points' box)."""
        if not extremes:
            return []
        corrections = corrections or [()] * len(extremes)
        batch = np.stack([crop_input(image, e, self.crop, c, self.inputs)
                          for e, c in zip(extremes, corrections, strict=True)]).transpose(0, 3, 1, 2)
        with inference_precision(self.device):
            logits = self.model(torch.from_numpy(batch).to(self.device, torch.float32, memory_format=self.layout))
        logits = F.interpolate(logits.float(), size=(self.crop, self.crop), mode="bilinear", align_corners=True)
        probabilities = torch.sigmoid(logits)[:, 0].float().cpu().numpy()
        height, width = image.shape[:2]
        return [paste_probability(p, e, height, width) for p, e in zip(probabilities, extremes, strict=True)]


def dextr_net(config: dict, freeze_bn: bool = False) -> DextrNet:
    """The network a checked config (`kinds.dextr`) describes."""
    return DextrNet(config["depth"], config["output_stride"], freeze_bn, config["inputs"])
