"""The person's settings for the labelling window, kept in the config folder beside the recent projects."""
from __future__ import annotations

import dataclasses
import json

from converters.atomic import atomic_write
from detectors.mask_backends import BACKENDS

from .mask_edit import OUTLINE_TOLERANCE, OUTLINE_TOLERANCES
from .recent import config_dir


@dataclasses.dataclass
class Settings:
    mask_method: str = "grabcut"  # what replaces the instant octagon, in the background
    accept_score: float = 0.5  # Ctrl+Enter accepts the image's suggestions scoring at least this
    #: Per mask backend that needs weights, its file or run directory (DEXTR's model).
    weights: dict[str, str] = dataclasses.field(default_factory=dict)
    detector: str = ""  # the last detector run directory pre-labelled with, offered first next time
    prelabel_score: float = 0.3  # pre-labelling suggests the detections scoring at least this
    outline_tolerance: float = OUTLINE_TOLERANCE  # how far the outline tool's polygon may stray from the mask
    learn_masks: bool = True  # the mask network learns from the person's labels (annotator.mask_learning)
    export_done_only: bool = False  # File > Export writes only the images marked done


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
    backend = stored.get("mask_method")
    score = stored.get("accept_score")
    weights = _weights(stored)
    detector = stored.get("detector")
    if backend not in BACKENDS or (BACKENDS[backend].weights and backend not in weights):
        backend = defaults.mask_method
    return Settings(
        mask_method=backend,
        accept_score=_share(score, defaults.accept_score),
        weights=weights,
        detector=detector if isinstance(detector, str) else "",
        prelabel_score=_share(stored.get("prelabel_score"), defaults.prelabel_score),
        outline_tolerance=_share(stored.get("outline_tolerance"), defaults.outline_tolerance,
                                 (min(OUTLINE_TOLERANCES), max(OUTLINE_TOLERANCES))),
        learn_masks=stored.get("learn_masks") is not False,
        export_done_only=stored.get("export_done_only") is True,
    )


def _weights(stored: dict) -> dict[str, str]:
    """The backends' weights that are text, for backends that take weights. A settings file from before
    per-backend weights has `dextr_weights`."""
    given = stored.get("weights")
    given = dict(given) if isinstance(given, dict) else {}
    if isinstance(stored.get("dextr_weights"), str) and "dextr" not in given:
        given["dextr"] = stored["dextr_weights"]
    return {name: path for name, path in given.items()
            if name in BACKENDS and BACKENDS[name].weights and isinstance(path, str) and path}


def _share(value, default: float, bounds: tuple[float, float] = (0.0, 1.0)) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        and bounds[0] <= value <= bounds[1] else default


def save_settings(settings: Settings) -> None:
    with atomic_write(config_dir() / "settings.json") as f:
        json.dump(dataclasses.asdict(settings), f, indent=1)
