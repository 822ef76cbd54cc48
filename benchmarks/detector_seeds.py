"""The detectors on several datasets and seeds: every number as mean +- std over the seeds, at a fixed
number of steps (comparable however busy the machine is) or in a time budget (on a quiet machine).

    .venv/bin/python benchmarks/detector_seeds.py --steps 300 [--kinds sapd extremenet] [--seeds 0 1 2]
        [--datasets fruits scenes] [--minutes 15] [--code DIR] [--parallel 2] [--out DIR] [-- TRAIN OPTIONS]

Datasets: `fruits` is fruits_nuts' 14 / 4 split (benchmarks/fruits_split.py); `scenes` is 110 training
and 32 held-out scenes from tests/scenes.py (real photos as backgrounds, 4 classes pasted from masks at
16-300 px, clutter; objects and backgrounds of the held-out scenes come from other photos). `chess` is
the roboflow chess photos with labels, boxes only (VOC), 8 / 3. Each run is `annotator train` from scratch with the
defaults and the seed, then `annotator eval` on the held-out images. `--code DIR` runs another checkout
(a git worktree of the code before a change) on the same data, for before-and-after tables. Runs are
kept in OUT/results.jsonl and a run already there is not run again, so a stopped benchmark resumes.
`--parallel N` runs N at once with one thread each: at fixed steps the numbers are the same.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from fruits_split import split  # noqa: E402

from tests.scenes import SHARED, make_scenes  # noqa: E402

BATCH = 4  # the detectors' default batch: an epoch is images // BATCH steps (the last, short batch dropped)


def datasets(out: Path, names: list[str]) -> dict[str, tuple[Path, Path, Path, int]]:
    """Name -> (training COCO, held-out COCO, their image folder, training images), made once in OUT/data."""
    made = {}
    for name in names:
        folder = out / "data" / name
        folder.mkdir(parents=True, exist_ok=True)
        images = folder
        if name == "fruits":
            train, held = split(folder)
            images = SHARED / "data" / "fruits_nuts" / "images"
        elif name == "scenes":
            train, held = folder / "train.json", folder / "held.json"
            if not train.exists():
                make_scenes(folder, "train", 110, seed=0)
                make_scenes(folder, "held", 32, seed=1)
        elif name == "chess":
            train, held = _chess(folder)
            images = SHARED / "fixtures" / "roboflow" / "chess"
        else:
            raise SystemExit(f"unknown dataset {name}: fruits, scenes or chess")
        made[name] = (train, held, images, len(json.loads(train.read_text())["images"]))
    return made


def _chess(folder: Path) -> tuple[Path, Path]:
    """The chess photos' VOC boxes as COCO, through `annotator convert`, split 8 / 3 by name."""
    coco = folder / "all.json"
    if not coco.exists():
        subprocess.run([sys.executable, "-m", "annotator", "convert", str(SHARED / "fixtures" / "roboflow" / "chess"),
                        "--from", "voc", "--to", "coco", "-o", str(coco)], check=True, cwd=ROOT, capture_output=True)
    data = json.loads(coco.read_text())
    labelled = {a["image_id"] for a in data["annotations"]}  # one photo has no XML: its pieces are not labelled
    images = sorted((im for im in data["images"] if im["id"] in labelled), key=lambda im: im["file_name"])
    paths = []
    for part, keep in (("train", images[:-3]), ("held", images[-3:])):
        ids = {im["id"] for im in keep}
        path = folder / f"{part}.json"
        path.write_text(json.dumps({**data, "images": keep,
                                    "annotations": [a for a in data["annotations"] if a["image_id"] in ids]}))
        paths.append(path)
    return paths[0], paths[1]


def run_one(code: Path, kind: str, data: tuple[Path, Path, Path, int], seed: int, steps: int | None,
            minutes: float | None, extra: list[str], threads: int) -> dict:
    train, held, folder, images = data
    env = {**os.environ, "PYTHONPATH": str(code), "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        length = ["--minutes", str(minutes)] if minutes else \
            ["--epochs", str(math.ceil(steps / max(1, images // BATCH)))]
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "annotator", "train", "--arch", kind, "--data", str(train),
                               "--images", str(folder), "--out", str(run), "--seed", str(seed), "--device", "cpu",
                               *length, *extra], env=env, cwd=code, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed"}
        history = json.loads((run / "metrics.json").read_text())
        scored = subprocess.run([sys.executable, "-m", "annotator", "eval", "--model", str(run), "--data", str(held),
                                 "--images", str(folder), "--device", "cpu", "--json"], env=env, cwd=code,
                                capture_output=True, text=True)
        if scored.returncode != 0:
            return {"error": scored.stderr.strip().splitlines()[-1]}
        scores = json.loads(scored.stdout.strip().splitlines()[-1])
        return {**{k: scores[k] for k in ("ap", "ap50", "ap75", "extreme_error", "midpoint_error")},
                "steps": history[-1]["steps"], "loss": history[-1]["loss"], "seconds": round(seconds)}


def summary(results: list[dict], label: str | None) -> list[str]:
    """One row per (code, dataset, kind): mean +- std of each score over the seeds."""
    groups: dict[tuple, list[dict]] = {}
    for r in results:
        if "error" not in r and (label is None or r["label"] == label):
            groups.setdefault((r["label"], r["dataset"], r["kind"], r["length"]), []).append(r)
    lines = ["| code | dataset | detector | length | seeds | AP50 | AP | AP75 | steps |",
             "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: |"]

    def ms(values: list[float]) -> str:
        return f"{statistics.mean(values):.3f} +- {statistics.stdev(values) if len(values) > 1 else 0:.3f}"
    for (code, dataset, kind, length), rows in sorted(groups.items()):
        lines.append(f"| {code} | {dataset} | {kind} | {length} | {len(rows)} | {ms([r['ap50'] for r in rows])} | "
                     f"{ms([r['ap'] for r in rows])} | {ms([r['ap75'] for r in rows])} | "
                     f"{statistics.mean(r['steps'] for r in rows):.0f} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kinds", nargs="+", default=["sapd", "extremenet"])
    parser.add_argument("--datasets", nargs="+", default=["fruits", "scenes"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--steps", type=int, help="train this many steps (rounded up to whole epochs)")
    length.add_argument("--minutes", type=float, help="train this many minutes (needs a quiet machine)")
    parser.add_argument("--code", type=Path, default=ROOT, help="the checkout to run (default: this one)")
    parser.add_argument("--label", help="the code's name in the table (default: its git commit)")
    parser.add_argument("--parallel", type=int, default=1, help="runs at once (default 1)")
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "detector_seeds")
    parser.add_argument("--table", action="store_true", help="print the table of the results kept, run nothing")
    parser.add_argument("extra", nargs="*", help="after --: more `annotator train` options for every run")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    results_file = args.out / "results.jsonl"
    results = [json.loads(line) for line in results_file.read_text().splitlines()] if results_file.exists() else []
    if args.table:
        print("\n".join(summary(results, args.label)))
        return
    if not args.steps and not args.minutes:
        parser.error("give --steps or --minutes")
    label = args.label or subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=args.code, capture_output=True,
                                         text=True).stdout.strip()
    length = f"{args.steps} steps" if args.steps else f"{args.minutes:g} min"
    if args.extra:
        length += " " + " ".join(args.extra)
    data = datasets(args.out, args.datasets)
    done = {(r["label"], r["dataset"], r["kind"], r["length"], r["seed"]) for r in results}
    todo = [(d, k, s) for d in args.datasets for k in args.kinds for s in args.seeds
            if (label, d, k, length, s) not in done]
    threads = 1 if args.parallel > 1 else max(1, (os.cpu_count() or 1))
    print(f"{platform.machine()}, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}: {len(todo)} runs of {label}, "
          f"{length}, {args.parallel} at once", flush=True)

    def one(job: tuple[str, str, int]) -> dict:
        dataset, kind, seed = job
        result = {"label": label, "dataset": dataset, "kind": kind, "length": length, "seed": seed,
                  **run_one(args.code, kind, data[dataset], seed, args.steps, args.minutes, args.extra, threads)}
        with results_file.open("a") as f:
            f.write(json.dumps(result) + "\n")
        print(json.dumps(result), flush=True)
        return result
    with ThreadPoolExecutor(args.parallel) as pool:
        results += list(pool.map(one, todo))
    print("\n".join(summary(results, label)))
    shutil.rmtree(args.out / "tmp", ignore_errors=True)


if __name__ == "__main__":
    main()
