"""The registry of model kinds. A kind is one module that declares its config keys and the defaults of a
new run, builds its network, runs one training step (the loss), decodes (`predictor`) and scores
held-out data; `detectors.train` runs every kind through the same loop, and loading a model directory,
the command line's choices and checkpoints read this table. Adding a kind is one module plus one line
here."""
from __future__ import annotations

import os
from pathlib import Path

from converters import UserError
from converters.errors import shown

from ..checkpoints import CONFIG, read_config
from .base import ModelKind, Option, Role, TrainingDefaults
from .dextr import DEXTR
from .extremenet import EXTREMENET
from .retinanet import RETINANET
from .sapd import SAPD_KIND

KINDS: dict[str, ModelKind] = {kind.name: kind for kind in (SAPD_KIND, EXTREMENET, RETINANET, DEXTR)}

__all__ = ["KINDS", "ModelKind", "Option", "Role", "TrainingDefaults", "kind_of", "load_detector"]


def kind_of(directory: str | os.PathLike) -> ModelKind:
    """The kind a model directory's config names (its weights are left for the kind to read); an unknown
    one is refused with the kinds there are."""
    config = read_config(directory)
    arch = config.get("arch") if isinstance(config, dict) else None
    if not isinstance(arch, str) or arch not in KINDS:
        raise UserError(f"holds a {shown(arch)} model: known kinds are {', '.join(KINDS)}", Path(directory) / CONFIG)
    return KINDS[arch]


def load_detector(run: str | os.PathLike, device: str = "cpu", anchors: list | None = None):
    """The detector a training run wrote, ready to predict (with `anchors`, per level, instead of its
    own); a mask network is refused with what it is."""
    kind = kind_of(run)
    if kind.role is not Role.DETECTOR:
        raise UserError(f"holds a {shown(kind.name)} model ({kind.title}), not a detector", Path(run) / CONFIG)
    if anchors is None:
        return kind.load(run, device)
    if kind is not RETINANET:
        raise UserError(f"holds {kind.title}, which has no anchors: --anchors is for retinanet models",
                        Path(run) / CONFIG)
    return kind.load(run, device, RETINANET.anchored(kind.config_of(run), anchors, Path(run)))
