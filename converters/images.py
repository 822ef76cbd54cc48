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
