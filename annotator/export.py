"""Export a project to any format, as the window's File > Export does it (the command line's `convert`
reads projects and datasets alike). Qt-free: the window runs it in a background job."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from converters import Annotation, Dataset, ImageStatus, UserError
from converters.fileformat import Content
from converters.formats import FORMATS, write_dataset
from converters.images import IMAGE_EXTENSIONS
from converters.progress import Progress, no_progress
from converters.report import Report

from .database import is_database_url
from .masking import MASK_METHOD
from .store import Project, is_project_file


@dataclass
class Exported:
    path: Path
    format: str
    images: int
    annotations: int
    notes: list[str] = field(default_factory=list)  # what the format could not hold, one line per kind

    def summary(self) -> str:
        return f"exported {self.images} images and {self.annotations} objects to {self.path} ({self.format})"


#: A report line for the images an export leaves out.
LEFT_OUT = "{n} skipped images left out (a skipped photo exported without its objects would teach a detector " \
           "that it holds none): the command line's --with-skipped keeps them"
#: A report line for the images not marked done that an export asked for done ones leaves out.
NOT_DONE = "{n} images not marked done left out, with their objects (--done-only; in the window, File > Export > " \
           "Only images marked done)"


def for_export(dataset: Dataset, fmt: str, report: Report, with_skipped: bool = False,
               done_only: bool = False) -> Dataset:
    """A project's dataset as an export writes it: without the images a person skipped (too dark, off
    topic) and their objects, said in the report, unless `with_skipped`; with `done_only`, without
    those not marked done either (a half-labelled photo would teach a detector that its unlabelled
    objects are background); and, for a format without attributes, without the backend's name the app
    keeps on each made mask (`mask_method`), so that the loss report counts only attributes a person set."""
    skipped = set() if with_skipped else {im.id for im in dataset.images if im.status is ImageStatus.SKIPPED}
    report.add(LEFT_OUT, len(skipped))
    left_out = skipped | ({im.id for im in dataset.images if im.status not in (ImageStatus.DONE, ImageStatus.SKIPPED)}
                          if done_only else set())
    report.add(NOT_DONE, len(left_out - skipped))
    internal = Content.ATTRIBUTES not in FORMATS[fmt].holds
    annotations = [_without_backend(a) if internal else a for a in dataset.annotations if a.image_id not in left_out]
    return dataclasses.replace(dataset, images=[im for im in dataset.images if im.id not in left_out],
                               annotations=annotations)


def _without_backend(a: Annotation) -> Annotation:
    if MASK_METHOD not in a.attributes:
        return a
    return dataclasses.replace(a, attributes={k: v for k, v in a.attributes.items() if k != MASK_METHOD})


def export_project(project_path: str | Path, out: Path, fmt: str, progress: Progress = no_progress,
                   rle: bool = False, done_only: bool = False) -> Exported:
    """Write the project's labels (not its pending suggestions, nor its skipped images; with `done_only`
    only the images marked done) to `out` as `fmt`. The project file itself, or any other project, is
    never the output."""
    with Project.open(project_path) as project:
        dataset = project.to_dataset(progress)
        root = project.image_root
    check_output(out, project_path, root)
    report = Report()
    dataset = for_export(dataset, fmt, report, done_only=done_only)
    write_dataset(dataset, out, fmt, report, rle=rle, progress=progress, image_root=root)
    return Exported(out, fmt, len(dataset.images), len(dataset.annotations), report.lines())


def check_output(out: Path, source: str | Path, image_root: Path | None) -> None:
    """A command's output never replaces what it reads: the input itself, any project file, or an image
    under the image folder (the person's data, not an earlier export). Every command that writes a file
    the person names goes through here."""
    target = out.resolve()
    if (not is_database_url(source) and target == Path(source).resolve()) or (out.is_file() and is_project_file(out)):
        raise UserError("is the input or a project file: choose another output", out)
    if image_root is not None and target.suffix.lower() in IMAGE_EXTENSIONS and \
            target.is_relative_to(image_root.resolve()):
        raise UserError("would replace an image in the image folder: choose another output", out)
