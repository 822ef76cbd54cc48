"""The files of a folder export (VOC, YOLO, LabelMe, CVAT): written under the temporary folder that
`atomic_directory` swaps in whole, each subfolder made once (an export of 100k images writes 200k
files into a few folders), and the images linked in beside the labels."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from .errors import UserError
from .report import Report

MISSING_IMAGES = "{n} images were not found under the image folder: their labels are written without them"
LINKED_OUT = ("{n} images are symbolic links to files outside the image folder: not followed, their labels are "
              "written without them")


class ExportFolder:
    def __init__(self, root: Path, image_root: Path | None, report: Report):
        self.root = str(root)
        self.image_root = str(image_root) if image_root is not None else None
        self.report = report
        self._made: set[str] = set()

    def path(self, rel: str) -> str:
        """The full path of `rel` ('/'-separated, under the export), its folder made. `rel` is built from
        names an input file gave (an image's file name), so one that would lead outside the export
        (`../`, an absolute path) is refused before anything is written."""
        if not _inside(rel):
            raise UserError(f"the name {rel!r} would be written outside the output folder; refused", self.root)
        if "\0" in rel:
            raise UserError(f"the name {rel!r} holds a NUL character, which no file name may; refused", self.root)
        full = os.path.join(self.root, rel)
        folder = os.path.dirname(full)
        if folder not in self._made:
            try:
                os.makedirs(folder, exist_ok=True)
            except OSError as e:
                raise UserError(f"cannot make the folder for {rel[:80]!r}: {e.strerror}", self.root) from None
            self._made.add(folder)
        return full

    def write(self, rel: str, data: bytes) -> None:
        try:
            with open(self.path(rel), "wb") as f:
                f.write(data)
        except OSError as e:  # a name too long for the file system, a full disk
            raise UserError(f"cannot write {rel[:80]!r}: {e.strerror}", self.root) from None

    def link_image(self, file_name: str, rel: str) -> None:
        """Put the image `file_name` (under the image root) at `rel`: a hard link, else a copy. A missing
        image is counted in the report; without an image root nothing is linked."""
        if self.image_root is None:
            return
        if not _inside(file_name):
            raise UserError(f"image {file_name!r} is outside the image folder; refused", self.image_root)
        source = os.path.join(self.image_root, file_name)
        real = os.path.realpath(source)
        if os.path.exists(real) and os.path.commonpath([real, os.path.realpath(self.image_root)]) != \
                os.path.realpath(self.image_root):
            self.report.add(LINKED_OUT)
            return
        try:
            os.link(source, self.path(rel))
        except FileNotFoundError:
            self.report.add(MISSING_IMAGES)
        except OSError:  # another file system, or links not allowed
            if os.path.isfile(source):
                shutil.copy2(source, self.path(rel))
            else:
                self.report.add(MISSING_IMAGES)


def _inside(rel: str) -> bool:
    """Whether a relative name stays below the folder it is joined to."""
    if not rel or os.path.isabs(rel) or rel.startswith(("/", "\\")) or (len(rel) > 1 and rel[1] == ":"):
        return False
    normal = os.path.normpath(rel.replace("\\", "/"))
    return normal != ".." and not normal.startswith("../") and normal != "."
