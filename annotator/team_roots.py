"""Where each team project's images are on this machine: every person has their own copy (a shared
mount, or a local copy), so the folder is kept per person, in the config folder, by the database's URL
(without its password). `annotator open URL --images DIR` sets it; every command on the URL then uses it."""
from __future__ import annotations

import json
from pathlib import Path

from converters.atomic import atomic_write

from .database import shown_url
from .recent import config_dir


def _file() -> Path:
    return config_dir() / "team-images.json"


def _read() -> dict[str, str]:
    try:
        stored = json.loads(_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in stored.items() if isinstance(k, str) and isinstance(v, str)} \
        if isinstance(stored, dict) else {}


def remembered_root(url: str) -> Path | None:
    stored = _read().get(shown_url(url))
    return Path(stored) if stored else None


def remember_root(url: str, image_root: Path) -> None:
    roots = {**_read(), shown_url(url): str(Path(image_root).resolve())}
    with atomic_write(_file()) as f:
        json.dump(roots, f, indent=1)
