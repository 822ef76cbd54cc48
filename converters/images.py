"""Finding image files and reading their sizes from the file header, without decoding pixels."""
from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path, PurePosixPath, PureWindowsPath

import imagesize

from .atomic import EXPORT_MARK
from .errors import UserError

_HEAD = 65536  # JPEG frame headers follow the EXIF block, which is usually well inside this
RUN_MARK = "request.json"  # what every training run writes first in its directory
IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


def find_images(folder: str | os.PathLike, skipped: list[str] | None = None) -> Iterator[Path]:
    """Image files under `folder` (recursively, hidden folders skipped), relative to it, sorted. An
    export of ours inside it is skipped too: its images are links to the person's, and a project opened
    on the folder again must not take them in as new ones; so is a training run's directory (its
    curves). So is what is not a regular file (a named pipe called x.jpg hung the listing's reader for
    ever) and a name that is not UTF-8 (no project can store it): their names go into `skipped`."""
    return iter([Path(name) for name in image_names(folder, skipped)])


def image_names(folder: str | os.PathLike, skipped: list[str] | None = None) -> list[str]:
    """As `find_images`, as '/'-separated strings: a folder of 100k images is listed without building
    a path object per file."""
    if not os.path.isdir(folder):
        raise UserError("no such folder", folder)
    top = os.fspath(folder)
    found = []
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and not _ours(os.path.join(dirpath, d)))
        prefix = os.path.relpath(dirpath, top).replace(os.sep, "/") + "/" if dirpath != top else ""
        for f in filenames:
            if os.path.splitext(f)[1].lower() not in IMAGE_EXTENSIONS or f.startswith("."):
                continue
            if _readable_file(os.path.join(dirpath, f)) and _utf8(f) and _utf8(prefix):
                found.append(prefix + f)
            elif skipped is not None:
                skipped.append((prefix + f).encode("utf-8", "backslashreplace").decode())
    return sorted(found)


def _ours(folder: str) -> bool:
    """An export of ours, or a training run (its curves are a PNG; the window's runs lie beside the
    project, which lies in the image folder by default)."""
    return any(os.path.exists(os.path.join(folder, mark)) for mark in (EXPORT_MARK, RUN_MARK))


def _readable_file(path: str) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:  # a dangling link, a loop
        return False


def _utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # bytes the file system gave that are not UTF-8, kept as surrogates
        return False
    return True


def read_image_size(path: str | os.PathLike, place: str | None = None) -> tuple[int, int]:
    """(width, height) from the image's header."""
    try:
        with open(path, "rb") as f:
            head = f.read(_HEAD)
        width, height = _jpeg_or_png_size(head) or imagesize.get(path)
    except OSError:
        raise UserError("image file not found, and nothing else gives its size", path, place) from None
    if width <= 0 or height <= 0:
        raise UserError("cannot read an image size from this file (not an image, or damaged)", path, place)
    return int(width), int(height)


def _jpeg_or_png_size(head: bytes) -> tuple[int, int] | None:
    """(width, height) from the first bytes of a JPEG or PNG, or None (another format, or a JPEG whose
    frame header lies further in): `imagesize` then reads the file, with many small reads per image,
    a cost that shows when 100k images are sized. A JPEG's size is the photo's as displayed: its EXIF
    orientation 5 to 8 (a quarter turn) swaps width and height, as browsers, labelme, CVAT and OpenCV's
    decoding turn it."""
    if head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR":
        return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    if head[:2] != b"\xff\xd8":
        return None
    i, turned = 2, False
    while i + 9 <= len(head):
        if head[i] != 0xFF:
            return None
        marker = head[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
        elif 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):  # a start-of-frame header
            width, height = int.from_bytes(head[i + 7:i + 9], "big"), int.from_bytes(head[i + 5:i + 7], "big")
            return (height, width) if turned else (width, height)
        elif marker == 0xE1 and head[i + 4:i + 10] == b"Exif\0\0":
            turned = exif_orientation(head[i + 10:i + 2 + int.from_bytes(head[i + 2:i + 4], "big")]) >= 5
            i += 2 + int.from_bytes(head[i + 2:i + 4], "big")
        elif marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers without a length
            i += 2
        else:
            i += 2 + int.from_bytes(head[i + 2:i + 4], "big")
    return None


def exif_orientation(tiff: bytes) -> int:
    """The orientation tag (1 to 8; 1 when absent or unreadable) of an EXIF block's TIFF part."""
    order = {b"II": "little", b"MM": "big"}.get(tiff[:2])
    if order is None or len(tiff) < 8:
        return 1
    first = int.from_bytes(tiff[4:8], order)  # type: ignore[arg-type]
    if first + 2 > len(tiff):
        return 1
    count = int.from_bytes(tiff[first:first + 2], order)  # type: ignore[arg-type]
    for k in range(count):
        entry = tiff[first + 2 + 12 * k:first + 14 + 12 * k]
        if len(entry) == 12 and int.from_bytes(entry[:2], order) == 0x0112:  # type: ignore[arg-type]
            value = int.from_bytes(entry[8:10], order)  # type: ignore[arg-type]
            return value if 1 <= value <= 8 else 1
    return 1


def contained(name: str) -> str:
    """An image name as it may be read under its folder: one that leads out of it (an absolute path,
    `..`, a drive) is only its file name."""
    given = PurePosixPath(name.replace("\\", "/"))
    if given.is_absolute() or ".." in given.parts or PureWindowsPath(name).drive:
        return given.name
    return name


class ImageFolder:
    """Finds a label file's image in a folder, forgiving what real exporters get wrong: the letter case
    (`0af.jpg` for the file `0AF.jpg`) and a missing extension (`1be` for `1be.jpg`). A name that leads
    out of the folder (an absolute path, `..`) is never followed: only its file name is looked for in
    the folder, as for an exporter's path from another machine."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self._index: dict[str, Path] | None = None

    def find(self, name: str) -> Path | None:
        name = contained(name)
        exact = self.root / name
        try:
            if exact.is_file():
                return exact
        except (OSError, ValueError):  # a name too long for the file system, or with a NUL byte
            return None
        if self._index is None:
            self._index = {}
            for rel in find_images(self.root) if self.root.is_dir() else []:
                key = rel.as_posix().lower()
                self._index.setdefault(key, self.root / rel)
                self._index.setdefault(key.rsplit(".", 1)[0], self.root / rel)
        return self._index.get(Path(name).as_posix().lower())

    def require(self, name: str) -> Path:
        """The image's path; a missing one is an error that says how to point at the right folder."""
        path = self.find(name)
        if path is None:
            raise UserError(f"image {name!r} not found here (give the image folder with --images)", self.root)
        return path

    def size(self, name: str, label_file: str | os.PathLike, place: str | None = None) -> tuple[int, int]:
        """The image's size from its header; a missing image is the label file's error."""
        path = self.find(name)
        if path is None:
            raise UserError(f"image {name!r} not found under {self.root}, and the file gives no size", label_file,
                            place)
        return read_image_size(path, place)

