"""DEXTR light trained on fruits_nuts, on synthetic objects, and on both; scored on held-out images.

Splits ../shared/data/fruits_nuts by image id: the first 14 images train, the last 4 are held out
(no overlap). Trains three models with `annotator train` for the same time budget each, then scores
them and the classical backends with `annotator eval-masks` on the held-out images (exact clicks and
5 px jitter). Prints one table.

    .venv/bin/python benchmarks/dextr_fruits.py [--minutes 8] [--synthetic 300] [--out runs/dextr_fruits]
"""
from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

import torch

from fruits_split import DATA, annotator, split


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=8.0)
    parser.add_argument("--synthetic", type=int, default=300)
    parser.add_argument("--out", type=Path, default=Path("runs/dextr_fruits"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    train, held = split(args.out)
    images = str(DATA / "images")
    recipes = {"fruits_nuts (14 images)": ["--data", str(train)],
               f"synthetic ({args.synthetic} objects)": ["--synthetic", str(args.synthetic)],
               f"fruits_nuts + {args.synthetic} synthetic": ["--data", str(train), "--synthetic", str(args.synthetic)]}
    print(f"{platform.machine()}, {torch.get_num_threads()} torch threads; {args.minutes:g} minutes of training "
          "each, ResNet-18, crop 256, output stride 16\n")
    rows = []
    for k, (name, data_args) in enumerate(recipes.items()):
        run = args.out / f"run{k}"
        annotator("train", "--arch", "dextr", *data_args, "--images", images, "--out", str(run),
                  "--minutes", str(args.minutes), "--val", str(held))
        rows.append((f"dextr light, trained on {name}", ["--method", "dextr", "--weights", str(run)]))
    rows += [("grabcut", ["--method", "grabcut"]), ("octagon", ["--method", "octagon"])]
    print("| method | mean IoU (exact) | IoU > 0.9 | ms per object | mean IoU (jitter 5 px) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, method in rows:
        exact = json.loads(annotator("eval-masks", str(held), "--images", images, *method, "--json"))
        jitter = json.loads(annotator("eval-masks", str(held), "--images", images, *method, "--json", "--jitter", "5"))
        print(f"| {name} | {exact['mean_iou']:.3f} | {exact['iou_90']:.1%} | {exact['ms_per_object']:.1f} | "
              f"{jitter['mean_iou']:.3f} |", flush=True)


if __name__ == "__main__":
    main()
