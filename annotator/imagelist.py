"""Which images the image list shows (filter and search) and the counts above it."""
from __future__ import annotations

from converters import ImageRecord, ImageStatus

FILTERS = ("all", "to do", "done", "with suggestions")


def shown_images(images: list[ImageRecord], pending: dict[int, int], search: str = "",
                 kind: str = "all") -> list[ImageRecord]:
    """The images whose name contains `search` (any case) and that pass the filter `kind`."""
    if kind not in FILTERS:
        raise ValueError(f"filter must be one of {FILTERS}")
    text = search.strip().lower()
    keep = {
        "all": lambda im: True,
        "to do": lambda im: im.status not in (ImageStatus.DONE, ImageStatus.SKIPPED),
        "done": lambda im: im.status is ImageStatus.DONE,
        "with suggestions": lambda im: pending.get(im.id, 0) > 0,
    }[kind]
    return [im for im in images if text in im.file_name.lower() and keep(im)]


def counts(images: list[ImageRecord], pending: dict[int, int]) -> str:
    done = sum(im.status is ImageStatus.DONE for im in images)
    suggested = sum(pending.get(im.id, 0) > 0 for im in images)
    return f"{done} of {len(images)} done, {suggested} with suggestions"


def image_text(image: ImageRecord, pending: int) -> str:
    mark = "⚠" if image.attributes.get("unreadable") else "✓" if image.status is ImageStatus.DONE else "·"
    return f"{mark} {image.file_name}" + (f"  ({pending} suggested)" if pending else "")
