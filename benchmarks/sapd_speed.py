"""SAPD speed: inference images/s end to end (resize, network, decoding, batch 1) for ResNet-18 and
ResNet-50 at 512 and 800 px, and training images/s. On the CPU, and on the GPU when there is one
(inference with AMP and channels-last, as `annotator train --amp` trains).

Speed does not depend on what the weights learned, except in decoding: random weights put every
score near the prior (0.01), under the 0.05 threshold, so decoding has nothing to do. The "decode, every
point a candidate" column is the other end: the score bias is raised until every point of every level
passes, so that each level sends its top 1000 to NMS.

    .venv/bin/python benchmarks/sapd_speed.py [--runs 10] [--classes 80] [--channels 256]
"""
from __future__ import annotations

import argparse
import functools
import platform
import statistics
import time

import numpy as np
import torch

from detectors.detection_data import collate
from detectors.detections import GroundTruth
from detectors.device import training_precision
from detectors.kinds.sapd import SapdStep, decoded
from detectors.predictor import Predictor
from detectors.sapd import SAPD, LevelOutputs, decode


def timed(work, runs: int, device: str) -> float:
    """Median seconds of `runs` calls after two warm-up calls."""
    seconds = []
    for k in range(runs + 2):
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        start = time.perf_counter()
        work()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        if k >= 2:
            seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


def photo(size: int) -> np.ndarray:
    """A 4:3 photo whose long side is `size`, so the network sees exactly that side."""
    rng = np.random.default_rng(0)
    return rng.integers(0, 255, (size * 3 // 4, size, 3), dtype=np.uint8)


def inference(depth: int, size: int, device: str, amp: bool, args) -> tuple[float, float]:
    model = SAPD(args.classes, depth, args.channels)
    if device.startswith("cuda"):
        model = model.to(memory_format=torch.channels_last)
    predictor = Predictor(model, [str(k) for k in range(args.classes)], size, decoded, device, amp)
    image = photo(size)
    end_to_end = timed(lambda: predictor(image), args.runs, device)
    with torch.inference_mode():
        outputs, _ = model(torch.zeros(1, 3, size, size, device=device))
        # every point of every level scores 0.5, above the threshold
        outputs = [LevelOutputs(torch.zeros_like(o.cls, dtype=torch.float32), o.distances.float(), o.extremes.float())
                   for o in outputs]
        crowded = timed(lambda: decode(outputs), args.runs, device)
    return end_to_end, crowded


def training(depth: int, size: int, batch: int, device: str, amp: bool, args) -> float:
    model = SAPD(args.classes, depth, args.channels).to(device)
    step = SapdStep(model).train()
    step.precision = functools.partial(training_precision, torch.device(device), amp)
    optimiser = torch.optim.AdamW(model.parameters(), lr=1e-4)
    scaler = torch.amp.GradScaler("cuda", enabled=amp)
    rng = np.random.default_rng(0)
    samples = []
    for _ in range(batch):
        corners = rng.uniform(0, size * 0.6, (5, 2))
        sides = rng.uniform(size * 0.05, size * 0.4, (5, 2))
        boxes = torch.tensor(np.hstack([corners, corners + sides]), dtype=torch.float32)
        extremes = torch.stack([boxes[:, [0, 1]], boxes[:, [0, 1]], boxes[:, [2, 3]], boxes[:, [2, 3]]], dim=1)
        samples.append((torch.randn(3, size, size), GroundTruth(boxes, torch.zeros(5, dtype=torch.long), extremes)))
    images, targets = collate(samples)
    images = images.to(device)
    targets = [GroundTruth(t.boxes.to(device), t.labels.to(device), t.extremes.to(device)) for t in targets]

    def one_step() -> None:
        parts = step((images, targets), 1.0)
        optimiser.zero_grad(set_to_none=True)
        scaler.scale(sum(parts.values())).backward()
        scaler.step(optimiser)
        scaler.update()
    return batch / timed(one_step, max(3, args.runs // 3), device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--classes", type=int, default=80, help="80: COCO's, as in the paper")
    parser.add_argument("--channels", type=int, default=256, help="head width: 256 is the paper's")
    args = parser.parse_args()
    devices = [("cpu", False)] + ([("cuda", True)] if torch.cuda.is_available() else [])
    where = f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"
    if torch.cuda.is_available():
        where += f"; {torch.cuda.get_device_name()}"
    print(f"{where}; torch {torch.__version__}; {args.classes} classes, head width {args.channels}, "
          f"median of {args.runs}\n")
    print("| device | backbone | size | images/s (batch 1, end to end) | ms per image | "
          "decode, every point a candidate (ms) |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for device, amp in devices:
        for depth in (18, 50):
            for size in (512, 800):
                end_to_end, crowded = inference(depth, size, device, amp, args)
                name = device + (" (AMP)" if amp else "")
                print(f"| {name} | ResNet-{depth} | {size} | {1 / end_to_end:.1f} | {1000 * end_to_end:.0f} | "
                      f"{1000 * crowded:.0f} |", flush=True)
    print("\n| device | backbone | size | batch | training images/s |")
    print("| --- | --- | ---: | ---: | ---: |")
    plans = [("cpu", False, 18, 384, 8)] + [("cuda", True, depth, 800, 8) for depth in (18, 50)
                                           if torch.cuda.is_available()]
    for device, amp, depth, size, batch in plans:
        rate = training(depth, size, batch, device, amp, args)
        print(f"| {device}{' (AMP)' if amp else ''} | ResNet-{depth} | {size} | {batch} | {rate:.1f} |", flush=True)


if __name__ == "__main__":
    main()
