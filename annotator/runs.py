"""A project's training runs, for the window's Models panel: where a new one goes, and what each one is
(kind, when, what it trained on, its last validation scores), read from its run directory. A run that
cannot be read is listed with the reason, not left out."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .training import REQUEST_FILE, TRAINED_ON

#: The validation scores the panel shows (all are in metrics.json).
SHOWN_SCORES = ("ap50", "ap", "mean_iou", "steered_iou", "grabcut_iou")
#: A detector whose held-out AP50 is below this finds too few objects to pre-label with: its suggestions
#: would cost a person more time to check than they save.
USEFUL_AP50 = 0.5


@dataclass(frozen=True)
class Run:
    path: Path
    kind: str = ""
    when: str = ""  # the last epoch's time, local
    images: int | None = None  # trained on
    held_out: int | None = None
    epochs: int = 0
    kept: int | None = None  # the epoch whose model the run keeps (its best held-out one)
    scores: dict[str, float] = field(default_factory=dict)  # the kept epoch's val_* (without the prefix)
    has_model: bool = False  # model.safetensors is there: it can be used
    problem: str = ""  # why it cannot be read
    learnt_from: int | None = None  # a learning run's (`annotator.mask_learning`): the masks there when it began

    def described(self) -> str:
        """Two lines for the panel: what and when, then what it trained on and how it scored."""
        if self.problem:
            return f"{self.path.name}\n{self.problem}"
        trained = f"{self.images} images" if self.images is not None else "images unknown"
        if self.held_out:
            trained += f" (+{self.held_out} held out)"
        if self.learnt_from is not None:  # a mask network the window's learning ran: objects, not images
            trained = f"{self.learnt_from} of your masks (the newest quarter held out)"
        scores = self.scores_text()
        epochs = f"{self.epochs} epochs"
        if self.kept and self.kept != self.epochs:
            epochs += f" (epoch {self.kept} kept)"
        kind = f"{self.kind} (learning)" if self.learnt_from is not None else self.kind
        return f"{kind}  {self.when}\n{trained}, {epochs}" + (f", {scores}" if scores else "")

    def verdict(self) -> tuple[bool | None, str]:
        """Whether a detector run is good enough to pre-label with, by its held-out AP50 against
        USEFUL_AP50 (None: no held-out images to tell), and why, in words for the person, with what to
        do when it is not."""
        ap50 = self.scores.get("ap50")
        if ap50 is None:
            return None, ("no images were held out to check the model on (training holds some back from 3 images "
                          "done): look at its suggestions before trusting them")
        held = f"{self.held_out} images" if self.held_out else "images"
        found = f"on the {held} held out it scored AP50 {ap50:.2f} (1 is every object found and nothing else)"
        if ap50 < USEFUL_AP50:
            return False, (f"The model is not good enough to pre-label with yet: {found}. To do better: mark more "
                           f"images done (it trained on {self.images}), train longer, or start from ImageNet weights "
                           "(Train detector, ImageNet weights).")
        score, precision, recall = (self.scores.get(k) for k in ("suggest_score", "suggest_precision",
                                                                  "suggest_recall"))
        if score is not None and precision is not None and recall is not None:
            found += (f"; from a score of {score:.2f} its suggestions found {recall:.0%} of the objects, and "
                      f"{precision:.0%} of them were right")
        return True, found[0].upper() + found[1:] + "."

    def scores_text(self) -> str:
        """The last epoch's held-out scores worth showing: "ap50 0.500, ap 0.310"."""
        return ", ".join(f"{k} {v:.3f}" for k, v in self.scores.items() if v is not None and k in SHOWN_SCORES)


def runs_folder(project: Path) -> Path:
    """Beside the project file, one folder for all its runs (a full path: the settings keep runs)."""
    project = project.resolve()
    return project.with_name(f"{project.stem}-runs")


def new_run(project: Path, kind: str) -> Path:
    """A new, empty run directory named by kind and time (a second in the same second gets a suffix)."""
    folder = runs_folder(project)
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{kind}-{time.strftime('%Y%m%d-%H%M%S')}"
    for k in range(1000):
        path = folder / (stem if k == 0 else f"{stem}-{k}")
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
    raise FileExistsError(folder / stem)


def list_runs(project: Path) -> list[Run]:
    """The project's runs, newest first."""
    folder = runs_folder(project)
    if not folder.is_dir():
        return []
    runs = [read_run(path) for path in folder.iterdir() if path.is_dir()]
    return sorted(runs, key=lambda r: r.path.stat().st_mtime, reverse=True)


def read_run(path: Path) -> Run:
    try:
        request = _json(path / REQUEST_FILE, {})
        config = _json(path / "config.json", {})
        history = _json(path / "metrics.json", [])
    except ValueError as e:
        return Run(path, problem=str(e))
    if not isinstance(request, dict) or not isinstance(config, dict) or not isinstance(history, list) or \
            not isinstance(config.get("arch", ""), str) or not isinstance(request.get("kind", ""), str):
        return Run(path, problem="its request.json, config.json or metrics.json is not what training writes")
    last = history[-1] if history and isinstance(history[-1], dict) else {}
    kept = config.get("epoch")  # the epoch the model files are from; runs before it kept their last
    kept = kept if isinstance(kept, int) and 1 <= kept <= len(history) else None
    scored = history[kept - 1] if kept and isinstance(history[kept - 1], dict) else last
    trained = request.get(TRAINED_ON) or {}
    metrics = path / "metrics.json"
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(metrics.stat().st_mtime)) if metrics.exists() else ""
    return Run(path, kind=str(config.get("arch") or request.get("kind") or ""), when=when,
               images=trained.get("images"), held_out=trained.get("held_out"), epochs=int(last.get("epoch", 0)),
               kept=kept, scores={k.removeprefix("val_"): v for k, v in scored.items() if k.startswith("val_")},
               has_model=(path / "model.safetensors").is_file(),
               learnt_from=_count(trained.get("objects")) if request.get("learning") is True else None)


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _json(path: Path, missing: Any) -> Any:
    """A run's JSON file; a folder, a device or a loop in its place, or a file too large, is a problem
    the panel shows, never a read that does not end."""
    if not path.is_file():
        if path.exists() or path.is_symlink():
            raise ValueError(f"{path.name} is not a regular file")
        return missing
    try:
        if path.stat().st_size > MAX_RUN_FILE:
            raise ValueError(f"{path.name} is too large to be what training writes")
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError, RecursionError) as e:
        raise ValueError(f"{path.name} cannot be read ({str(e)[:120]})") from None


MAX_RUN_FILE = 50_000_000
