"""How much memory a training step needs, to refuse before it starts a run the machine cannot hold
(the kernel would kill it minutes later, or the GPU run out, without a word)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

#: Bytes per pixel of one sample for a forward and backward pass in float32, by backbone depth: peak
#: resident memory of one step on a CPU (ExtremeNet at 512 px: 1.0 KB for resnet18, 2.6 KB for resnet50;
#: SAPD and RetinaNet less; DEXTR resnet101 at output stride 8: 8.3 KB), rounded up.
BYTES_PER_PIXEL = {18: 1500, 34: 2000, 50: 2600, 101: 4200}


def training_bytes(config: dict[str, Any], batch: int) -> int:
    """About what one training step of `config` at `batch` holds at its peak."""
    side = sample_side(config)
    per_pixel = BYTES_PER_PIXEL.get(config.get("depth", 101), BYTES_PER_PIXEL[101])
    if config.get("output_stride") == 8:  # DEXTR's dilated last stages keep 4x the features
        per_pixel *= 2
    return int(batch * side * side * per_pixel)


def sample_side(config: dict[str, Any]) -> int:
    """The side of one training sample: a detector's image size, DEXTR's crop."""
    return int(config.get("img_size") or config.get("crop") or 0)


def available_bytes(device: str) -> int | None:
    """Memory free for a run on `device` now: the GPU's free memory, or the system's available memory
    (Linux); None where it cannot be told."""
    if device.startswith("cuda"):
        return int(torch.cuda.mem_get_info(torch.device(device))[0])
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None
