"""Box operations in plain torch (and numpy where a loop of small steps runs on the CPU): IoU, NMS,
soft-NMS, ghost-box suppression and RoIAlign. torchvision's compiled versions do not load with the CPU
torch wheel we install, so these are written out; tests hold them against brute force. Boxes are
(x0, y0, x1, y1) in pixel-edge coordinates."""
from __future__ import annotations

import numpy as np
import torch


def box_area(boxes: torch.Tensor) -> torch.Tensor:
    return (boxes[:, 2] - boxes[:, 0]).clamp(min=0) * (boxes[:, 3] - boxes[:, 1]).clamp(min=0)


def box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """IoU of every box in `a` with every box in `b`: len(a) x len(b)."""
    top_left = torch.maximum(a[:, None, :2], b[None, :, :2])
    bottom_right = torch.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = (bottom_right - top_left).clamp(min=0).prod(dim=2)
    return inter / (box_area(a)[:, None] + box_area(b)[None, :] - inter).clamp(min=1e-9)


def nms(boxes: torch.Tensor, scores: torch.Tensor, threshold: float, limit: int | None = None) -> torch.Tensor:
    """Indices of the boxes kept, best first: each box suppresses the lower-scored ones overlapping it
    by more than `threshold`. One row of IoUs per kept box, against the boxes still standing, so the
    work shrinks as boxes fall and stops after `limit` kept (a detector keeps its best 100): with
    thousands of candidates that is a small share of the full IoU matrix."""
    order = scores.argsort(descending=True)
    boxes = boxes[order]
    standing = torch.arange(len(order), device=boxes.device)
    keep = []
    while standing.numel() and (limit is None or len(keep) < limit):
        best, rest = standing[0], standing[1:]
        keep.append(best)
        standing = rest[box_iou(boxes[best][None], boxes[rest])[0] <= threshold]
    return order[torch.stack(keep)] if keep else order[:0]


def batched_nms(boxes: torch.Tensor, scores: torch.Tensor, classes: torch.Tensor, threshold: float,
                limit: int | None = None) -> torch.Tensor:
    """NMS within each class: the boxes of different classes are moved apart so they never overlap."""
    if boxes.numel() == 0:
        return torch.empty(0, dtype=torch.long, device=boxes.device)
    return nms(apart_by_class(boxes, classes), scores, threshold, limit)


def apart_by_class(boxes: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
    """The boxes moved so that two of different classes never overlap: each class by its index times
    the whole set's span (and one), from the set's smallest coordinate, so boxes below zero or beyond
    the image part as well as any."""
    low = boxes.min()
    span = boxes.max() - low + 1
    return boxes - low + (classes.to(boxes.dtype) * span)[:, None]


def soft_nms(boxes: torch.Tensor, scores: torch.Tensor, sigma: float = 0.5, floor: float = 1e-3,
             limit: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Gaussian soft-NMS (Bodla et al.), as ExtremeNet decodes with it: the best box stays, and each
    other box's score is multiplied by exp(-IoU^2 / sigma) instead of being dropped, so two objects
    that overlap much both keep a chance; boxes whose score falls below `floor` go. (indices, scores),
    best first, at most `limit`. Its rounds are sequential and small, so they run in numpy on the CPU,
    where an operation costs a few microseconds against torch's tens."""
    x0, y0, x1, y1 = boxes.detach().cpu().numpy().astype(np.float32).T.copy()
    area = np.maximum(x1 - x0, 0) * np.maximum(y1 - y0, 0)
    current = scores.detach().cpu().numpy().astype(np.float32)
    keep, kept_scores = [], []
    inter, width = np.empty_like(area), np.empty_like(area)
    while limit is None or len(keep) < limit:
        best = int(current.argmax())
        if current[best] < floor:  # the kept and the fallen are below it too
            break
        keep.append(best)
        kept_scores.append(float(current[best]))
        # the best box's IoU with every box, in place: no array is made in the loop but the last two
        np.minimum(x1, x1[best], out=width)
        width -= np.maximum(x0, x0[best])
        np.minimum(y1, y1[best], out=inter)
        inter -= np.maximum(y0, y0[best])
        np.maximum(inter, 0, out=inter)  # np.clip's checks cost more than the work here
        inter *= np.maximum(width, 0, out=width)
        overlap = inter / np.maximum(area + area[best] - inter, 1e-9)
        current *= np.exp(-overlap * overlap / sigma)
        current[best] = -1
        current[current < floor] = -1
    return (torch.tensor(keep, dtype=torch.long, device=boxes.device),
            torch.tensor(kept_scores, dtype=scores.dtype, device=scores.device))


def batched_soft_nms(boxes: torch.Tensor, scores: torch.Tensor, classes: torch.Tensor, sigma: float = 0.5,
                     floor: float = 1e-3, limit: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Soft-NMS within each class, the classes' boxes moved apart so they never overlap."""
    if boxes.numel() == 0:
        return torch.empty(0, dtype=torch.long, device=boxes.device), scores[:0]
    return soft_nms(apart_by_class(boxes, classes), scores, sigma, floor, limit)


def suppress_ghosts(boxes: torch.Tensor, scores: torch.Tensor, classes: torch.Tensor, floor: float = 0.2,
                    factor: float = 3.0) -> torch.Tensor:
    """ExtremeNet's ghost-box suppression, as its reference code runs it, per class on the detections
    left after soft-NMS: a box scored above `floor` whose boxes of its class lying wholly inside it
    (itself among them) score more than `factor` times its own, together, is likely two or three objects
    side by side seen as one: its score is halved. The new scores. Only the boxes above `floor` are
    checked against the others (in numpy, as soft-NMS), not every pair."""
    x0, y0, x1, y1 = np.ascontiguousarray(boxes.detach().cpu().numpy().T)  # rows, not strided columns
    given = scores.detach().cpu().numpy()
    kinds = classes.detach().cpu().numpy()
    rows = np.flatnonzero(given > floor)
    inside = (x0 >= x0[rows, None]) & (y0 >= y0[rows, None]) & (x1 <= x1[rows, None]) & (y1 <= y1[rows, None]) \
        & (kinds == kinds[rows, None])
    inner = inside.astype(given.dtype) @ given
    out = given.copy()
    out[rows[inner > factor * given[rows]]] /= 2
    return torch.from_numpy(out).to(scores.device)


def roi_align(features: torch.Tensor, boxes: torch.Tensor, batch_index: torch.Tensor, output_size: int,
              spatial_scale: float, sampling_ratio: int = 2) -> torch.Tensor:
    """RoIAlign (aligned: a box edge at image x maps to feature x * scale - 0.5). Each output cell
    averages sampling_ratio^2 bilinear samples. features N x C x H x W, boxes K x 4 -> K x C x S x S."""
    if boxes.numel() == 0:
        return features.new_zeros((0, features.shape[1], output_size, output_size))
    n, c, h, w = features.shape
    scaled = boxes * spatial_scale - 0.5
    x0, y0, x1, y1 = scaled.unbind(dim=1)
    steps = (torch.arange(output_size * sampling_ratio, device=boxes.device, dtype=boxes.dtype) + 0.5) / \
        (output_size * sampling_ratio)
    xs = x0[:, None] + (x1 - x0)[:, None] * steps[None, :]  # K x S*r sample positions
    ys = y0[:, None] + (y1 - y0)[:, None] * steps[None, :]
    samples = _bilinear(features[batch_index], ys, xs)  # K x C x S*r x S*r
    return samples.reshape(len(boxes), c, output_size, sampling_ratio, output_size, sampling_ratio).mean(dim=(3, 5))


def _bilinear(features: torch.Tensor, ys: torch.Tensor, xs: torch.Tensor) -> torch.Tensor:
    """Sample each map at the grid ys x xs (per map), zero outside the map (beyond one pixel)."""
    k, c, h, w = features.shape
    valid_y = (ys > -1) & (ys < h)
    valid_x = (xs > -1) & (xs < w)
    ys, xs = ys.clamp(0, h - 1), xs.clamp(0, w - 1)
    y0, x0 = ys.floor().long(), xs.floor().long()
    y1, x1 = (y0 + 1).clamp(max=h - 1), (x0 + 1).clamp(max=w - 1)
    wy, wx = ys - y0, xs - x0
    flat = features.reshape(k, c, h * w)

    def gather(yi: torch.Tensor, xi: torch.Tensor) -> torch.Tensor:
        index = (yi[:, :, None] * w + xi[:, None, :]).reshape(k, 1, -1).expand(k, c, -1)
        return flat.gather(2, index).reshape(k, c, yi.shape[1], xi.shape[1])

    top = gather(y0, x0) * (1 - wx)[:, None, None, :] + gather(y0, x1) * wx[:, None, None, :]
    bottom = gather(y1, x0) * (1 - wx)[:, None, None, :] + gather(y1, x1) * wx[:, None, None, :]
    value = top * (1 - wy)[:, None, :, None] + bottom * wy[:, None, :, None]
    return value * (valid_y[:, None, :, None] & valid_x[:, None, None, :])


def sigmoid_focal_loss(logits: torch.Tensor, targets: torch.Tensor, alpha: float = 0.25,
                       gamma: float = 2.0) -> torch.Tensor:
    """Per-element focal loss (Lin et al.): the easy negatives that swamp a dense detector weigh little."""
    p = torch.sigmoid(logits)
    ce = torch.nn.functional.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
    return alpha_t * (1 - p_t) ** gamma * ce


def iou_loss(predicted: torch.Tensor, target: torch.Tensor, eps: float = 1e-9) -> torch.Tensor:
    """-ln IoU of boxes given as distances (left, top, right, bottom) from the same point, as
    ln(union) - ln(width) - ln(height) of the intersection: the gradient stays where the IoU is tiny (a
    clamp of the IoU itself left a predicted box of width zero with none, and SAPD's box loss sat at
    -ln(1e-6) for good)."""
    pl, pt, pr, pb = predicted.unbind(dim=-1)
    tl, tt, tr, tb = target.unbind(dim=-1)
    across = (torch.minimum(pl, tl) + torch.minimum(pr, tr)).clamp(min=eps)
    down = (torch.minimum(pt, tt) + torch.minimum(pb, tb)).clamp(min=eps)
    union = (pl + pr) * (pt + pb) + (tl + tr) * (tt + tb) - across * down
    return torch.log(union.clamp(min=eps)) - torch.log(across) - torch.log(down)
