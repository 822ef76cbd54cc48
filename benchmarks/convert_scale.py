"""Convert a 100k-image / 1M-annotation dataset COCO -> YOLO and YOLO -> COCO, against datumaro.

Generates (fixed seed) a COCO instances file like a real export: polygons, boxes and areas, no
extreme points, with every image on disk (hard links to a few copies of one small JPEG, so image
sizes can be read).
Then times our conversions, each in a process of its own, and, when `--datumaro PYTHON` names an
interpreter with datumaro installed (its own environment), the same conversions there. Both write the
images beside a YOLO dataset (we hard-link them, datumaro copies them): YOLO's coordinates are
normalised, so a reader needs each image's size. Prints one table with the ratio theirs / ours. Peak
memory is each conversion's process's high-water mark of resident memory (VmHWM), ours and datumaro's
alike.

    python -m venv /tmp/dm && /tmp/dm/bin/pip install datumaro     # once, apart from ours
    python benchmarks/convert_scale.py [--images 100000] [--per-image 10] [--keep DIR] [--datumaro /tmp/dm/bin/python]
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import orjson

from converters.fileformat import Content
from converters.formats import FORMATS, read_dataset, write_dataset
from converters.progress import bulk
from converters.report import Report

DATUMARO_SCRIPT = """
import re, sys, time
import datumaro as dm
src, src_fmt, out, out_fmt = sys.argv[1:5]
t = time.perf_counter()
ds = dm.Dataset.import_from(src, src_fmt)
ds.export(out, out_fmt, save_media=out_fmt == "yolo")  # YOLO needs its images: sizes come from them
seconds = time.perf_counter() - t
peak_kib = int(re.search(r"VmHWM:\s+(\d+)", open("/proc/self/status").read()).group(1))
print(seconds, peak_kib / 2**20)  # ru_maxrss would count the memory of the parent it was forked from
"""


def generate(folder: Path, n_images: int, per_image: int, seed: int = 0) -> Path:
    """COCO file `folder/annotations/instances.json` with its images under `folder/images`: hard links
    to a few copies of one JPEG, each copy linked at most 10,000 times (ext4 allows 65,000 links, and
    each conversion adds one more)."""
    rng = random.Random(seed)
    images_dir = folder / "images"
    images_dir.mkdir(parents=True)
    images, anns = [], []
    for i in range(1, n_images + 1):
        name = f"img_{i:06d}.jpg"
        source = folder / "sources" / f"{i // 10_000}.jpg"
        if not source.exists():
            source.parent.mkdir(exist_ok=True)
            cv2.imwrite(str(source), np.zeros((600, 800, 3), np.uint8))
        os.link(source, images_dir / name)
        images.append({"id": i, "file_name": name, "width": 800, "height": 600})
        for _ in range(per_image):
            x, y = round(rng.uniform(0, 700), 2), round(rng.uniform(0, 500), 2)
            w, h = round(rng.uniform(10, 100), 2), round(rng.uniform(10, 100), 2)
            poly = [x + w / 2, y, x, y + h / 2, x + w / 2, y + h, x + w, y + h / 2]
            anns.append({"id": len(anns) + 1, "image_id": i, "category_id": rng.randint(1, 3), "iscrowd": 0,
                         "bbox": [x, y, w, h], "area": w * h / 2, "segmentation": [[round(v, 2) for v in poly]]})
    cats = [{"id": i, "name": n, "supercategory": "food"} for i, n in enumerate(("date", "fig", "hazelnut"), 1)]
    path = folder / "annotations" / "instances.json"
    path.parent.mkdir()
    path.write_text(json.dumps({"images": images, "annotations": anns, "categories": cats}))
    return path


def ours(src: Path, out: Path, fmt: str, images: Path | None = None) -> tuple[float, float]:
    """(seconds, peak GiB) of one conversion in a fresh process, so that each has its own peak."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(convert, (src, out, fmt, images))


def convert(src: Path, out: Path, fmt: str, images: Path | None) -> tuple[float, float]:
    """As `annotator convert` runs: extreme points derived only for a target that holds them."""
    os.sync()  # earlier writes are flushed first, not charged to this conversion
    start = time.perf_counter()
    loaded = read_dataset(src, None, images, Report(), extremes=Content.EXTREME_POINTS in FORMATS[fmt].holds)
    write_dataset(loaded.dataset, out, fmt, Report(), image_root=loaded.image_root)
    seconds = time.perf_counter() - start
    return seconds, int(re.search(r"VmHWM:\s+(\d+)", Path("/proc/self/status").read_text()).group(1)) / 2**20


def theirs(python: str, src: Path, src_fmt: str, out: Path, out_fmt: str) -> tuple[float, float]:
    os.sync()
    result = subprocess.run([python, "-c", DATUMARO_SCRIPT, str(src), src_fmt, str(out), out_fmt],
                            capture_output=True, text=True, check=True)
    seconds, peak_gib = result.stdout.split()[-2:]
    return float(seconds), float(peak_gib)


def floor(coco: Path, folder: Path, n_files: int) -> tuple[float, float]:
    """What no converter beats on this machine: parsing the COCO file with orjson, and writing `n_files`
    small files (one 100-byte label file per image) with a sync, each timed alone."""
    os.sync()
    start = time.perf_counter()
    with bulk():  # as our readers parse: without the collector rescanning a million new objects
        orjson.loads(coco.read_bytes())
    parse = time.perf_counter() - start
    out = folder / "floor"
    out.mkdir()
    line = b"0 0.5 0.5 0.1 0.1 0.45 0.5 0.5 0.55 0.55 0.5 0.5 0.45\n"
    os.sync()
    start = time.perf_counter()
    for k in range(n_files):
        with open(out / f"img_{k:06d}.txt", "wb") as f:
            f.write(line * 2)
    os.sync()
    write = time.perf_counter() - start
    shutil.rmtree(out)
    return parse, write


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=100_000)
    ap.add_argument("--per-image", type=int, default=10)
    ap.add_argument("--keep", type=Path, help="folder to keep (and reuse) the generated dataset in")
    ap.add_argument("--datumaro", help="a Python interpreter with datumaro installed")
    args = ap.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="convert_scale_"))
    coco = folder / "annotations" / "instances.json"
    if not coco.exists():
        t = time.perf_counter()
        generate(folder, args.images, args.per_image)
        print(f"generated {coco} ({coco.stat().st_size / 2**20:.0f} MiB) in {time.perf_counter() - t:.1f} s")
    for old in ("yolo", "coco_back.json", "dm_yolo", "dm_coco", "floor"):
        shutil.rmtree(folder / old, ignore_errors=True) if not old.endswith(".json") else None
    rows = [["COCO -> YOLO", *ours(coco, folder / "yolo", "yolo", folder / "images")],
            ["YOLO -> COCO", *ours(folder / "yolo", folder / "coco_back.json", "coco")]]
    if args.datumaro:
        # datumaro's COCO importer wants its own layout: annotations/instances_<subset>.json + images/<subset>
        dm_src = folder / "dm_src"
        if not dm_src.exists():
            (dm_src / "annotations").mkdir(parents=True)
            os.link(coco, dm_src / "annotations" / "instances_default.json")
            os.symlink(folder / "images", dm_src / "images")
        rows[0] += theirs(args.datumaro, dm_src, "coco_instances", folder / "dm_yolo", "yolo")
        rows[1] += theirs(args.datumaro, folder / "dm_yolo", "yolo", folder / "dm_coco", "coco_instances")
    parse, write = floor(coco, folder, args.images)
    n = args.images * args.per_image
    print(f"\n{args.images} images, {n} annotations; {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    head = "| conversion | ours | our peak memory |"
    print(head + (" datumaro | datumaro peak memory | datumaro / ours |" if args.datumaro else ""))
    print("|" + " --- |" * (6 if args.datumaro else 3))
    for row in rows:
        line = f"| {row[0]} | {row[1]:.1f} s | {row[2]:.1f} GiB |"
        if len(row) > 3:
            line += f" {row[3]:.1f} s | {row[4]:.1f} GiB | {row[3] / row[1]:.1f}x |"
        print(line)
    print(f"\nthe floor: orjson parses {coco.name} ({coco.stat().st_size / 2**20:.0f} MiB) in {parse:.1f} s; "
          f"{args.images} files of 100 bytes are written and synced in {write:.1f} s")
    if not args.keep:
        shutil.rmtree(folder)


if __name__ == "__main__":
    sys.exit(main())
