"""The one progress callback type for long work (import, export, inference, training).

A callback receives (done, total) and may raise `Cancelled` to stop the work. The terminal shows it as
a progress bar (annotator.progress) and the GUI as a progress widget.
"""
from __future__ import annotations

import contextlib
import gc
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

Progress = Callable[[int, int], None]

T = TypeVar("T")


def no_progress(done: int, total: int) -> None:
    """The default callback: report nothing."""


def tracked(items: Iterable[T], total: int, progress: Progress, every: int = 1000) -> Iterator[T]:
    """Yield items, reporting progress every `every` items and once at the end."""
    done = 0
    progress(0, total)
    for item in items:
        yield item
        done += 1
        if done % every == 0:
            progress(done, total)
    progress(done, total)


@contextlib.contextmanager
def bulk() -> Iterator[None]:
    """Keep the cyclic garbage collector off millions of acyclic objects (a dataset being built or written).

    Paused inside; on the way out the objects made so far are frozen (`gc.freeze`), so no later full
    collection rescans them: at a million labels such passes cost longer than the export itself.
    Frozen objects are still freed by reference counting as soon as nothing holds them.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()
