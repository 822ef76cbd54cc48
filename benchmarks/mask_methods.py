"""Mask backends against plain GrabCut from the box, with the simulated annotator of `eval-masks`.

The baseline is what labelling tools offer today: `cv2.grabCut` initialised with the box, on the whole
image, 5 iterations. Each method sees the same clicks (exact, then jittered by 5 px as a hand would).
Prints one table: mean IoU, shares above 0.75 and 0.9, median ms per object, and speed against the
baseline.

    .venv/bin/python benchmarks/mask_methods.py [--data ../shared/data/fruits_nuts]
"""
from __future__ import annotations

import argparse
import platform
from pathlib import Path

import cv2
import numpy as np

from converters.formats import read_dataset
from detectors.mask_backends import MaskResult
from detectors.mask_eval import evaluate_masks, score_masks

HERE = Path(__file__).resolve().parent


def box_grabcut(image: np.ndarray, clicks, corrections=(), before=None) -> MaskResult:
    b = clicks.box
    rect = (int(b.x), int(b.y), max(1, int(round(b.w))), max(1, int(round(b.h))))
    labels = np.zeros(image.shape[:2], np.uint8)
    cv2.grabCut(image, labels, rect, np.zeros((1, 65)), np.zeros((1, 65)), 5, cv2.GC_INIT_WITH_RECT)
    return MaskResult((labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD), "box grabcut")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "data" / "fruits_nuts")
    args = parser.parse_args()
    loaded = read_dataset(args.data / "trainval.json", "coco", args.data / "images", extremes=False)
    ds, root = loaded.dataset, loaded.image_root
    print(f"{args.data.name}: {len(ds.images)} images, {len(ds.annotations)} objects; "
          f"{platform.processor() or platform.machine()}, {cv2.getNumThreads()} OpenCV threads\n")
    print("| method | clicks | mean IoU | IoU > 0.75 | IoU > 0.9 | ms per object | faster than box GrabCut |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for jitter in (0.0, 5.0):
        clicks = "exact" if jitter == 0 else f"jitter {jitter:g} px"
        baseline = score_masks(ds, root, box_grabcut, jitter)
        rows = [("plain GrabCut from the box (whole image)", baseline)]
        rows += [(m, evaluate_masks(ds, root, m, jitter=jitter)) for m in ("octagon", "grabcut")]
        for name, s in rows:
            print(f"| {name} | {clicks} | {s.mean_iou:.3f} | {s.iou_75:.1%} | {s.iou_90:.1%} | "
                  f"{s.ms_per_object:.1f} | {baseline.ms_per_object / s.ms_per_object:.1f}x |")


if __name__ == "__main__":
    main()
