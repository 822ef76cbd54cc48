"""The projects opened lately, for the start page: a small JSON file in the user's config folder."""
from __future__ import annotations

import json
import os
from pathlib import Path

from converters.atomic import atomic_write

from .database import is_database_url

KEEP = 10


def config_dir() -> Path:
    """$ANNOTATOR_CONFIG_DIR, else $XDG_CONFIG_HOME/annotator, else ~/.config/annotator."""
    if os.environ.get("ANNOTATOR_CONFIG_DIR"):
        return Path(os.environ["ANNOTATOR_CONFIG_DIR"])
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "annotator"


def recent_projects() -> list[Path | str]:
    """Most recent first: project files (those that no longer exist are left out) and team projects' URLs
    (without a password: libpq's ~/.pgpass gives it). A damaged file reads as empty: losing this list
    costs nothing, and it must never keep the app from starting."""
    try:
        names = json.loads((config_dir() / "recent.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    names = [n for n in names if isinstance(n, str)] if isinstance(names, list) else []
    return [n if is_database_url(n) else Path(n) for n in names if is_database_url(n) or Path(n).is_file()]


def remember(project: Path | str) -> None:
    """A project file, or a team project's URL (given without its password)."""
    key = str(project) if is_database_url(project) else str(Path(project).resolve())
    names = [key] + [str(p) for p in recent_projects() if str(p) != key]
    with atomic_write(config_dir() / "recent.json") as f:
        json.dump(names[:KEEP], f, indent=1)
