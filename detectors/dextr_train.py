"""Training DEXTR on labelled objects: Adam with a poly-decaying rate, the balanced loss on the logits
scaled up to the crop, a checkpoint after every epoch. `minutes` fits the whole schedule into a time
budget (the rate decays with the time spent, not the epochs), for a quick retrain between rounds."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from converters.atomic import atomic_write
from converters.masks import mask_iou
from converters.progress import Progress, no_progress

from .backbones import load_imagenet
from .checkpoints import save_checkpoint
from .dextr import DextrNet, DextrPredictor, balanced_bce
from .dextr_data import Object, ObjectCrops
from .maskers.simulate import simulated_clicks

POLY_POWER = 0.9


def train_dextr(objects: list[Object], out: Path, config: dict[str, Any], epochs: int | None = None,
                minutes: float | None = None, batch: int = 8, lr: float = 1e-3, device: str = "cpu",
                backbone_weights: Path | None = None, val_objects: list[Object] | None = None, workers: int = 0,
                seed: int = 0, progress: Progress = no_progress, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Train and write `out` (config.json, model.safetensors, metrics.json); returns the last metrics."""
    if (epochs is None) == (minutes is None):
        raise ValueError("give either epochs or minutes")
    torch.manual_seed(seed)
    model = DextrNet(config["depth"], config["output_stride"], freeze_bn=backbone_weights is not None)
    if backbone_weights is not None:
        load_imagenet(model, backbone_weights)
    model.to(device).train()
    loader = DataLoader(ObjectCrops(objects, config["crop"]), batch_size=min(batch, len(objects)), shuffle=True,
                        drop_last=True, num_workers=workers, persistent_workers=workers > 0)
    optimiser = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr, weight_decay=1e-4)
    budget = minutes * 60 if minutes is not None else None
    total_steps = epochs * len(loader) if epochs is not None else None
    start, step, epoch, history = time.monotonic(), 0, 0, []
    while True:
        epoch += 1
        losses = []
        for x, y in loader:
            done = (time.monotonic() - start) / budget if budget else step / total_steps
            if done >= 1:
                break
            for group in optimiser.param_groups:
                group["lr"] = lr * (1 - done) ** POLY_POWER
            logits = model(x.to(device))
            logits = F.interpolate(logits, size=y.shape[-2:], mode="bilinear", align_corners=True)
            loss = balanced_bce(logits, y.to(device))
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            losses.append(loss.item())
            step += 1
            progress(int(1000 * min(done, 1)), 1000)
        metrics = {"epoch": epoch, "steps": step, "loss": float(np.mean(losses)) if losses else None,
                   "seconds": round(time.monotonic() - start, 1)}
        if val_objects:
            metrics["val_mean_iou"] = mean_iou(DextrPredictor(model, config["crop"], device), val_objects)
            model.train()
        history.append(metrics)
        save_checkpoint(out, config, model)
        with atomic_write(out / "metrics.json") as f:
            json.dump(history, f, indent=1)
        log("epoch {epoch}: loss {loss:.4f}, {seconds:.0f} s".format(**{**metrics, "loss": metrics["loss"] or 0})
            + (f", val mean IoU {metrics['val_mean_iou']:.3f}" if "val_mean_iou" in metrics else ""))
        finished = (time.monotonic() - start >= budget) if budget else step >= total_steps
        if finished:
            progress(1000, 1000)
            return metrics


def mean_iou(predictor: DextrPredictor, objects: list[Object]) -> float:
    """Exact clicks from each mask, the network's mask, IoU; averaged."""
    scores = []
    for image, mask in objects:
        [made] = predictor(image, [simulated_clicks(mask)])
        scores.append(mask_iou(made, mask))
    return float(np.mean(scores))
