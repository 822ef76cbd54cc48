"""Long work in a background thread of the window (pre-labelling, export): the person labels on
meanwhile. The job reports through the one progress callback and stops between steps when asked."""
from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from PySide6.QtCore import QObject, Signal

from converters import UserError
from converters.errors import Cancelled
from converters.progress import Progress


class BackgroundJob(QObject):
    """`changed` fires (from the worker thread, without arguments) after every step and at the end; the
    window then reads `done`, `total` and, once finished, `outcome`: the work's result, or a line saying
    what went wrong. No Python object crosses a queued Qt signal: PySide6 does not reference-count those
    safely across threads (it crashed the latency benchmark)."""

    changed = Signal()

    def __init__(self, name: str, stopped: str) -> None:
        super().__init__()
        self.name, self._stopped = name, stopped
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._stop = threading.Event()
        self._job: Future | None = None
        self.done = self.total = 0
        self.outcome: Any = None

    def running(self) -> bool:
        return self._job is not None and not self._job.done()

    def start(self, work: Callable[[Progress], Any]) -> None:
        """Run `work(progress)`; each project connection it needs it opens itself, in its thread."""
        if self.running():
            raise UserError(f"{self.name} is already running")
        self._stop.clear()
        self.done = self.total = 0
        self.outcome = None
        self._job = self._pool.submit(self._run, work)

    def stop(self) -> None:
        """Stop after the step in hand; what was done so far stays."""
        self._stop.set()

    def _run(self, work: Callable[[Progress], Any]) -> None:
        try:
            self.outcome = work(self._progress)
        except Cancelled:
            self.outcome = self._stopped
        except UserError as e:
            self.outcome = str(e)
        except Exception as e:  # the window keeps going and says what happened
            self.outcome = f"{self.name} failed: {type(e).__name__}: {e}"
        self.changed.emit()

    def _progress(self, done: int, total: int) -> None:
        if self._stop.is_set():
            raise Cancelled()
        self.done, self.total = done, total
        self.changed.emit()

    def close(self) -> None:
        self.stop()
        self._pool.shutdown(wait=True, cancel_futures=True)
