"""Fuzz every reader for a while: valid files of the bundled sample, one field changed at a time to
something hostile (tests/mutations.py), each read and exported as a person would. Prints a table of
inputs tried and outcomes; anything but "read" and "refused" (our one-line error) is a defect, and a
crash (the process killed by a signal) is counted apart. Each format runs in its own process, under a
memory limit, restarted after a crash.

    .venv/bin/python benchmarks/fuzz_readers.py [--seconds 60] [--seed 0]
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FORMATS = ("coco", "voc", "yolo", "labelme", "cvat")
MEMORY = 6 * 2 ** 30  # a run that needs more than this is counted as a crash (killed for memory)


def child(fmt: str, seconds: float, seed: int) -> None:
    """Runs in its own process: one JSON line per input, until the time is up."""
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))
    from tests.mutations import mutate, outcome, read_and_write, seeds

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        valid = seeds(folder / "seeds")
        rng = random.Random(seed)
        end = time.monotonic() + seconds
        k = 0
        while time.monotonic() < end:
            work = folder / f"m{k}"
            work.mkdir()
            target = work / ("in.json" if fmt == "coco" else "in")
            what = mutate(fmt, valid[fmt], target, rng)
            print(json.dumps({"what": what, "result": "pending"}), flush=True)  # named before a crash
            result = outcome(lambda target=target, work=work: read_and_write(fmt, target, work / "out"))
            print(json.dumps({"what": what, "result": result}), flush=True)
            subprocess.run(["rm", "-rf", str(work)], check=False)
            k += 1


def run(fmt: str, seconds: float, seed: int) -> tuple[collections.Counter, list[str]]:
    counts: collections.Counter = collections.Counter()
    examples: list[str] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end - 1:
        done = subprocess.run([sys.executable, __file__, "--child", fmt, "--seconds", str(end - time.monotonic()),
                               "--seed", str(seed)], capture_output=True, text=True,
                              cwd=Path(__file__).resolve().parent.parent)
        last = None
        for line in done.stdout.splitlines():
            entry = json.loads(line)
            if entry["result"] == "pending":
                last = entry["what"]
                continue
            counts[entry["result"]] += 1
            if entry["result"] not in ("ok", "refused") and len(examples) < 5:
                examples.append(f"{entry['result']} <- {entry['what']}")
            last = None
        if done.returncode != 0:
            counts["crash"] += 1
            examples.append(f"crash (exit {done.returncode}) <- {last}: {done.stderr.strip()[-200:]}")
        seed += 1
    return counts, examples


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="per format")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--child", choices=FORMATS)
    args = ap.parse_args()
    if args.child:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        child(args.child, args.seconds, args.seed)
        return
    print(f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"{args.seconds:g} s per format, seed {args.seed}")
    print("| format | inputs | read | refused (one line) | other errors | crashes |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    notes = []
    for fmt in FORMATS:
        counts, examples = run(fmt, args.seconds, args.seed)
        other = sum(n for k, n in counts.items() if k not in ("ok", "refused", "crash"))
        print(f"| {fmt} | {sum(counts.values()) - counts['crash']} | {counts['ok']} | {counts['refused']} | "
              f"{other} | {counts['crash']} |")
        notes += [f"{fmt}: {e}" for e in examples]
    for note in notes:
        print(note)


if __name__ == "__main__":
    main()
