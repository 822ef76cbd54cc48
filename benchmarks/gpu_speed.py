"""The speed table of one prepared GPU run (`benchmarks/gpu.sh`), through the model kinds' registry.

For each detector kind (SAPD, ExtremeNet): inference images/s end to end (resize, network, decoding,
batch 1), as `annotator prelabel` runs it, and training images/s with the kind's own training step
(AMP on a GPU) on a batch of the bundled sample's photos already on the device (data loading is not
timed). For DEXTR: ms per object at batch 1 and per object in a batch of 8, the paper's ResNet-101 at
512 px and our light ResNet-18 at 256.

Weights are random: speed does not depend on what they learned, except in decoding, where random
scores sit near the prior, under the threshold (see sapd_speed.py for decoding at its busiest).
`--tiny` is the CPU rehearsal: small sizes, few runs, the same code paths.

    python benchmarks/gpu_speed.py [--device cuda] [--tiny] [--runs 20] [--out table.md]
"""
from __future__ import annotations

import argparse
import functools
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

from converters.formats import read_dataset
from converters.geometry import ExtremePoints
from detectors.device import fast_layout, training_precision
from detectors.kinds import KINDS

SAMPLE = Path(__file__).resolve().parent.parent / "assets" / "sample"
CLASSES = [str(k) for k in range(80)]  # COCO's 80, as the papers
GOALS = {"inference": ">= 100 images/s", "training": ">= 60 images/s (ResNet-50)", "dextr": "< 10 ms"}


def timed(work, runs: int, device: torch.device) -> float:
    """Median seconds of `runs` calls after two warm-up calls."""
    seconds = []
    for k in range(runs + 2):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        work()
        if device.type == "cuda":
            torch.cuda.synchronize()
        if k >= 2:
            seconds.append(time.perf_counter() - start)
    return float(np.median(seconds))


def photo(size: int) -> np.ndarray:
    """A 4:3 photo whose long side is `size`, so the network sees exactly that side."""
    return np.random.default_rng(0).integers(0, 255, (size * 3 // 4, size, 3), dtype=np.uint8)


def detector_config(name: str, depth: int, size: int) -> dict:
    return {**KINDS[name].new_config(depth), "img_size": size, "classes": CLASSES}


def inference(name: str, depth: int, size: int, device: torch.device, runs: int) -> float:
    kind = KINDS[name]
    config = detector_config(name, depth, size)
    model = kind.build(config).to(memory_format=fast_layout(device))
    predictor = kind.predictor(model, config, str(device))
    image = photo(size)
    return 1 / timed(lambda: predictor(image), runs, device)


def training(name: str, depth: int, size: int, batch: int, device: torch.device, runs: int) -> float:
    kind = KINDS[name]
    loaded = read_dataset(SAMPLE / "labels.json", "coco", SAMPLE / "images", extremes=False)
    samples, keys = kind.training_set(loaded.dataset, loaded.image_root)
    config = {**kind.new_config(depth), **keys, "img_size": size}
    layout = fast_layout(device)
    model = kind.build(config).to(device, memory_format=layout).train()
    amp = device.type == "cuda"
    step = kind.training_step(model, config, 0)
    step.precision = functools.partial(training_precision, device, amp)
    data, collate = kind.training_data(samples, config)
    items = [data[k % len(data)] for k in range(batch)]
    on_device = kind.to_device((collate or torch.utils.data.default_collate)(items), str(device), layout)
    optimiser = torch.optim.AdamW(model.parameters(), lr=1e-4)
    scaler = torch.amp.GradScaler("cuda", enabled=amp)

    def one_step() -> None:
        parts = step(on_device, 0.5)
        optimiser.zero_grad(set_to_none=True)
        scaler.scale(sum(parts.values())).backward()
        scaler.step(optimiser)
        scaler.update()
    return batch / timed(one_step, max(3, runs // 2), device)


def dextr(depth: int, batch: int, device: torch.device, runs: int) -> float:
    """ms per object."""
    kind = KINDS["dextr"]
    config = kind.new_config(depth)
    predictor = kind.predictor(kind.build(config), config, str(device))
    image = photo(800)
    objects = [ExtremePoints((300 + k, 150), (150, 300), (310, 450), (450, 290 + k)) for k in range(batch)]
    return 1000 * timed(lambda: predictor(image, objects), runs, device) / batch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--tiny", action="store_true", help="the CPU rehearsal: small sizes, few runs")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--out", type=Path, help="also write the table here (Markdown)")
    args = parser.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed input sizes: cuDNN picks its fastest kernels once
    size, depth, batch, runs = (160, 18, 2, 2) if args.tiny else (800, 50, 8, args.runs)
    where = (torch.cuda.get_device_name(device) if device.type == "cuda"
             else f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads")
    lines = [f"{where}; torch {torch.__version__}; Python {platform.python_version()}; "
             f"median of {runs} runs{' (--tiny rehearsal)' if args.tiny else ''}", "",
             "| what | model | size | batch | result | goal |", "| --- | --- | ---: | ---: | ---: | --- |"]

    def row(what: str, model: str, side: int, n: int, result: str, goal: str = "") -> None:
        lines.append(f"| {what} | {model} | {side} | {n} | {result} | {goal} |")
        print(lines[-1], flush=True)

    print("\n".join(lines))
    for name in ("sapd", "extremenet"):
        rate = inference(name, depth, size, device, runs)
        row("inference, end to end", f"{name} ResNet-{depth}", size, 1, f"{rate:.1f} images/s", GOALS["inference"])
    for name in ("sapd", "extremenet"):
        rate = training(name, depth, size, batch, device, runs)
        row("training" + (" (AMP)" if device.type == "cuda" else ""), f"{name} ResNet-{depth}", size, batch,
            f"{rate:.1f} images/s", GOALS["training"])
    for dextr_depth, crop in ((101, 512), (18, 256)) if not args.tiny else ((18, 256),):
        for n in (1, 8):
            ms = dextr(dextr_depth, n, device, runs)
            row("DEXTR, per object", f"dextr ResNet-{dextr_depth}", crop, n, f"{ms:.1f} ms", GOALS["dextr"])
    if args.out:
        args.out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
