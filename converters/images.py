"""Finding image files and reading their sizes from the file header, without decoding pixels."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import imagesize

from .errors import UserError

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


def find_images(folder: str | os.PathLike) -> Iterator[Path]:
    """Image files under `folder` (recursively, hidden folders skipped), relative to it, sorted."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError("no such folder", folder)
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        found += [Path(dirpath, f).relative_to(folder) for f in filenames
                  if Path(f).suffix.lower() in IMAGE_EXTENSIONS and not f.startswith(".")]
    return iter(sorted(found, key=lambda p: p.as_posix()))


def read_image_size(path: str | os.PathLike, place: str | None = None) -> tuple[int, int]:
    """(width, height) from the image's header."""
    try:
        width, height = imagesize.get(path)
    except OSError:
        raise UserError("image file not found, and nothing else gives its size", path, place) from None
    if width <= 0 or height <= 0:
        raise UserError("cannot read an image size from this file (not an image, or damaged)", path, place)
    return int(width), int(height)


class ImageFolder:
    """Finds a label file's image in a folder, forgiving what real exporters get wrong: the letter case
    (`0af.jpg` for the file `0AF.jpg`) and a missing extension (`1be` for `1be.jpg`)."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self._index: dict[str, Path] | None = None

    def find(self, name: str) -> Path | None:
        exact = self.root / name
        if exact.is_file():
            return exact
        if self._index is None:
            self._index = {}
            for rel in find_images(self.root) if self.root.is_dir() else []:
                key = rel.as_posix().lower()
                self._index.setdefault(key, self.root / rel)
                self._index.setdefault(key.rsplit(".", 1)[0], self.root / rel)
        return self._index.get(Path(name).as_posix().lower())

    def size(self, name: str, label_file: str | os.PathLike, place: str | None = None) -> tuple[int, int]:
        """The image's size from its header; a missing image is the label file's error."""
        path = self.find(name)
        if path is None:
            raise UserError(f"image {name!r} not found under {self.root}, and the file gives no size", label_file,
                            place)
        return read_image_size(path, place)

