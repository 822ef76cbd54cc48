"""A project for a folder of images: created, or brought up to date with the images added since."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from converters.errors import UserError
from converters.images import find_images, read_image_size
from converters.progress import Progress, no_progress
from converters.report import Report

from .database import database_name, is_database_url
from .store import Project, is_project_file
from .team_roots import remember_root

DEFAULT_PROJECT_NAME = "annotator.sqlite"
UNREADABLE = "{n} files could not be read as images: skipped"
NOT_LISTED = "{n} names that are no regular file, or not UTF-8, were skipped"


@dataclass
class FolderProject:
    path: Path | str  # a project file, or a team database's URL
    created: bool
    added: int  # images new to the project
    found: int  # images in the folder
    categories: list[str] = field(default_factory=list)
    report: Report = field(default_factory=Report)


def init_project(image_dir: Path, project_path: Path | str | None = None, labels: list[str] = (),
                 progress: Progress = no_progress) -> FolderProject:
    """Create or update the project for `image_dir` (default: `image_dir/annotator.sqlite`; a team
    database's URL: a team project with this person's copy of the images there)."""
    project_path = project_path or image_dir / DEFAULT_PROJECT_NAME
    report = Report()
    rows = []
    skipped: list[str] = []
    paths = list(find_images(image_dir, skipped))
    report.add(NOT_LISTED, len(skipped))
    for n, rel in enumerate(paths, 1):
        try:
            rows.append((rel.as_posix(), *read_image_size(image_dir / rel)))
        except UserError:
            report.add(UNREADABLE)
        progress(n, len(paths))
    if is_database_url(project_path):
        from .team import holds_project, new_team_project

        created = not holds_project(str(project_path))
        if created:
            new_team_project(str(project_path), image_dir)
        remember_root(str(project_path), image_dir)  # the images' paths below are relative to this copy
    else:
        project_path = Path(project_path)
        created = not project_path.exists()
    with Project.open_or_create(project_path, image_dir) as project:
        added = project.add_images(rows)
        for name in labels:
            project.add_category(name)
        categories = [c.name for c in project.categories()]
    return FolderProject(project_path, created, added, len(paths), categories, report)


def window_name(project_path: Path | str) -> str:
    """What a person calls a project: a team database's name, its folder for the default file name
    (every such project is annotator.sqlite), else the file's name without the suffix."""
    if is_database_url(project_path):
        return f"{database_name(str(project_path))} (team)"
    project_path = Path(project_path)
    if project_path.name == DEFAULT_PROJECT_NAME:
        folder = project_path.resolve().parent
        return folder.name or str(folder)
    return project_path.stem


def project_for(path: Path, progress: Progress = no_progress) -> Path:
    """The project to open for what a person chose: the file itself, or a folder's own project
    (created or brought up to date first)."""
    if path.is_dir():
        return Path(init_project(path, progress=progress).path)
    if is_project_file(path):
        return path
    raise UserError("not a folder of images or a project file", path)
