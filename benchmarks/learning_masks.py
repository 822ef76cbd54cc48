"""The mask backend that learns from the person, against GrabCut alone: a simulated annotator labels a
dataset in order, object by object, as the window's learning (`annotator.mask_learning`) would see it.

For each object: exact clicks from its true mask; the mask the backend in use makes from them, and
GrabCut's, each scored by IoU against the true mask; then the true mask is stored as the person's label
(what they have after their corrections). Every LEARN_EVERY objects a learning run starts from the last
model, as the window starts one, and trains for the time the person takes over the next LEARN_EVERY
objects (--seconds-per-object each, on one core as the window's training process gets on two); so its
verdict (`judged`: GrabCut steered by the network against GrabCut alone on the newest quarter of the
masks, which it did not learn from) applies from the object after those; then the steered GrabCut
(`dextr-grabcut`) makes the masks. Prints the rounds and the mean IoU per range of objects.

    .venv/bin/python benchmarks/learning_masks.py [--data COCO] [--images DIR] [--objects 150]
        [--seconds-per-object 9] [--seed 0] [--out runs/learning_masks]
"""
from __future__ import annotations

import argparse
import platform
import shutil
import time
from pathlib import Path

import numpy as np
import torch

from annotator.mask_learning import BACKEND, LEARN_EVERY, judged, learning_request, worth_learning
from annotator.runs import read_run
from annotator.store import Project
from annotator.training import run_training
from converters import Annotation, Dataset
from converters.formats import read_dataset
from converters.masks import mask_iou, mask_to_rle, rle_to_mask
from detectors.images import read_rgb
from detectors.mask_backends import BACKENDS, mask_from_extremes
from detectors.mask_backends.simulate import simulated_clicks

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "fruits_nuts"


def in_order(dataset: Dataset) -> list[tuple[int, Annotation]]:
    """Every object with a mask, image by image in id order: the order a person would label them in."""
    by_image = dataset.annotations_by_image()
    return [(im.id, a) for im in sorted(dataset.images, key=lambda im: im.id)
            for a in sorted(by_image.get(im.id, []), key=lambda a: a.id) if a.has_mask and not a.iscrowd]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA / "trainval.json")
    parser.add_argument("--images", type=Path, default=DATA / "images")
    parser.add_argument("--objects", type=int, default=150)
    parser.add_argument("--seconds-per-object", type=float, default=9.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("runs/learning_masks"))
    args = parser.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    args.out.mkdir(parents=True)
    torch.set_num_threads(1)
    loaded = read_dataset(args.data, "coco", args.images)
    dataset = loaded.dataset
    objects = in_order(dataset)[:args.objects]
    project = Project.create(args.out / "project.sqlite", loaded.image_root)
    project.import_dataset(Dataset(images=dataset.images, categories=dataset.categories), loaded.image_root)
    ids = {im.file_name: im.id for im in project.images()}
    records = {im.id: im for im in dataset.images}
    minutes = LEARN_EVERY * args.seconds_per_object / 60
    print(f"{args.data.name}: {len(objects)} objects in order; {platform.machine()}, 1 torch thread for "
          f"learning; a learning run every {LEARN_EVERY} objects, {minutes:g} minutes each, seed {args.seed}\n")

    images: dict[int, np.ndarray] = {}
    network = None  # the model in use; None: GrabCut
    last: Path | None = None  # the last learning run, which the next starts from
    due: Path | None = None  # a run that ends when the person reaches the next round
    started_at = 0
    learnt, grabcut, rounds = [], [], []
    for k, (image_id, ann) in enumerate(objects):
        record = records[image_id]
        if image_id not in images:
            images = {image_id: read_rgb(loaded.image_root / record.file_name)}
        image = images[image_id]
        truth = rle_to_mask(ann.mask_rle(record.height, record.width)).astype(bool)
        clicks = simulated_clicks(truth)
        by_grabcut = mask_iou(mask_from_extremes(image, clicks, "grabcut").mask, truth)
        grabcut.append(by_grabcut)
        learnt.append(by_grabcut if network is None else
                      mask_iou(mask_from_extremes(image, clicks, BACKEND, network).mask, truth))
        project.add_annotation(Annotation.from_extreme(0, ids[record.file_name], ann.category_id, clicks,
                                                       rle=mask_to_rle(truth)))
        made = k + 1
        if made % LEARN_EVERY:
            continue
        if due is not None:  # the run started a round ago has ended: its verdict holds from here
            run = read_run(due)
            verdict = judged(run)
            network = BACKENDS[BACKEND].load(str(due)) if verdict.use else None
            rounds.append((due.name, run.scores.get("mean_iou"), run.scores.get("steered_iou"),
                           run.scores.get("grabcut_iou"), verdict.use, made))
            due = None
        if worth_learning(made, started_at):
            out = args.out / f"after-{made}"
            began = time.monotonic()
            run_training(learning_request(project.path, out, last, minutes, seed=args.seed), say=lambda line: None)
            print(f"learnt from {made} objects in {(time.monotonic() - began) / 60:.1f} minutes", flush=True)
            last = due = out
            started_at = made
    project.close()

    print("\n| run (objects so far) | on the newest quarter: network | GrabCut steered by it | GrabCut | used for "
          "objects | there: learning backend | GrabCut alone |")
    print("| --- | ---: | ---: | ---: | --- | ---: | ---: |")
    for name, network_iou, steered, alone, used, at in rounds:
        after = slice(at, at + LEARN_EVERY)
        there = "none (GrabCut stays) | | " if not used else "after the last object | | " if at >= len(objects) \
            else f"{at + 1}-{min(at + LEARN_EVERY, len(objects))} | {np.mean(learnt[after]):.3f} | " \
                 f"{np.mean(grabcut[after]):.3f}"
        print(f"| {name} | {network_iou:.3f} | {steered:.3f} | {alone:.3f} | {there} |")
    print("\n| objects | mean IoU, learning backend | mean IoU, GrabCut alone | difference |")
    print("| --- | ---: | ---: | ---: |")
    for start, stop in ((0, 50), (50, 150), (0, len(objects))):
        if stop <= len(objects):
            a, b = float(np.mean(learnt[start:stop])), float(np.mean(grabcut[start:stop]))
            print(f"| {start + 1}-{stop} | {a:.3f} | {b:.3f} | {a - b:+.3f} |")


if __name__ == "__main__":
    main()
