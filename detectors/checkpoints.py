"""Model files in and out. Ours are a directory with `config.json` and `model.safetensors` (no pickle);
foreign `.pth` files (torchvision ImageNet backbones, DEXTR's official weights) are read with
`torch.load(weights_only=True)`, which refuses anything but tensors, and must match the module key for
key and shape: a wrong file is refused with the first keys that differ, never half loaded."""
from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from converters import UserError
from converters.atomic import atomic_write

CONFIG, WEIGHTS = "config.json", "model.safetensors"
MAX_CONFIG_BYTES = 10_000_000
#: Buffers old PyTorch versions did not save; a file without them is still whole.
OPTIONAL_SUFFIXES = ("num_batches_tracked",)


def read_foreign_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """A `.pth` state dict, with the `module.` prefix that DataParallel training leaves stripped."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise UserError("no such weights file", path) from None
    except Exception as e:  # pickle refusals, truncated files: all mean the same to the user
        raise UserError(f"not a PyTorch weights file that loads safely ({type(e).__name__}: {str(e)[:120]})",
                        path) from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise UserError("holds no state dict of tensors", path)
    return {k.removeprefix("module."): v for k, v in state.items()}


def load_matching(module: nn.Module, state: dict[str, torch.Tensor], source: str | os.PathLike,
                  ignore: Iterable[str] = ()) -> None:
    """Load `state` into `module`, refusing missing, unexpected or wrongly shaped keys (those starting
    with a prefix in `ignore` are dropped first, such as an ImageNet classifier's `fc.`)."""
    ignore = tuple(ignore)
    state = {k: v for k, v in state.items() if not (ignore and k.startswith(ignore))}
    expected = module.state_dict()
    missing = [k for k in expected if k not in state and not k.endswith(OPTIONAL_SUFFIXES)]
    unexpected = [k for k in state if k not in expected]
    wrong = [f"{k} is {tuple(v.shape)}, the model needs {tuple(expected[k].shape)}"
             for k, v in state.items() if k in expected and v.shape != expected[k].shape]
    for problem, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong)):
        if keys:
            more = f" and {len(keys) - 3} more" if len(keys) > 3 else ""
            raise UserError(f"does not fit the model: {problem}: {', '.join(keys[:3])}{more}", source)
    module.load_state_dict(state, strict=False)


def save_checkpoint(directory: str | os.PathLike, config: dict[str, Any], module: nn.Module | dict) -> None:
    """Write the weights (a module's, or a state dict), then the config: a directory with a config always
    has its weights."""
    state = module.state_dict() if isinstance(module, nn.Module) else module
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / f".{WEIGHTS}.tmp"
    save_file({k: v.detach().contiguous().cpu() for k, v in state.items()}, str(tmp))
    os.replace(tmp, directory / WEIGHTS)
    with atomic_write(directory / CONFIG) as f:
        json.dump(config, f, indent=2)


def read_config(directory: str | os.PathLike) -> Any:
    """The config of one of our model directories as it was written (`configs.read_model` checks it)."""
    directory = Path(directory)
    path = directory / CONFIG
    try:
        if not path.is_file():  # a folder, a named pipe, /dev/zero behind a link: nothing a config can be
            if path.exists() or path.is_symlink():
                raise UserError("is not a regular file", path)
            raise FileNotFoundError(path)
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise UserError(f"is {path.stat().st_size} bytes: no config is that large", path)
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"is not a model directory: no {CONFIG}", directory) from None
    except (ValueError, RecursionError) as e:
        raise UserError(f"is not valid JSON: {str(e)[:120] or 'nested too deeply'}", path) from None
    except OSError as e:  # a link loop, a folder that is a loop, no permission
        raise UserError(f"cannot be read: {e.strerror or e}", path) from None


def read_checkpoint(directory: str | os.PathLike) -> tuple[Any, dict[str, torch.Tensor]]:
    """The config as it was written and the weights of one of our model directories."""
    directory = Path(directory)
    config = read_config(directory)
    try:
        state = load_file(str(directory / WEIGHTS))
    except FileNotFoundError:
        raise UserError(f"is not a model directory: no {WEIGHTS}", directory) from None
    except Exception as e:
        raise UserError(f"cannot be read: {e}", directory / WEIGHTS) from None
    return config, state
