"""`annotator prelabel` in a background thread of the window: the person labels on while a detector
suggests on the other images. The worker has its own connection to the project (SQLite in WAL mode
takes both), writes suggestions only, and stops between images when asked; a later run resumes."""
from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from converters import UserError
from converters.errors import Cancelled

from ..prelabel import PrelabelResult, prelabel
from ..store import Project


class PrelabelWorker(QObject):
    """`changed` fires (from the worker thread, without arguments) after every image and at the end;
    the window then reads `done`, `total` and, once finished, `outcome`. No Python object crosses a
    queued Qt signal, for the reason in `maskworker`."""

    changed = Signal()

    def __init__(self) -> None:
        super().__init__()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="prelabel")
        self._stop = threading.Event()
        self._job: Future | None = None
        self.done = self.total = 0
        self.outcome: PrelabelResult | str | None = None  # the result, or what went wrong

    def running(self) -> bool:
        return self._job is not None and not self._job.done()

    def start(self, project: Path, model: Path, min_score: float) -> None:
        """Suggest on the images not yet done or skipped, with the detector in run directory `model`."""
        if self.running():
            raise UserError("pre-labelling is already running")
        self._stop.clear()
        self.done = self.total = 0
        self.outcome = None
        self._job = self._pool.submit(self._run, project, model, min_score)

    def stop(self) -> None:
        """Stop after the image in hand; what was suggested so far stays."""
        self._stop.set()

    def _run(self, project_path: Path, model: Path, min_score: float) -> None:
        try:
            from detectors.device import default_device
            from detectors.predictor import Predictor

            predictor = Predictor.load(model, default_device())
            with Project.open(project_path) as project:
                self.outcome = prelabel(project, predictor, str(model.resolve()), min_score, "todo", self._progress)
        except Cancelled:
            self.outcome = "pre-labelling stopped; run it again to go on"
        except UserError as e:
            self.outcome = str(e)
        except Exception as e:  # the window keeps going and says what happened
            self.outcome = f"pre-labelling failed: {type(e).__name__}: {e}"
        self.changed.emit()

    def _progress(self, done: int, total: int) -> None:
        if self._stop.is_set():
            raise Cancelled()
        self.done, self.total = done, total
        self.changed.emit()

    def close(self) -> None:
        self.stop()
        self._pool.shutdown(wait=True, cancel_futures=True)
