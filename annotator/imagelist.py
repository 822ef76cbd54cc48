"""Which images the image list shows (filter and search) and the counts above it."""
from __future__ import annotations

from converters import ImageRecord, ImageStatus

FILTERS = ("all", "to do", "not started", "in progress", "done", "skipped", "with suggestions")
#: The mark before each name in the list.
MARKS = {ImageStatus.TODO: "·", ImageStatus.IN_PROGRESS: "◐", ImageStatus.DONE: "✓", ImageStatus.SKIPPED: "⊘"}


def shown_images(images: list[ImageRecord], pending: dict[int, int], search: str = "",
                 kind: str = "all") -> list[ImageRecord]:
    """The images whose name contains `search` (any case) and that pass the filter `kind`."""
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
    return [im for im in images if text in im.file_name.lower() and keep(im)]


def counts(images: list[ImageRecord], pending: dict[int, int]) -> str:
    done = sum(im.status is ImageStatus.DONE for im in images)
    skipped = sum(im.status is ImageStatus.SKIPPED for im in images)
    suggested = sum(pending.get(im.id, 0) > 0 for im in images)
    return f"{done} of {len(images)} done" + (f", {skipped} skipped" if skipped else "") + \
        f", {suggested} with suggestions"


def image_text(image: ImageRecord, pending: int) -> str:
    mark = "⚠" if image.attributes.get("unreadable") else MARKS[image.status]
    reason = image.attributes.get("skip_reason") if image.status is ImageStatus.SKIPPED else None
    return f"{mark} {image.file_name}" + (f"  (skipped: {reason})" if reason else "") + \
        (f"  ({pending} suggested)" if pending else "")
