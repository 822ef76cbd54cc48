"""The labelling loop simulated: does labelling the images the detector is least sure of first reach a
given AP50 with fewer labelled images than labelling them in random order?

A project holds the training images of a dataset (`--dataset`: fruits_nuts' 14, or the 110 scenes of
tests/scenes.py, as benchmarks/detector_seeds.py makes them). It starts with `--start` of them labelled
and marked done (the same for every order). Each round trains the detector on the done images, scores
AP50 on the held-out images, then "labels" `--step` more: the first of `annotator rank` (uncertainty),
or as many at random (3 seeds); their true labels are imported and the images marked done, as a person
would. Each round starts from the last round's model and trains a fixed number of steps, as a person
retraining between batches would: every order gets the same compute, counted in steps, so the result
does not depend on how busy the machine is. `--until`: stop at this many labelled.

    .venv/bin/python benchmarks/active_loop.py [--dataset fruits|scenes] [--arch extremenet] [--steps 40]
        [--start 4] [--step 2] [--until N] [--img-size 384] [--seeds 3] [--full-precision] [--out runs/active_loop]
        [--plot benchmarks/active_loop.png]
"""
from __future__ import annotations

import argparse
import json
import math
import platform
import random
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from detector_seeds import datasets  # noqa: E402

from annotator.ranking import rank  # noqa: E402
from annotator.store import Project  # noqa: E402
from annotator.training import TrainingRequest, run_training  # noqa: E402
from converters import Dataset, ImageStatus  # noqa: E402
from converters.formats import read_dataset  # noqa: E402
from detectors.charts import Series, line_chart, write_png  # noqa: E402
from detectors.detector_eval import evaluate_detector  # noqa: E402
from detectors.kinds import KINDS, load_detector  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="fruits", choices=("fruits", "scenes"))
    parser.add_argument("--arch", default="extremenet")
    parser.add_argument("--steps", type=int, default=40, help="training steps per round")
    parser.add_argument("--start", type=int, default=4, help="images labelled before the first round")
    parser.add_argument("--step", type=int, default=2, help="images labelled per round")
    parser.add_argument("--until", type=int, help="stop at this many labelled (default: all)")
    parser.add_argument("--img-size", type=int, default=384)
    parser.add_argument("--seeds", type=int, default=3, help="random orders")
    parser.add_argument("--full-precision", action="store_true", help="train in float32 (as `annotator train`)")
    parser.add_argument("--out", type=Path, default=Path("runs/active_loop"))
    parser.add_argument("--plot", type=Path, default=Path(__file__).resolve().parent / "active_loop.png")
    args = parser.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    args.out.mkdir(parents=True)
    train_file, held_file, args.images, _ = datasets(args.out, [args.dataset])[args.dataset]
    truth = read_dataset(train_file, "coco", args.images, extremes=True).dataset
    held = read_dataset(held_file, "coco", args.images, extremes=True).dataset
    args.held_images = held.images
    start = sorted(random.Random(0).sample([im.file_name for im in truth.images], args.start))
    until = min(args.until or len(truth.images), len(truth.images))
    began = time.monotonic()

    first = Loop(args, truth, held, "start", start)
    first_scores = first.train_and_score(None)
    orders = {"uncertainty": None, **{f"random {seed}": seed for seed in range(1, args.seeds + 1)}}
    curves: dict[str, list[tuple[int, dict[str, float]]]] = {}
    for name, seed in orders.items():
        loop = first.branch(name.replace(" ", "-"))
        curve = [(args.start, first_scores)]
        previous = first.run
        while len(loop.labelled) < until:
            loop.label_more(seed)
            curve.append((len(loop.labelled), loop.train_and_score(previous)))
            previous = loop.run
            print(f"{name}: {curve[-1][0]} images, AP50 {curve[-1][1]['ap50']:.3f}, AP {curve[-1][1]['ap']:.3f} "
                  f"({time.monotonic() - began:.0f} s)", file=sys.stderr, flush=True)
        curves[name] = curve
    report(args, curves, time.monotonic() - began)


class Loop:
    """One order's project and its rounds."""

    def __init__(self, args: argparse.Namespace, truth: Dataset, held: Dataset, name: str, labelled: list[str],
                 project: Path | None = None):
        self.args, self.truth, self.held, self.name = args, truth, held, name
        self.labelled = list(labelled)
        self.folder = args.out / name
        self.folder.mkdir(parents=True, exist_ok=True)
        self.project = self.folder / "p.sqlite"
        if project is not None:
            shutil.copy(project, self.project)
        else:
            with Project.create(self.project, args.images) as p:
                p.add_images([(im.file_name, im.width, im.height) for im in truth.images])
            self._import(labelled)
        self.run: Path | None = None
        self.rounds = 0

    def branch(self, name: str) -> Loop:
        loop = Loop(self.args, self.truth, self.held, name, self.labelled, self.project)
        loop.run = self.run
        return loop

    def _import(self, names: list[str]) -> None:
        """A person labels these images: their true labels go in, and they are marked done."""
        ids = {im.id for im in self.truth.images if im.file_name in names}
        part = Dataset(images=[im for im in self.truth.images if im.id in ids], categories=self.truth.categories,
                       annotations=[a for a in self.truth.annotations if a.image_id in ids])
        with Project.open(self.project) as p:
            p.import_dataset(part, self.args.images)
            for image in p.images():
                if image.file_name in names:
                    p.set_status(image.id, ImageStatus.DONE)

    def label_more(self, seed: int | None) -> None:
        """The next images to label: the detector's most uncertain, or a seeded random draw."""
        with Project.open(self.project) as p:
            if seed is None:
                ranked = rank(p, load_detector(self.run), "uncertainty").ranked
            else:
                ranked = rank(p, None, "random", seed=seed * 1000 + self.rounds).ranked
        chosen = [name for name, _ in ranked[:self.args.step]]
        self.labelled += chosen
        self._import(chosen)

    def train_and_score(self, init: Path | None) -> dict[str, float]:
        self.rounds += 1
        run = self.folder / f"round{self.rounds}"
        batch = KINDS[self.args.arch].defaults.batch
        epochs = max(1, round(self.args.steps / math.ceil(len(self.labelled) / batch)))
        request = TrainingRequest(self.args.arch, run, data=self.project, epochs=epochs, init=init,
                                  options={"img_size": self.args.img_size}, amp=not self.args.full_precision)
        run_training(request, say=lambda line: None)
        self.run = run
        scores = evaluate_detector(load_detector(run), self.held, self.args.images)
        return {"ap50": scores["ap50"], "ap": scores["ap"]}


def report(args: argparse.Namespace, curves: dict[str, list[tuple[int, dict[str, float]]]], seconds: float) -> None:
    sizes = [n for n, _ in curves["uncertainty"]]
    randoms = [name for name in curves if name.startswith("random")]

    def at(name: str, n: int, key: str) -> float:
        return dict(curves[name])[n][key]
    mean = {key: [sum(at(r, n, key) for r in randoms) / len(randoms) for n in sizes] for key in ("ap50", "ap")}
    print(f"{platform.machine()}, {args.dataset}, {args.arch} resnet18 at {args.img_size} px, {args.steps} steps per "
          f"round from the last round's model, scored on the {len(args.held_images)} held-out images; "
          f"{seconds / 60:.0f} min in all\n")
    for key, title in (("ap50", "AP50"), ("ap", "AP (0.5:0.95)")):
        print(f"| {title}: images labelled | uncertainty | " + " | ".join(randoms) + " | random mean |")
        print("| ---: | ---: | " + " | ".join("---:" for _ in randoms) + " | ---: |")
        for k, n in enumerate(sizes):
            print(f"| {n} | {at('uncertainty', n, key):.3f} | " + " | ".join(f"{at(r, n, key):.3f}" for r in randoms)
                  + f" | {mean[key][k]:.3f} |")
        print()
    for key, targets in (("ap50", (0.8, 0.9, 0.95)), ("ap", (0.5, 0.6, 0.7))):
        for target in targets:
            reached = {order: first_reaching(curve, key, target) for order, curve in curves.items()}
            print(f"images to first reach {key} {target}: " + ", ".join(f"{o} {n}" for o, n in reached.items()))
    for key, name in (("ap50", "AP50"), ("ap", "AP")):
        series = [Series(order, [n for n, _ in c], [s[key] for _, s in c]) for order, c in curves.items()]
        series.append(Series("random mean", sizes, mean[key]))
        plot = args.plot.with_name(f"{args.plot.stem}{'' if key == 'ap50' else '_ap'}{args.plot.suffix}")
        write_png(plot, line_chart(series, f"{args.dataset}: held-out {name} against images labelled ({args.arch})",
                                   "images labelled", f"held-out {name}", size=(720, 420), y_range=(0.0, 1.0)))
    (args.out / "curves.json").write_text(json.dumps(curves, indent=1))


def first_reaching(curve: list[tuple[int, dict[str, float]]], key: str, target: float) -> str:
    return next((str(n) for n, scores in curve if scores[key] >= target), "never")


if __name__ == "__main__":
    main()
