"""RetinaNet (Lin et al., ICCV 2017) on the shared ResNet and FPN: A anchor boxes at every location of
each level P3-P7, matched to the true boxes by IoU (>= 0.5 foreground, < 0.4 background, between
ignored; each box keeps its best anchors even below 0.5), a focal loss on the classes, a smooth L1 loss
on the offsets (dx, dy, dw, dh) from the matched anchor, and decoding with NMS. Head, targets, loss and
decoding side by side.

As SAPD's head does, the regression subnet also says where along each side of the box its extreme
point lies, so every detection comes back as four extreme points for pre-labelling.

The anchors are the model's config (`anchors`: per level, the (w, h) of each of its A anchors, in
pixels at the input size): RetinaNet's default 3 scales x 3 ratios, k-means' on the training boxes
(`detectors.anchor_boxes`), or learned (Zhong et al., "Anchor Box Optimization for Object Detection"):
their log widths and heights are parameters, moved by the regression loss through its targets
log(w / a_w), log(h / a_h), and by an online clustering loss that pulls each anchor towards the true
shapes softly assigned to it (softmax(-distance / T), T falling from 1 to 0.05 over the first half of
the run, the soft assignment within each level (a box belongs to the level of the anchor shape that fits
it best), and off from half way); the head's dw, dh go through a batch norm without shift, one per
level, so that their mean is left to the anchors; only dw, dh carry the regression's gradient to the
anchors (dx, dy are in units of the anchor's size, but how far a centre is off says nothing of shape).
Or MetaAnchor (Yang et al., NeurIPS 2018): the head's last layers are anchor functions, their weights
made from each anchor's prior box b by a small generator, theta_b = theta* + W2 relu(W1 b), with b the
log of the box's width and height over the level's standard anchor (4 strides square); trained on priors
drawn around the anchors at every step, so that other anchors can be given when it runs, without
retraining."""
from __future__ import annotations

import dataclasses
import math

import torch
import torch.nn.functional as F
from torch import nn

from .backbones import ResNet
from .detections import Detections, GroundTruth
from .fpn import FPN, STRIDES, tower
from .ops import batched_nms, box_iou, sigmoid_focal_loss
from .sapd import anchor_points, clipped, extreme_fractions, extremes_from_fractions

FOREGROUND, BACKGROUND = 0.5, 0.4
IGNORED, NEGATIVE = -2, -1
PRIOR = 0.01
SMOOTH_L1_BETA = 1 / 9  # Detectron's RetinaNet
LARGEST_SCALE = math.log(1000 / 16)  # dw, dh are clamped here before exp, as Detectron does
CLUSTER_WEIGHT = 1.0
CLUSTER_UNTIL = 0.5  # the clustering loss is a warm-up: off from this share of the run, once T is cold
STANDARD_SIDE = 4  # in strides: RetinaNet's anchor of scale 1 and ratio 1:1 (32 px on P3)
PRIOR_JITTER = 0.5  # MetaAnchor's training priors: each side times exp(U(-0.5, 0.5)) around the anchors
RESIDUAL_SCALE = 0.01  # the generator's output, in units of the last layers' initial weights
WARM, COLD = 1.0, 0.05  # the soft assignment's temperature at the start and from half way
#: The learned anchor shapes' learning rate as a multiple of the weights': Adam moves a parameter by
#: about one rate per step, and a log side must travel some 1.4 (a 1:2 anchor to a 1:8 rod) in the few
#: hundred steps of a CPU run; at the weights' rate it moved 0.3 at most.
ANCHOR_RATE = 20.0


# -- model ------------------------------------------------------------------------------------------
class AnchorFunction(nn.Module):
    """MetaAnchor's generated last layer: a 3x3 conv with `outputs` channels per anchor, whose weights
    for prior b are theta* + W2 relu(W1 b). W1 and W2 have no bias and W2 starts at zero, so the
    standard anchor (b = 0) always gets theta*, and every anchor starts there. The generator's output is
    in units of the weights' own scale (`RESIDUAL_SCALE`, their initial spread): unscaled, each step of
    the optimiser on W2 moved every generated weight by several times that spread, and the regression
    diverged in the first minute (boxes of height 0, on fruits_nuts)."""

    def __init__(self, channels: int, outputs: int, hidden: int = 64):
        super().__init__()
        self.shape = (outputs, channels, 3, 3)
        self.weight = nn.Parameter(torch.randn(self.shape) * 0.01)  # theta*
        self.bias = nn.Parameter(torch.zeros(outputs))
        self.w1 = nn.Linear(2, hidden, bias=False)
        self.w2 = nn.Linear(hidden, self.weight.numel() + outputs, bias=False)
        nn.init.zeros_(self.w2.weight)

    def weights(self, priors: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """For A priors (A x 2), the conv's weight (A outputs, channels, 3, 3) and bias, anchor-major."""
        residual = self.w2(F.relu(self.w1(priors))) * RESIDUAL_SCALE
        weight = self.weight[None] + residual[:, :self.weight.numel()].reshape(len(priors), *self.shape)
        bias = self.bias[None] + residual[:, self.weight.numel():]
        return weight.reshape(-1, *self.shape[1:]), bias.reshape(-1)

    def forward(self, x: torch.Tensor, priors: torch.Tensor) -> torch.Tensor:
        weight, bias = self.weights(priors)
        return F.conv2d(x, weight, bias, padding=1)


class RetinaHead(nn.Module):
    """A classification and a regression subnet of 4 convs each, shared across levels; per anchor: C
    class logits, 4 offsets, 4 extreme-point fractions: from fixed convs, or from anchor functions
    (`meta`) whose weights each level's priors make."""

    def __init__(self, channels: int, num_classes: int, anchors: int, normalised_sizes: bool = False,
                 meta: bool = False, levels: int = len(STRIDES)):
        """`normalised_sizes`: dw and dh through a batch norm without shift (learned anchors), one per
        level: the levels' statistics differ, and one norm shared by all of them disagreed with itself
        between training and use by up to 14% in box size."""
        super().__init__()
        self.num_classes, self.anchors = num_classes, anchors
        self.size_norm = nn.ModuleList(nn.BatchNorm2d(anchors * 2, affine=False) for _ in range(levels)) \
            if normalised_sizes else None
        self.size_scale = nn.Parameter(torch.ones(levels, anchors * 2, 1, 1)) if normalised_sizes else None
        self.cls_subnet, self.reg_subnet = tower(channels), tower(channels)
        layer = (lambda outputs: AnchorFunction(channels, outputs)) if meta else \
            (lambda outputs: nn.Conv2d(channels, anchors * outputs, 3, padding=1))
        self.cls_logits, self.box_deltas, self.extreme_logits = layer(num_classes), layer(4), layer(4)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, std=0.01)
                nn.init.zeros_(m.bias)
        nn.init.constant_(self.cls_logits.bias, -math.log((1 - PRIOR) / PRIOR))

    def forward(self, feature: torch.Tensor, level: int, priors: torch.Tensor | None = None) -> LevelOutputs:
        """`level`: 0 for P3; `priors`: with anchor functions, this level's (A x 2)."""
        def last(layer: nn.Module, x: torch.Tensor) -> torch.Tensor:
            return layer(x) if priors is None else layer(x, priors)
        reg = self.reg_subnet(feature)
        deltas = last(self.box_deltas, reg)
        if self.size_norm is not None:
            n, _, h, w = deltas.shape
            parts = deltas.reshape(n, self.anchors, 4, h, w)
            sizes = self.size_norm[level](parts[:, :, 2:].reshape(n, self.anchors * 2, h, w)) * self.size_scale[level]
            deltas = torch.cat([parts[:, :, :2], sizes.reshape(n, self.anchors, 2, h, w)], dim=2).reshape(n, -1, h, w)
        return LevelOutputs(last(self.cls_logits, self.cls_subnet(feature)), deltas, last(self.extreme_logits, reg))


@dataclasses.dataclass
class LevelOutputs:
    cls: torch.Tensor  # N x (A C) x H x W logits
    deltas: torch.Tensor  # N x (A 4) x H x W: dx, dy, dw, dh per anchor
    extremes: torch.Tensor  # N x (A 4) x H x W logits of the fractions along the sides

    def rows(self, n: int, anchors: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Image n's outputs as one row per anchor (location-major, as `level_anchors` lists them)."""
        def flat(x: torch.Tensor) -> torch.Tensor:
            _, height, width = x[n].shape
            return x[n].reshape(anchors, -1, height, width).permute(2, 3, 0, 1).reshape(height * width * anchors, -1)
        return flat(self.cls), flat(self.deltas), flat(self.extremes)


@dataclasses.dataclass
class RetinaOutputs:
    levels: list[LevelOutputs]  # P3 first
    shapes: torch.Tensor  # L x A x 2: the (w, h) of the anchors the levels' outputs are relative to


class RetinaNet(nn.Module):
    def __init__(self, num_classes: int, depth: int, channels: int, anchors: list[list[list[float]]],
                 learned: bool = False, meta: bool = False):
        """`anchors`: per level (P3 first), the (w, h) of its anchors, every level the same count; with
        `learned`, where they start, and their logs are parameters (saved with the weights); with
        `meta`, the head's last layers are made from them (and any others given to `forward`)."""
        super().__init__()
        self.num_classes, self.meta = num_classes, meta
        self.backbone = ResNet(depth)
        self.fpn = FPN(tuple(self.backbone.channels[1:]), channels)
        self.head = RetinaHead(channels, num_classes, len(anchors[0]), normalised_sizes=learned, meta=meta)
        log_shapes = torch.tensor(anchors, dtype=torch.float32).log()
        if learned:
            self.log_shapes = nn.Parameter(log_shapes)
        else:
            self.register_buffer("log_shapes", log_shapes, persistent=False)

    @property
    def shapes(self) -> torch.Tensor:
        return self.log_shapes.exp()

    def forward(self, images: torch.Tensor, shapes: torch.Tensor | None = None) -> RetinaOutputs:
        """`shapes`: other anchors than the model's (L x A x 2), for anchor functions (MetaAnchor)."""
        shapes = self.shapes if shapes is None else shapes
        _, c3, c4, c5 = self.backbone(images)
        features = self.fpn(c3, c4, c5)
        if not self.meta:
            return RetinaOutputs([self.head(f, k) for k, f in enumerate(features)], shapes)
        return RetinaOutputs([self.head(f, k, priors_of(level, stride)) for k, (f, level, stride) in
                              enumerate(zip(features, shapes, STRIDES, strict=True))], shapes)


def priors_of(shapes: torch.Tensor, stride: int) -> torch.Tensor:
    """MetaAnchor's b: the log of each anchor's width and height over the level's standard anchor."""
    return (shapes / (STANDARD_SIDE * stride)).log()


def jittered(shapes: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """MetaAnchor's training priors: every side of every anchor times exp(U(-j, j))."""
    noise = torch.rand(shapes.shape, generator=generator) * 2 - 1
    return shapes * (noise.to(shapes.device) * PRIOR_JITTER).exp()


# -- targets ----------------------------------------------------------------------------------------
def level_anchors(height: int, width: int, stride: int, shapes: torch.Tensor) -> torch.Tensor:
    """(H W A) x 4 anchor boxes x0, y0, x1, y1: each shape (A x 2) centred on each location, location-major."""
    centres = anchor_points(height, width, stride, shapes.device)[:, None, :]
    half = shapes[None, :, :] / 2
    return torch.cat([centres - half, centres + half], dim=2).reshape(-1, 4)


def match(anchors: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
    """Per anchor, the box it learns (>= 0), NEGATIVE (background) or IGNORED. Each box also gets the
    anchors of its highest IoU, however low, so that no object goes without a positive (Detectron's
    low-quality matches)."""
    matched = torch.full((len(anchors),), NEGATIVE, dtype=torch.long, device=anchors.device)
    if len(boxes) == 0:
        return matched
    iou = box_iou(anchors, boxes)
    best, index = iou.max(dim=1)
    matched = torch.where(best >= FOREGROUND, index, matched)
    matched = torch.where((best >= BACKGROUND) & (best < FOREGROUND), torch.full_like(matched, IGNORED), matched)
    highest = iou.max(dim=0).values
    anchor, box = ((iou == highest[None, :]) & (highest[None, :] > 0)).nonzero(as_tuple=True)
    matched[anchor] = box
    return matched


def encode(anchors: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
    """(dx, dy, dw, dh): the box's centre offset in anchor sizes, and the log of its size ratios. With
    learned anchors only dw, dh pass a gradient to the anchor's size."""
    aw, ah = anchors[:, 2] - anchors[:, 0], anchors[:, 3] - anchors[:, 1]
    bw, bh = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    return torch.stack([((boxes[:, 0] + boxes[:, 2]) - (anchors[:, 0] + anchors[:, 2]).detach()) / 2 / aw.detach(),
                        ((boxes[:, 1] + boxes[:, 3]) - (anchors[:, 1] + anchors[:, 3]).detach()) / 2 / ah.detach(),
                        torch.log(bw / aw), torch.log(bh / ah)], dim=1)


def decode_boxes(anchors: torch.Tensor, deltas: torch.Tensor) -> torch.Tensor:
    aw, ah = anchors[:, 2] - anchors[:, 0], anchors[:, 3] - anchors[:, 1]
    cx = (anchors[:, 0] + anchors[:, 2]) / 2 + deltas[:, 0] * aw
    cy = (anchors[:, 1] + anchors[:, 3]) / 2 + deltas[:, 1] * ah
    w, h = aw * deltas[:, 2].clamp(max=LARGEST_SCALE).exp(), ah * deltas[:, 3].clamp(max=LARGEST_SCALE).exp()
    return torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], dim=1)


# -- loss -------------------------------------------------------------------------------------------
def retina_loss(outputs: RetinaOutputs, targets: list[GroundTruth], temperature: float | None = None,
                cluster_weight: float = CLUSTER_WEIGHT) -> dict[str, torch.Tensor]:
    """Focal loss over the anchors not ignored, smooth L1 on the foreground's offsets and the extreme
    fractions' cross-entropy (for objects whose extreme points are known), each summed over the images
    and divided by the foreground count. With a `temperature` (learned anchors), also the online
    clustering loss times `cluster_weight`; the matching then uses the anchors as they are, and the
    offsets' targets carry the gradient to them."""
    levels, shapes = outputs.levels, outputs.shapes
    device = levels[0].cls.device
    losses = {name: torch.zeros((), device=device) for name in ("cls", "box", "extreme")}
    foreground = torch.zeros((), device=device)
    anchors = torch.cat([level_anchors(*level.cls.shape[-2:], s, shape)
                         for level, s, shape in zip(levels, STRIDES, shapes, strict=True)])
    count = shapes.shape[1]
    for n, target in enumerate(targets):
        cls, deltas, extremes = (torch.cat(parts) for parts in zip(*(level.rows(n, count) for level in levels),
                                                                    strict=True))
        matched = match(anchors.detach(), target.boxes)
        positive, kept = matched >= 0, matched != IGNORED
        cls_target = torch.zeros_like(cls)
        cls_target[positive, target.labels[matched[positive]]] = 1.0
        losses["cls"] = losses["cls"] + sigmoid_focal_loss(cls[kept], cls_target[kept]).sum()
        # summed over the positives even when there are none: the regression subnet stays in every step's
        # graph with a zero gradient (DistributedDataParallel waits for one)
        boxes = target.boxes[matched[positive]]
        losses["box"] = losses["box"] + F.smooth_l1_loss(deltas[positive], encode(anchors[positive], boxes),
                                                         beta=SMOOTH_L1_BETA, reduction="sum")
        fractions = extreme_fractions(target.boxes, target.extremes)[matched[positive]]
        known = target.known[matched[positive]].to(fractions.dtype)
        losses["extreme"] = losses["extreme"] + (F.binary_cross_entropy_with_logits(
            extremes[positive], fractions, reduction="none").mean(dim=1) * known).sum()
        foreground = foreground + positive.sum()
    normaliser = foreground.clamp(min=1.0)
    out = {name: value / normaliser for name, value in losses.items()}
    if temperature is not None:
        out["cluster"] = cluster_weight * clustering_loss(torch.cat([t.boxes for t in targets]), shapes, temperature)
    return out


def clustering_loss(boxes: torch.Tensor, shapes: torch.Tensor, temperature: float) -> torch.Tensor:
    """Zhong et al.'s online clustering, within each level: each true shape goes to the level whose
    anchor shape fits it best (IoU, both centred), and there its squared distance to each of that
    level's anchors in log width and height is weighted by its soft assignment softmax(-distance / T)
    (held fixed, as k-means' assignment step is); a hot T moves every anchor of the level, a cold one
    only the nearest. Pooled over all levels instead, every level's anchors drifted to the whole set's
    sizes (P3's to 78-249 px on the rods)."""
    if len(boxes) == 0:
        return shapes.sum() * 0  # in the graph all the same (DistributedDataParallel)
    sizes = (boxes[:, 2:] - boxes[:, :2]).clamp(min=1.0)
    levels = _best_level(sizes, shapes.detach())
    logs = shapes.log()  # L x A x 2
    distance = ((sizes.log()[:, None, :] - logs[levels]) ** 2).sum(dim=2)  # boxes x A, within each box's level
    weight = torch.softmax(-distance.detach() / temperature, dim=1)
    return (weight * distance).sum(dim=1).mean()


def _best_level(sizes: torch.Tensor, shapes: torch.Tensor) -> torch.Tensor:
    """For each (w, h), the level of the anchor shape with the highest IoU with it, both centred."""
    flat = shapes.reshape(-1, 2)
    inter = torch.minimum(sizes[:, None, :], flat[None]).prod(dim=2)
    iou = inter / (sizes.prod(dim=1)[:, None] + flat.prod(dim=1)[None] - inter)
    return iou.argmax(dim=1) // shapes.shape[1]


def temperature_at(share: float) -> float:
    """The soft assignment's temperature: from WARM at the start down to COLD half way, then COLD."""
    return WARM + (COLD - WARM) * min(1.0, share / 0.5)


# -- decoding ---------------------------------------------------------------------------------------
def decode(outputs: RetinaOutputs, score_threshold: float = 0.05, top_per_level: int = 1000,
           nms_threshold: float = 0.5, max_detections: int = 100) -> list[Detections]:
    """Per image: each level's best anchor-class pairs above the threshold, their boxes (clipped to the
    input) and extreme points, class-wise NMS, the best `max_detections`."""
    levels, shapes = outputs.levels, outputs.shapes
    count, results = shapes.shape[1], []
    for n in range(levels[0].cls.shape[0]):
        found: list[list[torch.Tensor]] = [[], [], [], []]
        for level, stride, shape in zip(levels, STRIDES, shapes, strict=True):
            cls, deltas, extremes = level.rows(n, count)
            probabilities = torch.sigmoid(cls).flatten()
            keep = (probabilities > score_threshold).nonzero().squeeze(1)
            keep = keep[probabilities[keep].topk(min(top_per_level, len(keep))).indices]
            anchor, label = keep // cls.shape[1], keep % cls.shape[1]
            anchors = level_anchors(*level.cls.shape[-2:], stride, shape)[anchor]
            for part, value in zip(found, (decode_boxes(anchors, deltas[anchor]), probabilities[keep], label,
                                           torch.sigmoid(extremes[anchor])), strict=True):
                part.append(value)
        boxes, scores, labels, fractions = (torch.cat(part) for part in found)
        boxes = clipped(boxes, levels[0].cls.shape[-2:], STRIDES[0])
        kept = batched_nms(boxes, scores, labels, nms_threshold, max_detections)
        results.append(Detections(boxes[kept], scores[kept], labels[kept],
                                  extremes_from_fractions(boxes[kept], fractions[kept])))
    return results
