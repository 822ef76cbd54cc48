"""ExtremeNet (Zhou et al., CVPR 2019): each class's four extreme points and its centre as heat-map
peaks at stride 4, grouped into objects by geometry. Network, targets, loss and decoding side by side;
the heat maps' parts are `extreme_heatmaps`, the grouping `extreme_grouping`.

The backbone is a ResNet (torchvision's layout, so ImageNet weights load) with a feature pyramid
merged down to stride 4, in place of the paper's Hourglass-104.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .backbones import ResNet
from .detections import Detections, boxes_of
from .extreme_grouping import Peaks, group_extremes, group_points
from .extreme_heatmaps import draw_gaussian, edge_aggregate, focal_loss, gaussian_radius, top_peaks
from .ops import batched_soft_nms, suppress_ghosts

STRIDE = 4
MAPS = ("top", "left", "bottom", "right", "centre")  # the heat maps of each class, in this order
HEAT_BIAS = -2.19  # the paper's: a first guess of 0.1 everywhere
NECK = 64  # channels of the stride-4 map the heads read
TOP_K = 40  # peaks per extreme map
CANDIDATES, DETECTIONS = 1000, 100  # groups that reach suppression; detections per image


# -- network ---------------------------------------------------------------------------------------
class MergedNeck(nn.Module):
    """A feature pyramid merged down to P2: each of C2-C5 through a 1x1 conv, the coarser levels added
    in from the top, upsampled, then a 3x3 conv at stride 4. The stride-4 map keeps C2's detail, which
    an extreme point's place needs; on fruits_nuts from scratch it learned where CenterNet's
    deconvolution neck from C5 alone still gave flat maps after the same minutes."""

    def __init__(self, in_channels: list[int], channels: int = NECK):
        super().__init__()
        self.lateral = nn.ModuleList(nn.Conv2d(c, channels, 1) for c in in_channels)
        self.output = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels),
                                    nn.ReLU(inplace=True))
        self.channels = channels

    def forward(self, levels: list[torch.Tensor]) -> torch.Tensor:
        merged = self.lateral[-1](levels[-1])
        for conv, level in zip(list(self.lateral)[-2::-1], levels[-2::-1], strict=True):
            merged = conv(level) + F.interpolate(merged, size=level.shape[-2:], mode="nearest")
        return self.output(merged)


def _head(channels: int, outputs: int, bias: float = 0.0) -> nn.Sequential:
    """The paper's head: 3x3 conv, ReLU, 1x1 conv."""
    head = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(inplace=True),
                         nn.Conv2d(channels, outputs, 1))
    nn.init.constant_(head[-1].bias, bias)
    return head


@dataclasses.dataclass
class ExtremeOutputs:
    heat: torch.Tensor  # (B, 5, C, H, W) logits, maps in MAPS order
    offsets: torch.Tensor  # (B, 4, 2, H, W): each extreme point's (dx, dy) within its cell


class ExtremeNet(nn.Module):
    def __init__(self, num_classes: int, depth: int = 18):
        super().__init__()
        self.num_classes = num_classes
        self.backbone = ResNet(depth)
        self.neck = MergedNeck(self.backbone.channels)
        self.heat = nn.ModuleList(_head(self.neck.channels, num_classes, HEAT_BIAS) for _ in MAPS)
        self.offsets = nn.ModuleList(_head(self.neck.channels, 2) for _ in MAPS[:4])

    def forward(self, images: torch.Tensor) -> ExtremeOutputs:
        features = self.neck(self.backbone(images))
        return ExtremeOutputs(torch.stack([h(features) for h in self.heat], dim=1),
                              torch.stack([o(features) for o in self.offsets], dim=1))


# -- targets ---------------------------------------------------------------------------------------
@dataclasses.dataclass
class ExtremeTargets:
    heat: torch.Tensor  # (5, C, H, W): a Gaussian peak at each object's points
    ignored: torch.Tensor  # (4, C, H, W) bool: where an extreme map learns nothing (a box-only object's sides)
    cells: torch.Tensor  # (N, 4, 2) long: the (x, y) cell of each extreme point
    offsets: torch.Tensor  # (N, 4, 2): where in its cell the point lies
    known: torch.Tensor  # (N,) bool: the object's extreme points are known


def extreme_targets(extremes: torch.Tensor, classes: torch.Tensor, size: tuple[int, int], num_classes: int,
                    known: torch.Tensor | None = None) -> ExtremeTargets:
    """Targets of one image of `size` (height, width) in pixels: `extremes` (N, 4, 2) holds each object's
    top, left, bottom and right (x, y); the centre is its box's centre. The Gaussian's radius follows
    CornerNet's rule for the box's size on the map. An object whose extreme points are not `known` (a
    box-only one: its points are somewhere along each side) gets its centre peak, and on each extreme
    map the band along its side, as wide as the peak would be, is ignored rather than taught a point."""
    height, width = (s // STRIDE for s in size)
    known = torch.ones(len(extremes), dtype=torch.bool) if known is None else known.cpu()
    heat = torch.zeros(len(MAPS), num_classes, height, width)
    ignored = torch.zeros(4, num_classes, height, width, dtype=torch.bool)
    points = extremes.float() / STRIDE
    limit = torch.tensor([width - 1, height - 1], dtype=points.dtype)
    cells = torch.minimum(points.floor().clamp(min=0), limit).long()
    for n, (object_points, cls) in enumerate(zip(points, classes.tolist(), strict=True)):
        x0, y0 = object_points[1, 0], object_points[0, 1]
        x1, y1 = object_points[3, 0], object_points[2, 1]
        radius = max(0, int(gaussian_radius(float(y1 - y0), float(x1 - x0))))
        if known[n]:
            for j in range(4):
                draw_gaussian(heat[j, cls], int(cells[n, j, 0]), int(cells[n, j, 1]), radius)
        else:
            _ignore_sides(ignored[:, cls], cells[n], radius)
        centre = torch.minimum((torch.stack([x0 + x1, y0 + y1]) / 2).floor().clamp(min=0), limit).long()
        draw_gaussian(heat[4, cls], int(centre[0]), int(centre[1]), radius)
    return ExtremeTargets(heat, ignored, cells, points - cells, known)


def _ignore_sides(ignored: torch.Tensor, cells: torch.Tensor, radius: int) -> None:
    """On the (4, H, W) maps of top, left, bottom and right, the band along each side of the box the four
    cells span, `radius` cells either side of it: a box-only object's extreme point lies somewhere there."""
    (_, top), (left, _), (_, bottom), (right, _) = cells.tolist()
    rows, columns = slice(top, bottom + 1), slice(left, right + 1)
    for j, line in enumerate((top, left, bottom, right)):
        band = slice(max(0, line - radius), line + radius + 1)
        if j in (0, 2):
            ignored[j, band, columns] = True
        else:
            ignored[j, rows, band] = True


# -- loss ------------------------------------------------------------------------------------------
def extreme_loss(outputs: ExtremeOutputs, targets: list[ExtremeTargets]) -> dict[str, torch.Tensor]:
    """As the reference sums it: the focal loss of each of the five heat maps, each divided by its own
    number of peaks, and smooth-L1 on each extreme map's offsets at its points, each divided by the
    number of objects (only those whose extreme points are known teach the extreme maps)."""
    heat = torch.stack([t.heat for t in targets]).to(outputs.heat)
    ignored = torch.stack([t.ignored for t in targets]).to(outputs.heat.device)
    focal = torch.stack([focal_loss(outputs.heat[:, m], heat[:, m], ignored[:, m] if m < 4 else None)
                         for m in range(len(MAPS))]).sum()
    offsets = []
    for image, t in enumerate(targets):
        known = t.known.to(t.cells.device)
        predicted = _offsets_at(outputs.offsets[image], t.cells[known])
        offsets.append(F.smooth_l1_loss(predicted, t.offsets[known].to(predicted), reduction="sum"))
    objects = max(sum(int(t.known.sum()) for t in targets), 1)
    return {"heat": focal, "offsets": torch.stack(offsets).sum() / objects}


def _offsets_at(offsets: torch.Tensor, cells: torch.Tensor) -> torch.Tensor:
    """One image's (4, 2, H, W) offsets read at (N, 4, 2) cells, each extreme point on its own map:
    (N, 4, 2)."""
    x, y = cells[..., 0], cells[..., 1]
    return offsets.permute(0, 2, 3, 1)[torch.arange(4, device=cells.device).expand_as(x), y, x]


# -- decoding --------------------------------------------------------------------------------------
def decode(heat_logits: torch.Tensor, offsets: torch.Tensor, score_threshold: float = 0.0, k: int = TOP_K,
           limit: int = DETECTIONS) -> Detections:
    """One image's (5, C, H, W) heat logits and (4, 2, H, W) offsets to detections in the input's
    pixels: sigmoid, edge aggregation, the top K peaks of each extreme map over all classes, grouping
    within each class, then soft-NMS and ghost-box suppression per class (`suppress`); the scores after
    them that reach `score_threshold`. Unlike the reference code, a peak's score is read on the map before
    aggregation, so that a detection's score stays in [0, 1] as the person's threshold expects."""
    heat = heat_logits.float().sigmoid()
    maps = [edge_aggregate(heat[0], -1), edge_aggregate(heat[1], -2), edge_aggregate(heat[2], -1),
            edge_aggregate(heat[3], -2)]
    peaks = []
    for raw, aggregated in zip(heat[:4], maps, strict=True):
        _, classes, ys, xs = top_peaks(aggregated, k)
        # found on the aggregated map, scored on the network's own: a score stays a probability
        peaks.append(tuple(v.cpu().numpy() for v in (raw[classes, ys, xs], classes, ys, xs)))
    centre = heat[4].cpu().numpy()
    found = []
    for cls in range(heat.shape[1]):
        of_class = []
        for scores, classes, ys, xs in peaks:
            mine = classes == cls
            of_class.append(Peaks(xs[mine], ys[mine], scores[mine]))
        groups = group_extremes(*of_class, centre[cls])
        found.append((group_points(groups, *of_class), groups.scores, np.full(len(groups), cls)))
    cells, scores, classes = (torch.from_numpy(np.concatenate([f[i] for f in found])) for i in range(3))
    extremes = (cells.float() + _offsets_at(offsets.float().cpu(), cells.long())) * STRIDE
    kept, kept_scores = suppress(extremes, scores.float(), classes.long(), limit)
    enough = kept_scores >= score_threshold
    kept = kept[enough]
    return Detections(boxes_of(extremes[kept]), kept_scores[enough], classes[kept].long(), extremes[kept])


def suppress(extremes: torch.Tensor, scores: torch.Tensor, classes: torch.Tensor, limit: int = DETECTIONS
             ) -> tuple[torch.Tensor, torch.Tensor]:
    """The best `CANDIDATES` groups through soft-NMS per class, the best `limit` of all classes, then
    ghost-box suppression per class, as the reference runs them: the indices kept, best first, and
    their new scores."""
    best = scores.argsort(descending=True)[:CANDIDATES]
    boxes = boxes_of(extremes[best])
    kept, kept_scores = batched_soft_nms(boxes, scores[best], classes[best], limit=limit)
    kept_scores = suppress_ghosts(boxes[kept], kept_scores, classes[best][kept])
    order = kept_scores.argsort(descending=True, stable=True)
    return best[kept][order], kept_scores[order]
