"""Where models run when the person does not say, and in which precision they infer there."""
from __future__ import annotations

import contextlib
import dataclasses
import os
from typing import Any

import torch

#: Set to "full" for float32 inference everywhere (to compare with the fast path, or on a CPU where
#: bfloat16 turns out slower).
PRECISION_VARIABLE = "ANNOTATOR_PRECISION"


def default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def native_bf16() -> bool:
    """Whether this CPU computes bfloat16 in hardware (AVX-512 BF16 or AMX). Elsewhere oneDNN emulates
    it, which is slower than float32."""
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, check, lambda: False)() for check in checks)


def reduced_dtype(device: torch.device) -> torch.dtype | None:
    """The dtype a network infers in on `device`: float16 on a GPU, bfloat16 on a CPU that has it
    natively; None for float32. On fruits_nuts DEXTR light went from 70 to 40 ms per object in
    bfloat16 with channels-last, mean IoU 0.9182 -> 0.9181 (benchmarks/README.md)."""
    if os.environ.get(PRECISION_VARIABLE, "") == "full":
        return None
    if device.type == "cuda":
        return torch.float16
    if device.type == "cpu" and native_bf16():
        return torch.bfloat16
    return None


def inference_precision(device: torch.device) -> contextlib.AbstractContextManager:
    """Autocast in `reduced_dtype` for a network's forward pass at inference."""
    dtype = reduced_dtype(device)
    return torch.autocast(device.type, dtype=dtype) if dtype is not None else contextlib.nullcontext()


def training_precision(device: torch.device, reduced: bool) -> contextlib.AbstractContextManager:
    """Autocast for a training step's forward pass: with `reduced`, in `reduced_dtype` (float16 on a GPU,
    with the loop's gradient scaler; bfloat16 on a CPU that has it natively, which needs none: its range
    is float32's); else, and where neither is fast, float32. The losses run in float32 either way, on
    the outputs `in_float32` casts (`kinds.base.TrainingStep`)."""
    dtype = reduced_dtype(device) if reduced else None
    return torch.autocast(device.type, dtype=dtype) if dtype is not None else contextlib.nullcontext()


def in_float32(outputs: Any) -> Any:
    """A network's outputs (tensors, in lists, tuples and dataclasses) with their floating tensors in
    float32: after a forward pass in reduced precision, losses and decoding run in full precision."""
    if isinstance(outputs, torch.Tensor):
        return outputs.float() if outputs.is_floating_point() else outputs
    if dataclasses.is_dataclass(outputs) and not isinstance(outputs, type):
        return dataclasses.replace(outputs, **{f.name: in_float32(getattr(outputs, f.name))
                                               for f in dataclasses.fields(outputs)})
    if isinstance(outputs, (list, tuple)):
        return type(outputs)(in_float32(part) for part in outputs)
    return outputs


def fast_layout(device: torch.device) -> torch.memory_format:
    """Channels-last where autocast runs: oneDNN's and cuDNN's reduced-precision convolutions want it."""
    return torch.channels_last if reduced_dtype(device) is not None else torch.contiguous_format
