"""SAPD (Zhu et al., ECCV 2020): an anchor-point detector whose positives are weighted by how central
they are (soft-weighted anchor points) and whose instances are spread over the pyramid levels a small
net chooses (soft-selected pyramid levels). Head, targets, loss and decoding side by side.

Beyond the paper, the regression subnet also says where along each side of the box its extreme point
lies (a fraction of that side), so every detection comes back as four extreme points, ready for the
labelling session and the mask backends.
"""
from __future__ import annotations

import dataclasses
import math

import torch
import torch.nn.functional as F
from torch import nn

from .backbones import ResNet
from .detections import Detections, GroundTruth
from .fpn import FPN, STRIDES, tower
from .ops import batched_nms, iou_loss, roi_align, sigmoid_focal_loss

Z = 4.0  # distances are regressed in units of z * stride
EPSILON = 0.2  # the shrunk box, where anchor points are positive: this share of the box, same centre
ETA = 1.0  # soft weight exponent
TOP_LEVELS = 3  # soft selection: each instance goes to its best k levels
SELECTION_WEIGHT = 0.1  # lambda of the selection net's loss
PRIOR = 0.01


# -- model ------------------------------------------------------------------------------------------
class SAPDHead(nn.Module):
    """Shared across levels: a classification subnet and a regression subnet of 4 convs each; the
    regression subnet ends in 4 distances (left, top, right, bottom) and 4 extreme-point fractions. The
    distances are non-negative through a softplus, starting at 0.1 as the paper's bias does: through its
    ReLU, a point whose distances all fell below zero never learned again (a run from the window
    diverged so, its box loss stuck at -ln(1e-6))."""

    def __init__(self, channels: int, num_classes: int, convs: int = 4):
        super().__init__()
        self.cls_subnet, self.reg_subnet = tower(channels, convs), tower(channels, convs)
        self.cls_logits = nn.Conv2d(channels, num_classes, 3, padding=1)
        self.box_distances = nn.Conv2d(channels, 4, 3, padding=1)
        self.extreme_logits = nn.Conv2d(channels, 4, 3, padding=1)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, std=0.01)
                nn.init.zeros_(m.bias)
        nn.init.constant_(self.cls_logits.bias, -math.log((1 - PRIOR) / PRIOR))
        nn.init.constant_(self.box_distances.bias, math.log(math.expm1(0.1)))  # softplus(bias) = 0.1

    def forward(self, feature: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        cls = self.cls_logits(self.cls_subnet(feature))
        reg = self.reg_subnet(feature)
        return cls, F.softplus(self.box_distances(reg)), self.extreme_logits(reg)


class FeatureSelection(nn.Module):
    """Which levels suit an instance: RoIAlign of its box on all five levels, three unpadded 3x3
    convs, a linear layer, softmax over the levels."""

    def __init__(self, channels: int, levels: int = len(STRIDES), pool: int = 7):
        super().__init__()
        self.pool = pool
        self.convs = nn.Sequential(
            nn.Conv2d(channels * levels, 256, 3), nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, 3), nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, 3), nn.ReLU(inplace=True))
        self.fc = nn.Linear(256, levels)

    def forward(self, features: list[torch.Tensor], boxes: torch.Tensor, batch_index: torch.Tensor) -> torch.Tensor:
        """Logits over the levels, one row per box. In float32 even under autocast: in bfloat16 its
        gradient overflowed to inf in the first steps on small images (all the others' were finite)."""
        with torch.autocast(boxes.device.type, enabled=False):
            pooled = [roi_align(f.float(), boxes.float(), batch_index, self.pool, 1 / s)
                      for f, s in zip(features, STRIDES, strict=True)]
            return self.fc(self.convs(torch.cat(pooled, dim=1)).flatten(1))


@dataclasses.dataclass
class LevelOutputs:
    cls: torch.Tensor  # N x C x H x W logits
    distances: torch.Tensor  # N x 4 x H x W, in units of z * stride
    extremes: torch.Tensor  # N x 4 x H x W logits of the fractions along the sides


class SAPD(nn.Module):
    def __init__(self, num_classes: int, depth: int = 50, channels: int = 256):
        super().__init__()
        self.num_classes = num_classes
        self.backbone = ResNet(depth)
        self.fpn = FPN(tuple(self.backbone.channels[1:]), channels)
        self.head = SAPDHead(channels, num_classes)
        self.selection = FeatureSelection(channels)

    def forward(self, images: torch.Tensor) -> tuple[list[LevelOutputs], list[torch.Tensor]]:
        _, c3, c4, c5 = self.backbone(images)
        features = self.fpn(c3, c4, c5)
        return [LevelOutputs(*self.head(f)) for f in features], features


# -- targets ----------------------------------------------------------------------------------------
def anchor_points(height: int, width: int, stride: int, device: torch.device | None = None) -> torch.Tensor:
    """The (x, y) of every anchor point of a level, row-major: (stride (j + 0.5), stride (i + 0.5))."""
    ys = (torch.arange(height, device=device, dtype=torch.float32) + 0.5) * stride
    xs = (torch.arange(width, device=device, dtype=torch.float32) + 0.5) * stride
    return torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1).reshape(-1, 2)


@dataclasses.dataclass
class LevelTargets:
    instance: torch.Tensor  # P: the instance each point learns, or -1 (negative)
    weight: torch.Tensor  # P: soft weight x level weight of positives, 1 for negatives
    distances: torch.Tensor  # P x 4: (left, top, right, bottom) / (z * stride)


def level_targets(points: torch.Tensor, stride: int, boxes: torch.Tensor, level_weight: torch.Tensor) -> LevelTargets:
    """Positives: points inside the shrunk box of an instance that uses this level (level_weight > 0);
    a point in several goes to the smallest box. Weight: SAPD's centreness-like soft weight times the
    instance's weight for the level."""
    p = len(points)
    instance = torch.full((p,), -1, dtype=torch.long, device=points.device)
    weight = torch.ones(p, device=points.device)
    distances = torch.zeros(p, 4, device=points.device)
    if len(boxes) == 0:
        return LevelTargets(instance, weight, distances)
    inside, ltrb, soft = _shrunk_boxes(points, boxes, stride)
    inside &= level_weight[None, :] > 0
    areas = ((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))[None, :].expand(p, -1)
    areas = torch.where(inside, areas, torch.full_like(areas, float("inf")))
    smallest, chosen = areas.min(dim=1)
    positive = torch.isfinite(smallest)
    rows = torch.arange(p, device=points.device)
    instance[positive] = chosen[positive]
    weight[positive] = soft[rows, chosen][positive] * level_weight[chosen[positive]]
    distances[positive] = ltrb[rows, chosen][positive] / (Z * stride)
    return LevelTargets(instance, weight, distances)


def _shrunk_boxes(points: torch.Tensor, boxes: torch.Tensor, stride: int
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """For every point and box (P x K): whether the point is positive for the box, its distances to the
    box sides (P x K x 4: left, top, right, bottom), and its soft weight. Positive: inside the box shrunk
    to EPSILON about its centre, the shrunk box widened to at least one stride each way (FSAF's
    effective region rounded to the grid), so that a box smaller than 1 / EPSILON strides still has the
    point nearest its centre, if that point lies inside the box: at stride 8 the shrunk box of a 16 px
    object is 3.2 px, and 78% of its placements held no point."""
    x, y = points[:, 0:1], points[:, 1:2]
    ltrb = torch.stack([x - boxes[None, :, 0], y - boxes[None, :, 1], boxes[None, :, 2] - x,
                        boxes[None, :, 3] - y], dim=2)
    cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
    half_w = (EPSILON * (boxes[:, 2] - boxes[:, 0]) / 2).clamp(min=stride / 2)
    half_h = (EPSILON * (boxes[:, 3] - boxes[:, 1]) / 2).clamp(min=stride / 2)
    inside = ((x - cx).abs() <= half_w) & ((y - cy).abs() <= half_h) & (ltrb.min(dim=2).values > 0)
    l, t, r, b = ltrb.unbind(dim=2)
    soft = (torch.minimum(l, r) * torch.minimum(t, b) /
            (torch.maximum(l, r) * torch.maximum(t, b)).clamp(min=1e-9)).clamp(min=0) ** ETA
    return inside, ltrb, soft


def extreme_fractions(boxes: torch.Tensor, extremes: torch.Tensor) -> torch.Tensor:
    """Where each extreme point lies along its side, in [0, 1]: top and bottom along the width, left and
    right along the height. extremes: K x 4 x 2 in top, left, bottom, right order."""
    w = (boxes[:, 2] - boxes[:, 0]).clamp(min=1e-6)
    h = (boxes[:, 3] - boxes[:, 1]).clamp(min=1e-6)
    return torch.stack([(extremes[:, 0, 0] - boxes[:, 0]) / w, (extremes[:, 1, 1] - boxes[:, 1]) / h,
                        (extremes[:, 2, 0] - boxes[:, 0]) / w, (extremes[:, 3, 1] - boxes[:, 1]) / h],
                       dim=1).clamp(0, 1)


def extremes_from_fractions(boxes: torch.Tensor, fractions: torch.Tensor) -> torch.Tensor:
    x0, y0, x1, y1 = boxes.unbind(dim=1)
    f = fractions
    return torch.stack([torch.stack([x0 + f[:, 0] * (x1 - x0), y0], 1), torch.stack([x0, y0 + f[:, 1] * (y1 - y0)], 1),
                        torch.stack([x0 + f[:, 2] * (x1 - x0), y1], 1), torch.stack([x1, y0 + f[:, 3] * (y1 - y0)], 1)],
                       dim=1)


# -- loss -------------------------------------------------------------------------------------------
def sapd_loss(outputs: list[LevelOutputs], features: list[torch.Tensor], targets: list[GroundTruth],
              selection: FeatureSelection, soft_selection: bool) -> dict[str, torch.Tensor]:
    """Focal + IoU + extreme-fraction losses over all images and levels, normalised by the sum of the
    positives' weights, and the selection net's cross-entropy against each instance's best level.

    First phase (`soft_selection` False): each instance trains on its single lowest-loss level. Second:
    on its 3 levels of lowest loss (the paper's "top-k feature levels with k minimal instance-dependent
    losses"), each weighted by the selection net's probability for it. Extreme fractions train only on
    instances whose extreme points are known."""
    device = outputs[0].cls.device
    losses = {"cls": torch.zeros((), device=device), "box": torch.zeros((), device=device),
              "extreme": torch.zeros((), device=device)}
    total_weight = torch.zeros((), device=device)
    boxes_all = [t.boxes for t in targets]
    batch_index = torch.cat([torch.full((len(b),), k, device=device, dtype=torch.long)
                             for k, b in enumerate(boxes_all)])
    select_logits = selection(features, torch.cat(boxes_all), batch_index)
    best_levels = []
    for n, target in enumerate(targets):
        count = len(target.boxes)
        per_level = [_flat(level, n) for level in outputs]
        points = [anchor_points(*level.cls.shape[-2:], s, device) for level, s in zip(outputs, STRIDES, strict=True)]
        with torch.no_grad():
            instance_loss = torch.stack([_instance_losses(flat, pts, s, target) for flat, pts, s in
                                         zip(per_level, points, STRIDES, strict=True)], dim=1) if count else None
        if count:
            best_levels.append(instance_loss.argmin(dim=1))
            level_weights = levels_of(instance_loss, select_logits[batch_index == n].detach(), soft_selection)
        fractions_of = extreme_fractions(target.boxes, target.extremes)
        for k, (flat, pts, stride) in enumerate(zip(per_level, points, STRIDES, strict=True)):
            weight_for_level = level_weights[:, k] if count else torch.zeros(0, device=device)
            t = level_targets(pts, stride, target.boxes, weight_for_level)
            cls_target = torch.zeros_like(flat.cls)
            positive = t.instance >= 0
            if positive.any():
                cls_target[positive, target.labels[t.instance[positive]]] = 1.0
            losses["cls"] = losses["cls"] + (sigmoid_focal_loss(flat.cls, cls_target).sum(dim=1) * t.weight).sum()
            # summed over the positives even when there are none: the regression subnet stays in every
            # step's graph, with a zero gradient (DistributedDataParallel waits for one)
            w = t.weight[positive]
            losses["box"] = losses["box"] + (iou_loss(flat.distances[positive], t.distances[positive]) * w).sum()
            fractions = fractions_of[t.instance[positive]]
            extreme_bce = F.binary_cross_entropy_with_logits(flat.extremes[positive], fractions, reduction="none")
            known = target.known[t.instance[positive]].to(w.dtype)
            losses["extreme"] = losses["extreme"] + (extreme_bce.mean(dim=1) * w * known).sum()
            total_weight = total_weight + w.sum()
    # over all instances at once, so that the selection net is part of every step's graph, even one
    # without instances (DistributedDataParallel waits for a gradient of every parameter)
    best = torch.cat(best_levels) if best_levels else batch_index
    losses["select"] = F.cross_entropy(select_logits, best, reduction="sum")
    normaliser = total_weight.clamp(min=1.0)
    instances = max(1, int(batch_index.numel()))
    return {"cls": losses["cls"] / normaliser, "box": losses["box"] / normaliser,
            "extreme": losses["extreme"] / normaliser, "select": SELECTION_WEIGHT * losses["select"] / instances}


def levels_of(instance_loss: torch.Tensor, select_logits: torch.Tensor, soft_selection: bool) -> torch.Tensor:
    """Each instance's weight on each level (K x 5), from its loss on each level and the selection net's
    logits: one-hot on its lowest-loss level (FSAF), or, with soft selection, the net's probability on
    each of its TOP_LEVELS lowest-loss levels and 0 elsewhere (where it has no positive too)."""
    if not soft_selection:
        return F.one_hot(instance_loss.argmin(dim=1), instance_loss.shape[1]).float()
    probabilities = select_logits.softmax(dim=1) * torch.isfinite(instance_loss)
    top = instance_loss.topk(TOP_LEVELS, dim=1, largest=False).indices
    return torch.zeros_like(probabilities).scatter(1, top, probabilities.gather(1, top))


@dataclasses.dataclass
class _Flat:
    cls: torch.Tensor  # P x C
    distances: torch.Tensor  # P x 4
    extremes: torch.Tensor  # P x 4


def _flat(level: LevelOutputs, n: int) -> _Flat:
    def rows(x: torch.Tensor) -> torch.Tensor:
        return x[n].flatten(1).transpose(0, 1)

    return _Flat(rows(level.cls), rows(level.distances), rows(level.extremes))


def _instance_losses(flat: _Flat, points: torch.Tensor, stride: int, target: GroundTruth) -> torch.Tensor:
    """Each instance's mean focal + IoU loss over its positives on this level, as if it used only this
    level (FSAF's rule for the best level); infinite where the level has no point inside its shrunk box.
    All instances at once: a point's focal loss for instance k is that of its all-negative target with
    the term for k's class turned positive."""
    inside, ltrb, soft = _shrunk_boxes(points, target.boxes, stride)
    rows = inside.any(dim=1)
    inside, ltrb, soft, cls = inside[rows], ltrb[rows], soft[rows], flat.cls[rows]
    own = cls[:, target.labels]  # P x K: each point's logit for each instance's class
    focal = (sigmoid_focal_loss(cls, torch.zeros_like(cls)).sum(dim=1, keepdim=True)
             - sigmoid_focal_loss(own, torch.zeros_like(own)) + sigmoid_focal_loss(own, torch.ones_like(own)))
    box = iou_loss(flat.distances[rows][:, None, :], ltrb / (Z * stride))
    weight = soft * inside
    total = weight.sum(dim=0)
    losses = ((focal + box) * weight).sum(dim=0) / total.clamp(min=1e-12)
    return torch.where(inside.any(dim=0), losses, torch.full_like(losses, float("inf")))


# -- decoding ---------------------------------------------------------------------------------------
def clipped(boxes: torch.Tensor, grid: torch.Size | tuple[int, ...], stride: int) -> torch.Tensor:
    """Boxes clipped to the network's input, whose first level is a `grid` (H, W) at `stride`: before
    NMS, so that two boxes reaching out of the picture are compared by what is in it."""
    height, width = grid[0] * stride, grid[1] * stride
    limit = torch.tensor([width, height, width, height], dtype=boxes.dtype, device=boxes.device)
    return torch.minimum(boxes.clamp(min=0), limit)


def decode(outputs: list[LevelOutputs], score_threshold: float = 0.05, top_per_level: int = 1000,
           nms_threshold: float = 0.5, max_detections: int = 100) -> list[Detections]:
    """Per image: every level's points above the threshold (at most `top_per_level` each), boxes (clipped
    to the input) and extreme points from their regressions, class-wise NMS, the best `max_detections`."""
    results = []
    for n in range(outputs[0].cls.shape[0]):
        boxes, scores, labels, fractions = [], [], [], []
        for level, stride in zip(outputs, STRIDES, strict=True):
            flat = _flat(level, n)
            points = anchor_points(*level.cls.shape[-2:], stride, flat.cls.device)
            probabilities = torch.sigmoid(flat.cls).flatten()
            keep = (probabilities > score_threshold).nonzero().squeeze(1)
            keep = keep[probabilities[keep].topk(min(top_per_level, len(keep))).indices]
            point_index, label = keep // flat.cls.shape[1], keep % flat.cls.shape[1]
            d = flat.distances[point_index] * Z * stride
            p = points[point_index]
            boxes.append(torch.stack([p[:, 0] - d[:, 0], p[:, 1] - d[:, 1], p[:, 0] + d[:, 2], p[:, 1] + d[:, 3]], 1))
            scores.append(probabilities[keep])
            labels.append(label)
            fractions.append(torch.sigmoid(flat.extremes[point_index]))
        boxes, scores, labels, fractions = (torch.cat(x) for x in (boxes, scores, labels, fractions))
        boxes = clipped(boxes, outputs[0].cls.shape[-2:], STRIDES[0])
        kept = batched_nms(boxes, scores, labels, nms_threshold, max_detections)
        results.append(Detections(boxes[kept], scores[kept], labels[kept],
                                  extremes_from_fractions(boxes[kept], fractions[kept])))
    return results
