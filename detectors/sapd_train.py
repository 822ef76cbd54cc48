"""Training SAPD. One schedule, measured in progress from 0 to 1 (by steps, or by the clock with
`minutes`): linear warm-up, then the rate drops by 10 at 3/4 and 11/12 of it (the paper's epochs 9 and 11
of 12); the first half trains each instance on its single best level, the second half on the levels
the selection net picks. A checkpoint after every epoch; `resume` continues where a killed run stopped,
on the same schedule. Under torchrun, DistributedDataParallel (`distributed`)."""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from converters import UserError
from converters.atomic import atomic_write
from converters.progress import Progress, no_progress

from .backbones import load_imagenet
from .budget import Budget
from .checkpoints import load_matching, save_checkpoint
from .configs import checked_config, read_model
from .detection_data import DetectionSamples, Photo, collate
from .distributed import join, leave, loader, new_epoch, wrap
from .sapd import SAPD, Instances, LevelOutputs, sapd_loss

WARMUP = 0.05  # share of the schedule
DROPS = (0.75, 11 / 12)
SOFT_SELECTION_FROM = 0.5
RESUME_STATE = "training_state.pt"


def rate_at(progress: float, lr: float) -> float:
    if progress < WARMUP:
        return lr * (0.1 + 0.9 * progress / WARMUP)
    return lr * 0.1 ** sum(progress >= d for d in DROPS)


def make_optimiser(name: str, model: torch.nn.Module, lr: float) -> torch.optim.Optimizer:
    """AdamW (default): from scratch on a few images it learns in minutes (fruits_nuts, 8 minutes on
    a CPU: AP50 0.61 against 0.09 with SGD); SGD with momentum is the paper's, for long runs."""
    if name == "sgd":
        return torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=1e-4)
    if name == "adamw":
        return torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    raise ValueError(f"optimiser must be sgd or adamw, not {name!r}")


class TrainingStep(nn.Module):
    """Forward pass and loss as one module, so that DistributedDataParallel sees every parameter the
    loss uses (the selection net runs on the features inside the loss)."""

    def __init__(self, model: SAPD, amp: bool):
        super().__init__()
        self.model = model
        self.amp = amp

    def forward(self, images: torch.Tensor, targets: list[Instances], soft_selection: bool) -> dict[str, torch.Tensor]:
        with torch.autocast("cuda", enabled=self.amp):
            outputs, features = self.model(images)
        outputs = [LevelOutputs(o.cls.float(), o.distances.float(), o.extremes.float()) for o in outputs]
        return sapd_loss(outputs, [f.float() for f in features], targets, self.model.selection, soft_selection)


def train_sapd(photos: list[Photo], classes: list[str], out: Path, config: dict[str, Any], epochs: int | None = None,
               minutes: float | None = None, batch: int = 4, lr: float = 1e-3, optimiser_name: str = "adamw",
               device: str = "cpu", amp: bool = False, resume: bool = False, backbone_weights: Path | None = None,
               workers: int = 0, seed: int = 0, validate: Callable[[SAPD], dict[str, float]] | None = None,
               progress: Progress = no_progress, show: Callable[[str], None] = lambda text: None,
               log: Callable[[str], None] = print) -> dict[str, Any]:
    """Train and write `out` after every epoch; returns the last epoch's metrics. Under torchrun, each
    process trains on its share of the photos with `batch` per step; only the first writes and reports.
    `validate` scores the model after each epoch (its numbers go into metrics.json)."""
    group, device = join(device)
    if not group.main:
        progress, show, log, validate = no_progress, (lambda text: None), (lambda line: None), None
    torch.manual_seed(seed)
    config = checked_config({**config, "arch": "sapd", "classes": classes}, "sapd", "the training settings")
    model = SAPD(len(classes), config["depth"], config["channels"])
    if backbone_weights is not None:
        load_imagenet(model.backbone, backbone_weights)
        model.backbone.freeze_bn = True
    on_gpu = device.startswith("cuda")
    memory_format = torch.channels_last if on_gpu else torch.contiguous_format
    model.to(device, memory_format=memory_format).train()
    optimiser = make_optimiser(optimiser_name, model, lr)
    scaler = torch.amp.GradScaler("cuda", enabled=amp and on_gpu)
    data = loader(DetectionSamples(photos, config["img_size"]), batch, group, workers, seed, collate)
    state = {"step": 0, "epoch": 0, "seconds": 0.0, "history": []}
    if resume and (out / RESUME_STATE).is_file():
        state = _restore(out, model, optimiser)
        log(f"resuming after epoch {state['epoch']} ({state['seconds']:.0f} s trained)")
    step = wrap(TrainingStep(model, amp and on_gpu), group, device)
    budget = Budget(epochs, minutes, len(data), group, device, state["step"], state["seconds"])
    while budget.share() < 1:
        new_epoch(data, state["epoch"])
        losses: dict[str, float] = {}
        epoch_steps = 0
        for images, targets in data:
            share = budget.share()
            if share >= 1:
                break
            for param_group in optimiser.param_groups:
                param_group["lr"] = rate_at(share, lr)
            images = images.to(device, memory_format=memory_format)
            targets = [Instances(t.boxes.to(device), t.labels.to(device), t.extremes.to(device)) for t in targets]
            parts = step(images, targets, share >= SOFT_SELECTION_FROM)
            optimiser.zero_grad(set_to_none=True)
            scaler.scale(sum(parts.values())).backward()
            scaler.unscale_(optimiser)
            torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
            scaler.step(optimiser)
            scaler.update()
            budget.steps += 1
            epoch_steps += 1
            for name, value in parts.items():
                losses[name] = losses.get(name, 0.0) + value.item()
            progress(int(1000 * min(share, 1)), 1000)
            show("loss " + " ".join(f"{k} {v / epoch_steps:.3f}" for k, v in losses.items()))
        state.update(step=budget.steps, epoch=state["epoch"] + 1, seconds=budget.seconds)
        metrics = {"epoch": state["epoch"], "steps": state["step"], "seconds": round(state["seconds"], 1),
                   **{name: value / max(1, epoch_steps) for name, value in losses.items()}}
        if validate is not None:
            metrics.update(validate(model))
            model.train()
        state["history"].append(metrics)
        if group.main:
            _save(out, config, model, optimiser, state)
        log(f"epoch {state['epoch']}: " + ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()  # None: nothing found
                                                      if k not in ("epoch", "step", "seconds") and v is not None)
            + f", {state['seconds']:.0f} s")
    progress(1000, 1000)
    leave(group)
    return state["history"][-1] if state["history"] else {}


def _save(out: Path, config: dict, model: SAPD, optimiser: torch.optim.Optimizer, state: dict) -> None:
    save_checkpoint(out, config, model)
    with atomic_write(out / "metrics.json") as f:
        json.dump(state["history"], f, indent=1)
    with atomic_write(out / RESUME_STATE, "wb") as f:
        torch.save({"optimiser": optimiser.state_dict(), "step": state["step"], "epoch": state["epoch"],
                    "seconds": state["seconds"]}, f)


def _restore(out: Path, model: SAPD, optimiser: torch.optim.Optimizer) -> dict:
    """The run where it stopped; a damaged resume file or history is refused in one line."""
    _, weights = read_model(out, "sapd")
    load_matching(model, weights, out)
    try:
        saved = torch.load(out / RESUME_STATE, map_location="cpu", weights_only=True)
        optimiser.load_state_dict(saved["optimiser"])
        counts = {"step": int(saved["step"]), "epoch": int(saved["epoch"]), "seconds": float(saved["seconds"])}
    except Exception as e:  # truncated, empty, a pickle that is not plain data, other keys: all one answer
        raise UserError(f"cannot be resumed from ({type(e).__name__}: {str(e)[:120]}): train without --resume, "
                        "or into a new RUN_DIR", out / RESUME_STATE) from None
    history = []
    if (out / "metrics.json").is_file():
        try:
            history = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
        except ValueError as e:
            raise UserError(f"is not valid JSON: {e}", out / "metrics.json") from None
        if not isinstance(history, list):
            raise UserError("must hold a list of epochs", out / "metrics.json")
    return {**counts, "history": history}
