"""SAPD from scratch on fruits_nuts with the default settings and a time budget, scored on held-out
images: the issue's recipe check (goal: box AP50 >= 0.8 on the 4 held-out images after 15 minutes on
the CPU).

    .venv/bin/python benchmarks/sapd_fruits.py [--minutes 15 | --epochs N] [--backbone resnet18]
        [--out runs/sapd_fruits]

`--epochs` instead of the clock: the same steps on every run, so two versions of the code can be
compared number for number (a run on the clock takes as many steps as the machine allows).
"""
from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

from fruits_split import DATA, annotator, split


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--minutes", type=float, default=15.0)
    length.add_argument("--epochs", type=int)
    parser.add_argument("--backbone", default="resnet18")
    parser.add_argument("--out", type=Path, default=Path("runs/sapd_fruits"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    train, held = split(args.out)
    images = str(DATA / "images")
    run = args.out / "run"
    annotator("train", "--arch", "sapd", "--data", str(train), "--images", images, "--out", str(run),
              "--device", "cpu", "--backbone", args.backbone,
              *(("--epochs", str(args.epochs)) if args.epochs else ("--minutes", str(args.minutes))))
    length = f"{args.epochs} epochs" if args.epochs else f"{args.minutes:g} minutes"
    print(f"{platform.machine()}; {args.backbone}, default settings, {length} on the CPU\n")
    print("| images | AP | AP50 | AP75 | ms per image | extreme points' error (midpoints') |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, data in (("4 held out", held), ("14 trained on", train)):
        s = json.loads(annotator("eval", "--model", str(run), "--data", str(data), "--images", images, "--json"))
        print(f"| {name} | {s['ap']:.3f} | {s['ap50']:.3f} | {s['ap75']:.3f} | {s['ms_per_image']:.0f} | "
              f"{s['extreme_error']:.1%} ({s['midpoint_error']:.1%}) |")


if __name__ == "__main__":
    main()
