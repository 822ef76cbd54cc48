"""Anchor boxes fitted to a dataset's boxes, and how well a set of anchors covers them. NumPy only: the
`annotator anchors` command runs without torch, and the anchor-based detectors read their anchors here.

Every measure compares widths and heights alone, as if each box and anchor shared a centre (the
matching in a detector happens at the anchor nearest the box's centre):

- IoU: min(w) min(h) / (w h + a_w a_h - min(w) min(h)). k-means uses 1 - IoU as its distance
  (YOLOv2), and coverage is the share of boxes with an anchor at IoU >= 0.5, the foreground rule of
  RetinaNet and Faster R-CNN.
- the ratio metric of YOLOv5's AutoAnchor: r = min(w / a_w, a_w / w, h / a_h, a_h / h); a box is
  matched by the anchors with r > 1 / threshold (threshold 4 by default), best possible recall (BPR) is
  the share of boxes with at least one, and the fitness the genetic search climbs is
  mean(best r, where best r > 1 / threshold)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from converters import Dataset, Shape

#: Anchor sets as they ship, in pixels at their own input size (`STANDARD_SIZE`), smallest level first.
STANDARD: dict[str, list[list[tuple[float, float]]]] = {
    # darknet yolov3.cfg and YOLOv5's yolov5s.yaml: the same nine, three per level (P3, P4, P5)
    "yolov3": [[(10, 13), (16, 30), (33, 23)], [(30, 61), (62, 45), (59, 119)], [(116, 90), (156, 198), (373, 326)]],
    "yolov5": [[(10, 13), (16, 30), (33, 23)], [(30, 61), (62, 45), (59, 119)], [(116, 90), (156, 198), (373, 326)]],
}
#: Their input sizes (long side): darknet's 416 and YOLOv5's 640; 1333 for the 800 x 1333 resize of
#: RetinaNet and Faster R-CNN.
STANDARD_SIZE = {"yolov3": 416, "yolov5": 640, "retinanet": 1333, "faster-rcnn": 1333}


def _scaled_set(sizes: list[float], scales: list[float], ratios: list[float]) -> list[list[tuple[float, float]]]:
    """Per level, an anchor of each scale and ratio (h / w) with the area (size x scale)^2."""
    return [[(size * s / np.sqrt(r), size * s * np.sqrt(r)) for s in scales for r in ratios] for size in sizes]


# RetinaNet: sizes 32 to 512 on P3-P7, scales 2^0, 2^(1/3), 2^(2/3), ratios 1:2, 1:1, 2:1
STANDARD["retinanet"] = _scaled_set([32, 64, 128, 256, 512], [1, 2 ** (1 / 3), 2 ** (2 / 3)], [0.5, 1, 2])
# Faster R-CNN with FPN (Detectron2's and torchvision's default): sizes 32 to 512 on P2-P6, ratios 1:2, 1:1, 2:1
STANDARD["faster-rcnn"] = _scaled_set([32, 64, 128, 256, 512], [1], [0.5, 1, 2])


def box_sizes(dataset: Dataset, img_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[int]]:
    """The widths and heights of every region that is not a crowd and has a size: as in the file, and
    scaled with their image to a long side of `img_size` (as YOLOv5 does, and as the detectors train);
    with each one's image size and category id."""
    sizes = {im.id: (im.width, im.height) for im in dataset.images}
    kept = [a for a in dataset.annotations
            if a.shape is Shape.REGION and not a.iscrowd and a.box.w > 0 and a.box.h > 0 and a.image_id in sizes]
    wh = np.array([(a.box.w, a.box.h) for a in kept], float).reshape(-1, 2)
    image_wh = np.array([sizes[a.image_id] for a in kept], float).reshape(-1, 2)
    scaled = wh * (img_size / image_wh.max(axis=1, initial=1))[:, None]
    return wh, scaled, image_wh, [a.category_id for a in kept]


def wh_iou(wh: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """(N, K): the IoU of each box with each anchor, centres aligned."""
    inter = np.minimum(wh[:, None, 0], anchors[None, :, 0]) * np.minimum(wh[:, None, 1], anchors[None, :, 1])
    return inter / (wh[:, None, 0] * wh[:, None, 1] + anchors[None, :, 0] * anchors[None, :, 1] - inter)


def ratio_metric(wh: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """(N, K): YOLOv5's r, the worst of the four side ratios (1: the same shape and size)."""
    r = wh[:, None, :] / anchors[None, :, :]
    return np.minimum(r, 1 / r).min(axis=2)


@dataclass(frozen=True)
class Fit:
    mean_iou: float  # mean over boxes of the best anchor's IoU
    coverage: float  # share of boxes with an anchor at IoU >= 0.5
    bpr: float  # share of boxes with an anchor above the ratio threshold
    anchors_above: float  # anchors above the ratio threshold per box, on average
    fitness: float  # YOLOv5's, what `evolve` climbs


def fit(wh: np.ndarray, anchors: np.ndarray, threshold: float = 4.0) -> Fit:
    iou = wh_iou(wh, anchors).max(axis=1)
    r = ratio_metric(wh, anchors)
    best = r.max(axis=1)
    above = r > 1 / threshold
    return Fit(float(iou.mean()), float((iou >= 0.5).mean()), float((best > 1 / threshold).mean()),
               float(above.sum(axis=1).mean()), _fitness(best, threshold))


def _fitness(best: np.ndarray, threshold: float) -> float:
    return float((best * (best > 1 / threshold)).mean())


#: The most boxes the genetic search scores its children on.
SEARCH_SAMPLE = 10_000
#: The most boxes k-means' starts run on; the best start then runs on every box.
START_SAMPLE = 2_000
#: k-means++ starts `kmeans` tries by default: one start can settle in a poor local optimum (mean best IoU
#: 0.792 against 0.807 for the best of 20 on a held-out set of 177 boxes).
RESTARTS = 20


def kmeans(wh: np.ndarray, k: int, seed: int = 0, iterations: int = 300, restarts: int = RESTARTS) -> np.ndarray:
    """k anchors by k-means with 1 - IoU as the distance, the best by mean best IoU of `restarts`
    k-means++ starts; sorted by area. Each centre is the mean width and height of its boxes (YOLOv2,
    darknet). Past `START_SAMPLE` boxes the starts run on a fixed random sample of that many, and the
    best is then run on every box: twenty starts on 100,000 boxes would take half a minute."""
    distinct = np.unique(wh, axis=0)
    if k > len(distinct):
        raise ValueError(f"{k} anchors need at least {k} distinct box sizes; these boxes have {len(distinct)}")
    rng = np.random.default_rng(seed)
    points = wh.astype(np.float32)  # half the memory traffic of the N x k IoU each round
    sample = points if len(points) <= START_SAMPLE else points[rng.choice(len(points), START_SAMPLE, replace=False)]
    starts = np.unique(sample, axis=0)
    if len(starts) < k:  # a sample of few sizes: the starts come from all of them
        starts = distinct.astype(np.float32)
    tried = [_lloyd(sample, _plus_plus(starts, k, rng), iterations) for _ in range(max(1, restarts))]
    best = max(tried, key=lambda centres: float(wh_iou(sample, centres).max(axis=1).mean()))
    if sample is not points:
        best = _lloyd(points, best, iterations)
    centres = best.astype(float)
    return centres[np.argsort(centres.prod(axis=1))]


def _plus_plus(distinct: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++: each next centre drawn with probability ~ distance^2 to the nearest one so far."""
    centres = distinct[[rng.integers(len(distinct))]]
    for _ in range(1, k):
        d = (1 - wh_iou(distinct, centres).max(axis=1)) ** 2
        centres = np.vstack([centres, distinct[rng.choice(len(distinct), p=d / d.sum())]])
    return centres.astype(np.float32)


def _lloyd(points: np.ndarray, centres: np.ndarray, iterations: int) -> np.ndarray:
    """k-means' rounds from `centres` until no box changes cluster. An emptied cluster restarts at the
    box farthest from every centre."""
    k = len(centres)
    assigned = None
    for _ in range(iterations):
        iou = wh_iou(points, centres)
        now = iou.argmax(axis=1)
        if assigned is not None and (now == assigned).all():
            break
        assigned = now
        counts = np.bincount(assigned, minlength=k)
        sums = np.stack([np.bincount(assigned, points[:, side], minlength=k) for side in (0, 1)], axis=1)
        centres = (sums / np.maximum(counts, 1)[:, None]).astype(np.float32)
        if (counts == 0).any():
            centres[counts == 0] = points[iou.max(axis=1).argmin()]
    return centres


def evolve(wh: np.ndarray, anchors: np.ndarray, threshold: float = 4.0, generations: int = 1000,
           seed: int = 0) -> tuple[np.ndarray, bool]:
    """AutoAnchor's genetic search from `anchors`: each generation multiplies every side by a factor of
    mean 1 (with probability 0.9 per side, sigma 0.1, kept within 0.3 to 3), and a child replaces the
    parent only if its fitness is higher. Returns the anchors and whether any generation improved.
    Past `SEARCH_SAMPLE` boxes, the children are scored on a fixed random sample of that many: a
    thousand generations on all of 100,000 boxes took a minute, and the sample's fitness is within a
    few thousandths of the whole's."""
    rng = np.random.default_rng(seed)
    if len(wh) > SEARCH_SAMPLE:
        wh = wh[rng.choice(len(wh), SEARCH_SAMPLE, replace=False)]
    wh = wh.astype(np.float32)  # half the memory traffic

    def fitness(a: np.ndarray) -> float:
        return _fitness(ratio_metric(wh, a.astype(np.float32)).max(axis=1), threshold)
    best, best_fit = anchors.copy(), fitness(anchors)
    improved = False
    for _ in range(generations):
        factor = np.ones_like(best)
        while (factor == 1).all():  # every generation changes something
            change = rng.random(best.shape) < 0.9
            factor = (change * rng.random() * rng.standard_normal(best.shape) * 0.1 + 1).clip(0.3, 3.0)
        child = (best * factor).clip(min=2.0)
        child_fit = fitness(child)
        if child_fit > best_fit:
            best, best_fit, improved = child, child_fit, True
    return best[np.argsort(best.prod(axis=1))], improved


def by_level(anchors: np.ndarray, levels: int) -> list[np.ndarray]:
    """The anchors (sorted by area) split into `levels` groups of as equal a size as can be, smallest
    first: one group per pyramid level."""
    if not 1 <= levels <= len(anchors):
        raise ValueError(f"--levels must be from 1 to the number of anchors ({len(anchors)}), not {levels}")
    return [part for part in np.array_split(anchors[np.argsort(anchors.prod(axis=1))], levels)]


def standard(name: str, img_size: int) -> list[np.ndarray]:
    """A shipped anchor set per level, scaled from its own input size to `img_size`."""
    scale = img_size / STANDARD_SIZE[name]
    return [np.array(level, float) * scale for level in STANDARD[name]]
