"""Which images the image list shows (filter and search), in which order, and the counts above it."""
from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass

from converters import ImageRecord, ImageStatus

FILTERS = ("all", "to do", "not started", "in progress", "done", "skipped", "with suggestions")
#: The list's orders: the project's (by name), or the ranks `annotator rank` stored, highest first.
ORDERS = ("by name", "by rank")
#: The mark before each name in the list.
MARKS = {ImageStatus.TODO: "·", ImageStatus.IN_PROGRESS: "◐", ImageStatus.DONE: "✓", ImageStatus.SKIPPED: "⊘"}


def shown_images(images: list[ImageRecord], pending: dict[int, int], search: str = "",
                 kind: str = "all", ranks: dict[int, float] | None = None) -> list[ImageRecord]:
    """The images whose name contains `search` (any case) and that pass the filter `kind`; with
    `ranks`, in their order (`ranked`)."""
    if kind not in FILTERS:
        raise ValueError(f"filter must be one of {FILTERS}")
    text = search.strip().lower()
    keep = {
        "all": lambda im: True,
        "to do": lambda im: im.status not in (ImageStatus.DONE, ImageStatus.SKIPPED),
        "not started": lambda im: im.status is ImageStatus.TODO,
        "in progress": lambda im: im.status is ImageStatus.IN_PROGRESS,
        "done": lambda im: im.status is ImageStatus.DONE,
        "skipped": lambda im: im.status is ImageStatus.SKIPPED,
        "with suggestions": lambda im: pending.get(im.id, 0) > 0,
    }[kind]
    shown = [im for im in images if text in im.file_name.lower() and keep(im)]
    return ranked(shown, ranks) if ranks is not None else shown


def ranked(images: list[ImageRecord], ranks: dict[int, float]) -> list[ImageRecord]:
    """Highest rank first; the images without one (done before the ranking, or added since) after them,
    in their own order."""
    return sorted(images, key=lambda im: (im.id not in ranks, -ranks.get(im.id, 0.0)))


def next_unfinished(images: list[ImageRecord], current: int | None, held: Collection[int] = ()) -> int | None:
    """N: the first image in `images` after the current one (wrapping round) that is not done or skipped,
    nor `held` by another person; in rank order, the most uncertain one left."""
    open_ = [im.status not in (ImageStatus.DONE, ImageStatus.SKIPPED) and im.id not in held for im in images]
    at = next((k for k, im in enumerate(images) if im.id == current), -1)
    for k in [*range(at + 1, len(images)), *range(0, at + 1)]:
        if open_[k]:
            return images[k].id
    return None


@dataclass
class Counts:
    """The counts above the list, kept up to date one image at a time: recounting 100,000 images after
    every click cost more than the click."""

    total: int
    statuses: Counter
    suggested: int

    @classmethod
    def of(cls, images: list[ImageRecord], pending: dict[int, int]) -> Counts:
        return cls(len(images), Counter(im.status for im in images), sum(n > 0 for n in pending.values()))

    def changed(self, before: ImageRecord, after: ImageRecord, pending_before: int, pending_after: int) -> None:
        self.statuses[before.status] -= 1
        self.statuses[after.status] += 1
        self.suggested += (pending_after > 0) - (pending_before > 0)

    def text(self) -> str:
        done, skipped = self.statuses[ImageStatus.DONE], self.statuses[ImageStatus.SKIPPED]
        return f"{done} of {self.total} done" + (f", {skipped} skipped" if skipped else "") + \
            f", {self.suggested} with suggestions"


def _skip_reason(image: ImageRecord) -> str | None:
    return image.attributes.get("skip_reason") if image.status is ImageStatus.SKIPPED else None


def review_text(image: ImageRecord, review: tuple[str, str, str, str | None] | None) -> str:
    """A reviewer's verdict as the image's row says it: sent back (while it is not done again), accepted."""
    if review is None:
        return ""
    verdict, reviewer, comment, _ = review
    if verdict == "sent back" and image.status is not ImageStatus.DONE:
        return f"sent back by {reviewer}" + (f": {comment}" if comment else "")
    return f"accepted by {reviewer}" if verdict == "accepted" and image.status is ImageStatus.DONE else ""


def image_tip(image: ImageRecord, pending: int, rank: float | None = None, holder: str = "",
              review: str = "") -> str:
    """What the row's short marks mean, in full: the skip reason however long, the suggestions, the rank,
    who else is labelling it (a team project)."""
    lines = [f"{image.file_name}: {image.status.value}" + (" (unreadable: shown as a placeholder)"
                                                           if image.attributes.get("unreadable") else "")]
    if holder:
        lines.append(f"{holder} is labelling it now: N passes it by")
    if review:
        lines.append(review)
    reason = _skip_reason(image)
    if reason:
        lines.append(f"skipped because: {reason}")
    if pending:
        lines.append(f"{pending} suggestions of a model wait for you: Enter accepts, Delete rejects")
    if rank is not None:
        lines.append(f"rank {rank:.2f}: the higher, the sooner it is worth labelling (Model > Rank: how unsure "
                     "the detector is of the image's objects)")
    return "\n".join(lines)


def image_text(image: ImageRecord, pending: int, rank: float | None = None, holder: str = "",
               review: str = "") -> str:
    mark = "⚠" if image.attributes.get("unreadable") else MARKS[image.status]
    reason = _skip_reason(image)
    return f"{mark} {image.file_name}" + (f"  [{holder}]" if holder else "") + \
        (f"  ({review[:40]})" if review else "") + \
        (f"  (skipped: {reason})" if reason else "") + \
        (f"  ({pending} suggested)" if pending else "") + (f"  rank {rank:.2f}" if rank is not None else "")
