"""How long a person works on each object, and how the object came to be: the numbers that show whether
pre-labelling pays (extreme clicking is about 7 s a box; accepting a suggestion should be far less).

A person's actions in the session come one after another; each is about one object. The gap since the
previous action counts toward an object when that action was on the same object (the 2nd to 4th clicks,
the edits after a selection), or when the action ends the work on it without a touch before (Enter on
a suggestion: the gap is the time spent judging it). The first click of a new object, or the first touch
of another, starts counting: the search for the next object is not the object's time. A gap of over a
minute is a pause and is not counted."""
from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Hashable
from enum import StrEnum

#: Seconds without an action after which the person is taken to have paused.
IDLE_SECONDS = 60.0


class Origin(StrEnum):
    CLICKED = "clicked"  # made by a person: four clicks, or painted
    ACCEPTED = "accepted"  # a suggestion accepted as it was
    EDITED = "edited"  # a suggestion changed by a person, before or after it was accepted


class Stopwatch:
    """The gaps between a person's actions, charged to the object each action is about."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, idle: float = IDLE_SECONDS):
        self._clock, self._idle = clock, idle
        self._last: tuple[Hashable, float] | None = None

    def lap(self, about: Hashable, ends: bool = False) -> float:
        """Seconds to charge to `about` for the action now: the gap since the previous action if that
        was on the same object, or if this action `ends` the work (an accept)."""
        now = self._clock()
        last, self._last = self._last, (about, now)
        if last is None or now - last[1] > self._idle or (last[0] != about and not ends):
            return 0.0
        return now - last[1]

    def rename(self, about: Hashable) -> None:
        """The object the last action was about now goes by another key (clicks became a label)."""
        if self._last is not None:
            self._last = (about, self._last[1])


def summary(seconds_by_origin: dict[Origin, list[float]]) -> dict[str, dict[str, float | int]]:
    """Per origin: how many objects and their median seconds."""
    return {origin.value: {"objects": len(seconds), "median_seconds": statistics.median(seconds) if seconds else 0.0}
            for origin, seconds in ((o, seconds_by_origin.get(o, [])) for o in Origin)}


def described(effort: dict[str, dict[str, float | int]]) -> str:
    """One line for `annotator stats` and the window's About."""
    parts = [f"{origin} {e['median_seconds']:.1f} s ({e['objects']})" for origin, e in effort.items() if e["objects"]]
    supplied = effort[Origin.ACCEPTED]["objects"] + effort[Origin.EDITED]["objects"]
    timed = sum(e["objects"] for e in effort.values())
    if not timed:
        return "time per object: none timed yet (objects made in the window are timed)"
    return f"median time per object: {', '.join(parts)}; the model supplied {supplied} of the {timed} timed objects"
