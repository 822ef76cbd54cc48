"""The person's settings for the labelling window, kept in the config folder beside the recent projects."""
from __future__ import annotations

import dataclasses
import json

from converters.atomic import atomic_write
from detectors.maskers import METHODS

from .recent import config_dir


@dataclasses.dataclass
class Settings:
    mask_method: str = "grabcut"  # what replaces the instant octagon, in the background
    accept_score: float = 0.5  # Ctrl+Enter accepts the image's suggestions scoring at least this
    dextr_weights: str = ""  # the DEXTR model (a run directory or the official .pth) for method "dextr"
    detector: str = ""  # the last detector run directory pre-labelled with, offered first next time
    prelabel_score: float = 0.3  # pre-labelling suggests the detections scoring at least this


def load_settings() -> Settings:
    """Unknown, damaged or out-of-range values read as the defaults: settings must never keep the app
    from starting."""
    defaults = Settings()
    try:
        stored = json.loads((config_dir() / "settings.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return defaults
    if not isinstance(stored, dict):
        return defaults
    method = stored.get("mask_method")
    score = stored.get("accept_score")
    weights = stored.get("dextr_weights")
    weights = weights if isinstance(weights, str) else ""
    detector = stored.get("detector")
    if method == "dextr" and not weights:
        method = None
    return Settings(
        mask_method=method if method in METHODS else defaults.mask_method,
        accept_score=_share(score, defaults.accept_score),
        dextr_weights=weights,
        detector=detector if isinstance(detector, str) else "",
        prelabel_score=_share(stored.get("prelabel_score"), defaults.prelabel_score),
    )


def _share(value, default: float) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1 \
        else default


def save_settings(settings: Settings) -> None:
    with atomic_write(config_dir() / "settings.json") as f:
        json.dump(dataclasses.asdict(settings), f, indent=1)
