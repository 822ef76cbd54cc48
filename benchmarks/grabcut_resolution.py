"""GrabCut's working size: the crop around an object is shrunk to a longer side of at most WORK_SIZE
pixels before the cut. Each size in turn on the same data, same clicks, one after the other:
`eval-masks --method grabcut --corrections 5` (mean IoU after 0, 1, 2 and 5 corrections, NoC@90, the
share of corrections that lowered the IoU, median ms per object) and the median ms per object on a
large photo (fruits_nuts scaled 4x: 3200 x 2400, objects of 300-700 px), where the crop is always shrunk.

Data: fruits_nuts; the blueberries of pycococreator's example (a real photo with two object masks, never
used to develop the masks); the 60 objects of 32 held-out scenes (`tests/scenes.py`, seed 1) and the 52
turned circuit boards of 120 held-out scenes (seed 3), the sets benchmarks/README.md's correction tables use.

    .venv/bin/python benchmarks/grabcut_resolution.py [--sizes 200 250 300] [--corrections 5]
"""
from __future__ import annotations

import argparse
import dataclasses
import platform
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from converters import Dataset  # noqa: E402
from converters.formats import read_dataset  # noqa: E402
from converters.masks import rle_to_mask  # noqa: E402
from detectors.images import read_rgb  # noqa: E402
from detectors.mask_backends import grabcut  # noqa: E402
from detectors.mask_backends.simulate import simulated_clicks  # noqa: E402
from detectors.mask_eval import evaluate_masks  # noqa: E402
from tests.scenes import FRUITS, SHARED, make_scenes  # noqa: E402

LARGE = 4  # the large photo's scale
LARGE_OBJECTS = 40


def datasets(work: Path) -> dict[str, tuple[Dataset, Path]]:
    berries = SHARED / "fixtures" / "pycococreator" / "example_data"
    sets = {"fruits_nuts": (FRUITS / "trainval.json", FRUITS / "images"),
            "blueberries (real, held out)": (berries / "annotations" / "coco_example.json", berries / "images"),
            "held-out scenes": (make_scenes(work, "held", 32, seed=1), work),
            "boards": (make_scenes(work / "boards", "held", 120, seed=3), work / "boards")}
    loaded = {name: read_dataset(path, "coco", images, extremes=False) for name, (path, images) in sets.items()}
    boards = loaded["boards"].dataset
    board_ids = {c.id for c in boards.categories if c.name == "board"}
    only_boards = dataclasses.replace(boards, annotations=[a for a in boards.annotations
                                                           if a.category_id in board_ids])
    out = {name: (ld.dataset, ld.image_root) for name, ld in loaded.items()}
    out["boards"] = (only_boards, loaded["boards"].image_root)
    return out


def large_photo_ms(dataset: Dataset, root: Path) -> float:
    """Median ms of one grabcut mask on the photos scaled LARGE times, first LARGE_OBJECTS objects."""
    times = []
    by_image = dataset.annotations_by_image()
    for record in dataset.images:
        image = read_rgb(root / record.file_name)
        big = cv2.resize(image, None, fx=LARGE, fy=LARGE, interpolation=cv2.INTER_LINEAR)
        for ann in by_image.get(record.id, []):
            truth = rle_to_mask(ann.mask_rle(record.height, record.width)).astype(np.uint8)
            clicks = simulated_clicks(cv2.resize(truth, None, fx=LARGE, fy=LARGE,
                                                 interpolation=cv2.INTER_NEAREST).astype(bool))
            if clicks is None:
                continue
            start = time.perf_counter()
            grabcut.grabcut_mask(big, clicks)
            times.append(time.perf_counter() - start)
            if len(times) == LARGE_OBJECTS:
                return 1000 * float(np.median(times))
    return 1000 * float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 250, 300])
    parser.add_argument("--corrections", type=int, default=5)
    args = parser.parse_args()
    print(f"{platform.processor() or platform.machine()}, {cv2.getNumThreads()} OpenCV threads\n")
    steps = sorted({0, 1, 2, args.corrections})
    print("| data | WORK_SIZE | " + " | ".join(f"{k}" for k in steps) +
          " | NoC@90 | lowered | ms per object | ms, photo x4 |")
    print("| --- | ---: | " + " | ".join("---:" for _ in steps) + " | ---: | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory() as work:
        for name, (dataset, root) in datasets(Path(work)).items():
            for size in args.sizes:
                grabcut.WORK_SIZE = size
                s = evaluate_masks(dataset, root, "grabcut", corrections=args.corrections)
                large = f"{large_photo_ms(dataset, root):.0f}" if name == "fruits_nuts" else "-"
                print(f"| {name} ({s.n}) | {size} | " + " | ".join(f"{s.iou_after[k]:.3f}" for k in steps) +
                      f" | {s.noc['90']:.2f} | {s.lowered or 0:.1%} | {s.ms_per_object:.0f} | {large} |", flush=True)


if __name__ == "__main__":
    main()
