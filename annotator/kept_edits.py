"""The edits a team project's window made while its server was away, in words, on this person's disk until
they are written: if the window dies first (a crash, a kill, a power cut), the next window on the project
says exactly what was not saved, rather than nothing. The edits themselves live in the window's memory
(they are calls into the session); this record is what is left of them when the window is gone."""
from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from converters.atomic import atomic_write


@dataclass(frozen=True)
class KeptEdit:
    what: str  # as the Edit menu names it: "move top point", "change image status"
    image: str  # the image's file name
    when: float  # seconds since the epoch

    def text(self) -> str:
        return f"{time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(self.when))} {self.what} on {self.image}"


class KeptEdits:
    """This window's record: `kept-PID.json` in the project's local folder (a JSON list, rewritten whole at
    each change: it holds a few lines). One file per window process, so two windows of one person on one
    project keep theirs apart, and a file whose process is gone is a dead window's."""

    def __init__(self, folder: Path, pid: int | None = None):
        self.folder = folder
        self.path = folder / f"kept-{os.getpid() if pid is None else pid}.json"

    def write(self, edits: list[KeptEdit]) -> None:
        if not edits:
            self.path.unlink(missing_ok=True)
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        with atomic_write(self.path) as f:
            json.dump([asdict(e) for e in edits], f, indent=1)


def left_by_windows_gone(folder: Path) -> list[KeptEdit]:
    """What windows that died left unwritten, oldest first, once: their records go as they are read. A
    record this cannot read says so in place of its edits."""
    edits: list[KeptEdit] = []
    for path in sorted(folder.glob("kept-*.json")):
        pid = path.stem.removeprefix("kept-")
        if pid.isdigit() and _alive(int(pid)):
            continue
        try:
            rows = json.loads(path.read_text(encoding="utf-8"))
            edits += [KeptEdit(str(r["what"]), str(r["image"]), float(r["when"])) for r in rows]
        except (OSError, ValueError, TypeError, KeyError) as e:
            edits.append(KeptEdit(f"edits in a record that cannot be read ({type(e).__name__})", path.name,
                                  time.time()))
        path.unlink(missing_ok=True)
    return sorted(edits, key=lambda e: e.when)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True
