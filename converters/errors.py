"""The one exception family for a user's mistakes.

Every reader, writer, geometry check and store operation raises `UserError` when the cause is the
user's input (a bad file, bad clicks, a missing image), so the CLI can print one line and the GUI can
show a message and keep the session alive. Programming errors stay ordinary exceptions.
"""
from __future__ import annotations

import errno
import os
import sqlite3
from importlib import metadata
from pathlib import Path


class UserError(Exception):
    """A mistake in the user's input, with the file and the place in it when they are known."""

    def __init__(self, message: str, file: str | os.PathLike | None = None, place: str | None = None):
        super().__init__(message)
        self.message = message
        self.file = os.fspath(file) if file is not None else None
        self.place = place

    def __str__(self) -> str:
        parts = [p for p in (self.file, self.place) if p]
        return ": ".join(parts + [self.message])

    def at(self, file: str | os.PathLike | None = None, place: str | None = None) -> UserError:
        """The same error with a file or place filled in by a caller that knows it."""
        return UserError(
            self.message,
            self.file if self.file is not None else file,
            self.place if self.place is not None else place,
        )


def shown(value: object, limit: int = 40) -> str:
    """A value from a file as an error message quotes it: short, and printable whatever it holds (lone
    surrogates, integers of thousands of digits, nesting)."""
    try:
        text = repr(value)
    except (ValueError, RecursionError):  # an integer past Python's digit limit, a deep structure
        text = f"<a {type(value).__name__}>"
    return text if len(text) <= limit else text[:limit - 3] + "..."


def nothing_at(path: Path, what: str) -> UserError:
    """A path that names nothing: `what` missing, or a symbolic link that leads nowhere (said apart, as a
    person looking at the folder sees the link)."""
    if path.is_symlink():
        return UserError("a symbolic link that leads nowhere (or round to itself)", path)
    return UserError(f"no such {what}", path)


class Cancelled(Exception):
    """Raised by a progress callback to stop long work; the work leaves nothing half written."""


def package_version() -> str:
    """The installed distribution's version, for file headers and `--version`."""
    try:
        return metadata.version("annotator")
    except metadata.PackageNotFoundError:
        return "0+unknown"


#: Write errors of the place written to, not of the input.
FULL_DISK = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def disk_full(e: BaseException) -> UserError | None:
    """The one line for a write the disk refused (full, over quota, over the file size limit), from
    Python's or SQLite's error; None for any other error. Writes are atomic and the store's are
    transactions, so what was saved before is intact."""
    if isinstance(e, OSError) and e.errno in FULL_DISK:
        return UserError(f"{e.strerror}: the disk is full (or the file too large); nothing saved before was "
                         "changed", e.filename)
    if isinstance(e, sqlite3.OperationalError) and any(s in str(e) for s in ("disk is full", "disk I/O error")):
        return UserError(f"the project could not be written ({e}): is the disk full? The last change was not "
                         "saved; what was saved before is as it was")
    return None
