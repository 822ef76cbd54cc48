"""Does SAPD's extreme-point head learn where along each side the extreme point lies? Right triangles
whose top-most point is at the left or at the right end of the top side (and whose left- or right-most
point sits at one end of its side), so the side midpoints are far from the truth and only the picture
says which end: the head's error against the midpoints' (both as a share of the box side).

    .venv/bin/python benchmarks/sapd_extremes.py [--steps 240] [--out runs/sapd_extremes]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np

from converters import Annotation, Category, Dataset, ImageRecord
from converters.masks import extreme_points_from_mask
from detectors.detection_data import Photo
from detectors.detector_eval import evaluate_detector
from detectors.kinds import load_detector
from detectors.kinds.sapd import SAPD_KIND
from detectors.train import Schedule

SIDE = 128


def triangles(folder: Path, count: int, seed: int) -> tuple[list[Photo], Dataset]:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    photos, records, labels = [], [], []
    for k in range(count):
        s = int(rng.integers(40, 70))
        x, y = (int(v) for v in rng.integers(0, SIDE - s, 2))
        apex = x if rng.random() < 0.5 else x + s
        mask = np.zeros((SIDE, SIDE), np.uint8)
        cv2.fillPoly(mask, [np.array([[apex, y], [x, y + s], [x + s, y + s]], np.int32)], 1)
        image = np.full((SIDE, SIDE, 3), 40, np.uint8)
        image[mask.astype(bool)] = (60, 180, 200)
        cv2.imwrite(str(folder / f"{k}.png"), image)
        e = extreme_points_from_mask(mask.astype(bool))
        photos.append(Photo(folder / f"{k}.png", np.array([[e.left[0], e.top[1], e.right[0], e.bottom[1]]], np.float32),
                            np.array([0]), np.array([[e.top, e.left, e.bottom, e.right]], np.float32)))
        records.append(ImageRecord(k + 1, f"{k}.png", SIDE, SIDE))
        labels.append(Annotation.from_extreme(k + 1, k + 1, 1, e))
    return photos, Dataset(images=records, categories=[Category(1, "triangle")], annotations=labels)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=240)
    parser.add_argument("--out", type=Path, default=Path("runs/sapd_extremes"))
    args = parser.parse_args()
    train, _ = triangles(args.out / "train", 64, seed=0)
    _, held = triangles(args.out / "held", 32, seed=1)
    start = time.monotonic()
    train(SAPD_KIND, train, args.out / "run", {"depth": 18, "img_size": SIDE, "channels": 64, "classes": ["triangle"]},
          Schedule(epochs=args.steps // 8, batch=8), log=lambda line: None)
    seconds = time.monotonic() - start
    s = evaluate_detector(load_detector(args.out / "run"), held, args.out / "held")
    print(f"ResNet-18, head 64 wide, {SIDE} px, {args.steps} steps of 8 ({seconds:.0f} s); 32 held-out triangles\n")
    print("| AP50 | AP | extreme points' error | side midpoints' error |")
    print("| ---: | ---: | ---: | ---: |")
    print(f"| {s['ap50']:.3f} | {s['ap']:.3f} | {s['extreme_error']:.1%} | {s['midpoint_error']:.1%} |")


if __name__ == "__main__":
    main()
