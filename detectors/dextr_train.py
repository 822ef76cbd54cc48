"""Training DEXTR on labelled objects: Adam with a poly-decaying rate, the balanced loss on the logits
scaled up to the crop, a checkpoint after every epoch. `minutes` fits the whole schedule into a time
budget (the rate decays with the time spent, not the epochs), for a quick retrain between rounds.
Under torchrun, DistributedDataParallel (`distributed`).

A network with the background channel learns from correction points: before each step, a pass without
gradients shows where the network is wrong now, and each object gets up to three points in those
regions (`with_corrections`), as interactive segmentation trains (RITM's iterative sampling, one round).
A quarter of the objects get none, so the network still works with the four clicks alone."""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from converters import Box
from converters.atomic import atomic_write
from converters.masks import mask_iou
from converters.progress import Progress, no_progress

from .backbones import load_imagenet, widened_inputs
from .budget import Budget
from .checkpoints import load_matching, save_checkpoint
from .configs import checked_config
from .dextr import (
    THRESHOLD,
    WITH_BACKGROUND,
    DextrNet,
    DextrPredictor,
    balanced_bce,
    click_heatmap,
    dextr_net,
    read_dextr,
)
from .dextr_data import Object, ObjectCrops
from .distributed import join, leave, loader, new_epoch, wrap
from .maskers.simulate import sampled_corrections, simulated_clicks

POLY_POWER = 0.9
#: The chances that a training object gets 0, 1, 2 or 3 correction points.
CORRECTION_COUNTS = (0.25, 0.25, 0.25, 0.25)


def train_dextr(objects: list[Object], out: Path, config: dict[str, Any], epochs: int | None = None,
                minutes: float | None = None, batch: int = 8, lr: float = 1e-3, device: str = "cpu",
                backbone_weights: Path | None = None, init: Path | None = None,
                val_objects: list[Object] | None = None, workers: int = 0,
                seed: int = 0, progress: Progress = no_progress, show: Callable[[str], None] = lambda text: None,
                log: Callable[[str], None] = print) -> dict[str, Any]:
    """Train and write `out` (config.json, model.safetensors, metrics.json); returns the last metrics.
    `init` is a DEXTR model to start from (ours or an official file; a first layer with fewer inputs is
    widened). Under torchrun, each process trains on its share of the objects; only the first writes
    and reports."""
    group, device = join(device)
    if not group.main:
        progress, show, log, val_objects = no_progress, (lambda text: None), (lambda line: None), None
    torch.manual_seed(seed)
    config = checked_config({**config, "arch": "dextr"}, "dextr", "the training settings")
    model = dextr_net(config, freeze_bn=backbone_weights is not None)
    if backbone_weights is not None:
        load_imagenet(model, backbone_weights)
    if init is not None:
        load_matching(model, widened_inputs(read_dextr(init)[1], model), init)
    model.to(device).train()
    corrected = config["inputs"] == WITH_BACKGROUND
    data = loader(ObjectCrops(objects, config["crop"], inputs=config["inputs"]), batch, group, workers, seed)
    rng = np.random.default_rng(seed + group.rank)
    optimiser = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr, weight_decay=1e-4)
    network = wrap(model, group, device)
    budget = Budget(epochs, minutes, len(data), group, device)
    epoch, history = 0, []
    while budget.share() < 1:
        new_epoch(data, epoch)
        epoch += 1
        losses = []
        for x, y, boxes in data:
            done = budget.share()
            if done >= 1:
                break
            for param_group in optimiser.param_groups:
                param_group["lr"] = lr * (1 - done) ** POLY_POWER
            x, y = x.to(device), y.to(device)
            if corrected:
                x = with_corrections(model, x, y, boxes, rng)
            logits = network(x)
            logits = F.interpolate(logits, size=y.shape[-2:], mode="bilinear", align_corners=True)
            loss = balanced_bce(logits, y)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            losses.append(loss.item())
            budget.steps += 1
            progress(int(1000 * min(done, 1)), 1000)
            show(f"loss {np.mean(losses):.4f}")
        metrics = {"epoch": epoch, "steps": budget.steps, "loss": float(np.mean(losses)) if losses else None,
                   "seconds": round(budget.seconds, 1)}
        if val_objects:
            metrics["val_mean_iou"] = mean_iou(DextrPredictor(model, config["crop"], device), val_objects)
            model.train()
        history.append(metrics)
        if group.main:
            save_checkpoint(out, config, model)
            with atomic_write(out / "metrics.json") as f:
                json.dump(history, f, indent=1)
        log("epoch {epoch}: loss {loss:.4f}, {seconds:.0f} s".format(**{**metrics, "loss": metrics["loss"] or 0})
            + (f", val mean IoU {metrics['val_mean_iou']:.3f}" if "val_mean_iou" in metrics else ""))
    progress(1000, 1000)
    leave(group)
    return history[-1] if history else {}


def with_corrections(model: DextrNet, x: torch.Tensor, y: torch.Tensor, boxes: torch.Tensor,
                     rng: np.random.Generator) -> torch.Tensor:
    """The batch with correction points where `model`, as it is now, is wrong inside each object's box:
    foreground points drawn into the clicks' channel, background points into the last one."""
    with torch.no_grad():
        logits = F.interpolate(model(x), size=y.shape[-2:], mode="bilinear", align_corners=True)
    made = (torch.sigmoid(logits)[:, 0] > THRESHOLD).cpu().numpy()
    truth = y[:, 0].cpu().numpy() > 0.5
    x = x.clone()
    for k, box in enumerate(boxes.tolist()):
        count = int(rng.choice(len(CORRECTION_COUNTS), p=CORRECTION_COUNTS))
        points = sampled_corrections(made[k], truth[k], Box(*box), count, rng)
        for channel, foreground in ((3, True), (4, False)):
            chosen = [(c.x, c.y) for c in points if c.foreground is foreground]
            if chosen:
                heat = torch.from_numpy(click_heatmap(np.array(chosen), x.shape[-1])).to(x)
                x[k, channel] = torch.maximum(x[k, channel], heat)
    return x


def mean_iou(predictor: DextrPredictor, objects: list[Object]) -> float:
    """Exact clicks from each mask, the network's mask, IoU; averaged."""
    scores = []
    for image, mask in objects:
        [made] = predictor(image, [simulated_clicks(mask)])
        scores.append(mask_iou(made, mask))
    return float(np.mean(scores))
