"""Training for the window, in a process of its own: the window stays responsive while it trains, and a
crash in training cannot take the window down. The window writes the request into a new run directory
and starts `python -m annotator.training_process RUN_DIR [--resume]`; the process reports as one JSON
object per line on stdout:

    {"line": "..."}            what the command line would print
    {"progress": [done, total]}
    {"epoch": {...}}           an epoch's metrics, once its checkpoint and metrics.png are written
    {"finished": {...}}        the last epoch's metrics; the process exits 0
    {"error": "..."}           one line; the process exits non-zero

Stopping it (SIGTERM) loses at most the epoch in hand: every epoch's checkpoint is written whole."""
from __future__ import annotations

import dataclasses
import json
import os
import signal
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from converters import UserError

from .training import TrainingRequest, run_training

#: Progress lines at most this often: the window redraws its bar from them.
PROGRESS_EVERY_S = 0.2


def command(run: Path, resume: bool = False) -> list[str]:
    """The argument list that trains the request in `run` (the window's process runs this)."""
    return [sys.executable, "-m", "annotator.training_process", str(run), *(["--resume"] if resume else [])]


def read_event(line: str) -> dict[str, Any] | None:
    """One reported line as an event; None for a line that is not one (a library's warning on stdout)."""
    try:
        event = json.loads(line)
    except ValueError:
        return None
    return event if isinstance(event, dict) and len(event) == 1 else None


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        print("usage: python -m annotator.training_process RUN_DIR [--resume]", file=sys.stderr)
        return 2
    _yield_to_the_window()
    _end_with_the_window()
    signal.signal(signal.SIGTERM, lambda number, frame: sys.exit(128 + number))  # Stop: files written whole
    emit = _emitter()
    try:
        request = TrainingRequest.of_run(Path(args[0]))
        request = dataclasses.replace(request, resume="--resume" in args[1:])
        last = [0.0]

        def progress(done: int, total: int) -> None:
            now = time.monotonic()
            if now - last[0] >= PROGRESS_EVERY_S or done >= total:
                last[0] = now
                emit(progress=[done, total])
        metrics = run_training(request, say=lambda line: emit(line=line), progress=progress,
                               epoch_done=lambda m: emit(epoch=m))
    except UserError as e:
        emit(error=str(e))
        return 2
    except Exception as e:  # the window says it in one line; the trace goes to stderr, which it keeps
        traceback.print_exc()
        emit(error=f"training failed: {type(e).__name__}: {e}")
        return 1
    emit(finished=metrics)
    return 0


def _emitter():
    out = sys.stdout

    def emit(**event: Any) -> None:
        out.write(json.dumps(event) + "\n")
        out.flush()
    return emit


def _yield_to_the_window() -> None:
    """A lower priority and one core fewer than torch would take, so the window's clicks are served first."""
    import torch

    os.nice(10)
    torch.set_num_threads(max(1, (os.cpu_count() or 2) - 1))


def _end_with_the_window() -> None:
    """On Linux, a window killed outright takes its training with it, instead of leaving it running
    unseen (the last epoch stays, and Resume goes on from it)."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


if __name__ == "__main__":
    sys.exit(main())
