"""`annotator prelabel`: a trained detector's output as pending suggestions in a project. A person's
labels are never touched (suggestions live apart and only a person accepts them); images the model
has already suggested on are skipped, so a stopped run resumes. Qt-free: the app can run it in a worker."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

from converters import Annotation, ExtremePoints, ImageStatus, Source, UserError
from converters.images import ImageFolder
from converters.progress import Progress, no_progress
from detectors.images import read_rgb

from .store import Project

if TYPE_CHECKING:  # torch is imported by whoever makes the predictor, not by importing this
    from detectors.predictor import Predictor


#: Detections scoring less are not suggested (the command's and the window's default).
MIN_SCORE = 0.3


@dataclasses.dataclass
class PrelabelResult:
    images: int = 0  # images the model looked at in this run
    suggestions: int = 0
    skipped: int = 0  # suggested on by this model before
    missing_images: list[str] = dataclasses.field(default_factory=list)


def prelabel(project: Project, predictor: Predictor, model: str, min_score: float = MIN_SCORE, which: str = "todo",
             progress: Progress = no_progress) -> PrelabelResult:
    if which not in ("todo", "all"):
        raise ValueError("which must be 'todo' or 'all'")
    images = [im for im in project.images()
              if which == "all" or im.status not in (ImageStatus.DONE, ImageStatus.SKIPPED)]
    done_before = project.images_suggested_by(model)
    categories = {c.name: c.id for c in project.categories()}
    folder = ImageFolder(project.image_root)
    result = PrelabelResult()
    progress(0, len(images))
    for k, record in enumerate(images, 1):
        progress(k - 1, len(images))
        if record.id in done_before:
            result.skipped += 1
            continue
        path = folder.find(record.file_name)
        if path is None:
            result.missing_images.append(record.file_name)
            continue
        found = predictor(read_rgb(path), score_threshold=min_score)
        suggestions = []
        for extreme, score, label in zip(found.extremes.tolist(), found.scores.tolist(), found.labels.tolist(),
                                         strict=True):
            name = predictor.classes[label]
            if name not in categories:
                categories[name] = project.add_category(name).id
            try:
                points = ExtremePoints(*(tuple(p) for p in extreme))
            except UserError:  # a box without width or height
                continue
            suggestions.append(Annotation.from_extreme(0, record.id, categories[name], points,
                                                       source=Source.MODEL, score=score))
        project.add_suggestions(suggestions, model=model)
        result.images += 1
        result.suggestions += len(suggestions)
    progress(len(images), len(images))
    return result


def prelabel_project(project_path: Path, model: Path, min_score: float = MIN_SCORE,
                     progress: Progress = no_progress) -> PrelabelResult:
    """Load the detector in `model` (a run directory) and suggest on the images not yet done; opens its
    own connection, so the window can run it in a worker thread."""
    from detectors.device import default_device
    from detectors.kinds import load_detector

    predictor = load_detector(model, default_device())
    with Project.open(project_path) as project:
        return prelabel(project, predictor, str(model.resolve()), min_score, "todo", progress)
