"""How far hand-drawn polygons lie from the image's own edges: the ceiling of an edge-following mask.

GrabCut is given the truth itself as seeds: sure object BAND px inside the truth's edge, sure background
BAND px outside it, the band between left to the image. Its mask against the truth is about the best a
mask that follows the image's edges can score against these polygons, knowing the object to within BAND
px. Beside it, the backend's own mask after 0, 1 and 2 corrections of the simulated annotator.

    .venv/bin/python benchmarks/polygon_edges.py [--data ../shared/data/fruits_nuts] [--bands 1 2 3]
"""
from __future__ import annotations

import argparse
import platform
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from converters.formats import read_dataset  # noqa: E402
from converters.masks import mask_iou, rle_to_mask  # noqa: E402
from detectors.images import read_rgb  # noqa: E402
from detectors.mask_backends import grabcut  # noqa: E402
from detectors.mask_eval import evaluate_masks  # noqa: E402

HERE = Path(__file__).resolve().parent
MARGIN = 20  # background around the object's box given to GrabCut


def seeded_by_truth(image: np.ndarray, truth: np.ndarray, band: int) -> np.ndarray:
    rows, cols = np.nonzero(truth)
    y0, x0 = max(0, rows.min() - MARGIN), max(0, cols.min() - MARGIN)
    y1, x1 = rows.max() + MARGIN + 1, cols.max() + MARGIN + 1
    crop, inside = np.ascontiguousarray(image[y0:y1, x0:x1]), truth[y0:y1, x0:x1].astype(np.uint8)
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * band + 1, 2 * band + 1))
    labels = np.full(inside.shape, cv2.GC_BGD, np.uint8)
    labels[cv2.dilate(inside, disc) > 0] = cv2.GC_PR_BGD
    labels[inside > 0] = cv2.GC_PR_FGD
    labels[cv2.erode(inside, disc) > 0] = cv2.GC_FGD
    mask = np.zeros(truth.shape, bool)
    mask[y0:y1, x0:x1] = grabcut.cut(crop, labels).astype(bool)  # the backend's seeded rounds
    return mask


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "data" / "fruits_nuts")
    parser.add_argument("--bands", type=int, nargs="+", default=[1, 2, 3])
    args = parser.parse_args()
    loaded = read_dataset(args.data / "trainval.json", "coco", args.data / "images", extremes=False)
    ds, root = loaded.dataset, loaded.image_root
    by_image = ds.annotations_by_image()
    scores: dict[int, list[float]] = {band: [] for band in args.bands}
    for record in ds.images:
        image = read_rgb(root / record.file_name)
        for ann in by_image.get(record.id, []):
            if not ann.has_mask or ann.iscrowd:
                continue
            truth = rle_to_mask(ann.mask_rle(record.height, record.width)).astype(bool)
            for band in args.bands:
                scores[band].append(mask_iou(seeded_by_truth(image, truth, band), truth))
    own = evaluate_masks(ds, root, "grabcut", corrections=2)
    print(f"{args.data.name}: {len(scores[args.bands[0]])} objects; {platform.processor() or platform.machine()}\n")
    print("| mask | mean IoU against the polygons |")
    print("| --- | ---: |")
    for band in args.bands:
        print(f"| GrabCut seeded by the truth to within {band} px | {np.mean(scores[band]):.3f} |")
    for k, iou in enumerate(own.iou_after):
        print(f"| the grabcut backend: four clicks, then {k} of the simulated annotator's corrections | {iou:.3f} |")


if __name__ == "__main__":
    main()
