"""The files of a folder export (VOC, YOLO, LabelMe, CVAT): written under the temporary folder that
`atomic_directory` swaps in whole, each subfolder made once (an export of 100k images writes 200k
files into a few folders), and the images linked in beside the labels."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from .report import Report

MISSING_IMAGES = "{n} images were not found under the image folder: their labels are written without them"


class ExportFolder:
    def __init__(self, root: Path, image_root: Path | None, report: Report):
        self.root = str(root)
        self.image_root = str(image_root) if image_root is not None else None
        self.report = report
        self._made: set[str] = set()

    def path(self, rel: str) -> str:
        """The full path of `rel` ('/'-separated, under the export), its folder made."""
        full = os.path.join(self.root, rel)
        folder = os.path.dirname(full)
        if folder not in self._made:
            os.makedirs(folder, exist_ok=True)
            self._made.add(folder)
        return full

    def write(self, rel: str, data: bytes) -> None:
        with open(self.path(rel), "wb") as f:
            f.write(data)

    def link_image(self, file_name: str, rel: str) -> None:
        """Put the image `file_name` (under the image root) at `rel`: a hard link, else a copy. A missing
        image is counted in the report; without an image root nothing is linked."""
        if self.image_root is None:
            return
        source = os.path.join(self.image_root, file_name)
        try:
            os.link(source, self.path(rel))
        except FileNotFoundError:
            self.report.add(MISSING_IMAGES)
        except OSError:  # another file system, or links not allowed
            if os.path.isfile(source):
                shutil.copy2(source, self.path(rel))
            else:
                self.report.add(MISSING_IMAGES)
