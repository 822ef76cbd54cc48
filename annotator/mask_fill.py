"""`annotator masks`: make the masks of clicked objects with a chosen backend, in a project or a COCO
file. Work is kept as it is done (one transaction per image, or the COCO file rewritten atomically
every few images), and objects whose mask that backend already made are skipped, so a run that was
stopped resumes where it was."""
from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path

from converters import Annotation, Dataset
from converters.images import ImageFolder
from converters.masks import mask_to_polygons, rle_to_mask
from converters.progress import Progress, no_progress
from detectors.images import read_rgb
from detectors.mask_backends import Network, masks_from_extremes

from .masking import correction_base, needs_mask, with_made_mask
from .store import Project

#: A COCO file being filled is saved at least this often (seconds), so a stopped run loses little.
SAVE_EVERY = 30.0


@dataclasses.dataclass
class FillResult:
    made: int = 0
    fallbacks: int = 0  # made by the octagon because the backend found nothing
    kept: int = 0  # already made by this backend, or drawn by a person
    missing_images: list[str] = dataclasses.field(default_factory=list)


def fill_project(project: Project, backend: str, network: Network | None = None,
                 progress: Progress = no_progress) -> FillResult:
    project.check_owner("filling masks")  # every label's, anyone's
    result = FillResult()
    folder = ImageFolder(project.image_root)
    images = project.images()
    progress(0, len(images))
    for done, record in enumerate(images, 1):
        anns = project.annotations(record.id)
        made = _fill_image(folder, record.file_name, anns, backend, network, result)
        if made:
            project.update_annotations(made)
        progress(done, len(images))
    return result


def fill_dataset(dataset: Dataset, image_root: Path, backend: str, save: Callable[[], None],
                 network: Network | None = None, progress: Progress = no_progress) -> FillResult:
    """Fill `dataset` in place, calling `save` now and then and once at the end."""
    result = FillResult()
    folder = ImageFolder(image_root)
    by_image = dataset.annotations_by_image()
    position = {a.id: k for k, a in enumerate(dataset.annotations)}
    last_save = time.monotonic()
    progress(0, len(dataset.images))
    for done, record in enumerate(dataset.images, 1):
        for ann in _fill_image(folder, record.file_name, by_image.get(record.id, []), backend, network, result):
            dataset.annotations[position[ann.id]] = ann
        if time.monotonic() - last_save > SAVE_EVERY:
            save()
            last_save = time.monotonic()
        progress(done, len(dataset.images))
    save()
    return result


def _fill_image(folder: ImageFolder, name: str, anns: list[Annotation], backend: str,
                network: Network | None, result: FillResult) -> list[Annotation]:
    todo = [a for a in anns if needs_mask(a, backend)]
    result.kept += sum(1 for a in anns if a.extreme is not None) - len(todo)
    if not todo:
        return []
    path = folder.find(name)
    if path is None:
        result.missing_images.append(name)
        return []
    image = read_rgb(path)
    height, width = image.shape[:2]
    bases = [None if (b := correction_base(a)) is None else rle_to_mask(b.mask_rle(height, width)).astype(bool)
             for a in todo]
    masks = masks_from_extremes(image, [a.extreme for a in todo], backend, network, [a.corrections for a in todo],
                                bases)
    result.made += len(todo)
    result.fallbacks += sum(m.backend != backend for m in masks)
    return [with_made_mask(a, mask_to_polygons(m.mask), m.backend) for a, m in zip(todo, masks, strict=True)]
