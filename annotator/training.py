"""Training requests, as the command line and the window make them: which labels (a COCO file, or a
project's images marked done, some held back to validate on), the kind's defaults for what the person
left out, the held-out file, then `detectors.train`. Qt-free; the caller shows the progress and the
lines. A request is also written as `request.json` in its run directory: the window's training process
reads it there, a resume starts from it, and the Models panel says from it what the run was."""
from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import random
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from converters import Dataset, ImageStatus, UserError
from converters.atomic import atomic_write
from converters.formats import read_dataset
from converters.images import RUN_MARK
from converters.progress import Progress, no_progress

from .database import is_database_url, shown_url
from .masking import MASK_METHOD, PLACEHOLDERS
from .store import Project, is_project

if TYPE_CHECKING:  # torch is imported when a run starts, not by importing this
    from detectors.kinds import ModelKind


@dataclasses.dataclass(frozen=True)
class TrainingRequest:
    kind: str  # a name in detectors.kinds.KINDS
    out: Path
    data: Path | str | None = None  # a project (a file, or a team database's URL) or a COCO file
    images: Path | None = None  # the COCO file's image folder (default: its own)
    val: Path | None = None  # held-out COCO file, scored after every epoch
    synthetic: int = 0  # objects our code draws, added to the data
    depth: int = 18
    backbone_weights: Path | None = None  # or Path("imagenet"): torchvision's file, downloaded once and checked
    init: Path | None = None
    options: dict[str, Any] = dataclasses.field(default_factory=dict)  # config keys the person set
    epochs: int | None = None
    minutes: float | None = None
    batch: int | None = None
    lr: float | None = None
    optimiser: str | None = None
    amp: bool = True  # reduced precision where it is fast (detectors.device.training_precision)
    resume: bool = False
    device: str = "cpu"  # or AUTO: the GPU when there is one, chosen where the run starts
    workers: int = 0
    hold_out: float = 0.0  # the share of a project's done images held back to validate on, instead of `val`
    #: The mask network learning from a project as it is labelled (`annotator.mask_learning`): every label
    #: with a mask trains, on any image, and the `hold_out` share of the newest labels is held back.
    learning: bool = False
    seed: int = 0  # the network's start, the shuffling and the augmentation

    def saved(self, trained_on: dict[str, int] | None = None) -> None:
        """Write the request as `request.json` in its run directory, with what it was `trained_on` once
        that is known (images, held-out images, samples). Its paths are written relative to the run
        directory, so that a project moved with its runs still resumes them, and a copy resumes its own."""
        run = self.out.resolve()
        fields: dict[str, Any] = {k: _relative(v, run) if isinstance(v, Path) else v
                                  for k, v in dataclasses.asdict(self).items()}
        if isinstance(self.data, str):  # a team database: its URL, never its password (libpq's ~/.pgpass or
            fields["data"] = shown_url(self.data)  # PGPASSWORD give one to the process that reads it)
        fields["out"] = "."
        if trained_on is not None:
            fields[TRAINED_ON] = trained_on
        with atomic_write(self.out / REQUEST_FILE) as f:
            json.dump(fields, f, indent=1)

    @classmethod
    def of_run(cls, run: Path) -> TrainingRequest:
        """The request a run directory was made by, writing into that directory whatever its file says
        (a request.json naming another `out` led a resumed run to write there); a damaged file is refused
        in one line."""
        path = run / REQUEST_FILE
        try:
            fields = json.loads(path.read_text(encoding="utf-8"))
            fields.pop(TRAINED_ON, None)
            paths = {f.name for f in dataclasses.fields(cls) if "Path" in str(f.type)}
            read = {k: _from_run(v, run) if k in paths and v is not None else v for k, v in fields.items()}
            return cls(**{**read, "out": run})
        except FileNotFoundError:
            raise UserError("no request.json: not a run directory of annotator train", run) from None
        except (ValueError, TypeError) as e:
            raise UserError(f"is not a training request: {e}", path) from None


def _relative(path: Path, run: Path) -> str:
    """A path as `request.json` holds it: relative to the run directory (torchvision's "imagenet" stays)."""
    if str(path) == "imagenet":
        return "imagenet"
    return os.path.relpath(path.resolve(), run)


def _from_run(value: Any, run: Path) -> Path | str:
    if not isinstance(value, str):
        raise TypeError(f"a path must be text, not {value!r}")
    if is_database_url(value):
        return value  # a team project's data
    return Path(value) if value == "imagenet" else run / value


AUTO = "auto"
REQUEST_FILE = RUN_MARK  # the folder it is in is not searched for images
TRAINED_ON = "trained_on"


def run_training(request: TrainingRequest, say: Callable[[str], None] = print, progress: Progress = no_progress,
                 show: Callable[[str], None] = lambda text: None,
                 epoch_done: Callable[[dict[str, Any]], None] = lambda metrics: None) -> dict[str, Any]:
    """Train as asked; `say` gets what was chosen and each epoch's line. Returns the last metrics."""
    from detectors.distributed import launched
    from detectors.kinds import KINDS
    from detectors.train import RESUME_STATE, Schedule, train

    kind = KINDS[request.kind]
    if request.device == AUTO:
        from detectors.device import default_device

        request = dataclasses.replace(request, device=default_device())
    _check_request(request, kind)
    if request.data is None and not request.synthetic:
        raise UserError("give the labels to train on (--data PROJECT|COCO), synthetic objects (--synthetic N), "
                        "or both")
    samples, from_data = [], {}
    validate = None
    trained_on = {"images": 0, "held_out": 0}
    dataset: Dataset | None = None
    if request.data is not None:
        newest = 0
        dataset, root = (masks_to_learn_from(request.data, say) if request.learning
                         else labels_to_train_on(request.data, request.images, say))
        if request.hold_out:
            dataset, held = (newest_held_back if request.learning else held_back)(dataset, request.hold_out)
            if held.images:
                say(f"validating on the {len(held.annotations)} newest masks" if request.learning
                    else f"validating on {len(held.images)} of the images held back")
                validate = kind.validator(held, root)
            else:
                say("too few images to hold some back: no validation")
            trained_on["held_out"], newest = len(held.images), len(held.annotations)
        if request.learning:
            trained_on["objects"] = len(dataset.annotations) + newest
        trained_on["images"] = len(dataset.images)
        samples, from_data = kind.training_set(dataset, root)
    if request.synthetic:
        drawn = kind.synthetic(request.synthetic)
        if drawn is None:
            raise UserError(f"--synthetic: {kind.name} has no synthetic data")
        samples = samples + drawn
    base = _base_config(request, kind)
    switches = {o.key: o.default for o in kind.options if o.default is not None}
    config = kind.completed({**base, **switches, **request.options, **from_data}, dataset)
    if len(samples) < 2:
        raise UserError(f"has too little to train on ({kind.described(samples, config)}): it needs at least 2",
                        shown_url(str(request.data)) if request.data is not None else "--synthetic")
    if request.val is not None:
        held = read_dataset(request.val, "coco", request.images or request.val.parent, extremes=True)
        validate = kind.validator(held.dataset, held.image_root)
    weights = request.backbone_weights
    if weights is not None and str(weights) == "imagenet":
        from detectors.pretrained import imagenet_weights

        weights = imagenet_weights(config["depth"])
    processes = launched().size
    say(f"training {kind.name} resnet{config['depth']} on {kind.described(samples, config)}"
        + (f", validated on {request.val}" if request.val else "") + f", on {request.device}"
        + (f", {processes} processes" if processes > 1 else ""))
    existed = request.out.exists()
    if launched().main:
        request.saved({**trained_on, "samples": len(samples)})
    schedule = Schedule(request.epochs, request.minutes, request.batch, request.lr, request.optimiser)
    try:
        return train(kind, samples, request.out, config, schedule, request.device, request.amp, request.resume,
                     weights, request.init, request.workers, request.seed, validate=validate, progress=progress,
                     show=show, log=say, epoch_done=epoch_done)
    except BaseException:
        # not one epoch done in a directory this run made: no run to keep (the window's own directory stays,
        # and Resume starts it again)
        if launched().main and not existed and not (request.out / RESUME_STATE).exists():
            (request.out / REQUEST_FILE).unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                request.out.rmdir()
        raise


def _check_request(request: TrainingRequest, kind: ModelKind) -> None:
    """What the schedule does not check, before anything is read or written: the share held out, the
    device, the workers and the output."""
    import torch

    from detectors.train import Schedule

    schedule = Schedule(request.epochs, request.minutes, request.batch, request.lr, request.optimiser).filled(kind)
    if not 0 <= request.hold_out < 1:
        raise UserError(f"--hold-out is a share of the images, from 0 to below 1, not {request.hold_out:g}")
    if not 0 <= request.synthetic <= MAX_SYNTHETIC:
        raise UserError(f"--synthetic must be a whole number from 0 to {MAX_SYNTHETIC}, not {request.synthetic}")
    if not 0 <= request.workers <= MAX_WORKERS:
        raise UserError(f"--workers must be a whole number from 0 to {MAX_WORKERS}, not {request.workers}")
    device = request.device
    if device != "cpu" and not (device == "cuda" or (device.startswith("cuda:") and device[5:].isdigit())):
        raise UserError(f"--device must be cpu, cuda or cuda:N, not {device!r}")
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise UserError(f"--device {device}: this machine has no CUDA GPU that torch can use (train with "
                            "--device cpu)")
        if ":" in device and int(device[5:]) >= torch.cuda.device_count():
            raise UserError(f"--device {device}: this machine has {torch.cuda.device_count()} GPUs, numbered from 0")
    if request.out.exists() and not request.out.is_dir():
        raise UserError("is a file, not a run directory: give --out a folder", request.out)
    _check_memory(request, kind, schedule.batch)


def _base_config(request: TrainingRequest, kind: ModelKind) -> dict[str, Any]:
    """The config a run starts from: the model it starts from (`--init`), or the kind's new one."""
    return kind.config_of(request.init) if request.init is not None else kind.new_config(request.depth)


def _check_memory(request: TrainingRequest, kind: ModelKind, batch: int) -> None:
    from detectors.memory import available_bytes, sample_side, training_bytes

    config = {**_base_config(request, kind), **request.options}
    needed, free = training_bytes(config, batch), available_bytes(request.device)
    if free is not None and needed > free:
        option = "--crop" if "crop" in config else "--img-size"
        raise UserError(f"a step of {batch} samples at {sample_side(config)} px needs about {needed / 2**30:.1f} GB "
                        f"and {request.device} has {free / 2**30:.1f} GB free: lower {option} or --batch")


MAX_WORKERS = 64
MAX_SYNTHETIC = 100_000  # drawn objects held in memory at once, as the samples are


def held_back(dataset: Dataset, share: float) -> tuple[Dataset, Dataset]:
    """The images to train on and those held back (a share of them, at least one of three or more),
    chosen the same way every time so that a resumed run validates on the same ones."""
    ids = sorted(im.id for im in dataset.images)
    count = max(1, round(share * len(ids))) if len(ids) >= 3 else 0
    held = set(random.Random(0).sample(ids, count))
    return _subset(dataset, set(ids) - held), _subset(dataset, held)


def newest_held_back(dataset: Dataset, share: float) -> tuple[Dataset, Dataset]:
    """The labels to train on and the newest ones (a share, at least one of three or more): how a mask
    network does on what the person labels now, which it has not seen."""
    ids = sorted(a.id for a in dataset.annotations)
    count = max(1, round(share * len(ids))) if len(ids) >= 3 else 0
    newest = set(ids[len(ids) - count:])
    images = {a.image_id for a in dataset.annotations if a.id in newest}
    return (dataclasses.replace(dataset, annotations=[a for a in dataset.annotations if a.id not in newest]),
            dataclasses.replace(dataset, images=[im for im in dataset.images if im.id in images],
                                annotations=[a for a in dataset.annotations if a.id in newest]))


def masks_to_learn_from(path: Path | str, say: Callable[[str], None] = print) -> tuple[Dataset, Path]:
    """A project's labels with a mask, on every image: a mask network learns each object by itself, so an
    image need not be done."""
    if not is_project(path):
        raise UserError("a mask network learns from a project, not from a file", path)
    dataset, root = _project_labels(path, None)
    masked = [a for a in dataset.annotations if a.has_mask and not a.iscrowd
              and a.attributes.get(MASK_METHOD) not in PLACEHOLDERS]  # an octagon still waiting is no mask
    say(f"{shown_url(str(path))}: learning from the {len(masked)} objects with a mask")
    return dataclasses.replace(dataset, annotations=masked), root


def labels_to_train_on(path: Path | str, images: Path | None,
                       say: Callable[[str], None] = print) -> tuple[Dataset, Path]:
    """A COCO file as it is, or a project's images marked done: on those every object is labelled, so
    what carries no label is background. An image still to do would teach a detector that its
    unlabelled objects are background."""
    if not is_project(path):
        path = Path(path)
        loaded = read_dataset(path, "coco", images or path.parent, extremes=True)
        return loaded.dataset, loaded.image_root
    dataset, root = _project_labels(path, images)
    done = {im.id for im in dataset.images if im.status is ImageStatus.DONE}
    if not done:
        raise UserError("has no images marked done to train on (Space in the window marks one)", shown_url(str(path)))
    say(f"{shown_url(str(path))}: training on the {len(done)} images marked done of {len(dataset.images)}")
    return _subset(dataset, done), root


def _project_labels(location: Path | str, images: Path | None) -> tuple[Dataset, Path]:
    """A project's labels and its image folder: a team project's images are where this person keeps
    their copy (`images`, else the folder they gave it last, else where the push found them)."""
    team = is_database_url(location)
    with Project.open(location, read_only=True, image_root=images if team else None) as project:
        project.check_owner("training")
        return project.to_dataset(), project.image_root


def _subset(dataset: Dataset, image_ids: set[int]) -> Dataset:
    return Dataset(images=[im for im in dataset.images if im.id in image_ids], categories=dataset.categories,
                   annotations=[a for a in dataset.annotations if a.image_id in image_ids])
