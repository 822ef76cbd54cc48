"""`annotator prelabel` throughput: images/s on 100 photos, today's loop against the fast paths, in one run.

The photos are fruits_nuts' 18 (800x600), cycled to 100 names, and the same scaled 5x (4000x3000, 12
megapixels, as a phone takes them), where decoding costs what it does on real data. Each row pre-labels
a fresh project with the same trained detector (octagon masks, so the detector alone is timed):

- the loop before this work: each photo read, then the network in float32, one after the other;
- photos read ahead in a thread (the next one decodes while the network runs);
- and the network in bfloat16 with channels-last where the CPU has bfloat16 (or float16 on a GPU);
- and each JPEG decoded only as large as the network needs (1/2, 1/4 or 1/8 while decoding), which
  `prelabel` does with octagon masks (a backend that follows the image gets every pixel).

The suggestions of the float32 and reduced-precision rows are compared: how many boxes match at IoU
0.9 or better, so that speed is not bought with other answers.

    .venv/bin/python benchmarks/prelabel_speed.py --model RUN [--images 100] [--scales 1 5]
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from annotator.prelabel import prelabel
from annotator.store import Project
from detectors.device import PRECISION_VARIABLE, default_device, native_bf16
from detectors.kinds import kind_of
from detectors.ops import box_iou

FRUITS = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "fruits_nuts" / "images"


def photos(folder: Path, count: int, scale: int) -> list[tuple[str, int, int]]:
    """`count` names over the fruits_nuts photos, scaled by `scale` (written once, then hard-linked)."""
    sources = sorted(FRUITS.glob("*.jpg"))
    written = []
    for source in sources:
        image = cv2.imread(str(source))
        if scale != 1:
            image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
        written.append((folder / f"src_{source.name}", image.shape[1], image.shape[0]))
        cv2.imwrite(str(written[-1][0]), image, [cv2.IMWRITE_JPEG_QUALITY, 92])
    names = []
    for k in range(count):
        path, width, height = written[k % len(written)]
        (folder / f"{k:03d}.jpg").hardlink_to(path)
        names.append((f"{k:03d}.jpg", width, height))
    return names


def run(folder: Path, names, model: Path, fast: bool, ahead: int, shrunk: bool) -> tuple[float, list[np.ndarray]]:
    """Seconds to pre-label a fresh project, and each image's suggested boxes."""
    project_path = folder / f"p_{int(fast)}_{ahead}_{int(shrunk)}.sqlite"
    with Project.create(project_path, folder) as project:
        project.add_images(names)
        if fast:
            os.environ.pop(PRECISION_VARIABLE, None)
        else:
            os.environ[PRECISION_VARIABLE] = "full"
        predictor = kind_of(model).load(model, default_device())
        start = time.perf_counter()
        prelabel(project, predictor, str(model), ahead=ahead, shrunk=shrunk)
        seconds = time.perf_counter() - start
        boxes = [np.array([(b.x, b.y, b.x + b.w, b.y + b.h) for b in (s.box for s in project.suggestions(im.id))],
                          np.float32).reshape(-1, 4) for im in project.images()]
    project_path.unlink()
    return seconds, boxes


def agreement(a: list[np.ndarray], b: list[np.ndarray]) -> str:
    """Share of the float32 boxes that the other row also suggests at IoU >= 0.9."""
    total = sum(len(x) for x in a)
    same = sum(int((box_iou(torch.from_numpy(x), torch.from_numpy(y)).max(1).values >= 0.9).sum())
               for x, y in zip(a, b, strict=True) if len(x) and len(y))
    return f"{same}/{total}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True, help="a detector run directory")
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 5])
    args = parser.parse_args()
    print(f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, torch "
          f"{torch.__version__}, bfloat16 in hardware: {native_bf16()}; model {args.model} "
          f"({kind_of(args.model).name}); {args.images} images\n")
    print("| photos | loop | images/s | x before | boxes as float32's |")
    print("| --- | --- | ---: | ---: | ---: |")
    for scale in args.scales:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            names = photos(folder, args.images, scale)
            size = f"{names[0][1]}x{names[0][2]}"
            before, reference = run(folder, names, args.model, fast=False, ahead=0, shrunk=False)
            for what, fast, ahead, shrunk in (("before: read, then float32", False, 0, False),
                                              ("read ahead, float32", False, 2, False),
                                              ("read ahead, reduced precision", True, 2, False),
                                              ("read ahead, reduced precision, shrunk decode (now)", True, 2, True)):
                seconds, boxes = (before, reference) if ahead == 0 else run(folder, names, args.model, fast, ahead,
                                                                            shrunk)
                print(f"| {size} | {what} | {args.images / seconds:.2f} | {before / seconds:.2f} | "
                      f"{agreement(reference, boxes)} |", flush=True)
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
