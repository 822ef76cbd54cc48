"""Anchors measured: `annotator anchors` against AutoAnchor's procedure on the same boxes, and (with
`--train`) the detectors with each kind of anchors, trained one after the other on the same CPU budget.

    .venv/bin/python benchmarks/anchors.py                       # the fit table (seconds)
    .venv/bin/python benchmarks/anchors.py --train --minutes 5   # and the detectors (minutes per row)

Fit: on fruits_nuts' 165 boxes, the scenes' and the chess photos' (benchmarks/detector_seeds.py's,
training and held-out boxes apart), on the rods (a synthetic set of long thin objects: rods and text lines,
aspect ratios 1:4 to 1:12 either way, drawn by `rods` below) and on 100,000 boxes drawn from a log-normal,
all scaled to a long side of 640. Rows: our k-means (1 - IoU, k-means++) from one start, from 20 (the
default) and from 20 each run on every box (the reference), our k-means then the genetic
search, and AutoAnchor's procedure as YOLOv5 publishes it (k-means in Euclidean distance on the widths
and heights divided by their standard deviations, then the same search): mean best IoU, coverage
(IoU >= 0.5), BPR at threshold 4, and the time.

Train: RetinaNet with default, k-means, learned and MetaAnchor anchors, SAPD and ExtremeNet, from scratch
for `--minutes` each at 384 px, on fruits_nuts (14 trained, 4 held out) and on the rods (48 / 16); AP50 and
AP on the held-out images. Then MetaAnchor's robustness: the MetaAnchor and the default RetinaNet,
evaluated with other anchors (k-means' on the held-out boxes; the default ones 0.7x and 1.4x).
"""
from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from detector_seeds import datasets  # noqa: E402
from fruits_split import DATA, annotator, split  # noqa: E402

from annotator.anchors import boxes_of, written  # noqa: E402
from converters.formats import read_dataset  # noqa: E402
from converters.masks import extreme_points_from_mask, mask_to_polygons  # noqa: E402
from detectors import anchor_boxes  # noqa: E402
from detectors.anchor_boxes import by_level, evolve, fit, kmeans  # noqa: E402
from detectors.kinds.retinanet import DEFAULT_ANCHORS  # noqa: E402

IMG_SIZE = 640


def rods(folder: Path, images: int, seed: int, part: str) -> Path:
    """`images` photos of 1 to 4 long thin objects (rods, and text-like lines of dashes) on a noisy
    background, 320 x 240, each 1:4 to 1:12 lying or standing, named PART-k.png, and their COCO file
    (PART.json) with masks."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    coco = {"images": [], "annotations": [], "categories": [{"id": 1, "name": "rod"}, {"id": 2, "name": "line"}]}
    for k in range(images):
        photo = rng.normal(120, 18, (240, 320, 3)).clip(0, 255).astype(np.uint8)
        for _ in range(int(rng.integers(1, 5))):
            long_side, ratio = int(rng.integers(60, 220)), float(rng.uniform(4, 12))
            short = max(4, int(long_side / ratio))
            w, h = (long_side, short) if rng.random() < 0.5 else (short, long_side)
            w, h = min(w, 300), min(h, 220)
            x, y = int(rng.integers(5, 320 - w - 5)), int(rng.integers(5, 240 - h - 5))
            mask = np.zeros((240, 320), np.uint8)
            category = 1 if rng.random() < 0.5 else 2
            if category == 1:
                cv2.ellipse(mask, (x + w // 2, y + h // 2), (w // 2, h // 2), 0, 0, 360, 1, -1)
                colour = rng.integers(160, 255, 3)
            else:  # a line of text: dashes along the long side
                step = max(short, 6)
                for offset in range(0, max(w, h) - step // 2, step):
                    if w >= h:
                        cv2.rectangle(mask, (x + offset, y), (x + min(offset + step - 2, w - 1), y + h - 1), 1, -1)
                    else:
                        cv2.rectangle(mask, (x, y + offset), (x + w - 1, y + min(offset + step - 2, h - 1)), 1, -1)
                colour = rng.integers(0, 60, 3)
            photo[mask.astype(bool)] = colour
            e = extreme_points_from_mask(mask.astype(bool))
            coco["annotations"].append({"id": len(coco["annotations"]) + 1, "image_id": k, "category_id": category,
                                        "iscrowd": 0, "bbox": e.box.to_list(), "area": float(mask.sum()),
                                        "segmentation": mask_to_polygons(mask.astype(bool))})
        cv2.imwrite(str(folder / f"{part}-{k}.png"), photo)
        coco["images"].append({"id": k, "file_name": f"{part}-{k}.png", "width": 320, "height": 240})
    path = folder / f"{part}.json"
    path.write_text(json.dumps(coco))
    return path


def autoanchor_kmeans(wh: np.ndarray, k: int, seed: int = 0, iterations: int = 30) -> np.ndarray:
    """YOLOv5's first step as published: k-means in Euclidean distance on the sides divided by their
    standard deviation (scipy's kmeans there, Lloyd's iterations from k random boxes here)."""
    rng = np.random.default_rng(seed)
    s = wh.std(axis=0)
    x = wh / s
    centres = x[rng.choice(len(x), k, replace=False)]
    for _ in range(iterations):
        nearest = ((x[:, None, :] - centres[None]) ** 2).sum(axis=2).argmin(axis=1)
        centres = np.array([x[nearest == j].mean(axis=0) if (nearest == j).any() else centres[j] for j in range(k)])
    anchors = centres * s
    return anchors[np.argsort(anchors.prod(axis=1))]


def reference_kmeans(wh: np.ndarray, k: int) -> np.ndarray:
    """The reference `kmeans` is held to: the best of 20 k-means++ starts, each run on every box."""
    sample = anchor_boxes.START_SAMPLE
    anchor_boxes.START_SAMPLE = len(wh)
    try:
        return kmeans(wh, k, restarts=20)
    finally:
        anchor_boxes.START_SAMPLE = sample


METHODS = {"k-means, one start": lambda wh: kmeans(wh, 9, restarts=1),
           "k-means (ours: 20 starts)": lambda wh: kmeans(wh, 9),
           "k-means, 20 starts on every box (reference)": lambda wh: reference_kmeans(wh, 9),
           "k-means + search (ours)": lambda wh: evolve(wh, kmeans(wh, 9))[0],
           "AutoAnchor's procedure": lambda wh: evolve(wh, autoanchor_kmeans(wh, 9))[0]}


def fit_table(sets: dict[str, np.ndarray]) -> None:
    print("| boxes | method | mean best IoU | coverage (IoU >= 0.5) | BPR (4.0) | seconds |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for name, wh in sets.items():
        for method, anchors_of in METHODS.items():
            start = time.perf_counter()
            anchors = anchors_of(wh)
            seconds = time.perf_counter() - start
            f = fit(wh, anchors)
            print(f"| {name} ({len(wh):,}) | {method} | {f.mean_iou:.3f} | {f.coverage:.1%} | {f.bpr:.1%} | "
                  f"{seconds:.2f} |")


def rows(args: argparse.Namespace, name: str, train: Path, held: Path, images: Path) -> dict[str, dict]:
    out = args.out / name
    found = {}
    modes = ("default", "kmeans", "learned", "meta")
    runs = {f"retinanet-{mode}": ("retinanet", ["--anchors", mode]) for mode in modes}
    runs |= {"sapd": ("sapd", []), "extremenet": ("extremenet", [])}
    for row, (arch, extra) in runs.items():
        run = out / row
        if args.rows is None or row in args.rows:
            shutil.rmtree(run, ignore_errors=True)
            annotator("train", "--arch", arch, "--data", str(train), "--images", str(images), "--out", str(run),
                      "--minutes", str(args.minutes), "--device", "cpu", *extra)
        elif not (run / "model.safetensors").is_file():
            continue  # not asked for, and no earlier run to score
        scores = json.loads(annotator("eval", "--model", str(run), "--data", str(held), "--images", str(images),
                                      "--json"))
        steps = json.loads((run / "metrics.json").read_text())[-1]["steps"]
        found[row] = {"ap50": scores["ap50"], "ap": scores["ap"], "steps": steps}
        print(f"{name} {row}: {found[row]}", file=sys.stderr, flush=True)
    return found


def robustness(args: argparse.Namespace, name: str, train: Path, held: Path, images: Path) -> None:
    """AP with other anchors than the trained ones, for the MetaAnchor and the default RetinaNet."""
    boxes = boxes_of(read_dataset(train, "coco", images).dataset, 384).scaled
    other = {"k-means' (45 on the training boxes)": [level.tolist() for level in by_level(kmeans(boxes, 45), 5)],
             "default x 0.7": (np.array(DEFAULT_ANCHORS) * 0.7).tolist(),
             "default x 1.4": (np.array(DEFAULT_ANCHORS) * 1.4).tolist()}
    print(f"\n{name}: AP50 with other anchors than the trained ones (no retraining)\n")
    print("| anchors at evaluation | retinanet-meta | retinanet-default |")
    print("| --- | ---: | ---: |")
    for k, (label, anchors) in enumerate({"as trained": None, **other}.items()):
        cells = []
        for row in ("retinanet-meta", "retinanet-default"):
            extra = []
            if anchors is not None:
                path = args.out / name / f"anchors-{k}.json"
                path.write_text(written([np.array(level) for level in anchors], "json", 384))
                extra = ["--anchors", str(path)]
            scores = json.loads(annotator("eval", "--model", str(args.out / name / row), "--data", str(held),
                                          "--images", str(images), "--json", *extra))
            cells.append(f"{scores['ap50']:.3f}")
        print(f"| {label} | {' | '.join(cells)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", action="store_true", help="also train and score the detectors")
    parser.add_argument("--minutes", type=float, default=5.0, help="CPU minutes per detector row")
    parser.add_argument("--out", type=Path, default=Path("runs/anchors"))
    parser.add_argument("--rows", nargs="+", help="train only these rows again (e.g. retinanet-meta); the others "
                                                  "are scored as an earlier run in --out left them, if it did")
    parser.add_argument("--datasets", nargs="+", choices=("fruits_nuts", "rods"), default=["fruits_nuts", "rods"])
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    fruits_train, fruits_held = split(args.out)
    rods_train, rods_held = rods(args.out / "rods", 48, 1, "train"), rods(args.out / "rods", 16, 2, "held")
    rng = np.random.default_rng(0)
    sets = {"fruits_nuts": boxes_of(read_dataset(DATA / "trainval.json", "coco", DATA / "images").dataset,
                                    IMG_SIZE).scaled,
            "rods": boxes_of(read_dataset(rods_train, "coco", rods_train.parent).dataset, IMG_SIZE).scaled,
            "log-normal": np.exp(rng.normal(np.log(60), 0.8, (100_000, 2)))}
    made = datasets(args.out / "seeds", ["scenes", "chess"])
    for name in ("scenes", "chess"):
        train, held, images, _ = made[name]
        sets[name] = boxes_of(read_dataset(train, "coco", images).dataset, IMG_SIZE).scaled
        sets[f"{name} (held out)"] = boxes_of(read_dataset(held, "coco", images).dataset, IMG_SIZE).scaled
    print(f"{platform.machine()}, {platform.python_version()}; 9 anchors at img-size {IMG_SIZE}\n")
    fit_table(sets)
    if not args.train:
        return
    print(f"\nfrom scratch, {args.minutes:g} CPU minutes per row at 384 px, one after the other\n")
    data = {"fruits_nuts": (fruits_train, fruits_held, DATA / "images"),
            "rods": (rods_train, rods_held, rods_train.parent)}
    results = {name: rows(args, name, *data[name]) for name in args.datasets}
    print("| detector | " + " | ".join(f"{name} AP50 | AP | steps" for name in results) + " |")
    print("| --- |" + " ---: | ---: | ---: |" * len(results))
    for row in sorted({row for found in results.values() for row in found}):
        cells = [f"{f[row]['ap50']:.3f} | {f[row]['ap']:.3f} | {f[row]['steps']}" if row in f else "- | - | -"
                 for f in results.values()]
        print(f"| {row} | {' | '.join(cells)} |")
    for name, found in results.items():
        if {"retinanet-meta", "retinanet-default"} <= set(found):
            robustness(args, name, *data[name])


if __name__ == "__main__":
    main()
