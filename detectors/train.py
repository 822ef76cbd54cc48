"""One training loop for every model kind (`detectors.kinds`): processes under torchrun
(DistributedDataParallel, `distributed`), the time budget (`Budget`: by epochs or by the clock, the
rate schedule reading the share done either way), mixed precision and channels-last on a GPU, gradient
clipping where the kind asks for it, and after every epoch a checkpoint, metrics.json, its curves
(metrics.png) and the state to resume from. `resume` continues where a killed run stopped, on the same
schedule. The kind supplies the network, the data, the loss and the rate's shape; the loop knows none
of them."""
from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from converters import UserError
from converters.atomic import atomic_write
from converters.progress import Progress, no_progress

from .budget import Budget
from .charts import run_curves, write_png
from .checkpoints import load_matching, save_checkpoint
from .configs import checked_config, read_model
from .distributed import join, leave, loader, new_epoch, wrap
from .kinds.base import ModelKind, Validator

RESUME_STATE = "training_state.pt"
#: Optimisers by name, over the parameters that train.
OPTIMISERS: dict[str, Callable[[list[dict[str, Any]], float], torch.optim.Optimizer]] = {
    "adamw": lambda params, lr: torch.optim.AdamW(params, lr=lr, weight_decay=1e-4),
    "adam": lambda params, lr: torch.optim.Adam(params, lr=lr, weight_decay=1e-4),
    "sgd": lambda params, lr: torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=1e-4),
}
#: metrics.json keys every kind writes, beside the loss (and its parts) and the validation scores.
COUNTS = ("epoch", "steps", "seconds")


@dataclasses.dataclass(frozen=True)
class Schedule:
    """How long and how fast; what is None comes from the kind's defaults (`epochs` only when no
    `minutes` are given)."""
    epochs: int | None = None
    minutes: float | None = None
    batch: int | None = None
    lr: float | None = None
    optimiser: str | None = None

    def filled(self, kind: ModelKind) -> Schedule:
        d = kind.defaults
        optimiser = self.optimiser or d.optimiser
        if optimiser not in OPTIMISERS:
            raise UserError(f"the optimiser must be one of {', '.join(OPTIMISERS)}, not {optimiser!r}")
        return Schedule(self.epochs if self.epochs is not None or self.minutes is not None else d.epochs,
                        self.minutes, self.batch or d.batch,
                        self.lr or d.rates.get(optimiser, d.rates[d.optimiser]), optimiser)


def train(kind: ModelKind, samples: list, out: Path, config: dict[str, Any], schedule: Schedule = Schedule(),
          device: str = "cpu", amp: bool = False, resume: bool = False, backbone_weights: Path | None = None,
          init: Path | None = None, workers: int = 0, seed: int = 0, validate: Validator | None = None,
          progress: Progress = no_progress, show: Callable[[str], None] = lambda text: None,
          log: Callable[[str], None] = print,
          epoch_done: Callable[[dict[str, Any]], None] = lambda metrics: None) -> dict[str, Any]:
    """Train and write `out` after every epoch; returns the last epoch's metrics. Under torchrun, each
    process trains on its share of the samples with `batch` per step; only the first writes and reports.
    `init`: a model of this kind to start from instead of from scratch. `epoch_done` gets each epoch's
    metrics once they are written (the window's chart)."""
    group, device = join(device)
    if not group.main:
        progress, show, log, validate = no_progress, (lambda text: None), (lambda line: None), None
        epoch_done = lambda metrics: None  # noqa: E731
    torch.manual_seed(seed)
    config = checked_config({**config, "arch": kind.name}, kind, "the training settings")
    plan = schedule.filled(kind)
    model = kind.build(config, backbone_weights)
    if init is not None:
        kind.start_from(model, init)
    on_gpu = device.startswith("cuda")
    amp = amp and on_gpu
    memory_format = torch.channels_last if on_gpu else torch.contiguous_format
    model.to(device, memory_format=memory_format).train()
    groups = [{"params": params, "factor": factor, **({} if factor == 1.0 else {"weight_decay": 0.0})}
              for params, factor in kind.parameter_groups(model) if params]
    optimiser = OPTIMISERS[plan.optimiser](groups, plan.lr)
    scaler = torch.amp.GradScaler("cuda", enabled=amp)
    dataset, collate = kind.training_data(samples, config)
    data = loader(dataset, plan.batch, group, workers, seed, collate)
    state = {"steps": 0, "epoch": 0, "seconds": 0.0, "history": []}
    if resume and (out / RESUME_STATE).is_file():
        state = _restore(out, kind, model, optimiser)
        log(f"resuming after epoch {state['epoch']} ({state['seconds']:.0f} s trained)")
    step = wrap(kind.training_step(model, config, amp, seed + group.rank), group, device)
    budget = Budget(plan.epochs, plan.minutes, len(data), group, device, state["steps"], state["seconds"])
    while budget.share() < 1:
        new_epoch(data, state["epoch"])
        sums: dict[str, float] = {}
        epoch_steps = 0
        for batch in data:
            share = budget.share()
            if share >= 1:
                break
            for param_group in optimiser.param_groups:
                param_group["lr"] = plan.lr * kind.rate(share) * param_group["factor"]
            parts = step(kind.to_device(batch, device, memory_format), share)
            loss = sum(parts.values())
            optimiser.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if kind.defaults.clip is not None:
                scaler.unscale_(optimiser)
                torch.nn.utils.clip_grad_norm_(model.parameters(), kind.defaults.clip)
            scaler.step(optimiser)
            scaler.update()
            budget.steps += 1
            epoch_steps += 1
            for name, value in {"loss": loss, **parts}.items():
                sums[name] = sums.get(name, 0.0) + value.item()
            progress(int(1000 * min(share, 1)), 1000)
            show("loss " + " ".join(f"{k} {v / epoch_steps:.3f}" for k, v in sums.items()))
        state.update(steps=budget.steps, epoch=state["epoch"] + 1, seconds=budget.seconds)
        metrics = {"epoch": state["epoch"], "steps": state["steps"], "seconds": round(state["seconds"], 1),
                   **{name: value / epoch_steps for name, value in sums.items()}}
        if validate is not None:
            metrics.update(validate(model, config))
            model.train()
        state["history"].append(metrics)
        if group.main:
            config = kind.trained_config(config, model)
            _save(out, config, model, optimiser, state)
            epoch_done(metrics)
        log(f"epoch {state['epoch']}: " + ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()  # None: nothing found
                                                      if k not in COUNTS and v is not None)
            + f", {state['seconds']:.0f} s")
    progress(1000, 1000)
    leave(group)
    return state["history"][-1] if state["history"] else {}


def _save(out: Path, config: dict, model: nn.Module, optimiser: torch.optim.Optimizer, state: dict) -> None:
    save_checkpoint(out, config, model)
    with atomic_write(out / "metrics.json") as f:
        json.dump(state["history"], f, indent=1)
    write_png(out / "metrics.png", run_curves(state["history"]))
    with atomic_write(out / RESUME_STATE, "wb") as f:
        torch.save({"optimiser": optimiser.state_dict(), "step": state["steps"], "epoch": state["epoch"],
                    "seconds": state["seconds"]}, f)


def _restore(out: Path, kind: ModelKind, model: nn.Module, optimiser: torch.optim.Optimizer) -> dict:
    """The run where it stopped; a damaged resume file or history is refused in one line."""
    _, weights = read_model(out, kind)
    load_matching(model, weights, out)
    try:
        saved = torch.load(out / RESUME_STATE, map_location="cpu", weights_only=True)
        optimiser.load_state_dict(saved["optimiser"])
        counts = {"steps": int(saved["step"]), "epoch": int(saved["epoch"]), "seconds": float(saved["seconds"])}
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
