"""What a team project keeps on this machine, for this person alone, in the config folder. Where its images
are: every person has their own copy (a shared mount, or a local copy), kept by the database's URL
(without its password); `annotator open URL --images DIR` sets it, and every command on the URL then uses
it. And a folder for its training runs (`team_folder`)."""
from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

from converters.atomic import atomic_write

from .database import database_name, shown_url
from .recent import config_dir


def team_folder(url: str) -> Path:
    """This person's stand-in path for a team project (its runs go beside it): a team database has no
    file beside which to keep them."""
    parts = urlsplit(url)
    name = "-".join(p for p in (parts.hostname or "local", str(parts.port or 5432), database_name(url)) if p)
    return config_dir() / "team" / re.sub(r"[^A-Za-z0-9._-]", "_", name) / "project"


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
