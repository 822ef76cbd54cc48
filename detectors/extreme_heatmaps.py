"""ExtremeNet's heat maps: the Gaussian targets an extreme or centre point is trained towards, the
CornerNet focal loss on them, and the peaks decoding reads back (edge aggregation, 3x3 max-pool NMS,
top K). Facts from ../shared/specs/models.md; the grouping of peaks into objects is
`detectors.extreme_grouping`."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

EDGE_WEIGHT = 0.1  # edge aggregation's weight, the paper's


# -- targets ---------------------------------------------------------------------------------------
def gaussian_radius(height: float, width: float, min_overlap: float = 0.7) -> float:
    """CornerNet's radius rule, as its code computes it: how far a point may be off and its box still
    overlap the true one by about `min_overlap` (IoU), the smallest of the three ways two boxes can sit."""
    b1 = height + width
    c1 = width * height * (1 - min_overlap) / (1 + min_overlap)
    r1 = (b1 + math.sqrt(b1 ** 2 - 4 * c1)) / 2
    b2 = 2 * (height + width)
    c2 = (1 - min_overlap) * width * height
    r2 = (b2 + math.sqrt(b2 ** 2 - 16 * c2)) / 2
    a3 = 4 * min_overlap
    b3 = -2 * min_overlap * (height + width)
    c3 = (min_overlap - 1) * width * height
    r3 = (b3 + math.sqrt(b3 ** 2 - 4 * a3 * c3)) / 2
    return min(r1, r2, r3)


def draw_gaussian(heat: torch.Tensor, x: int, y: int, radius: int) -> None:
    """A peak of 1 at (x, y) on the (H, W) map, falling off with sigma = diameter / 6; where two objects'
    peaks overlap, the larger value stays."""
    diameter = 2 * radius + 1
    sigma = diameter / 6
    offsets = torch.arange(-radius, radius + 1, dtype=heat.dtype, device=heat.device)
    bump = torch.exp(-(offsets[:, None] ** 2 + offsets[None, :] ** 2) / (2 * sigma ** 2))
    height, width = heat.shape
    top, bottom = min(y, radius), min(height - y, radius + 1)
    left, right = min(x, radius), min(width - x, radius + 1)
    region = heat[y - top:y + bottom, x - left:x + right]
    torch.maximum(region, bump[radius - top:radius + bottom, radius - left:radius + right], out=region)


# -- loss ------------------------------------------------------------------------------------------
def focal_loss(logits: torch.Tensor, target: torch.Tensor, ignored: torch.Tensor | None = None) -> torch.Tensor:
    """CornerNet's focal loss: (1 - p)^2 log p at the peaks (target 1), (1 - y)^4 p^2 log(1 - p)
    elsewhere, so the Gaussian's skirt is punished less near the peak; summed and divided by the peaks.
    `ignored`: cells (bool) that add nothing."""
    p = logits.sigmoid()
    log_p, log_not_p = F.logsigmoid(logits), F.logsigmoid(-logits)
    peak = target.eq(1).to(logits.dtype)
    positive = (1 - p) ** 2 * log_p * peak
    negative = (1 - target) ** 4 * p ** 2 * log_not_p * (1 - peak)
    if ignored is not None:
        negative = negative * ~ignored
    return -(positive.sum() + negative.sum()) / peak.sum().clamp(min=1)


# -- decoding --------------------------------------------------------------------------------------
def edge_aggregate(heat: torch.Tensor, along: int, weight: float = EDGE_WEIGHT) -> torch.Tensor:
    """Edge aggregation: each cell gains `weight` times the cells of the rising runs that lead up to it
    along dimension `along`, from both sides, so that a long flat edge (a car's roof) still gives one
    strong extreme point. Tops and bottoms aggregate along the rows (the last dimension), lefts and
    rights along the columns."""
    return heat + weight * (_run_before(heat, along) + _run_before(heat.flip(along), along).flip(along))


def _run_before(heat: torch.Tensor, along: int) -> torch.Tensor:
    """For each cell, the sum of the cells before it on a run that does not fall towards it: the
    reference's loop over the rows, as cumulative sums (each cell's run starts after the last fall)."""
    cells = heat.movedim(along, -1)
    falls = torch.zeros_like(cells, dtype=torch.bool)
    falls[..., 1:] = cells[..., 1:] < cells[..., :-1]
    index = torch.arange(cells.shape[-1], device=heat.device).expand_as(cells)
    start = torch.where(falls, index, 0).cummax(dim=-1).values
    sums = cells.cumsum(dim=-1)
    before = torch.where(start > 0, sums.gather(-1, (start - 1).clamp(min=0)), 0)
    return (sums - before - cells).clamp(min=0).movedim(-1, along)


def top_peaks(heat: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The K highest local maxima (3x3) of a (C, H, W) map over all classes: (scores, classes, ys, xs)."""
    kept = heat * (F.max_pool2d(heat[None], 3, stride=1, padding=1)[0] == heat)
    scores, flat = kept.flatten().topk(min(k, kept.numel()))
    _, height, width = heat.shape
    return scores, flat // (height * width), flat % (height * width) // width, flat % width
