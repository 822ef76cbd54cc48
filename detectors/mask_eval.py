"""`annotator eval-masks`: how good a mask backend is, judged by a simulated annotator.

For every object with a ground-truth mask, the clicks a person would make are taken from that mask
(ExtremeNet's rule, optionally jittered like a hand), the backend makes a mask from them and the image,
and the two masks are compared. Each object is timed alone, as the app asks for one object at a time.
"""
from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from converters import Correction, Dataset, ExtremePoints, Shape, UserError
from converters.images import ImageFolder
from converters.masks import mask_iou, rle_to_mask
from converters.progress import Progress, no_progress

from .images import read_rgb
from .mask_backends import MaskResult, Network, masks_from_extremes
from .mask_backends.simulate import next_correction, simulated_clicks

#: The IoU levels NoC counts the corrections to.
NOC_LEVELS = (0.85, 0.90)


@dataclasses.dataclass(frozen=True)
class MaskScores:
    mean_iou: float  # with the extreme clicks alone
    iou_50: float  # share of objects above IoU 0.5
    iou_75: float
    iou_90: float
    ms_per_object: float  # median
    n: int
    fallbacks: int  # objects where the backend found nothing and the octagon was used
    iou_after: list[float]  # mean IoU after 0, 1, ... N correction clicks
    noc: dict[str, float]  # "85", "90": mean corrections to reach that IoU (N + 1 when never reached)
    ms_per_recompute: float | None = None  # median, over the masks made with corrections
    lowered: float | None = None  # share of the correction clicks after which the IoU was lower than before

    def lines(self, backend: str) -> list[str]:
        lines = [
            f"{backend}: mean IoU {self.mean_iou:.3f} on {self.n} objects",
            f"IoU > 0.5: {self.iou_50:.1%}   > 0.75: {self.iou_75:.1%}   > 0.9: {self.iou_90:.1%}",
            f"{self.ms_per_object:.1f} ms per object (median)"
            + (f"; the octagon stood in for {self.fallbacks}" if self.fallbacks else ""),
        ]
        if len(self.iou_after) > 1:
            lines += ["mean IoU after " + ", ".join(f"{k}: {v:.3f}" for k, v in enumerate(self.iou_after)) +
                      " corrections",
                      "   ".join(f"NoC@{level}: {v:.2f}" for level, v in self.noc.items()) +
                      f"   {self.ms_per_recompute:.1f} ms per recompute (median)"]
            if self.lowered is not None:
                lines.append(f"{self.lowered:.1%} of the corrections lowered the IoU")
        return lines


#: A mask maker for the simulated annotator: the image, the clicks, the correction points so far and the
#: mask the last point was placed on (None before the first).
MaskMaker = Callable[[np.ndarray, ExtremePoints, Sequence[Correction], np.ndarray | None], MaskResult]


def evaluate_masks(dataset: Dataset, image_root: Path, backend: str, network: Network | None = None,
                   jitter: float = 0.0, seed: int = 0, progress: Progress = no_progress,
                   corrections: int = 0) -> MaskScores:
    def make(image: np.ndarray, clicks: ExtremePoints, points: Sequence[Correction],
             before: np.ndarray | None) -> MaskResult:
        return masks_from_extremes(image, [clicks], backend, network, [points], [before])[0]

    return score_masks(dataset, image_root, make, jitter, seed, progress, corrections)


def score_masks(dataset: Dataset, image_root: Path, make: MaskMaker, jitter: float = 0.0, seed: int = 0,
                progress: Progress = no_progress, corrections: int = 0) -> MaskScores:
    """The simulated annotator with any mask maker (a benchmark's baseline, too). After the four
    clicks it adds up to `corrections` correction clicks, one at a time, where the mask is most wrong."""
    folder = ImageFolder(image_root)
    by_image = dataset.annotations_by_image()
    images = [im for im in dataset.images if any(_has_truth(a) for a in by_image.get(im.id, []))]
    if not images:
        raise UserError("no object has a mask to compare with")
    rng = np.random.default_rng(seed)
    ious: list[list[float]] = []  # per object: after 0 .. N corrections
    first: list[float] = []
    again: list[float] = []
    fallbacks = 0
    progress(0, len(images))
    for done, record in enumerate(images, 1):
        path = folder.require(record.file_name)
        image = read_rgb(path)
        if image.shape[:2] != (record.height, record.width):
            raise UserError(f"is {image.shape[1]}x{image.shape[0]}, the labels say {record.width}x{record.height}",
                            path)
        for ann in filter(_has_truth, by_image[record.id]):
            truth = rle_to_mask(ann.mask_rle(record.height, record.width)).astype(bool)
            clicks = simulated_clicks(truth, jitter, rng)
            if clicks is None:
                continue
            start = time.perf_counter()
            result = make(image, clicks, (), None)
            first.append(time.perf_counter() - start)
            fallbacks += bool(result.note)
            ious.append(_corrected(image, truth, clicks, result, make, corrections, again))
        progress(done, len(images))
    table = np.array(ious)
    scores = table[:, 0]
    noc = {f"{round(100 * level)}": float(_noc(table, level).mean()) for level in NOC_LEVELS}
    # a step without a correction (nothing left to correct) keeps the IoU exactly, so it never counts
    lowered = float((table[:, 1:] < table[:, :-1]).sum() / len(again)) if again else None
    return MaskScores(mean_iou=float(scores.mean()), iou_50=float((scores > 0.5).mean()),
                      iou_75=float((scores > 0.75).mean()), iou_90=float((scores > 0.9).mean()),
                      ms_per_object=1000 * float(np.median(first)), n=len(ious), fallbacks=fallbacks,
                      iou_after=[float(v) for v in table.mean(axis=0)], noc=noc,
                      ms_per_recompute=1000 * float(np.median(again)) if again else None, lowered=lowered)


def _corrected(image: np.ndarray, truth: np.ndarray, clicks: ExtremePoints, result: MaskResult, make: MaskMaker,
               limit: int, seconds: list[float]) -> list[float]:
    """One object's IoU after 0 .. `limit` correction clicks; once nothing is left to correct, it stays."""
    ious = [mask_iou(result.mask, truth)]
    points: list[Correction] = []
    while len(ious) <= limit:
        point = next_correction(result.mask, truth, clicks.box)
        if point is not None:
            points.append(point)
            start = time.perf_counter()
            result = make(image, clicks, tuple(points), result.mask)
            seconds.append(time.perf_counter() - start)
        ious.append(mask_iou(result.mask, truth))
    return ious


def _noc(table: np.ndarray, level: float) -> np.ndarray:
    """Per object: the corrections needed to reach `level` (the table's width when it never does)."""
    reached = table >= level
    return np.where(reached.any(axis=1), reached.argmax(axis=1), table.shape[1])


def _has_truth(ann) -> bool:
    return ann.shape is Shape.REGION and ann.has_mask and not ann.iscrowd
