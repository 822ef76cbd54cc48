"""The `annotator anchors` command: its arguments and what it prints (the work is in `anchors` and
`detectors.anchor_boxes`)."""
from __future__ import annotations

import argparse
from pathlib import Path

from converters.atomic import atomic_write
from converters.formats import FORMATS as DATA_FORMATS
from detectors.anchor_boxes import RESTARTS, STANDARD

from .anchors import FORMATS, boxes_of, compared, fitted, statistics, summary_of, written
from .export import check_output
from .sources import load_source


def add_anchor_command(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("anchors", help="describe a dataset's boxes and fit anchors to them for anchor-based detectors",
                       description="Box statistics per category (sizes, aspect ratios, COCO small/medium/large, "
                                   "boxes per image), then K anchors fitted to the boxes scaled to a long side of "
                                   "--img-size (as YOLOv5 does): k-means with 1 - IoU as the distance, the best of "
                                   "--restarts k-means++ starts, or that followed by AutoAnchor's genetic search on "
                                   "its fitness (evolve; kept only if it improves). Scored by mean best IoU, coverage "
                                   "(boxes with an anchor at IoU >= 0.5, RetinaNet's and Faster R-CNN's rule), best "
                                   "possible recall at the ratio --threshold and anchors above it per box, side "
                                   "by side with --compare sets. Writes them as YOLOv5's yaml, darknet's cfg, "
                                   "mmdetection's config or JSON.")
    s.add_argument("src", metavar="DATA", type=Path, help="project file, labels file or dataset folder")
    s.add_argument("--from", dest="src_fmt", choices=sorted(DATA_FORMATS), help="format of DATA (default: detected)")
    s.add_argument("--gt", type=Path, help="coco-results: the COCO file whose image and category ids DATA uses")
    s.add_argument("--images", type=Path, help="folder DATA's image names are relative to")
    s.add_argument("--num", type=int, default=9, metavar="K", help="how many anchors (default 9)")
    s.add_argument("--img-size", type=int, default=640, metavar="S",
                   help="the detector's input: boxes scaled to a long side of S (default 640, YOLOv5's)")
    s.add_argument("--levels", type=int, default=3, metavar="L",
                   help="split the anchors by size over L pyramid levels, P3 up (default 3)")
    s.add_argument("--algorithm", choices=("kmeans", "evolve"), default="kmeans", help="default kmeans")
    s.add_argument("--restarts", type=int, default=RESTARTS, metavar="N",
                   help=f"k-means from N k-means++ starts, the best kept (default {RESTARTS})")
    s.add_argument("--threshold", type=float, default=4.0,
                   help="the ratio threshold of best possible recall, YOLOv5's anchor_t (default 4.0)")
    s.add_argument("--compare", nargs="+", default=[], metavar="SET",
                   help=f"score these too: {', '.join(STANDARD)}, or a file written by --format")
    s.add_argument("--format", dest="anchor_format", choices=FORMATS, default="yolov5",
                   help="how -o writes them (default yolov5)")
    s.add_argument("-o", "--output", type=Path, help="write the anchors to this file, in --format")
    s.add_argument("--plot", type=Path, metavar="PNG",
                   help="draw the boxes' widths and heights (log scale, by category) with the anchors and their "
                        "IoU >= 0.5 regions, and histograms")
    s.add_argument("--seed", type=int, default=0, help="k-means' start and the search's (default 0)")
    s.add_argument("--json", action="store_true", help="print everything as one JSON object")
    s.set_defaults(run=cmd_anchors)


def cmd_anchors(args: argparse.Namespace) -> None:
    dataset, image_root = load_source(args, extremes=False, quiet=args.json)
    for out in (args.output, args.plot):
        if out is not None:
            check_output(out, args.src, image_root)
    boxes = boxes_of(dataset, args.img_size)
    stats = statistics(boxes)
    result = fitted(boxes, args.num, args.levels, args.algorithm, args.threshold, args.seed, args.restarts)
    comparisons = {}
    for name in args.compare:
        comparisons[name] = compared(boxes, name, args.threshold)[1]
    summary = summary_of(result, stats, comparisons)
    if args.output is not None:
        with atomic_write(args.output) as f:
            f.write(written(result.levels, args.anchor_format, args.img_size, summary))
    if args.plot is not None:
        from .anchor_plot import anchor_plot

        anchor_plot(boxes, result.levels, args.plot)
    if args.json:
        print(written(result.levels, "json", args.img_size, summary), end="")
        return
    print(anchor_report(boxes, stats, result, comparisons, args))


def anchor_report(boxes, stats: dict, result, comparisons: dict, args: argparse.Namespace) -> str:
    everything = stats["all"]
    lines = [f"boxes: {everything['boxes']} on {boxes.images} images ({everything['boxes_per_image']:.1f} per "
             f"image), {everything['under_3px']} under 3 px"]
    if everything["under_3px"]:
        lines.append(f"warning: {everything['under_3px']} boxes are under 3 px wide or high: check them, or leave "
                     "them out of training")
    lines.append("| category | boxes | width px (q25 / median / q75) | height px | w/h median | small / medium / "
                 "large |")
    lines.append("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, s in stats.items():
        lines.append(f"| {name} | {s['boxes']} | {_q(s['width_px'])} | {_q(s['height_px'])} | "
                     f"{s['aspect_w_over_h']['median']:.2f} | {s['small']:.0%} / {s['medium']:.0%} / "
                     f"{s['large']:.0%} |")
    kept = "" if result.evolved is None else (" (the search improved on k-means)" if result.evolved else
                                              " (the search found nothing better: k-means' anchors kept)")
    lines.append(f"\n{args.num} anchors by {result.algorithm}{kept}, at img-size {args.img_size}:")
    for k, level in enumerate(result.levels):
        lines.append(f"  P{k + 3}/{8 * 2 ** k}: " + "  ".join(f"{w:.0f},{h:.0f}" for w, h in level))
    lines.append(f"\n| anchors | mean best IoU | coverage (IoU >= 0.5) | BPR (threshold {args.threshold:g}) | "
                 "anchors above threshold per box | fitness |")
    lines.append("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, f in {"these": result.fit, **comparisons}.items():
        lines.append(f"| {name} | {f.mean_iou:.3f} | {f.coverage:.1%} | {f.bpr:.1%} | {f.anchors_above:.2f} | "
                     f"{f.fitness:.4f} |")
    if args.output is not None:
        lines.append(f"\nwrote {args.output} ({args.anchor_format})")
    return "\n".join(lines)


def _q(q: dict) -> str:
    return f"{q['q25']:.0f} / {q['median']:.0f} / {q['q75']:.0f}"


