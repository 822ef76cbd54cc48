"""`annotator rank`: the images not yet done, in the order worth labelling them, scored by a detector.

`uncertainty` (the default) sums, over an image's detections, how close each score is to the threshold
that decides whether it is suggested: a tent that is 1 at the threshold and 0 at scores 0 and 1. A
detection near the threshold is one the model cannot decide on: a suggestion the person will likely
reject, or an object it will likely miss. The sum is about how many such calls the image holds, so the
image ranks high where a person's labels correct the most and pre-labelling saves the least; an image
with confident detections only, or none at all, ranks last. Detections under `FLOOR` are left out: a
detector scores every background patch a little, and counting those would rank images by their size.

`score` ranks the other way round: the images whose suggestions the model is surest of first (the mean
of those at or above the threshold), for a quick pass of accepting. `random` is the baseline an
ordering must beat (`benchmarks/active_loop.py`)."""
from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from converters import ImageStatus
from converters.images import ImageFolder
from converters.progress import Progress, no_progress
from detectors.images import read_rgb

from .prelabel import MIN_SCORE
from .store import Project

if TYPE_CHECKING:
    from detectors.predictor import Predictor

#: Detections scoring less are background the detector is sure of; they do not count.
FLOOR = 0.05


def uncertainty(scores: np.ndarray, threshold: float = MIN_SCORE) -> float:
    """Per detection, min(s / t, (1 - s) / (1 - t)): 1 at the threshold t, falling to 0 at 0 and 1."""
    s = scores[scores >= FLOOR]
    return float(np.minimum(s / threshold, (1 - s) / (1 - threshold)).sum())


def confidence(scores: np.ndarray, threshold: float = MIN_SCORE) -> float:
    shown = scores[scores >= threshold]
    return float(shown.mean()) if shown.size else 0.0


#: Measure -> its value from an image's detection scores (higher: label sooner); random needs no model.
MEASURES: dict[str, Callable[[np.ndarray, float], float] | None] = {
    "uncertainty": uncertainty, "score": confidence, "random": None}


@dataclasses.dataclass
class RankResult:
    ranked: list[tuple[str, float]]  # (image name, value), first to label first
    missing_images: list[str] = dataclasses.field(default_factory=list)


def unfinished(project: Project) -> list:
    return [im for im in project.images() if im.status not in (ImageStatus.DONE, ImageStatus.SKIPPED)]


def rank(project: Project, predictor: Predictor | None, by: str = "uncertainty", threshold: float | None = None,
         seed: int = 0, progress: Progress = no_progress, model: str = "") -> RankResult:
    """Score the images not yet done and store the ranks; `predictor` may be None for `random`.
    `threshold`: the score that decides a suggestion; None for pre-labelling's default for the model
    (its suggestion threshold, or else MIN_SCORE)."""
    project.check_owner("ranking")
    measure = MEASURES[by]
    if threshold is None:
        threshold = predictor.min_score if predictor is not None and predictor.min_score is not None else MIN_SCORE
    images = unfinished(project)
    values: dict[int, float] = {}
    result = RankResult([])
    if measure is None:
        draw = random.Random(seed)
        values = {im.id: draw.random() for im in images}
    else:
        if predictor is None:
            raise ValueError(f"ranking by {by} needs a detector")
        folder = ImageFolder(project.image_root)
        for k, record in enumerate(images):
            progress(k, len(images))
            path = folder.find(record.file_name)
            if path is None:
                result.missing_images.append(record.file_name)
                continue
            found = predictor(read_rgb(path), score_threshold=FLOOR)
            values[record.id] = measure(found.scores.cpu().numpy(), threshold)
    progress(len(images), len(images))
    project.set_ranks(values, by, model)
    names = {im.id: im.file_name for im in images}
    result.ranked = sorted(((names[i], v) for i, v in values.items()), key=lambda nv: -nv[1])
    return result


def rank_project(project_path: str | Path, model: Path, by: str = "uncertainty",
                 progress: Progress = no_progress) -> RankResult:
    """Load the detector in `model` and rank the project's unfinished images in a connection of its own,
    so the window can run it in a worker thread."""
    from detectors.device import default_device
    from detectors.kinds import load_detector

    predictor = load_detector(model, default_device())
    with Project.open(project_path) as project:
        return rank(project, predictor, by, progress=progress, model=str(model.resolve()))
