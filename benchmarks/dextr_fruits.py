"""DEXTR light trained on fruits_nuts with correction points and without (the paper's 4 inputs),
optionally on synthetic objects too; scored on held-out images, with up to 5 correction clicks.

Splits ../shared/data/fruits_nuts by image id: the first 14 images train, the last 4 are held out
(no overlap). Trains each model with `annotator train` for the same time budget, then scores it and
the classical backends with `annotator eval-masks` on the held-out images: exact clicks with up to
--corrections correction clicks from the simulated annotator, and clicks with 5 px jitter. Prints one
table.

    .venv/bin/python benchmarks/dextr_fruits.py [--minutes 8] [--corrections 5] [--synthetic 0]
        [--out runs/dextr_fruits]
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
    parser.add_argument("--corrections", type=int, default=5)
    parser.add_argument("--synthetic", type=int, default=0,
                        help="also train on this many synthetic objects, alone and with fruits_nuts")
    parser.add_argument("--out", type=Path, default=Path("runs/dextr_fruits"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    train, held = split(args.out)
    images = str(DATA / "images")
    fruits = ["--data", str(train)]
    recipes = {"fruits_nuts, with corrections (5 inputs)": fruits,
               "fruits_nuts, clicks only (the paper's 4 inputs)": fruits + ["--clicks-only"]}
    if args.synthetic:
        more = ["--synthetic", str(args.synthetic)]
        recipes |= {f"{args.synthetic} synthetic objects, with corrections": more,
                    f"fruits_nuts + {args.synthetic} synthetic, with corrections": fruits + more}
    print(f"{platform.machine()}, {torch.get_num_threads()} torch threads; {args.minutes:g} minutes of training "
          "each, ResNet-18, crop 256, output stride 16\n")
    rows = []
    for k, (name, data_args) in enumerate(recipes.items()):
        run = args.out / f"run{k}"
        annotator("train", "--arch", "dextr", *data_args, "--images", images, "--out", str(run),
                  "--minutes", str(args.minutes), "--val", str(held))
        rows.append((f"dextr light, {name}", ["--method", "dextr", "--weights", str(run)]))
    rows += [("grabcut", ["--method", "grabcut"])]
    steps = list(range(args.corrections + 1))
    print("| backend | " + " | ".join(f"IoU after {k}" for k in steps) +
          " | NoC@85 | NoC@90 | ms per object | ms per recompute | IoU (jitter 5 px) |")
    print("| --- |" + " ---: |" * (len(steps) + 5))
    for name, options in rows:
        exact = json.loads(annotator("eval-masks", str(held), "--images", images, *options, "--json",
                                     "--corrections", str(args.corrections)))
        jitter = json.loads(annotator("eval-masks", str(held), "--images", images, *options, "--json", "--jitter", "5"))
        print(f"| {name} | " + " | ".join(f"{v:.3f}" for v in exact["iou_after"]) +
              f" | {exact['noc']['85']:.2f} | {exact['noc']['90']:.2f} | {exact['ms_per_object']:.1f} | "
              f"{exact['ms_per_recompute'] or 0:.1f} | {jitter['mean_iou']:.3f} |", flush=True)


if __name__ == "__main__":
    main()
