"""Time ExtremeNet's grouping against the brute force over all K^4 combinations, in the same run.

The peaks are random on a 128x128 heat map (a 512 px image at stride 4), K per extreme map, all of one
class (the worst case of the joint top-K). Two score mixes: uniform (most peaks pass the 0.1 threshold,
the most work there can be) and uniform^4 (about half below it, nearer a trained network's maps). Each
case checks that both find the same groups, then prints the median time of --runs repeats, and of the
whole of one class's decoding after the peaks: grouping, ghost-box suppression and soft-NMS of the best
groups (`detectors.extremenet.suppress`).

    .venv/bin/python benchmarks/extreme_grouping.py [--k 40] [--runs 20] [--seed 0] [--model RUN_DIR --image IMG]

`--model` (an `annotator train --arch extremenet` run) and `--image` add the whole decoding of that
network's output on that photo, from the heat maps' sigmoid to the detections: edge aggregation, the
peaks, grouping for each class, ghost-box suppression and soft-NMS (`detectors.extremenet.decode`).
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import torch  # noqa: E402

from detectors.extreme_grouping import Peaks, group_extremes, group_points  # noqa: E402
from detectors.extremenet import suppress  # noqa: E402
from tests.extreme_reference import brute_force_groups  # noqa: E402

SIZE = 128


def grouped_and_suppressed(*peaks_and_centre) -> torch.Tensor:
    """Grouping, then the best groups through ghost-box suppression and soft-NMS, as ExtremeNet's
    decoding does for one class."""
    groups = group_extremes(*peaks_and_centre)
    points = torch.from_numpy(group_points(groups, *peaks_and_centre[:4])).float()
    return suppress(points, torch.from_numpy(groups.scores).float(), torch.zeros(len(groups), dtype=torch.long))[0]


def case(rng: np.random.Generator, k: int, power: int) -> tuple[list[Peaks], np.ndarray]:
    peaks = [Peaks(rng.integers(0, SIZE, k), rng.integers(0, SIZE, k), rng.random(k) ** power) for _ in range(4)]
    return peaks, rng.random((SIZE, SIZE)) ** power


def median_ms(run, args: tuple, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        run(*args)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--k", type=int, default=40, help="peaks per extreme map (the paper's K)")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--model", type=Path, help="an ExtremeNet run directory: also time decoding its output")
    ap.add_argument("--image", type=Path, help="the photo --model runs on")
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    print(f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, numpy "
          f"{np.__version__}; K = {args.k}, {SIZE}x{SIZE} maps, median of {args.runs} runs")
    print("| scores | groups | brute force (K^4) | pruned | brute / pruned | pruned + ghosts + soft-NMS |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, power in (("uniform", 1), ("uniform^4", 4)):
        peaks, centre = case(rng, args.k, power)
        found = group_extremes(*peaks, centre)
        expected = brute_force_groups(*peaks, centre)
        got = set(zip(found.top.tolist(), found.left.tolist(), found.bottom.tolist(), found.right.tolist(),
                      strict=True))
        if got != set(expected):
            raise SystemExit(f"{name}: the pruned grouping differs from the brute force")
        brute = median_ms(brute_force_groups, (*peaks, centre), max(3, args.runs // 5))
        pruned = median_ms(group_extremes, (*peaks, centre), args.runs)
        whole = median_ms(grouped_and_suppressed, (*peaks, centre), args.runs)
        print(f"| {name} | {len(found)} | {brute:.1f} ms | {pruned:.2f} ms | {brute / pruned:.0f}x | {whole:.1f} ms |")
    if args.model is not None:
        print("\n" + trained_decoding(args.model, args.image, args.runs))


def trained_decoding(run: Path, image: Path, runs: int) -> str:
    """The median time of decoding a trained network's output on one photo, and what it found."""
    from detectors.detection_data import prepare
    from detectors.extremenet import decode
    from detectors.images import read_rgb
    from detectors.kinds import kind_of

    kind = kind_of(run)
    config, state = kind.read(run)
    model = kind.build(config)
    model.load_state_dict(state)
    with torch.inference_mode():
        outputs = model.eval()(prepare(read_rgb(image), config["img_size"])[0][None])
        found = decode(outputs.heat[0], outputs.offsets[0])
        ms = median_ms(decode, (outputs.heat[0], outputs.offsets[0]), runs)
    return (f"decoding {run.name}'s output on {image.name} ({tuple(outputs.heat.shape[1:])} heat maps): "
            f"{ms:.1f} ms, {len(found.scores)} detections ({int((found.scores >= 0.3).sum())} at 0.3 or more)")


if __name__ == "__main__":
    main()
