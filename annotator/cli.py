"""The `annotator` command. Every user mistake ends as one line naming the file and place, exit code 2."""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path

from converters import Dataset, ImageStatus, write_coco
from converters.errors import Cancelled, UserError, disk_full, package_version
from converters.formats import FORMATS, HOLDS_EXTREMES, READ_ONLY, read_dataset, write_dataset
from converters.report import Report
from detectors.maskers import METHODS

from .export import check_output
from .folders import DEFAULT_PROJECT_NAME, init_project, project_for
from .prelabel import MIN_SCORE
from .progress import TerminalProgress
from .store import Project, is_project_file


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        if has_display():  # plain `annotator`: the start page
            missing = _missing_qt_libraries()
            if missing:
                print(f"annotator: error: {missing}", file=sys.stderr)
                return 2
            from .gui.app import run_start_page

            return run_start_page()
        parser.print_help()
        return 0
    try:
        args.run(args)
    except UserError as e:
        print(f"annotator: error: {e}", file=sys.stderr)
        return 2
    except (OSError, sqlite3.OperationalError) as e:
        if (full := disk_full(e)) is None:
            raise
        print(f"annotator: error: {full}", file=sys.stderr)
        return 2
    except (Cancelled, KeyboardInterrupt):
        print("annotator: cancelled; nothing was written", file=sys.stderr)
        return 130
    return 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="annotator",
        description="Label objects by clicking their four extreme points; convert and inspect datasets.",
    )
    p.add_argument("--version", action="version", version=f"annotator {package_version()}")
    sub = p.add_subparsers(title="commands", metavar="COMMAND")

    s = sub.add_parser("init", help="create (or update) a project for a folder of images",
                       description="Create a project for IMAGE_DIR, or add new images and labels to it.")
    s.add_argument("image_dir", metavar="IMAGE_DIR", type=Path, help="folder of images (searched recursively)")
    s.add_argument("--project", type=Path, help=f"project file (default: IMAGE_DIR/{DEFAULT_PROJECT_NAME})")
    s.add_argument("--labels", default="", help="comma-separated category names, e.g. date,fig,hazelnut")
    s.set_defaults(run=cmd_init)

    s = sub.add_parser("open", help="open the labelling window on a folder of images or a project",
                       description="Open the labelling window. A folder of images gets its project created or "
                                   f"updated first (FOLDER/{DEFAULT_PROJECT_NAME}), as `init` does.")
    s.add_argument("target", metavar="FOLDER|PROJECT", type=Path, help="folder of images, or a project file")
    s.set_defaults(run=cmd_open)

    s = sub.add_parser("import", help="import labels from a dataset into a project",
                       description="Merge labels into a project (created if missing). Categories match by name, "
                                   "images by path; labels already present are skipped.")
    s.add_argument("--from", dest="src_fmt", choices=FORMATS + READ_ONLY, help="format of FILE (default: detected)")
    s.add_argument("file", metavar="FILE", type=Path, help="labels file or dataset folder")
    s.add_argument("--gt", type=Path, help="coco-results: the COCO file whose image and category ids FILE uses")
    s.add_argument("--images", type=Path, help="folder the image names are relative to "
                                               "(default: the dataset's own folder)")
    s.add_argument("--project", type=Path, required=True, help="project file to import into")
    s.set_defaults(run=cmd_import)

    s = sub.add_parser("convert", help="write a project or dataset in another format",
                       description="Convert SRC (a project file, or a dataset in any supported format) to another "
                                   "format. What the target cannot hold is reported, one line per kind; the "
                                   "output is written whole or not at all.")
    s.add_argument("src", metavar="SRC", type=Path, help="project file, labels file or dataset folder")
    s.add_argument("--to", dest="fmt", choices=FORMATS, required=True, help="output format")
    s.add_argument("-o", "--output", type=Path, required=True,
                   help="output file (coco) or folder (voc, yolo, labelme, cvat; new, empty or an earlier export)")
    s.add_argument("--from", dest="src_fmt", choices=FORMATS + READ_ONLY, help="format of SRC (default: detected)")
    s.add_argument("--gt", type=Path, help="coco-results: the COCO file whose image and category ids SRC uses")
    s.add_argument("--images", type=Path, help="folder SRC's image names are relative to")
    s.add_argument("--rle", action="store_true", help="coco: write masks as RLE instead of polygons")
    s.add_argument("--strict", action="store_true", help="fail instead of dropping what the target cannot hold")
    s.set_defaults(run=cmd_convert)

    s = sub.add_parser("masks", help="make the masks of clicked objects with a mask backend",
                       description="Make a mask for every object that has extreme points and no mask drawn by a "
                                   "person (a mask made earlier by another backend is replaced). Work is kept as "
                                   "it goes: run it again to resume.")
    s.add_argument("src", metavar="PROJECT|COCO", type=Path, help="project file, or COCO file with extreme_points")
    _mask_method_arguments(s)
    s.add_argument("--images", type=Path, help="COCO: folder the image names are relative to (default: its folder)")
    s.add_argument("-o", "--output", type=Path,
                   help="COCO: file to write (default: SRC itself); if it exists, the run resumes from it")
    s.set_defaults(run=cmd_masks)

    s = sub.add_parser("eval-masks", help="score a mask backend against ground-truth masks",
                       description="Simulate an annotator: click each ground-truth object's extreme points "
                                   "(ExtremeNet's rule, optionally jittered), make the mask, and compare. Prints "
                                   "the mean IoU, the shares above IoU 0.5, 0.75 and 0.9, and ms per object.")
    s.add_argument("coco", metavar="COCO", type=Path, help="COCO file with ground-truth masks")
    _images_argument(s)
    _mask_method_arguments(s)
    s.add_argument("--jitter", type=float, default=0.0, metavar="PX",
                   help="move each click to a random object pixel within PX of the true extreme (default 0)")
    s.add_argument("--seed", type=int, default=0, help="random seed for --jitter (default 0)")
    s.add_argument("--corrections", type=int, default=0, metavar="N",
                   help="then up to N correction clicks, one at a time, inside the largest error region; "
                        "prints the mean IoU after each, and NoC@85 and NoC@90 (default 0)")
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.set_defaults(run=cmd_eval_masks)

    s = sub.add_parser("train", help="train the detector (SAPD) or the mask network (DEXTR) on labels",
                       description="sapd: the detector, on the boxes and extreme points of a COCO file, or of a "
                                   "project's images marked done (flip, scale and colour jitter). dextr: the mask "
                                   "network, on its masks (each object flipped, "
                                   "rotated, scaled, clicked with jitter, cut around its box). Writes "
                                   "RUN_DIR/config.json, model.safetensors and metrics.json after every epoch. "
                                   "On several processes or machines: torchrun --nproc-per-node N -m annotator "
                                   "train ... (--batch is then per process).")
    s.add_argument("--arch", choices=("sapd", "dextr"), required=True, help="what to train")
    s.add_argument("--data", type=Path, metavar="PROJECT|COCO",
                   help="dextr: COCO file with instance masks; sapd: COCO file, or a project (its images marked done)")
    _images_argument(s)
    s.add_argument("--out", type=Path, required=True, metavar="RUN_DIR", help="where the model is written")
    s.add_argument("--backbone", choices=("resnet18", "resnet34", "resnet50", "resnet101"), default="resnet18",
                   help="resnet18 (default): the light model for a CPU, crop 256, output stride 16; "
                        "resnet101: the paper's, crop 512, output stride 8")
    s.add_argument("--backbone-weights", metavar="PTH|imagenet",
                   help="ImageNet weights in torchvision's layout (e.g. resnet18-f37072fd.pth); imagenet: "
                        "torchvision's file for the backbone, downloaded once and checked")
    length = s.add_mutually_exclusive_group()
    length.add_argument("--epochs", type=int, help="passes over the data (default: dextr 30, sapd 12)")
    length.add_argument("--minutes", type=float, help="fit the whole schedule into this many minutes instead")
    s.add_argument("--batch", type=int,
                   help="per step: dextr objects (default 8), sapd images (default 4: in a few minutes from "
                        "scratch, more steps beat bigger ones)")
    s.add_argument("--lr", type=float, help="starting rate (default 0.001; sapd with --optimizer sgd: 0.01)")
    s.add_argument("--optimizer", choices=("adamw", "sgd"), default="adamw",
                   help="sapd: adamw (default, quick from scratch) or sgd (the paper's, for long runs)")
    s.add_argument("--channels", type=int, default=128,
                   help="sapd: FPN and head width (default 128 for a CPU; the paper's is 256)")
    s.add_argument("--crop", type=int, help="dextr: crop side in pixels (default: 256, or 512 for resnet101)")
    s.add_argument("--init", type=Path, metavar="W",
                   help="dextr: start from this model (a RUN_DIR, or the official dextr_*.pth), its backbone, "
                        "stride and crop with it; the official 4-input layer gets a blank background channel")
    s.add_argument("--clicks-only", action="store_true",
                   help="dextr: the paper's 4-input network, trained without correction points (by default a "
                        "5th input takes background correction points, and training adds corrections where "
                        "the network is wrong)")
    s.add_argument("--img-size", type=int, default=384, help="sapd: training image side in pixels (default 384)")
    s.add_argument("--amp", action="store_true", help="sapd on cuda: mixed precision")
    s.add_argument("--resume", action="store_true", help="sapd: go on from RUN_DIR's last epoch, same schedule")
    s.add_argument("--synthetic", type=int, default=0, metavar="N",
                   help="add N objects our code draws (default 0); without --data, train on them alone")
    s.add_argument("--val", type=Path, metavar="COCO",
                   help="held-out COCO file: after every epoch, mean IoU (dextr) or box AP (sapd)")
    _device_argument(s)
    s.add_argument("--workers", type=int, default=0, help="DataLoader worker processes (default 0)")
    s.set_defaults(run=cmd_train)

    s = sub.add_parser("eval", help="score a detector: COCO box AP on a labelled COCO file",
                       description="Run the detector in RUN_DIR on every image of COCO and score it with "
                                   "pycocotools: AP (0.5:0.95), AP50, AP75, and ms per image (median, decoding "
                                   "included).")
    s.add_argument("--model", type=Path, required=True, metavar="RUN_DIR",
                   help="a run of `annotator train --arch sapd`")
    s.add_argument("--data", type=Path, required=True, metavar="COCO", help="COCO file with the true boxes")
    _images_argument(s)
    _device_argument(s)
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.set_defaults(run=cmd_eval)

    s = sub.add_parser("prelabel", help="add a detector's detections to a project as pending suggestions",
                       description="Run the detector in RUN_DIR on the project's images and store what it finds as "
                                   "pending suggestions (with four extreme points each), never touching your "
                                   "labels; review them in the window (Enter accepts, Delete rejects). Images "
                                   "this model already suggested on are skipped, so a stopped run resumes.")
    s.add_argument("project", metavar="PROJECT", type=Path, help="project file")
    s.add_argument("--model", type=Path, required=True, metavar="RUN_DIR",
                   help="a run of `annotator train --arch sapd`")
    s.add_argument("--min-score", type=float, default=MIN_SCORE,
                   help=f"keep detections scoring at least this (default {MIN_SCORE})")
    s.add_argument("--images", choices=("todo", "all"), default="todo",
                   help="todo (default): images not marked done; all: every image")
    _device_argument(s)
    s.set_defaults(run=cmd_prelabel)

    s = sub.add_parser("stats", help="count images by status and objects by category",
                       description="Images by status, objects per category, the share with masks.")
    s.add_argument("project", metavar="PROJECT", type=Path, help="project file")
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.set_defaults(run=cmd_stats)
    return p


def cmd_init(args: argparse.Namespace) -> None:
    labels = [n.strip() for n in args.labels.split(",") if n.strip()]
    with TerminalProgress("reading image sizes") as progress:
        result = init_project(args.image_dir, args.project, labels, progress)
    print(f"{'created' if result.created else 'updated'} {result.path}: {result.added} new images "
          f"({result.found} found), categories: {', '.join(result.categories) or 'none yet'}")
    _print_report(result.report)


def cmd_open(args: argparse.Namespace) -> None:
    if not has_display():
        raise UserError("no display to open the window on: run it in a desktop session (or under xvfb-run)")
    missing = _missing_qt_libraries()
    if missing:
        raise UserError(missing)
    with TerminalProgress("reading image sizes") as progress:
        project_file = project_for(args.target, progress)
    from .gui.app import run  # Qt is loaded only for the window

    with Project.open(project_file) as project:
        run(project)


def _missing_qt_libraries() -> str | None:
    """One line naming the system packages Qt's X11 plugin lacks, before Qt aborts with its own."""
    from .gui.qtlibs import missing_line, uses_xcb  # no Qt: it asks the linker about Qt's plugin

    return missing_line() if uses_xcb() else None


def has_display() -> bool:
    return not sys.platform.startswith("linux") or any(
        os.environ.get(name) for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))


def cmd_import(args: argparse.Namespace) -> None:
    if args.images is not None and not args.images.is_dir():
        raise UserError("no such folder (--images)", args.images)
    report = Report()
    loaded = read_dataset(args.file, args.src_fmt, args.images, report, args.gt)
    _say_format(args.file, loaded.format, loaded.why)
    with Project.open_or_create(args.project, loaded.image_root) as project, \
            TerminalProgress("importing") as progress:
        result = project.import_dataset(loaded.dataset, loaded.image_root, progress)
    suggestions = f" and {result.suggestions_added} pending suggestions" if result.suggestions_added else ""
    print(f"imported {result.annotations_added} annotations{suggestions} on {len(loaded.dataset.images)} images "
          f"({result.images_added} new images, {result.categories_added} new categories) into {args.project}")
    _print_report(report)
    _print_report(result.report)


def cmd_convert(args: argparse.Namespace) -> None:
    if args.rle and args.fmt != "coco":
        raise UserError(f"--rle applies to --to coco only, not {args.fmt}")
    dataset, image_root = _load_source(args, extremes=args.fmt in HOLDS_EXTREMES)
    check_output(args.output, args.src, image_root)
    report = Report(strict=args.strict)
    with TerminalProgress(f"writing {args.output.name}") as progress:
        write_dataset(dataset, args.output, args.fmt, report, rle=args.rle, progress=progress, image_root=image_root)
    print(f"wrote {args.output} ({args.fmt}): {len(dataset.images)} images, {len(dataset.annotations)} annotations")
    _print_report(report)


def _load_source(args: argparse.Namespace, extremes: bool) -> tuple[Dataset, Path]:
    """The dataset to convert and the folder its image names are relative to."""
    if is_project_file(args.src):
        with Project.open(args.src, read_only=True) as project, TerminalProgress("reading project") as progress:
            return project.to_dataset(progress), project.image_root
    report = Report()
    loaded = read_dataset(args.src, args.src_fmt, args.images, report, args.gt, extremes)
    _say_format(args.src, loaded.format, loaded.why)
    _print_report(report)
    return loaded.dataset, loaded.image_root


def _say_format(src: Path, fmt: str, why: str) -> None:
    print(f"reading {src} as {fmt} ({why})")


def cmd_stats(args: argparse.Namespace) -> None:
    with Project.open(args.project, read_only=True) as project:
        stats = project.stats()
    if args.json:
        print(json.dumps(stats, indent=2))
        return
    status = ", ".join(f"{k} {v}" for k, v in stats["images_by_status"].items())
    print(f"images: {stats['images']} ({status}); missing on disk: {stats['missing_images']}")
    for path in stats["missing_examples"]:
        print(f"  missing: {path}")
    print(f"objects: {stats['objects']}, with masks: {stats['with_mask']} ({stats['share_with_mask']:.0%}); "
          f"pending suggestions: {stats['pending_suggestions']}")
    width = max((len(n) for n in stats["objects_per_category"]), default=0)
    for name, count in stats["objects_per_category"].items():
        print(f"  {name:<{width}}  {count}")


def _device_argument(s: argparse.ArgumentParser) -> None:
    s.add_argument("--device", help="cpu or cuda (default: cuda if there is one)")


def _images_argument(s: argparse.ArgumentParser) -> None:
    s.add_argument("--images", type=Path, help="folder the image names are relative to (default: its folder)")


def _mask_method_arguments(s: argparse.ArgumentParser) -> None:
    s.add_argument("--method", choices=METHODS, default="grabcut",
                   help="octagon: instant, from the clicks alone; grabcut: follows the image (default); "
                        "dextr: the DEXTR network (needs --weights)")
    s.add_argument("--weights", type=Path, metavar="W",
                   help="dextr: a model directory from `annotator train`, or the official dextr_*.pth file")


def _dextr(args: argparse.Namespace):
    """The loaded network for --method dextr, else None."""
    if args.method != "dextr":
        if args.weights is not None:
            raise UserError(f"--weights applies to --method dextr, not {args.method}")
        return None
    if args.weights is None:
        raise UserError("--method dextr needs --weights: a model directory or the official dextr_*.pth file")
    from detectors.dextr import load_dextr

    return load_dextr(args.weights)


def cmd_masks(args: argparse.Namespace) -> None:
    from .mask_fill import fill_dataset, fill_project

    dextr = _dextr(args)
    if is_project_file(args.src):
        if args.output is not None or args.images is not None:
            raise UserError("-o and --images apply to a COCO file; a project keeps its masks and knows its images")
        with Project.open(args.src) as project, TerminalProgress(f"{args.method} masks") as progress:
            project.lock_for_labelling("annotator masks")
            result = fill_project(project, args.method, dextr, progress)
        where = str(args.src)
    else:
        out = args.output or args.src
        src = out if out.exists() and out != args.src else args.src
        if src != args.src:
            print(f"resuming from {out}, which exists (delete it to start again from {args.src})")
        loaded = _read_coco(src, args.images or args.src.parent)
        with TerminalProgress(f"{args.method} masks") as progress:
            result = fill_dataset(loaded.dataset, loaded.image_root, args.method,
                                  save=lambda: write_coco(loaded.dataset, out), dextr=dextr, progress=progress)
        where = str(out)
    fallbacks = f" ({result.fallbacks} by the octagon: {args.method} found no object)" if result.fallbacks else ""
    print(f"{where}: made {result.made} masks{fallbacks}; kept {result.kept} made before or drawn by a person")
    if result.missing_images:
        print(f"note: skipped {len(result.missing_images)} missing images, e.g. {result.missing_images[0]}")


def cmd_eval_masks(args: argparse.Namespace) -> None:
    from detectors.mask_eval import evaluate_masks

    dextr = _dextr(args)
    loaded = _read_coco(args.coco, args.images)
    with TerminalProgress(f"evaluating {args.method}") as progress:
        scores = evaluate_masks(loaded.dataset, loaded.image_root, args.method, dextr, args.jitter, args.seed, progress,
                                args.corrections)
    if args.json:
        print(json.dumps(dataclasses.asdict(scores)))
    else:
        print("\n".join(scores.lines(args.method)))


def cmd_train(args: argparse.Namespace) -> None:
    from detectors.dextr import CLICKS_ONLY, LIGHT, OFFICIAL, WITH_BACKGROUND, read_dextr
    from detectors.dextr_data import synthetic_objects
    from detectors.dextr_train import train_dextr

    args.device = _device(args)
    args.depth = int(args.backbone.removeprefix("resnet"))
    if args.backbone_weights == "imagenet":
        from detectors.pretrained import imagenet_weights

        args.backbone_weights = imagenet_weights(args.depth)
    elif args.backbone_weights is not None:
        args.backbone_weights = Path(args.backbone_weights)
    if args.arch == "sapd":
        return _train_sapd(args)
    if args.init is not None:
        base = read_dextr(args.init)[0]
    else:
        base = {**(OFFICIAL if args.depth >= 50 else LIGHT), "depth": args.depth}
    config = {**base, "crop": args.crop or base["crop"], "inputs": CLICKS_ONLY if args.clicks_only else WITH_BACKGROUND}
    if args.data is None and not args.synthetic:
        raise UserError("give the labels to train on (--data COCO), synthetic objects (--synthetic N), or both")
    objects = _objects(args.data, args.images) if args.data else []
    objects += synthetic_objects(args.synthetic, seed=1) if args.synthetic else []
    val = _objects(args.val, args.images) if args.val else None
    if len(objects) < 2:
        raise UserError("needs at least 2 objects with masks to train on", args.data)
    _say(f"training DEXTR resnet{config['depth']} (crop {config['crop']}, {config['inputs']} inputs) "
         f"on {len(objects)} objects"
         + (f", {len(val)} held out" if val else "") + f", on {args.device}" + _processes())
    with TerminalProgress("training") as progress:
        train_dextr(objects, args.out, config, epochs=(args.epochs or 30) if args.minutes is None else None,
                    minutes=args.minutes, batch=args.batch or 8, lr=args.lr or 1e-3, device=args.device,
                    backbone_weights=args.backbone_weights, init=args.init, val_objects=val, workers=args.workers,
                    progress=progress, show=progress.describe, log=lambda line: print(line, flush=True))
    _say(f"wrote {args.out}: use it with --method dextr --weights {args.out}")


def _train_sapd(args: argparse.Namespace) -> None:
    from detectors.detection_data import load_photos
    from detectors.sapd_train import train_sapd

    if args.data is None:
        raise UserError("--arch sapd needs the labels to train on: --data PROJECT|COCO")
    dataset, image_root = _detector_labels(args.data, args.images)
    photos, classes = load_photos(dataset, image_root)
    if not photos or not classes:
        raise UserError("has no images with categories to train on", args.data)
    validate = _detector_validation(args.val, args.images, classes, args.img_size) if args.val else None
    _say(f"training SAPD {args.backbone} ({args.img_size} px) on {len(photos)} images, "
         f"{len(classes)} classes, on {args.device}" + _processes())
    with TerminalProgress("training") as progress:
        train_sapd(photos, classes, args.out, {"depth": args.depth, "img_size": args.img_size,
                                                  "channels": args.channels},
                   epochs=(args.epochs or 12) if args.minutes is None else None, minutes=args.minutes,
                   batch=args.batch or 4, lr=args.lr or (0.01 if args.optimizer == "sgd" else 1e-3),
                   optimiser_name=args.optimizer, device=args.device, amp=args.amp, resume=args.resume,
                   backbone_weights=args.backbone_weights, workers=args.workers, validate=validate,
                   progress=progress, show=progress.describe, log=lambda line: print(line, flush=True))
    _say(f"wrote {args.out}: score it with `annotator eval --model {args.out} --data COCO`")


def _detector_labels(path: Path, images: Path | None) -> tuple[Dataset, Path]:
    """A COCO file as it is, or a project's images marked done: on those every object is labelled, so
    what carries no label is background. An image still to do would teach the detector that its
    unlabelled objects are background."""
    if not is_project_file(path):
        loaded = _read_coco(path, images, extremes=True)
        return loaded.dataset, loaded.image_root
    with Project.open(path) as project:
        dataset, root = project.to_dataset(), project.image_root
    done = {im.id for im in dataset.images if im.status is ImageStatus.DONE}
    if not done:
        raise UserError("has no images marked done to train on (Space in the window marks one)", path)
    _say(f"{path}: training on the {len(done)} images marked done of {len(dataset.images)}")
    return Dataset(images=[im for im in dataset.images if im.id in done], categories=dataset.categories,
                   annotations=[a for a in dataset.annotations if a.image_id in done]), root


def _detector_validation(coco: Path, images: Path | None, classes: list[str], size: int):
    """After each epoch: box AP on the held-out file, as val_ap, val_ap50, val_ap75 in metrics.json."""
    from detectors.detector_eval import evaluate_detector
    from detectors.predictor import Predictor

    loaded = _read_coco(coco, images, extremes=True)

    def validate(model) -> dict[str, float]:
        device = str(next(model.parameters()).device)
        scores = evaluate_detector(Predictor(model, classes, size, device), loaded.dataset, loaded.image_root)
        return {f"val_{key}": scores[key] for key in ("ap", "ap50", "ap75", "extreme_error")}
    return validate


def _processes() -> str:
    """How many training processes torchrun started, when more than one."""
    from detectors.distributed import launched

    size = launched().size
    return f", {size} processes" if size > 1 else ""


def _say(line: str) -> None:
    """Print from the first training process only: under torchrun every process runs this command."""
    from detectors.distributed import launched

    if launched().main:
        print(line, flush=True)


def cmd_prelabel(args: argparse.Namespace) -> None:
    from detectors.predictor import Predictor

    from .prelabel import prelabel

    predictor = Predictor.load(args.model, _device(args))
    with Project.open(args.project) as project, TerminalProgress("pre-labelling") as progress:
        project.lock_for_labelling("annotator prelabel")
        result = prelabel(project, predictor, str(args.model.resolve()), args.min_score, args.images, progress)
    print(f"{args.project}: {result.suggestions} suggestions on {result.images} images; "
          f"{result.skipped} images suggested on before by this model were skipped")
    if result.missing_images:
        print(f"note: skipped {len(result.missing_images)} missing images, e.g. {result.missing_images[0]}")


def cmd_eval(args: argparse.Namespace) -> None:
    from detectors.detector_eval import evaluate_detector
    from detectors.predictor import Predictor

    predictor = Predictor.load(args.model, _device(args))
    loaded = _read_coco(args.data, args.images, extremes=True)
    with TerminalProgress("evaluating") as progress:
        scores = evaluate_detector(predictor, loaded.dataset, loaded.image_root, progress)
    if args.json:
        print(json.dumps(scores))
        return
    print(f"AP {scores['ap']:.3f}, AP50 {scores['ap50']:.3f}, AP75 {scores['ap75']:.3f} on {scores['images']} "
          f"images; {scores['ms_per_image']:.1f} ms per image (median)")
    if scores["extreme_error"] is not None:
        print(f"extreme points: {scores['extreme_error']:.1%} of the box side from the true ones on average "
              f"(the sides' midpoints: {scores['midpoint_error']:.1%})")


def _objects(coco: Path, images: Path | None):
    from detectors.dextr_data import load_objects

    loaded = _read_coco(coco, images)
    return load_objects(loaded.dataset, loaded.image_root)


def _device(args: argparse.Namespace) -> str:
    """--device, or a GPU when there is one. torch is imported here, not to build the parser."""
    from detectors.device import default_device

    return args.device or default_device()


def _read_coco(path: Path, images: Path | None, extremes: bool = False):
    """A COCO file whose image names are relative to `images`, or to its own folder."""
    return read_dataset(path, "coco", images or path.parent, extremes=extremes)


def _print_report(report: Report) -> None:
    for line in report.lines():
        print(f"note: {line}")
