"""What a project tells its subscribers after each transaction, so that a view redraws what changed, once,
instead of asking the store again after every action or on a timer (napari's models emit, views follow)."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum


class Part(StrEnum):
    IMAGES = "images"  # which images there are, and each one's status and marks
    CATEGORIES = "categories"
    LABELS = "labels"
    SUGGESTIONS = "suggestions"


@dataclass(frozen=True)
class Change:
    parts: frozenset[Part]
    images: frozenset[int] | None  # the images whose rows or objects changed; None: any of them (an import)


#: Another connection (the command line, a worker) committed: anything may differ, a view reads it all again.
OUTSIDE = Change(frozenset(Part), None)

Subscriber = Callable[[Change], None]


class ChangeLog:
    """Changes gathered into one: what a transaction writes, handed out once it commits, or what the
    transactions of one action in the window wrote, redrawn once when it ends."""

    def __init__(self) -> None:
        self._parts: set[Part] = set()
        self._images: set[int] | None = set()

    def add(self, parts: Iterable[Part], image_ids: Iterable[int] | None = ()) -> None:
        """`image_ids` None: the change may touch any image; empty: none (a category renamed)."""
        self._parts.update(parts)
        if image_ids is None:
            self._images = None
        elif self._images is not None:
            self._images.update(image_ids)

    def merge(self, change: Change) -> None:
        self.add(change.parts, change.images)

    def take(self) -> Change | None:
        """The change gathered since the last take, or None when nothing was written."""
        if not self._parts:
            return None
        change = Change(frozenset(self._parts), None if self._images is None else frozenset(self._images))
        self._parts, self._images = set(), set()
        return change
