"""Training DEXTR on labelled objects: Adam with a poly-decaying rate, the balanced loss on the logits
scaled up to the crop, a checkpoint after every epoch. `minutes` fits the whole schedule into a time
budget (the rate decays with the time spent, not the epochs), for a quick retrain between rounds.
Under torchrun, DistributedDataParallel (`distributed`)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F

from converters.atomic import atomic_write
from converters.masks import mask_iou
from converters.progress import Progress, no_progress

from .backbones import load_imagenet
from .budget import Budget
from .checkpoints import save_checkpoint
from .dextr import DextrNet, DextrPredictor, balanced_bce
from .dextr_data import Object, ObjectCrops
from .distributed import join, leave, loader, new_epoch, wrap
from .maskers.simulate import simulated_clicks

POLY_POWER = 0.9


def train_dextr(objects: list[Object], out: Path, config: dict[str, Any], epochs: int | None = None,
                minutes: float | None = None, batch: int = 8, lr: float = 1e-3, device: str = "cpu",
                backbone_weights: Path | None = None, val_objects: list[Object] | None = None, workers: int = 0,
                seed: int = 0, progress: Progress = no_progress, show: Callable[[str], None] = lambda text: None,
                log: Callable[[str], None] = print) -> dict[str, Any]:
    """Train and write `out` (config.json, model.safetensors, metrics.json); returns the last metrics.
    Under torchrun, each process trains on its share of the objects; only the first writes and reports."""
    group, device = join(device)
    if not group.main:
        progress, show, log, val_objects = no_progress, (lambda text: None), (lambda line: None), None
    torch.manual_seed(seed)
    model = DextrNet(config["depth"], config["output_stride"], freeze_bn=backbone_weights is not None)
    if backbone_weights is not None:
        load_imagenet(model, backbone_weights)
    model.to(device).train()
    data = loader(ObjectCrops(objects, config["crop"]), batch, group, workers, seed)
    optimiser = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr, weight_decay=1e-4)
    network = wrap(model, group, device)
    budget = Budget(epochs, minutes, len(data), group, device)
    epoch, history = 0, []
    while budget.share() < 1:
        new_epoch(data, epoch)
        epoch += 1
        losses = []
        for x, y in data:
            done = budget.share()
            if done >= 1:
                break
            for param_group in optimiser.param_groups:
                param_group["lr"] = lr * (1 - done) ** POLY_POWER
            logits = network(x.to(device))
            logits = F.interpolate(logits, size=y.shape[-2:], mode="bilinear", align_corners=True)
            loss = balanced_bce(logits, y.to(device))
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


def mean_iou(predictor: DextrPredictor, objects: list[Object]) -> float:
    """Exact clicks from each mask, the network's mask, IoU; averaged."""
    scores = []
    for image, mask in objects:
        [made] = predictor(image, [simulated_clicks(mask)])
        scores.append(mask_iou(made, mask))
    return float(np.mean(scores))
