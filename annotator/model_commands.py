"""The `annotator` commands that run models: masks, eval-masks, train, eval, prelabel and rank (their
arguments and what they print; the work is in `training`, `mask_fill`, `prelabel`, `ranking` and
`detectors`)."""
from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from converters import UserError, write_coco
from converters.formats import read_dataset
from detectors.catalogue import BACKBONES, Role, kinds_with
from detectors.mask_backends import BACKEND_NAMES, BACKENDS
from detectors.suggesting import MAX_SUGGESTIONS

from .database import is_database_url
from .export import check_output
from .prelabel import MIN_SCORE
from .progress import TerminalProgress
from .ranking import MEASURES
from .store import Project, is_project, project_location
from .team_roots import remember_root

DETECTORS, MASK_NETWORKS = kinds_with(Role.DETECTOR), kinds_with(Role.MASKS)


def add_model_commands(sub: argparse._SubParsersAction, training: bool) -> None:
    """`training`: with the train command's arguments, which read the model kinds (and so load torch)."""
    s = sub.add_parser("masks", help="make the masks of clicked objects with a mask backend",
                       description="Make a mask for every object that has extreme points and no mask drawn by a "
                                   "person (a mask made earlier by another backend is replaced). Work is kept as "
                                   "it goes: run it again to resume.")
    s.add_argument("src", metavar="PROJECT|COCO", type=project_location,
                   help="project file, a team project's URL, or COCO file with extreme_points")
    _backend_arguments(s)
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
    _backend_arguments(s)
    s.add_argument("--jitter", type=float, default=0.0, metavar="PX",
                   help="move each click to a random object pixel within PX of the true extreme (default 0)")
    s.add_argument("--seed", type=int, default=0, help="random seed for --jitter (default 0)")
    s.add_argument("--corrections", type=int, default=0, metavar="N",
                   help="then up to N correction clicks, one at a time, inside the largest error region; "
                        "prints the mean IoU after each, and NoC@85 and NoC@90 (default 0)")
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.set_defaults(run=cmd_eval_masks)

    s = sub.add_parser("train", help=f"train a model on labels: a detector ({', '.join(DETECTORS)}) or the "
                                     f"mask network ({', '.join(MASK_NETWORKS)})",
                       description="Train a model kind on the labels of a COCO file, or of a project's images "
                                   f"marked done: {', '.join(DETECTORS)}, the detectors, on boxes and "
                                   f"extreme points; {', '.join(MASK_NETWORKS)}, the mask network, on masks. Writes "
                                   "RUN_DIR/config.json, model.safetensors and metrics.json after every epoch. On "
                                   "several processes or machines: torchrun --nproc-per-node N -m annotator train ... "
                                   "(--batch is then per process).")
    if training:
        _train_arguments(s)
    s.set_defaults(run=cmd_train)

    s = sub.add_parser("eval", help="score a detector: COCO box AP on a labelled COCO file",
                       description="Run the detector in RUN_DIR on every image of COCO and score it with "
                                   "pycocotools: AP (0.5:0.95), AP50, AP75, and ms per image (median, decoding "
                                   "included).")
    s.add_argument("--model", type=Path, required=True, metavar="RUN_DIR",
                   help=f"a run of `annotator train` with a detector (--arch {' or '.join(DETECTORS)})")
    s.add_argument("--data", type=Path, required=True, metavar="COCO", help="COCO file with the true boxes")
    _images_argument(s)
    s.add_argument("--masks", choices=BACKEND_NAMES, metavar="BACKEND",
                   help="also score the masks this backend makes from each detection's extreme points, as "
                        "pre-labelling makes them: mask AP (segm_ap, segm_ap50) against the true masks; "
                        f"{', '.join(BACKEND_NAMES)} (dextr needs --weights)")
    s.add_argument("--weights", type=Path, metavar="W", help="--masks dextr: " + BACKENDS["dextr"].weights)
    _anchors_argument(s, None)
    _device_argument(s)
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.set_defaults(run=cmd_eval)

    s = sub.add_parser("prelabel", help="add a detector's detections to a project as pending suggestions",
                       description="Run the detector in RUN_DIR on the project's images and store what it finds as "
                                   "pending suggestions, never touching your labels: each with its four extreme "
                                   "points and the mask --method makes from them, so accepting one gives its "
                                   "mask too. Review them in the window (Enter accepts, Delete rejects). One "
                                   "suggestion per object, whatever its class; none where the image already has "
                                   "the object. Images this model already pre-labelled are skipped, so a stopped "
                                   "run resumes, unless --min-score is lower than then: their pending "
                                   "suggestions are replaced.")
    s.add_argument("project", metavar="PROJECT", type=project_location, help="project file, or a team project's URL")
    s.add_argument("--model", type=Path, required=True, metavar="RUN_DIR",
                   help=f"a run of `annotator train` with a detector (--arch {' or '.join(DETECTORS)})")
    s.add_argument("--min-score", type=float,
                   help="suggest detections scoring at least this (default: the score at which the model's "
                        "suggestions did best on the images its training held out, or else "
                        f"{MIN_SCORE}); lower than a run before, the images it did are done again")
    s.add_argument("--max-per-image", type=int, default=MAX_SUGGESTIONS, metavar="N",
                   help=f"at most N suggestions on an image, the best (default {MAX_SUGGESTIONS})")
    s.add_argument("--images", choices=("todo", "all"), default="todo",
                   help="todo (default): images not marked done; all: every image")
    _backend_arguments(s, "the suggestions' masks, from their extreme points: ")
    _anchors_argument(s, "the project's labels")
    _device_argument(s)
    s.set_defaults(run=cmd_prelabel)

    s = sub.add_parser("rank", help="order the images not yet done by how unsure a detector is of them",
                       description="Score every image not yet done with the detector in RUN_DIR and store the "
                                   "order in the project: the window's image list sorts by it (order: rank) and "
                                   "N goes to the first unfinished image in it. uncertainty (default): the sum, "
                                   "over the image's detections, of how close each score is to --threshold (1 "
                                   "there, 0 at scores 0 and 1): where the model cannot decide, a person's "
                                   "labels teach it most. score: the images whose suggestions the model is "
                                   "surest of first, for a quick pass of accepting. random: a seeded shuffle.")
    s.add_argument("project", metavar="PROJECT", type=project_location, help="project file, or a team project's URL")
    s.add_argument("--model", type=Path, metavar="RUN_DIR",
                   help="a run of `annotator train` with a detector (not needed for --by random)")
    s.add_argument("--by", choices=list(MEASURES), default="uncertainty", help="the measure (default uncertainty)")
    s.add_argument("--threshold", type=float,
                   help="the score that decides a suggestion (default: pre-labelling's for the model, its "
                        f"suggestion threshold, or else {MIN_SCORE})")
    s.add_argument("--seed", type=int, default=0, help="--by random: the shuffle's seed (default 0)")
    s.add_argument("--top", type=int, default=10, metavar="N", help="print the first N images (default 10)")
    _device_argument(s)
    s.set_defaults(run=cmd_rank)


def _device_argument(s: argparse.ArgumentParser) -> None:
    s.add_argument("--device", help="cpu or cuda (default: cuda if there is one)")


def _images_argument(s: argparse.ArgumentParser) -> None:
    s.add_argument("--images", type=Path, help="folder the image names are relative to (default: its folder)")


def _backend_arguments(s: argparse.ArgumentParser, purpose: str = "") -> None:
    s.add_argument("--method", choices=BACKEND_NAMES, default="grabcut",
                   help=purpose + "; ".join(f"{b.name}: {b.help}" + (" (needs --weights)" if b.weights else "")
                                  for b in BACKENDS.values()))
    s.add_argument("--weights", type=Path, metavar="W",
                   help="; ".join(f"{b.name}: {b.weights}" for b in BACKENDS.values() if b.weights))


def _network(args: argparse.Namespace, option: str = "method"):
    """The loaded weights for a --method (or another `option` naming a backend) that needs them, else None."""
    backend = getattr(args, option)
    entry = BACKENDS[backend]
    if entry.load is None:
        if args.weights is not None:
            raise UserError(f"--weights does not apply to --{option} {backend}: it needs none")
        return None
    if args.weights is None:
        raise UserError(f"--{option} {backend} needs --weights: {entry.weights}")
    return entry.load(args.weights)


def cmd_masks(args: argparse.Namespace) -> None:
    from .mask_fill import fill_dataset, fill_project

    network = _network(args)
    if is_project(args.src):
        if args.output is not None or args.images is not None:
            raise UserError("-o and --images apply to a COCO file; a project keeps its masks and knows its images")
        with Project.open(args.src) as project, TerminalProgress(f"{args.method} masks") as progress:
            project.lock_for_labelling("annotator masks")
            result = fill_project(project, args.method, network, progress)
            where = str(project.where)
    else:
        if args.output is not None and args.output.resolve() != args.src.resolve():
            check_output(args.output, args.src, args.images or args.src.parent)
        out = args.output or args.src
        src = out if out.exists() and out != args.src else args.src
        if src != args.src:
            print(f"resuming from {out}, which exists (delete it to start again from {args.src})")
        loaded = _read_coco(src, args.images or args.src.parent)
        with TerminalProgress(f"{args.method} masks") as progress:
            result = fill_dataset(loaded.dataset, loaded.image_root, args.method,
                                  save=lambda: write_coco(loaded.dataset, out, keep_ids=True), network=network,
                                  progress=progress)
        where = str(out)
    fallbacks = f" ({result.fallbacks} by the octagon: {args.method} found no object)" if result.fallbacks else ""
    print(f"{where}: made {result.made} masks{fallbacks}; kept {result.kept} made before or drawn by a person")
    if result.missing_images:
        print(f"note: skipped {len(result.missing_images)} missing images, e.g. {result.missing_images[0]}")


def cmd_eval_masks(args: argparse.Namespace) -> None:
    from detectors.mask_eval import evaluate_masks

    if not 0 <= args.jitter <= MAX_JITTER:  # nan fails both sides
        raise UserError(f"--jitter is a distance in pixels from 0 to {MAX_JITTER}, not {args.jitter:g}")
    if not 0 <= args.corrections <= MAX_CORRECTIONS:
        raise UserError(f"--corrections must be a whole number from 0 to {MAX_CORRECTIONS}, not {args.corrections}")
    network = _network(args)
    loaded = _read_coco(args.coco, args.images)
    with TerminalProgress(f"evaluating {args.method}") as progress:
        scores = evaluate_masks(loaded.dataset, loaded.image_root, args.method, network, args.jitter, args.seed,
                                progress, args.corrections)
    if args.json:
        print(json.dumps(dataclasses.asdict(scores)))
    else:
        print("\n".join(scores.lines(args.method)))


#: eval-masks' bounds: a click moved farther than this is no longer the object's, and the standard
#: interactive-segmentation protocol stops at 20 clicks.
MAX_JITTER, MAX_CORRECTIONS = 1000, 20


def _train_arguments(s: argparse.ArgumentParser) -> None:
    from detectors.kinds import KINDS
    from detectors.train import OPTIMISERS

    def each(default) -> str:
        return ", ".join(f"{kind.name} {default(kind)}" for kind in KINDS.values())

    s.add_argument("--arch", choices=list(KINDS), required=True, help="the model kind to train")
    s.add_argument("--data", type=project_location, metavar="PROJECT|COCO",
                   help="the labels: a COCO file, or a project (its images marked done): a file or a team "
                        "project's URL (with --images: your copy of its images)")
    _images_argument(s)
    s.add_argument("--out", type=Path, required=True, metavar="RUN_DIR", help="where the model is written")
    s.add_argument("--backbone", choices=BACKBONES, default="resnet18",
                   help="resnet18 (default): light, for a CPU; resnet50 and resnet101: the papers' "
                        "(dextr: crop 512, output stride 8)")
    s.add_argument("--backbone-weights", metavar="PTH|imagenet",
                   help="ImageNet weights in torchvision's layout (e.g. resnet18-f37072fd.pth); imagenet: "
                        "torchvision's file for the backbone, downloaded once and checked")
    s.add_argument("--init", type=Path, metavar="W",
                   help="start from this model of the same kind (a RUN_DIR; dextr: also the official "
                        "dextr_*.pth), its settings with it; dextr's official 4-input layer gets a blank "
                        "background channel")
    length = s.add_mutually_exclusive_group()
    length.add_argument("--epochs", type=int,
                        help=f"passes over the data (default: {each(lambda k: k.defaults.epochs)})")
    length.add_argument("--minutes", type=float, help="fit the whole schedule into this many minutes instead")
    s.add_argument("--batch", type=int, help=f"samples per step (default: {each(lambda k: k.defaults.batch)})")
    s.add_argument("--optimizer", choices=list(OPTIMISERS),
                   help=f"default: {each(lambda k: k.defaults.optimiser)}")
    s.add_argument("--lr", type=float, help="starting rate (default: "
                   + "; ".join(f"{k.name} " + ", ".join(f"{o} {r:g}" for o, r in k.defaults.rates.items())
                               for k in KINDS.values()) + ")")
    by_flag: dict[str, list] = {}  # kinds may share an option (the detectors' --img-size)
    for kind in KINDS.values():
        for option in kind.options:
            by_flag.setdefault(option.flag, []).append((kind.name, option))
    for flag, owners in by_flag.items():
        option = owners[0][1]
        said = f"{', '.join(name for name, _ in owners)}: {option.help}"
        if option.choices:
            s.add_argument(flag, dest=f"set_{option.key}", choices=option.choices, help=said)
        elif option.value is None:
            s.add_argument(flag, dest=f"set_{option.key}", type=int, metavar="N", help=said)
        else:
            s.add_argument(flag, dest=f"set_{option.key}", action="store_const", const=option.value, help=said)
    s.add_argument("--full-precision", dest="amp", action="store_false",
                   help="train in float32 throughout (by default the forward pass runs in reduced precision where "
                        "it is fast: float16 on cuda, bfloat16 on a CPU that has it in hardware, AVX-512 BF16 or "
                        "AMX; elsewhere float32 anyway)")
    s.add_argument("--amp", dest="amp", action="store_true", help=argparse.SUPPRESS)  # the default now; scripts say it
    s.set_defaults(amp=True)
    s.add_argument("--resume", action="store_true", help="go on from RUN_DIR's last epoch, on the same schedule")
    s.add_argument("--synthetic", type=int, default=0, metavar="N",
                   help="dextr: add N objects our code draws (default 0); without --data, train on them alone")
    s.add_argument("--val", type=Path, metavar="COCO", help="held-out COCO file, scored after every epoch "
                                                            "(detectors: box AP; dextr: mean IoU)")
    s.add_argument("--hold-out", type=float, default=0.0, metavar="SHARE",
                   help="with --data PROJECT: hold back this share of its done images (e.g. 0.2) and score "
                        "them after every epoch, as --val does; the same images each time")
    _device_argument(s)
    s.add_argument("--workers", type=int, default=0, help="DataLoader worker processes (default 0)")
    s.add_argument("--seed", type=int, default=0, help="the network's start, the shuffling and the augmentation "
                                                       "(default 0): runs that differ only here measure the spread")


def cmd_train(args: argparse.Namespace) -> None:
    from detectors.distributed import launched
    from detectors.kinds import KINDS

    from .training import TrainingRequest, run_training

    kind = KINDS[args.arch]
    options = {k.removeprefix("set_"): v for k, v in vars(args).items() if k.startswith("set_") and v is not None}
    theirs = {o.key: o.flag for o in kind.options}
    for key in options:
        if key not in theirs:
            flag = next(o.flag for k in KINDS.values() for o in k.options if o.key == key)
            raise UserError(f"{flag} does not apply to --arch {kind.name}")
    if is_database_url(args.data) and args.images is not None:  # this person's copy, as `open --images` keeps
        if not args.images.is_dir():
            raise UserError("no such folder (--images)", args.images)
        remember_root(args.data, args.images)
    depth = int(args.backbone.removeprefix("resnet"))
    weights = args.backbone_weights
    main_process = launched().main
    request = TrainingRequest(
        args.arch, args.out, args.data, args.images, args.val, args.synthetic, depth,
        Path(weights) if weights is not None else None, args.init, options, args.epochs, args.minutes, args.batch,
        args.lr, args.optimizer, args.amp, args.resume, _device(args), args.workers, args.hold_out, args.seed)

    def say(line: str) -> None:  # under torchrun every process runs this command: the first one speaks
        if main_process:
            print(line, flush=True)
    with TerminalProgress("training") as progress:
        run_training(request, say, progress, progress.describe)
    config = json.loads((args.out / "config.json").read_text(encoding="utf-8")) if main_process else {}
    if config.get("anchor_mode") == "learned":
        say("learned anchors, w x h per level from P3: " + "; ".join(
            " ".join(f"{w:.0f}x{h:.0f}" for w, h in level) for level in config["anchors"]))
    say(f"wrote {args.out}" + (f": use it with --method dextr --weights {args.out}" if args.arch == "dextr" else
                               f": score it with `annotator eval --model {args.out} --data COCO`"))


def cmd_prelabel(args: argparse.Namespace) -> None:
    from detectors.kinds import load_detector

    from .prelabel import MaskChoice, prelabel

    if args.min_score is not None and not 0 <= args.min_score <= 1:
        raise UserError(f"--min-score is a score from 0 to 1, not {args.min_score:g}")
    if not 1 <= args.max_per_image <= 10_000:
        raise UserError(f"--max-per-image must be a whole number from 1 to 10000, not {args.max_per_image}")
    masks = MaskChoice(args.method, _network(args))
    with Project.open(args.project) as project, TerminalProgress("pre-labelling") as progress:
        project.lock_for_labelling("annotator prelabel")
        predictor = load_detector(args.model, _device(args),
                                  _other_anchors(args, project.to_dataset() if args.anchors == "kmeans" else None))
        result = prelabel(project, predictor, str(args.model.resolve()), args.min_score, args.images, progress,
                          masks, limit=args.max_per_image)
        where = project.where
    print(f"{where}: {result.summary()}")
    if result.missing_images:
        print(f"note: skipped {len(result.missing_images)} missing images, e.g. {result.missing_images[0]}")


def cmd_rank(args: argparse.Namespace) -> None:
    from .ranking import rank

    if args.threshold is not None and not 0 < args.threshold < 1:
        raise UserError(f"--threshold must lie between 0 and 1, not {args.threshold:g}")
    predictor = None
    if args.by != "random":
        if args.model is None:
            raise UserError(f"--by {args.by} needs the detector: --model RUN_DIR")
        from detectors.kinds import load_detector

        predictor = load_detector(args.model, _device(args))
    model = str(args.model.resolve()) if args.model is not None else ""
    with Project.open(args.project) as project, TerminalProgress("ranking") as progress:
        result = rank(project, predictor, args.by, args.threshold, args.seed, progress, model)
        where = project.where
    print(f"{where}: ranked {len(result.ranked)} images not yet done by {args.by}; "
          "the window's image list sorts by it (order: rank)")
    for name, value in result.ranked[:args.top]:
        print(f"  {value:8.3f}  {name}")
    if result.missing_images:
        print(f"note: skipped {len(result.missing_images)} missing images, e.g. {result.missing_images[0]}")


def cmd_eval(args: argparse.Namespace) -> None:
    from detectors.detector_eval import evaluate_detector
    from detectors.kinds import load_detector

    if args.masks is None and args.weights is not None:
        raise UserError("--weights goes with --masks dextr")
    if args.anchors == "kmeans":
        raise UserError("eval --anchors kmeans would fit the anchors to the very boxes it scores, and the score "
                        "would be worth nothing: fit them to the training labels (annotator anchors TRAIN --levels 5 "
                        "-o FILE) and give --anchors FILE")
    network = _network(args, "masks") if args.masks is not None else None
    predictor = load_detector(args.model, _device(args), _other_anchors(args, None))
    loaded = _read_coco(args.data, args.images, extremes=True)
    with TerminalProgress("evaluating") as progress:
        scores = evaluate_detector(predictor, loaded.dataset, loaded.image_root, progress, args.masks, network)
    if args.json:
        print(json.dumps(scores))
        return
    print(f"AP {scores['ap']:.3f}, AP50 {scores['ap50']:.3f}, AP75 {scores['ap75']:.3f} on {scores['images']} "
          f"images; {scores['ms_per_image']:.1f} ms per image (median)")
    if args.masks is not None:
        print(f"mask AP {scores['segm_ap']:.3f}, AP50 {scores['segm_ap50']:.3f}, AP75 {scores['segm_ap75']:.3f}, "
              f"masks by {args.masks} from the detections' extreme points")
    if scores["extreme_error"] is not None:
        print(f"extreme points: {scores['extreme_error']:.1%} of the box side from the true ones on average "
              f"(the sides' midpoints: {scores['midpoint_error']:.1%})")


def _anchors_argument(s: argparse.ArgumentParser, labels: str | None) -> None:
    """`labels`: what kmeans fits the anchors to; None: no kmeans (eval would fit them to what it scores)."""
    s.add_argument("--anchors", metavar="FILE" + ("|kmeans" if labels else ""),
                   help="retinanet: run with other anchors than the model's, without retraining: a file of "
                        "`annotator anchors --levels 5`" + (f", or kmeans (45 fitted to {labels})" if labels else "")
                        + ". A MetaAnchor model (trained with --anchors meta) takes any; the others take as many "
                        "per level as they have; a model that learned its anchors takes none")


def _other_anchors(args: argparse.Namespace, dataset) -> list | None:
    """The anchors --anchors asks for, per level; None: the model's own."""
    if args.anchors is None:
        return None
    if args.anchors != "kmeans":
        from .anchors import read_anchors

        return [level.tolist() for level in read_anchors(Path(args.anchors))]
    from detectors.kinds import kind_of

    kind = kind_of(args.model)
    config = kind.config_of(args.model)
    fitted = kind.completed({**config, "anchor_mode": "kmeans"}, dataset)
    if "anchors" not in fitted:
        raise UserError(f"holds {kind.title}, which has no anchors: --anchors is for retinanet models", args.model)
    return fitted["anchors"]


def _device(args: argparse.Namespace) -> str:
    """--device, or a GPU when there is one. torch is imported here, not to build the parser."""
    from detectors.device import default_device

    return args.device or default_device()


def _read_coco(path: Path, images: Path | None, extremes: bool = False):
    """A COCO file whose image names are relative to `images`, or to its own folder."""
    return read_dataset(path, "coco", images or path.parent, extremes=extremes)
