"""Each learning run of `learning_masks.py` scored afterwards on the objects after it: its network alone
(`dextr`), GrabCut steered by it (`dextr-grabcut`) and GrabCut alone, from the same exact clicks. What
chose the backend the window's learning switches to.

    .venv/bin/python benchmarks/learnt_backends.py RUNS_DIR [--data COCO --images DIR] [--next 20]

RUNS_DIR: `learning_masks.py`'s --out, whose `after-N` runs learnt from the first N objects; each is
scored on objects N + 21 to N + 20 + --next (those it would have made in the window).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from learning_masks import DATA, in_order

from annotator.mask_learning import LEARN_EVERY
from converters.formats import read_dataset
from converters.masks import mask_iou, rle_to_mask
from detectors.images import read_rgb
from detectors.kinds.dextr import DEXTR
from detectors.mask_backends import STEERED, mask_from_extremes, steering
from detectors.mask_backends.simulate import simulated_clicks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path)
    parser.add_argument("--data", type=Path, default=DATA / "trainval.json")
    parser.add_argument("--images", type=Path, default=DATA / "images")
    parser.add_argument("--next", type=int, default=LEARN_EVERY)
    args = parser.parse_args()
    torch.set_num_threads(1)
    loaded = read_dataset(args.data, "coco", args.images)
    objects = in_order(loaded.dataset)
    records = {im.id: im for im in loaded.dataset.images}
    print("| run's model | objects | network alone | GrabCut steered by it | GrabCut alone |")
    print("| --- | --- | ---: | ---: | ---: |")
    for run in sorted(args.runs.glob("after-*"), key=lambda p: int(p.name.split("-")[1])):
        learnt = int(run.name.split("-")[1])
        start, stop = learnt + LEARN_EVERY, min(learnt + LEARN_EVERY + args.next, len(objects))
        if start >= stop or not (run / "model.safetensors").exists():
            continue
        network = DEXTR.load(run)
        scores: dict[str, list[float]] = {"dextr": [], STEERED: [], "grabcut": []}
        image_id, image = None, None
        for k in range(start, stop):
            record = records[objects[k][0]]
            if record.id != image_id:
                image_id, image = record.id, read_rgb(loaded.image_root / record.file_name)
            truth = rle_to_mask(objects[k][1].mask_rle(record.height, record.width)).astype(bool)
            clicks = simulated_clicks(truth)
            for backend, made in (("dextr", network), (STEERED, steering(network)), ("grabcut", None)):
                scores[backend].append(mask_iou(mask_from_extremes(image, clicks, backend, made).mask, truth))
        print(f"| {run.name} | {start + 1}-{stop} | " + " | ".join(f"{np.mean(v):.3f}" for v in scores.values()) + " |")


if __name__ == "__main__":
    main()
