"""Every format behind one pair of calls, the detection that picks a reader when none is named, and the
report of what a target format cannot hold. The formats themselves are the registry `FORMATS`."""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import orjson

from . import coco, cvat, labelme, voc, yolo
from .errors import UserError, nothing_at
from .fileformat import OUTLINE_TOLERANCE_PX, Content, FileFormat, ReadOptions, WriteOptions
from .geometry import check_image_size
from .model import Annotation, Dataset, Shape
from .progress import Progress, bulk, no_progress
from .regions import derive_extremes
from .report import Report

#: Every format, in the order detection asks them: the most particular first (a YOLO data file may sit
#: beside JSON files, and a folder of one LabelMe file holds one JSON object, as a COCO folder does).
FORMATS: dict[str, FileFormat] = {f.name: f for f in (
    yolo.FORMAT, labelme.FORMAT, cvat.FORMAT, coco.RESULTS_FORMAT, coco.FORMAT, voc.FORMAT,
)}
#: The formats a dataset can be written to, by name, as menus and `--to` list them.
WRITABLE = tuple(sorted(name for name, f in FORMATS.items() if f.write is not None))


@dataclass(frozen=True)
class _Loss:
    template: str  # holds {title} and {n}
    has: Callable[[Annotation], bool]
    removes: bool  # the object goes (the format has no place for it), not only the field


#: What writing to a format loses when it does not hold a content, asked in this order.
LOSSES: dict[Content, _Loss] = {
    Content.POLYLINES: _Loss("dropped {n} polylines: {title} has no polylines",
                             lambda a: a.shape is Shape.POLYLINE, removes=True),
    Content.POINT_SETS: _Loss("dropped {n} point sets: {title} has no point sets",
                              lambda a: a.shape is Shape.POINTS, removes=True),
    Content.CROWD: _Loss("dropped {n} crowd regions: {title} has no crowd regions", lambda a: a.iscrowd, removes=True),
    Content.MASKS: _Loss("dropped the masks of {n} objects: {title} holds boxes only", lambda a: a.has_mask,
                         removes=False),
    # a mask defines its extreme points again when read back, so only box-only objects lose theirs
    Content.EXTREME_POINTS: _Loss("dropped the extreme points of {n} box-only objects: {title} has no field "
                                  "for them", lambda a: a.extreme is not None and not a.has_mask, removes=False),
    Content.ATTRIBUTES: _Loss("dropped the attributes of {n} objects: {title} has no attributes",
                              lambda a: bool(a.attributes), removes=False),
}


@dataclass
class Loaded:
    dataset: Dataset
    format: str
    image_root: Path  # the folder the dataset's file names are relative to
    why: str  # how the format was chosen, said to the user


def detect_format(src: Path) -> tuple[str, str]:
    """(format, reason) from the files themselves."""
    if not src.exists():
        raise nothing_at(src, "file or folder")
    for fmt in FORMATS.values():
        why = fmt.recognise(src)
        if why is not None:
            return fmt.name, why
    raise UserError("cannot tell the format: name it with --from", src)


def read_dataset(src: Path, fmt: str | None = None, images: Path | None = None,
                 report: Report | None = None, gt: Path | None = None, extremes: bool = True) -> Loaded:
    """Read SRC as `fmt` (detected when None). A COCO results file needs `gt`, the COCO file whose
    image and category ids it uses. With `extremes`, masked objects without extreme points get the ones
    their masks define; without, they are left as the file gave them (for a target that cannot hold
    them). Built under `bulk()`: a million labels must not be rescanned by GC."""
    report = report if report is not None else Report()
    why = "named with --from"
    if fmt is None:
        fmt, why = detect_format(src)  # it says when SRC names nothing
    elif not src.exists():
        raise nothing_at(src, "file or folder")
    reader = _format(fmt).read
    with bulk():
        read = reader(src, ReadOptions(images=images, gt=gt), report)
        check_storable(read.dataset, src)
        if extremes:
            derive_extremes(read.dataset, report)
        return Loaded(read.dataset, fmt, read.image_root, why)


def _format(name: str) -> FileFormat:
    if name not in FORMATS:
        raise UserError(f"unknown format {name!r}; known: {', '.join(FORMATS)}")
    return FORMATS[name]


def check_storable(ds: Dataset, src: Path) -> None:
    """Refuse what no writer and no project can hold, naming the entry: text that is not Unicode (lone
    surrogates), integers of more than 64 bits or values that are not JSON among the names and
    attributes a file carries along, and two images of one name (their labels would be merged)."""
    for i, c in enumerate(ds.categories):
        _storable([c.name, c.supercategory], src, f"categories[{i}] name")
    for i, im in enumerate(ds.images):
        _storable(im.file_name, src, f"images[{i}] name")
        check_image_size(im.width, im.height, src, f"images[{i}] ({im.file_name})")
        if im.attributes:
            _storable(im.attributes, src, f"images[{i}] ({im.file_name})")
    for i, a in enumerate(ds.annotations):
        if a.attributes:
            _storable(a.attributes, src, f"object {i + 1}")
    _storable(ds.info, src, "info")
    _storable(ds.licenses, src, "licenses")
    seen: dict[str, int] = {}
    for i, im in enumerate(ds.images):
        if im.file_name in seen:
            raise UserError(f"two images are both called {im.file_name!r}: images[{seen[im.file_name]}] and "
                            f"images[{i}]", src)
        seen[im.file_name] = i


def _storable(value: object, src: Path, place: str) -> None:
    try:
        orjson.dumps(value)
    except (TypeError, orjson.JSONEncodeError) as e:
        raise UserError(f"cannot be kept: {e}", src, place) from None



def write_dataset(ds: Dataset, out: Path, fmt: str, report: Report | None = None, rle: bool = False,
                  progress: Progress = no_progress, image_root: Path | None = None, boxes: bool = False,
                  tolerance: float = OUTLINE_TOLERANCE_PX) -> None:
    """Write `ds` as `fmt`. Folder formats (voc, yolo) link the images from `image_root` in beside
    their labels, so the output is a dataset a trainer can read; COCO names them relative to it."""
    report = report if report is not None else Report()
    target = _format(fmt)
    if target.write is None:
        raise UserError(f"{target.title} is read only; write one of: {', '.join(WRITABLE)}")
    with bulk():
        target.write(_holdable(ds, target, report), out, WriteOptions(image_root, rle, progress, boxes, tolerance),
                     report)


def _holdable(ds: Dataset, fmt: FileFormat, report: Report) -> Dataset:
    """`ds` without the objects `fmt` has no place for; each content it lacks reported once, counted."""
    annotations = ds.annotations
    for content, loss in LOSSES.items():
        if content in fmt.holds:
            continue
        lost = sum(1 for a in annotations if loss.has(a))
        report.lose(loss.template.format(title=fmt.title, n="{n}"), lost)
        if loss.removes and lost:
            annotations = [a for a in annotations if not loss.has(a)]
    return ds if annotations is ds.annotations else dataclasses.replace(ds, annotations=annotations)
