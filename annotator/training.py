"""Training requests, as the command line (and later the window) makes them: which labels (a COCO file,
or a project's images marked done), the kind's defaults for what the person left out, the held-out
file, then `detectors.train`. Qt-free; the caller shows the progress and the lines."""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from converters import Dataset, ImageStatus, UserError
from converters.formats import read_dataset
from converters.progress import Progress, no_progress

from .store import Project, is_project_file


@dataclasses.dataclass(frozen=True)
class TrainingRequest:
    kind: str  # a name in detectors.kinds.KINDS
    out: Path
    data: Path | None = None  # a project or a COCO file
    images: Path | None = None  # the COCO file's image folder (default: its own)
    val: Path | None = None  # held-out COCO file, scored after every epoch
    synthetic: int = 0  # objects our code draws, added to the data
    depth: int = 18
    backbone_weights: Path | None = None
    init: Path | None = None
    options: dict[str, Any] = dataclasses.field(default_factory=dict)  # config keys the person set
    epochs: int | None = None
    minutes: float | None = None
    batch: int | None = None
    lr: float | None = None
    optimiser: str | None = None
    amp: bool = False
    resume: bool = False
    device: str = "cpu"
    workers: int = 0


def run_training(request: TrainingRequest, say: Callable[[str], None] = print, progress: Progress = no_progress,
                 show: Callable[[str], None] = lambda text: None) -> dict[str, Any]:
    """Train as asked; `say` gets what was chosen and each epoch's line. Returns the last metrics."""
    from detectors.distributed import launched
    from detectors.kinds import KINDS
    from detectors.train import Schedule, train

    kind = KINDS[request.kind]
    if request.data is None and not request.synthetic:
        raise UserError("give the labels to train on (--data PROJECT|COCO), synthetic objects (--synthetic N), "
                        "or both")
    samples, from_data = [], {}
    if request.data is not None:
        dataset, root = labels_to_train_on(request.data, request.images, say)
        samples, from_data = kind.training_set(dataset, root)
    if request.synthetic:
        drawn = kind.synthetic(request.synthetic)
        if drawn is None:
            raise UserError(f"--synthetic: {kind.name} has no synthetic data")
        samples = samples + drawn
    base = kind.config_of(request.init) if request.init is not None else kind.new_config(request.depth)
    switches = {o.key: o.default for o in kind.options if o.default is not None}
    config = {**base, **switches, **request.options, **from_data}
    if len(samples) < 2:
        raise UserError(f"has too little to train on ({kind.described(samples, config)}): it needs at least 2",
                        request.data or "--synthetic")
    validate = None
    if request.val is not None:
        held = read_dataset(request.val, "coco", request.images or request.val.parent, extremes=True)
        validate = kind.validator(held.dataset, held.image_root)
    processes = launched().size
    say(f"training {kind.name} resnet{config['depth']} on {kind.described(samples, config)}"
        + (f", validated on {request.val}" if request.val else "") + f", on {request.device}"
        + (f", {processes} processes" if processes > 1 else ""))
    schedule = Schedule(request.epochs, request.minutes, request.batch, request.lr, request.optimiser)
    return train(kind, samples, request.out, config, schedule, request.device, request.amp, request.resume,
                 request.backbone_weights, request.init, request.workers, validate=validate, progress=progress,
                 show=show, log=say)


def labels_to_train_on(path: Path, images: Path | None, say: Callable[[str], None] = print) -> tuple[Dataset, Path]:
    """A COCO file as it is, or a project's images marked done: on those every object is labelled, so
    what carries no label is background. An image still to do would teach a detector that its
    unlabelled objects are background."""
    if not is_project_file(path):
        loaded = read_dataset(path, "coco", images or path.parent, extremes=True)
        return loaded.dataset, loaded.image_root
    with Project.open(path, read_only=True) as project:
        dataset, root = project.to_dataset(), project.image_root
    done = {im.id for im in dataset.images if im.status is ImageStatus.DONE}
    if not done:
        raise UserError("has no images marked done to train on (Space in the window marks one)", path)
    say(f"{path}: training on the {len(done)} images marked done of {len(dataset.images)}")
    return Dataset(images=[im for im in dataset.images if im.id in done], categories=dataset.categories,
                   annotations=[a for a in dataset.annotations if a.image_id in done]), root
