"""What a model directory's `config.json` may hold, per model kind, checked when it is read (and when a
training run is configured): a missing key, a wrong type or a value out of range is one line naming the
file and the key, never a traceback from deep inside a network's constructor, and never quietly read
as something else (`"classes": "abc"` is not three classes)."""
from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import torch

from converters import UserError
from converters.errors import shown

from .catalogue import DEPTHS
from .checkpoints import CONFIG, read_checkpoint


@dataclasses.dataclass(frozen=True)
class Key:
    """One setting: its rule in words, the test, and the value a file from before it existed has
    (None: the key is required)."""
    rule: str
    holds: Callable[[Any], bool]
    default: Any = None


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def one_of(*choices: int, default: int | None = None) -> Key:
    return Key(f"one of {', '.join(map(str, choices))}", lambda v: _whole(v) and v in choices, default)


def between(low: int, high: int, default: int | None = None) -> Key:
    return Key(f"a whole number from {low} to {high}", lambda v: _whole(v) and low <= v <= high, default)


NAMES = Key("a list of names (text, none empty, none twice)",
            lambda v: isinstance(v, list) and bool(v) and all(isinstance(n, str) and n.strip() for n in v)
            and len(set(v)) == len(v))
DEPTH = one_of(*sorted(DEPTHS))

def _scores(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and (v is None or (isinstance(v, (int, float))
                                                                                and not isinstance(v, bool)))
                                           for k, v in value.items())


#: What the training loop writes into every kind's config beside the kind's own keys: which epoch the
#: model is from, and its held-out scores then (val_*; pre-labelling's default minimum score among them).
RUN_KEYS = {"epoch": between(0, 10**9, default=0),
            "held_out": Key("an object of held-out scores (numbers or null)", _scores, {})}


class Kind(Protocol):
    name: str
    title: str
    keys: dict[str, Key]  # a key not listed is kept as it is (a note, a later version's)


def checked_config(config: Any, kind: Kind, source: str | os.PathLike) -> dict[str, Any]:
    """`config` as a model of `kind` needs it, the defaults of older files filled in; else UserError."""
    if not isinstance(config, dict):
        raise UserError(f"must hold a JSON object, not {shown(config)}", source)
    if config.get("arch") != kind.name:
        raise UserError(f"holds a {shown(config.get('arch'))} model, not {kind.title}", source)
    out = dict(config)
    for name, key in {**RUN_KEYS, **kind.keys}.items():
        if name not in config:
            if key.default is None:
                raise UserError(f"has no {name!r}: it must be {key.rule}", source)
            out[name] = key.default
        elif not key.holds(config[name]):
            raise UserError(f"{name} is {shown(config[name])}: it must be {key.rule}", source)
    return out


def read_model(directory: str | os.PathLike, kind: Kind) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """One of our model directories holding a model of `kind`: its checked config and its weights."""
    config, state = read_checkpoint(directory)
    return checked_config(config, kind, Path(directory) / CONFIG), state
