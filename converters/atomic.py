"""Atomic file writes: an output appears whole or not at all, and an older file survives a failure."""
from __future__ import annotations

import contextlib
import fcntl
import glob
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from .errors import UserError


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO]:
    """Open a temporary file beside `path`; rename it over `path` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, _mode_for(path))
        with os.fdopen(fd, mode, encoding=encoding if "b" not in mode else None) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _mode_for(path: Path) -> int:
    """Keep the mode of the file being replaced; a new file gets the usual umask-based mode."""
    try:
        return path.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


EXPORT_MARK = ".annotator-export"


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike) -> Iterator[Path]:
    """Build a multi-file output in a temporary folder, then swap it in whole.

    An existing folder is replaced only if it is empty or an earlier export of ours (it holds the
    marker file); anything else might be the user's own data, so it is refused. Exports into one folder
    take turns (a lock on it), and each first clears up after a run that was killed: its temporary
    folders go, and an old export it had moved aside comes back if the new one never took its place.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _exports_into(path.parent):
        _recover(path)
        if path.exists() and (not path.is_dir() or (any(path.iterdir()) and not (path / EXPORT_MARK).exists())):
            raise UserError("exists and is not an earlier export; choose a new or empty folder", path)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.new.", dir=path.parent))
        try:
            yield tmp
            (tmp / EXPORT_MARK).write_text("written by annotator; this folder is replaced by the next export\n")
            old = None
            if path.exists():
                old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old.", dir=path.parent))
                os.replace(path, old / "previous")
            os.replace(tmp, path)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        except UserError as e:  # named after the output, not the temporary folder that is gone now
            shutil.rmtree(tmp, ignore_errors=True)
            if e.file is None or not e.file.startswith(str(tmp)):
                raise
            raise UserError(e.message, str(path) + e.file[len(str(tmp)):], e.place) from None
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise


@contextlib.contextmanager
def _exports_into(folder: Path) -> Iterator[None]:
    """One folder export at a time into `folder` (a lock on the folder itself, gone with the process)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _recover(path: Path) -> None:
    """Undo what a killed export into `path` left: a swap half done puts the old export back, and the
    temporary folders (hidden, beside it) go. Called under the lock, so none of them is in use."""
    for old in path.parent.glob(f".{glob.escape(path.name)}.old.*"):
        previous = old / "previous"
        if previous.is_dir() and not path.exists():
            os.replace(previous, path)
        shutil.rmtree(old, ignore_errors=True)
    for stale in path.parent.glob(f".{glob.escape(path.name)}.new.*"):
        if stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
