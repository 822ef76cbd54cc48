"""`annotator eval-masks`: how good a mask backend is, judged by a simulated annotator.

For every object with a ground-truth mask, the clicks a person would make are taken from that mask
(ExtremeNet's rule, optionally jittered like a hand), the backend makes a mask from them and the image,
and the two masks are compared. Each object is timed alone, as the app asks for one object at a time.
"""
from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Callable

import numpy as np

from converters import Dataset, ExtremePoints, Shape, UserError
from converters.images import ImageFolder
from converters.masks import mask_iou, rle_to_mask
from converters.progress import Progress, no_progress
from detectors.images import read_rgb
from detectors.maskers import DextrFunction, MaskResult, masks_from_extremes
from detectors.maskers.simulate import simulated_clicks


@dataclasses.dataclass(frozen=True)
class MaskScores:
    mean_iou: float
    iou_50: float  # share of objects above IoU 0.5
    iou_75: float
    iou_90: float
    ms_per_object: float  # median
    n: int
    fallbacks: int  # objects where the backend found nothing and the octagon was used

    def lines(self, method: str) -> list[str]:
        return [
            f"{method}: mean IoU {self.mean_iou:.3f} on {self.n} objects",
            f"IoU > 0.5: {self.iou_50:.1%}   > 0.75: {self.iou_75:.1%}   > 0.9: {self.iou_90:.1%}",
            f"{self.ms_per_object:.1f} ms per object (median)"
            + (f"; the octagon stood in for {self.fallbacks}" if self.fallbacks else ""),
        ]


def evaluate_masks(dataset: Dataset, image_root: Path, method: str, dextr: DextrFunction | None = None,
                   jitter: float = 0.0, seed: int = 0, progress: Progress = no_progress) -> MaskScores:
    def make(image: np.ndarray, clicks: ExtremePoints) -> MaskResult:
        return masks_from_extremes(image, [clicks], method, dextr)[0]

    return score_masks(dataset, image_root, make, jitter, seed, progress)


def score_masks(dataset: Dataset, image_root: Path, make: Callable[[np.ndarray, ExtremePoints], MaskResult],
                jitter: float = 0.0, seed: int = 0, progress: Progress = no_progress) -> MaskScores:
    """The simulated annotator with any mask maker (a benchmark's baseline, too)."""
    folder = ImageFolder(image_root)
    by_image = dataset.annotations_by_image()
    images = [im for im in dataset.images if any(_has_truth(a) for a in by_image.get(im.id, []))]
    if not images:
        raise UserError("no object has a mask to compare with")
    rng = np.random.default_rng(seed)
    ious: list[float] = []
    seconds: list[float] = []
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
            result = make(image, clicks)
            seconds.append(time.perf_counter() - start)
            fallbacks += bool(result.note)
            ious.append(mask_iou(result.mask, truth))
        progress(done, len(images))
    scores = np.array(ious)
    return MaskScores(mean_iou=float(scores.mean()), iou_50=float((scores > 0.5).mean()),
                      iou_75=float((scores > 0.75).mean()), iou_90=float((scores > 0.9).mean()),
                      ms_per_object=1000 * float(np.median(seconds)), n=len(ious), fallbacks=fallbacks)


def _has_truth(ann) -> bool:
    return ann.shape is Shape.REGION and ann.has_mask and not ann.iscrowd
