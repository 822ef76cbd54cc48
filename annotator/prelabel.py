"""`annotator prelabel`: a trained detector's output as pending suggestions in a project, each with the
mask a mask backend makes from its extreme points, so that accepting one gives a real mask (the
paper's pipeline: ExtremeNet's mask AP rose from 18.9 with octagons to 34.6 with DEXTR). A person's
labels are never touched (suggestions live apart and only a person accepts them); images the model
has already suggested on are skipped, so a stopped run resumes. Qt-free: the app can run it in a worker."""
from __future__ import annotations

import contextlib
import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from converters import Annotation, ImageRecord, ImageStatus, Source
from converters.images import ImageFolder
from converters.progress import Progress, no_progress
from detectors.images import read_ahead, read_rgb, shrink_for
from detectors.mask_backends import Network

from .masking import make_mask, with_made_mask, with_octagon
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


@dataclasses.dataclass(frozen=True)
class MaskChoice:
    """The mask backend that makes the suggestions' masks, and its loaded weights if it needs them."""
    method: str = "octagon"
    network: Network | None = None

    def given(self, image: np.ndarray, suggestion: Annotation) -> Annotation:
        """`suggestion` with its mask: the backend's, made on a crop as the window makes it, or the exact
        octagon (also where the backend found nothing), which the window's backend replaces on accepting."""
        if self.method != "octagon":
            made = make_mask(image, suggestion.extreme, self.method, self.network)
            if made.method != "octagon":
                return with_made_mask(suggestion, made.polygons, made.method)
        return with_octagon(suggestion, suggestion.extreme)


def prelabel(project: Project, predictor: Predictor, model: str, min_score: float = MIN_SCORE, which: str = "todo",
             progress: Progress = no_progress, masks: MaskChoice = MaskChoice(), ahead: int = 2,
             shrunk: bool = True) -> PrelabelResult:
    """`ahead`: photos decoded in a thread ahead of the network (0: each when its turn comes); `shrunk`:
    with octagon masks, photos decoded only as large as the network needs (the default)."""
    if which not in ("todo", "all"):
        raise ValueError("which must be 'todo' or 'all'")
    images = [im for im in project.images()
              if which == "all" or im.status not in (ImageStatus.DONE, ImageStatus.SKIPPED)]
    done_before = project.images_suggested_by(model)
    categories = {c.name: c.id for c in project.categories()}
    folder = ImageFolder(project.image_root)
    result = PrelabelResult()
    progress(0, len(images))
    todo = []
    for record in images:
        if record.id in done_before:
            result.skipped += 1
        elif (path := folder.find(record.file_name)) is None:
            result.missing_images.append(record.file_name)
        else:
            todo.append((record, path))
    passed = len(images) - len(todo)
    shrink = shrunk and masks.method == "octagon"  # a backend that follows the image needs all its pixels

    def read(job: tuple[ImageRecord, Path]) -> np.ndarray:
        record, path = job
        return read_rgb(path, shrink_for(record.width, record.height, predictor.size) if shrink else 1)

    with contextlib.closing(read_ahead(todo, read, ahead)) as decoded:
        for k, ((record, _), image) in enumerate(zip(todo, decoded, strict=True)):
            progress(passed + k, len(images))
            found = predictor(image, min_score, (record.width, record.height))
            suggestions = []
            for points, score, label in zip(found.extreme_points(), found.scores.tolist(), found.labels.tolist(),
                                            strict=True):
                name = predictor.classes[label]
                if name not in categories:
                    categories[name] = project.add_category(name).id
                if points is None:
                    continue
                suggestions.append(Annotation.from_extreme(0, record.id, categories[name], points,
                                                           source=Source.MODEL, score=score))
            project.add_suggestions([masks.given(image, s) for s in suggestions], model=model)
            result.images += 1
            result.suggestions += len(suggestions)
    progress(len(images), len(images))
    return result


def prelabel_project(project_path: Path, model: Path, min_score: float = MIN_SCORE,
                     progress: Progress = no_progress, method: str = "octagon", weights: str = "") -> PrelabelResult:
    """Load the detector in `model` (a run directory) and the mask backend's weights, if it needs them,
    and suggest on the images not yet done; opens its own connection, so the window can run it in a
    worker thread."""
    from detectors.device import default_device
    from detectors.kinds import load_detector
    from detectors.mask_backends import BACKENDS

    predictor = load_detector(model, default_device())
    load = BACKENDS[method].load
    masks = MaskChoice(method, load(weights) if load is not None else None)
    with Project.open(project_path) as project:
        return prelabel(project, predictor, str(model.resolve()), min_score, "todo", progress, masks)
