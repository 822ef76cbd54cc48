"""The terminal face of the progress callback: a bar with counts and time left on stderr."""
from __future__ import annotations

import sys
import time
from typing import TextIO


def time_left(elapsed: float, share: float, share_at_start: float = 0.0) -> float | None:
    """Seconds still to go at the pace since the start (a resumed run starts part way); None before any
    pace is known or once it is done."""
    gained = share - share_at_start
    if gained <= 0 or share >= 1:
        return None
    return elapsed / gained * (1 - share)


def clock_text(seconds: float) -> str:
    """3:05 or 1:02:05."""
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class TerminalProgress:
    """A `converters.progress.Progress` callback that draws a bar when stderr is a terminal."""

    def __init__(self, label: str, stream: TextIO | None = None, width: int = 30):
        self.label = label
        self.stream = stream or sys.stderr
        self.width = width
        self.start = time.monotonic()
        self._last_draw = 0.0
        self._drawn = False
        self.enabled = self.stream.isatty()
        self.detail = ""

    def describe(self, detail: str) -> None:
        """Text drawn after the bar from the next update on, such as training's running loss."""
        self.detail = detail

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if not self.enabled or (now - self._last_draw < 0.1 and done < total):
            return
        self._last_draw = now
        share = done / total if total else 1.0
        bar = "#" * int(share * self.width)
        elapsed = now - self.start
        remaining = time_left(elapsed, share)
        left = f"{remaining:5.1f} s left" if remaining is not None else f"{elapsed:5.1f} s"
        detail = f" {self.detail}" if self.detail else ""
        self.stream.write(f"\r{self.label} [{bar:<{self.width}}] {done}/{total} {left}{detail}\x1b[K")
        self.stream.flush()
        self._drawn = True

    def close(self) -> None:
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False

    def __enter__(self) -> TerminalProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
