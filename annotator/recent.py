"""The projects opened lately, for the start page: a small JSON file in the user's config folder."""
from __future__ import annotations

import json
import os
from pathlib import Path

from converters.atomic import atomic_write

KEEP = 10


def config_dir() -> Path:
    """$ANNOTATOR_CONFIG_DIR, else $XDG_CONFIG_HOME/annotator, else ~/.config/annotator."""
    if os.environ.get("ANNOTATOR_CONFIG_DIR"):
        return Path(os.environ["ANNOTATOR_CONFIG_DIR"])
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "annotator"


def recent_projects() -> list[Path]:
    """Most recent first; projects that no longer exist are left out. A damaged file reads as empty:
    losing this list costs nothing, and it must never keep the app from starting."""
    try:
        names = json.loads((config_dir() / "recent.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    paths = [Path(n) for n in names if isinstance(n, str)] if isinstance(names, list) else []
    return [p for p in paths if p.is_file()]


def remember(project: Path) -> None:
    project = project.resolve()
    names = [str(project)] + [str(p) for p in recent_projects() if p.resolve() != project]
    with atomic_write(config_dir() / "recent.json") as f:
        json.dump(names[:KEEP], f, indent=1)
