"""One training loop for every model kind (`detectors.kinds`): processes under torchrun
(DistributedDataParallel, `distributed`), the time budget (`Budget`: by epochs or by the clock, the
rate schedule reading the share done either way), mixed precision and channels-last on a GPU, gradient
clipping where the kind asks for it, a guard against divergence (`guard`), and after every epoch the
state to resume from, metrics.json, its curves (metrics.png), and the model if it is the best so far
on the held-out labels. `resume` continues where a killed run stopped, on the same
schedule. The kind supplies the network, the data, the loss and the rate's shape; the loop knows none
of them."""
from __future__ import annotations

import dataclasses
import functools
import json
import math
import time
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
from .checkpoints import CONFIG, WEIGHTS, load_matching, save_checkpoint
from .configs import checked_config, read_model
from .device import reduced_dtype, training_precision
from .distributed import join, leave, loader, mean_of, new_epoch, wrap
from .guard import Diverged, LossGuard, Snapshot
from .kinds.base import ModelKind, Validator
from .memory import sample_side

RESUME_STATE = "training_state.pt"
#: The resume state is written at most this often (and at the end, and for a new best held-out epoch).
SAVE_EVERY_S = 30.0
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
        """The kind's defaults for what is None; a number out of its range is refused in one line before
        anything is written (a negative budget once made the rate negative, and the loss grew to 9e9
        while each epoch overwrote the last good one)."""
        d = kind.defaults
        optimiser = self.optimiser or d.optimiser
        if optimiser not in OPTIMISERS:
            raise UserError(f"the optimiser must be one of {', '.join(OPTIMISERS)}, not {optimiser!r}")
        _check("--epochs", self.epochs, 1, MAX_EPOCHS, whole=True)
        _check("--minutes", self.minutes, 0, MAX_MINUTES, low_allowed=False)
        _check("--batch", self.batch, 1, MAX_BATCH, whole=True)
        _check("--lr", self.lr, 0, MAX_RATE, low_allowed=False)
        return Schedule(self.epochs if self.epochs is not None or self.minutes is not None else d.epochs,
                        self.minutes, self.batch or d.batch,
                        self.lr or d.rates.get(optimiser, d.rates[d.optimiser]), optimiser)


MAX_EPOCHS, MAX_MINUTES, MAX_BATCH, MAX_RATE = 100_000, 7 * 24 * 60, 1024, 1.0


def _check(flag: str, value: float | None, low: float, high: float, whole: bool = False,
           low_allowed: bool = True) -> None:
    """`value` (None: not given) must be a finite number from `low` (or above it) to `high`."""
    if value is None:
        return
    above = f"from {low:g}" if low_allowed else f"above {low:g}"
    kind = "a whole number" if whole else "a number"
    fits = math.isfinite(value) and (value >= low if low_allowed else value > low) and value <= high
    if not fits or (whole and value != int(value)):
        raise UserError(f"{flag} must be {kind} {above} to {high:g}, not {value:g}")


def train(kind: ModelKind, samples: list, out: Path, config: dict[str, Any], schedule: Schedule = Schedule(),
          device: str = "cpu", amp: bool = False, resume: bool = False, backbone_weights: Path | None = None,
          init: Path | None = None, workers: int = 0, seed: int = 0, validate: Validator | None = None,
          progress: Progress = no_progress, show: Callable[[str], None] = lambda text: None,
          log: Callable[[str], None] = print,
          epoch_done: Callable[[dict[str, Any]], None] = lambda metrics: None) -> dict[str, Any]:
    """Train and write `out` after every epoch; returns the metrics of the epoch kept. `amp`: the network
    in reduced precision where that is fast (float16 with a gradient scaler on a GPU, bfloat16 on a CPU
    that has it in hardware; `device.training_precision`), else float32. Under torchrun,
    each process trains on its share of the samples with `batch` per step; only the first writes and
    reports. `init`: a model of this kind to start from instead of from scratch. `epoch_done` gets each
    epoch's metrics once they are written (the window's chart).

    The model written (config.json and model.safetensors, what pre-labelling and eval use) is the epoch
    that scored best on the held-out labels (`ModelKind.fitness`; without them, the last); config.json
    says which (`epoch`). The last epoch, with the optimiser and the history, is RESUME_STATE, one file
    written whole, which `resume` goes on from. `LossGuard` refuses steps and epochs that diverge."""
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
    amp = amp and reduced_dtype(torch.device(device)) is not None
    if amp and not on_gpu and sample_side(config) < MIN_BF16_SIDE:
        log(f"training in float32: bfloat16 needs samples of {MIN_BF16_SIDE} px or more")
        amp = False
    memory_format = torch.channels_last if amp or on_gpu else torch.contiguous_format
    model.to(device, memory_format=memory_format).train()
    groups = [{"params": params, "factor": factor, **({} if factor == 1.0 else {"weight_decay": 0.0})}
              for params, factor in kind.parameter_groups(model) if params]
    optimiser = OPTIMISERS[plan.optimiser](groups, plan.lr)
    scaler = torch.amp.GradScaler("cuda", enabled=amp and on_gpu)  # bfloat16 on a CPU needs none
    dataset, collate = kind.training_data(samples, config)
    data = loader(dataset, plan.batch, group, workers, seed, collate)
    if group.main:
        _clear_leftovers(out)
    state: dict[str, Any] = {"steps": 0, "epoch": 0, "seconds": 0.0, "history": [], "kept": None, "rate_scale": 1.0}
    if resume and (out / RESUME_STATE).is_file():
        state = _restore(out, kind, model, optimiser)
        log(f"resuming after epoch {state['epoch']} ({state['seconds']:.0f} s trained)")
    guard = LossGuard(rate_scale=state["rate_scale"])
    kept = Snapshot.of(model, optimiser)
    kind_step = kind.training_step(model, config, seed + group.rank)
    kind_step.precision = functools.partial(training_precision, torch.device(device), amp)  # its loss: float32
    step = wrap(kind_step, group, device)
    budget = Budget(plan.epochs, plan.minutes, len(data), group, device, state["steps"], state["seconds"])
    writer = _Writer(out)
    try:  # the last epoch is written however the loop ends (a stop, a divergence it gave up on)
        while budget.share() < 1:
            new_epoch(data, state["epoch"])
            guard.new_epoch()
            sums: dict[str, float] = {}
            epoch_steps = 0
            try:
                for batch in data:
                    share = budget.share()
                    if share >= 1:
                        break
                    for param_group in optimiser.param_groups:
                        param_group["lr"] = plan.lr * guard.rate_scale * kind.rate(share) * param_group["factor"]
                    parts = step(kind.to_device(batch, device, memory_format), share)
                    loss = sum(parts.values())
                    optimiser.zero_grad(set_to_none=True)
                    scaler.scale(loss).backward()
                    scaler.unscale_(optimiser)
                    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), kind.defaults.clip or math.inf)
                    budget.steps += 1
                    progress(int(1000 * min(share, 1)), 1000)
                    # with float16 an infinite gradient is the scaler's to skip (it lowers its scale), not a divergence
                    if guard.refuses(mean_of(float(loss.detach()), group, device),
                                     0.0 if scaler.is_enabled() else float(norm)):
                        optimiser.zero_grad(set_to_none=True)
                        scaler.update()
                        continue
                    scaler.step(optimiser)
                    scaler.update()
                    epoch_steps += 1
                    for name, value in {"loss": loss, **parts}.items():
                        sums[name] = sums.get(name, 0.0) + value.item()
                    show("loss " + " ".join(f"{k} {v / epoch_steps:.3f}" for k, v in sums.items()))
                if not epoch_steps:
                    continue
                guard.epoch_done(mean_of(sums["loss"] / epoch_steps, group, device), model)
            except Diverged as e:
                kept.restore(model, optimiser)
                guard.went_back(str(e))
                state["rate_scale"] = guard.rate_scale
                log(f"training diverged ({e}): back to the end of epoch {state['epoch']}, at "
                    f"{guard.rate_scale:g} of the learning rate")
                continue
            state.update(steps=budget.steps, epoch=state["epoch"] + 1, seconds=budget.seconds)
            metrics = {"epoch": state["epoch"], "steps": state["steps"], "seconds": round(state["seconds"], 1),
                       **{name: value / epoch_steps for name, value in sums.items()}}
            if guard.skipped:
                metrics["skipped_steps"] = guard.skipped
            if validate is not None:
                metrics.update(validate(model, config))
                model.train()
            state["history"].append(metrics)
            best = _better(kind, metrics, state)
            if best:
                state["kept"] = state["epoch"]
            kept = Snapshot.of(model, optimiser)
            if group.main:
                config = kind.trained_config(config, model)
                writer.epoch(config, kept, state, best, soon=best and validate is not None)
                epoch_done(metrics)
            log(f"epoch {state['epoch']}: " + ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()
                                                          if k not in COUNTS and v is not None)  # None: none found
                + f", {state['seconds']:.0f} s" + (" (kept)" if best and validate is not None else ""))
    finally:
        if group.main:
            writer.flush()
    progress(1000, 1000)
    leave(group)
    history = state["history"]
    if not history:  # the time ran out on refused steps: say so rather than end as if trained
        raise UserError("no epoch finished: every step was refused (a loss or gradient that is not a finite "
                        "number); give it more --epochs or --minutes, or lower --lr")
    return history[state["kept"] - 1] if state["kept"] else history[-1]


#: Below this side, the deepest maps are a pixel or less, and oneDNN's bfloat16 backward pass gave
#: NaN or infinite gradients in the first steps of 4 seeds in 8 at 64 px (none at 128 or 256).
MIN_BF16_SIDE = 128


def _clear_leftovers(out: Path) -> None:
    """The temporary files of a run killed while it wrote (a resume state is as large as the model)."""
    if out.is_dir():
        for leftover in out.glob(".*.tmp"):
            if leftover.name.startswith(tuple(f".{name}" for name in (RESUME_STATE, WEIGHTS, CONFIG, "metrics."))):
                leftover.unlink(missing_ok=True)


def _better(kind: ModelKind, metrics: dict[str, Any], state: dict[str, Any]) -> bool:
    """Whether this epoch's model is the one to keep: the best held-out score so far, or the last
    without held-out scores."""
    score = kind.fitness(metrics)
    if score is None or state["kept"] is None:
        return True
    best = kind.fitness(state["history"][state["kept"] - 1])
    return best is None or score > best


class _Writer:
    """Writes a run's files: the metrics and their curves after every epoch; the resume state and the
    kept model at most every SAVE_EVERY_S, at once for a new best held-out epoch, and when the loop ends
    however it ends. On a small dataset an epoch is a few steps, and writing the state (the weights and
    the optimiser, three times the model's size) after each took a quarter of the time."""

    def __init__(self, out: Path):
        self.out = out
        self.written = time.monotonic()
        self.pending: dict[str, Any] | None = None

    def epoch(self, config: dict, snapshot: Snapshot, state: dict, best: bool, soon: bool) -> None:
        with atomic_write(self.out / "metrics.json") as f:
            json.dump(state["history"], f, indent=1)
        write_png(self.out / "metrics.png", run_curves(state["history"], state["kept"]))
        model = None if self.pending is None else self.pending["model"]
        if best:
            metrics = state["history"][-1]
            model = ({**config, "epoch": state["epoch"],
                      "held_out": {k: v for k, v in metrics.items() if k.startswith("val_")}}, snapshot.weights)
        self.pending = {"model": model, "snapshot": snapshot,
                        "state": {**state, "history": json.dumps(state["history"])}}
        if soon or time.monotonic() - self.written >= SAVE_EVERY_S:
            self.flush()

    def flush(self) -> None:
        """The resume state first, whole in one file; then the kept model if it changed. A kill between
        them leaves a run that resumes from this epoch with the model of an earlier one, never a model
        without its state."""
        if self.pending is None:
            return
        snapshot, state = self.pending["snapshot"], self.pending["state"]
        with atomic_write(self.out / RESUME_STATE, "wb") as f:
            torch.save({"model": {k: v.cpu() for k, v in snapshot.weights.items()}, "optimiser": snapshot.optimiser,
                        "step": state["steps"], "epoch": state["epoch"], "seconds": state["seconds"],
                        "kept": state["kept"], "rate_scale": state["rate_scale"], "history": state["history"]}, f)
        if self.pending["model"] is not None:
            save_checkpoint(self.out, *self.pending["model"])
        self.pending = None
        self.written = time.monotonic()


def _restore(out: Path, kind: ModelKind, model: nn.Module, optimiser: torch.optim.Optimizer) -> dict:
    """The run where it stopped; a damaged resume file is refused in one line."""
    try:
        saved = torch.load(out / RESUME_STATE, map_location="cpu", weights_only=True)
        if "model" in saved:
            load_matching(model, saved["model"], out / RESUME_STATE)
        else:  # a run from before the state held the weights: its model is its last epoch
            _, weights = read_model(out, kind)
            load_matching(model, weights, out)
        optimiser.load_state_dict(saved["optimiser"])
        counts = {"steps": int(saved["step"]), "epoch": int(saved["epoch"]), "seconds": float(saved["seconds"])}
        history = json.loads(saved["history"]) if "history" in saved else _old_history(out)
        if not isinstance(history, list):
            raise ValueError("its history is not a list of epochs")
        kept = int(saved["kept"]) if saved.get("kept") is not None else (counts["epoch"] or None)
    except UserError:
        raise
    except Exception as e:  # truncated, empty, a pickle that is not plain data, other keys: all one answer
        raise UserError(f"cannot be resumed from ({type(e).__name__}: {str(e)[:120]}): train without --resume, "
                        "or into a new RUN_DIR", out / RESUME_STATE) from None
    return {**counts, "history": history, "kept": kept, "rate_scale": float(saved.get("rate_scale", 1.0))}


def _old_history(out: Path) -> list:
    if not (out / "metrics.json").is_file():
        return []
    try:
        return json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    except ValueError as e:
        raise UserError(f"is not valid JSON: {e}", out / "metrics.json") from None
