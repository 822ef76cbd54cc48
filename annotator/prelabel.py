"""`annotator prelabel`: a trained detector's output as pending suggestions in a project, each with the
mask a mask backend makes from its extreme points, so that accepting one gives a real mask (the
paper's pipeline: ExtremeNet's mask AP rose from 18.9 with octagons to 34.6 with DEXTR). A person's
labels are never touched (suggestions live apart and only a person accepts them); images the model
has already pre-labelled are skipped, so a stopped run resumes, unless the minimum score is lower
than then. Qt-free: the app can run it in a worker."""
from __future__ import annotations

import contextlib
import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from converters import Annotation, ImageRecord, ImageStatus, Review, Source
from converters.images import ImageFolder
from converters.progress import Progress, no_progress
from detectors.images import read_ahead, read_rgb, shrink_for
from detectors.mask_backends import Network
from detectors.suggesting import MAX_SUGGESTIONS, SAME_OBJECT

from .masking import make_mask, with_made_mask, with_octagon
from .store import Project

if TYPE_CHECKING:  # torch is imported by whoever makes the predictor, not by importing this
    from detectors.predictor import Predictor


#: Detections scoring less are not suggested, for a model that did not measure its own (no held-out images).
MIN_SCORE = 0.3


@dataclasses.dataclass
class PrelabelResult:
    images: int = 0  # images the model looked at in this run
    suggestions: int = 0
    skipped: int = 0  # pre-labelled by this model before, at this minimum score or a lower one
    again: int = 0  # pre-labelled by this model before at a higher minimum score: its pending ones replaced
    known: int = 0  # detections left out as objects the image already has (a label, a reviewed suggestion)
    min_score: float = MIN_SCORE
    missing_images: list[str] = dataclasses.field(default_factory=list)

    def summary(self) -> str:
        """One line for the status bar and the terminal."""
        return (f"pre-labelled {self.images} images at a minimum score of {self.min_score:.2f}: "
                f"{self.suggestions} suggestions"
                + (f" ({self.again} images done again, their pending suggestions replaced)" if self.again else "")
                + (f"; {self.known} objects already labelled left out" if self.known else "")
                + (f"; {self.skipped} images pre-labelled before at this score or lower skipped" if self.skipped
                   else "")
                + (f"; {len(self.missing_images)} images missing" if self.missing_images else ""))


@dataclasses.dataclass(frozen=True)
class MaskChoice:
    """The mask backend that makes the suggestions' masks, and its loaded weights if it needs them."""
    backend: str = "octagon"
    network: Network | None = None

    def given(self, image: np.ndarray, suggestion: Annotation) -> Annotation:
        """`suggestion` with its mask: the backend's, made on a crop as the window makes it, or the exact
        octagon (also where the backend found nothing), which the window's backend replaces on accepting."""
        if self.backend != "octagon":
            made = make_mask(image, suggestion.extreme, self.backend, self.network)
            if made.backend != "octagon":
                return with_made_mask(suggestion, made.polygons, made.backend)
        return with_octagon(suggestion, suggestion.extreme)


def prelabel(project: Project, predictor: Predictor, model: str, min_score: float | None = None,
             which: str = "todo", progress: Progress = no_progress, masks: MaskChoice = MaskChoice(), ahead: int = 2,
             shrunk: bool = True, limit: int = MAX_SUGGESTIONS) -> PrelabelResult:
    """`min_score`: None for the model's own (the score its suggestions did best at on its held-out
    images), else MIN_SCORE; `limit`: suggestions per image at most; `ahead`: photos decoded in a thread
    ahead of the network (0: each when its turn comes); `shrunk`: with octagon masks, photos decoded
    only as large as the network needs (the default). An image this model pre-labelled before is
    skipped, unless this run's minimum score is lower: then its pending suggestions are replaced. A
    detection of an object the image already has (a label, or a suggestion a person accepted or
    rejected) is left out."""
    if which not in ("todo", "all"):
        raise ValueError("which must be 'todo' or 'all'")
    project.check_owner("pre-labelling")
    if min_score is None:
        min_score = predictor.min_score if predictor.min_score is not None else MIN_SCORE
    images = [im for im in project.images()
              if which == "all" or im.status not in (ImageStatus.DONE, ImageStatus.SKIPPED)]
    done_before = project.prelabelled(model)
    categories = {c.name: c.id for c in project.categories()}
    folder = ImageFolder(project.image_root)
    result = PrelabelResult(min_score=min_score)
    progress(0, len(images))
    todo = []
    for record in images:
        if record.id in done_before and done_before[record.id] <= min_score:
            result.skipped += 1
        elif (path := folder.find(record.file_name)) is None:
            result.missing_images.append(record.file_name)
        else:
            result.again += record.id in done_before
            todo.append((record, path))
    passed = len(images) - len(todo)
    shrink = shrunk and masks.backend == "octagon"  # a backend that follows the image needs all its pixels

    def read(job: tuple[ImageRecord, Path]) -> np.ndarray:
        record, path = job
        return read_rgb(path, shrink_for(record.width, record.height, predictor.size) if shrink else 1)

    with contextlib.closing(read_ahead(todo, read, ahead)) as decoded:
        for k, ((record, _), image) in enumerate(zip(todo, decoded, strict=True)):
            progress(passed + k, len(images))
            found = predictor(image, min_score, (record.width, record.height)).suggestible(min_score, limit)
            there = [a.box for a in project.annotations(record.id)] + \
                [a.box for a in project.suggestions(record.id, review=None)
                 if a.review is not Review.PENDING]
            suggestions = []
            for points, score, label in zip(found.extreme_points(), found.scores.tolist(), found.labels.tolist(),
                                            strict=True):
                if points is None:
                    continue
                name = predictor.classes[label]
                if name not in categories:
                    categories[name] = project.add_category(name).id
                suggestion = Annotation.from_extreme(0, record.id, categories[name], points, source=Source.MODEL,
                                                     score=score)
                if any(suggestion.box.iou(box) > SAME_OBJECT for box in there):
                    result.known += 1
                    continue
                suggestions.append(suggestion)
            project.replace_suggestions(record.id, model, [masks.given(image, s) for s in suggestions], min_score)
            result.images += 1
            result.suggestions += len(suggestions)
    progress(len(images), len(images))
    return result


def prelabel_project(project_path: str | Path, model: Path, min_score: float | None = None,
                     progress: Progress = no_progress, backend: str = "octagon", weights: str = "") -> PrelabelResult:
    """Load the detector in `model` (a run directory) and the mask backend's weights, if it needs them,
    and suggest on the images not yet done; opens its own connection, so the window can run it in a
    worker thread."""
    from detectors.device import default_device
    from detectors.kinds import load_detector
    from detectors.mask_backends import BACKENDS

    predictor = load_detector(model, default_device())
    load = BACKENDS[backend].load
    masks = MaskChoice(backend, load(weights) if load is not None else None)
    with Project.open(project_path) as project:
        return prelabel(project, predictor, str(model.resolve()), min_score, "todo", progress, masks)
