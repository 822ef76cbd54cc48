"""Build a project of 100k images and 1M annotations and time what a user waits for.

Prints a table: building, opening, fetching one image's annotations, stats and export to COCO, each
against the goal from the foundation issue. Repeatable: a fixed random seed; the project is rebuilt
in a temporary folder unless --keep DIR names one to reuse.

    python benchmarks/store_scale.py [--images 100000] [--per-image 10] [--keep DIR]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import tempfile
import time
from pathlib import Path

from annotator.store import Project
from converters import Annotation, ExtremePoints, Source, write_coco


def build(path: Path, n_images: int, per_image: int, seed: int = 0) -> float:
    rng = random.Random(seed)
    start = time.perf_counter()
    project = Project.create(path, path.parent / "images")
    project.add_images((f"img_{i:06d}.jpg", 800, 600) for i in range(n_images))
    cats = [project.add_category(name).id for name in ("date", "fig", "hazelnut")]

    def labels():
        for image_id in range(1, n_images + 1):
            for _ in range(per_image):
                x, y = rng.uniform(0, 700), rng.uniform(0, 500)
                w, h = rng.uniform(10, 100), rng.uniform(10, 100)
                ep = ExtremePoints((x + w * rng.random(), y), (x, y + h * rng.random()),
                                   (x + w * rng.random(), y + h), (x + w, y + h * rng.random()))
                ann = Annotation.from_extreme(0, image_id, rng.choice(cats), ep, source=Source.HUMAN)
                yield ann.with_mask(polygons=[ep.octagon()])

    project.add_annotations(labels())
    project.close()
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=100_000)
    ap.add_argument("--per-image", type=int, default=10)
    ap.add_argument("--keep", type=Path, help="folder to keep (and reuse) the built project in")
    args = ap.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="store_scale_"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "scale.sqlite"
    build_s = build(path, args.images, args.per_image) if not path.exists() else float("nan")

    t = time.perf_counter()
    project = Project.open(path)
    n_images = project.image_count()
    open_s = time.perf_counter() - t

    rng = random.Random(1)
    fetch = []
    for _ in range(1000):
        image_id = rng.randint(1, n_images)
        t = time.perf_counter()
        anns = project.annotations(image_id)
        fetch.append(time.perf_counter() - t)
    assert len(anns) == args.per_image

    t = time.perf_counter()
    stats = project.stats()
    stats_s = time.perf_counter() - t

    out = folder / "export.json"
    t = time.perf_counter()
    dataset = project.to_dataset()
    write_coco(dataset, out)
    export_s = time.perf_counter() - t
    with open(out) as f:
        exported = len(json.load(f)["annotations"])
    assert exported == stats["objects"]

    rows = [
        ("build (bulk insert, one transaction)", build_s, None),
        ("open project", open_s, 1.0),
        ("fetch one image's annotations (median of 1000)", statistics.median(fetch), 0.005),
        ("fetch one image's annotations (p99)", sorted(fetch)[989], None),
        ("stats (includes a disk check of every image)", stats_s, None),
        ("export to COCO (polygons)", export_s, 30.0),
    ]
    print(f"{n_images} images, {stats['objects']} annotations; {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, Python {platform.python_version()}; export {out.stat().st_size / 1e6:.0f} MB")
    print("| what | time | goal |")
    print("| --- | ---: | ---: |")
    for name, seconds, goal in rows:
        shown = f"{seconds * 1000:.2f} ms" if seconds < 1 else f"{seconds:.1f} s"
        goal_s = "" if goal is None else (f"< {goal * 1000:g} ms" if goal < 1 else f"< {goal:g} s")
        print(f"| {name} | {shown} | {goal_s} |")


if __name__ == "__main__":
    main()
