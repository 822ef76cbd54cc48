"""Every format behind one pair of calls, and the detection that picks a reader when none is named."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import orjson

from .coco import read_coco, read_coco_results, write_coco
from .cvat import cvat_image_dir, looks_like_cvat, read_cvat, write_cvat
from .errors import UserError
from .geometry import check_image_size
from .labelme import looks_like_labelme, read_labelme, write_labelme
from .model import SHAPE_NAMES, Dataset, Shape
from .progress import Progress, bulk, no_progress
from .regions import derive_extremes
from .report import Report
from .voc import looks_like_voc, read_voc, voc_image_dir, write_voc
from .yolo import data_file, read_yolo, write_yolo

FORMATS = ("coco", "voc", "yolo", "labelme", "cvat")
READ_ONLY = ("coco-results",)  # detections with scores: read as pending suggestions, never written
TITLES = {"coco": "COCO", "voc": "VOC", "yolo": "YOLO", "labelme": "LabelMe", "cvat": "CVAT"}
#: The shapes each format holds; the others are dropped on writing, and reported.
HOLDS = {"coco": {Shape.REGION}, "voc": {Shape.REGION}, "yolo": {Shape.REGION}, "labelme": set(Shape),
         "cvat": set(Shape)}
HOLDS_EXTREMES = {"coco", "labelme"}  # the others drop extreme points, or derive them again from masks


@dataclass
class Loaded:
    dataset: Dataset
    format: str
    image_root: Path  # the folder the dataset's file names are relative to
    why: str  # how the format was chosen, said to the user


def detect_format(src: Path) -> tuple[str, str]:
    """(format, reason) from the files themselves."""
    if not src.exists():
        raise UserError("no such file or folder", src)
    if data_file(src) is not None:
        return "yolo", f"found {data_file(src).name}"
    if looks_like_labelme(src):
        return "labelme", "JSON files with LabelMe `shapes`"
    if looks_like_cvat(src):
        return "cvat", "CVAT 1.1 XML"
    if src.is_file() and src.suffix.lower() == ".json":
        if _first_char(src) == b"[":
            return "coco-results", "a JSON list of detections"
        return "coco", "a JSON file"
    coco = _coco_file(src)
    if coco is not None:
        return "coco", f"found the COCO file {coco.name}"
    if looks_like_voc(src):
        return "voc", "found VOC XML files"
    raise UserError("cannot tell the format: name it with --from", src)


def _first_char(path: Path) -> bytes:
    """The first character of a JSON file past a BOM and white space, read from its head only."""
    with open(path, "rb") as f:
        return f.read(4096).removeprefix(b"\xef\xbb\xbf").lstrip()[:1]


def _coco_file(src: Path) -> Path | None:
    """The one JSON object file in a folder (a COCO export's folder), or None. The reader checks it whole."""
    if not src.is_dir():
        return None
    objects = [p for p in src.glob("*.json") if _first_char(p) == b"{"]
    return objects[0] if len(objects) == 1 else None


def read_dataset(src: Path, fmt: str | None = None, images: Path | None = None,
                 report: Report | None = None, gt: Path | None = None, extremes: bool = True) -> Loaded:
    """Read SRC as `fmt` (detected when None). A COCO results file needs `gt`, the COCO file whose
    image and category ids it uses. With `extremes`, masked objects without extreme points get the ones
    their masks define; without, they are left as the file gave them (for a target that cannot hold
    them). Built under `bulk()`: a million labels must not be rescanned by GC."""
    report = report if report is not None else Report()
    with bulk():
        loaded = _read_dataset(src, fmt, images, report, gt)
        check_storable(loaded.dataset, src)
        if extremes:
            derive_extremes(loaded.dataset, report)
        return loaded


def check_storable(ds: Dataset, src: Path) -> None:
    """Refuse what no writer and no project can hold, naming the entry: text that is not Unicode (lone
    surrogates), integers of more than 64 bits or values that are not JSON among the names and
    attributes a file carries along, and two images of one name (their labels would be merged)."""
    for kind, items in (("categories", ds.categories), ("images", ds.images)):
        for i, item in enumerate(items):
            _storable([item.name, item.supercategory] if kind == "categories" else item.file_name, src,
                      f"{kind}[{i}] name")
    for i, im in enumerate(ds.images):
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


def _read_dataset(src: Path, fmt: str | None, images: Path | None, report: Report, gt: Path | None) -> Loaded:
    why = "named with --from"
    if fmt is None:
        fmt, why = detect_format(src)
    if fmt == "coco-results":
        if gt is None:
            raise UserError("a COCO results file: name the COCO file its ids refer to with --gt", src)
        root = images or gt.parent
        return Loaded(read_coco_results(src, read_coco(gt, root, Report()), report), fmt, root, why)
    if fmt == "coco":
        coco = src if src.is_file() else _coco_file(src)
        if coco is None:
            raise UserError("expected a COCO JSON file, or a folder holding exactly one", src)
        root = images or coco.parent
        return Loaded(read_coco(coco, root, report), fmt, root, why)
    if fmt == "voc":
        root = images or voc_image_dir(src)
        return Loaded(read_voc(src, root, report), fmt, root, why)
    if fmt == "yolo":
        ds = read_yolo(src, report)
        return Loaded(ds, fmt, data_file(src).parent, why)
    if fmt == "labelme":
        ds, root = read_labelme(src, images, report)
        return Loaded(ds, fmt, root, why)
    if fmt == "cvat":
        root = images or cvat_image_dir(src)
        return Loaded(read_cvat(src, root, report), fmt, root, why)
    raise UserError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")


def write_dataset(ds: Dataset, out: Path, fmt: str, report: Report | None = None, rle: bool = False,
                  progress: Progress = no_progress, image_root: Path | None = None) -> None:
    """Write `ds` as `fmt`. Folder formats (voc, yolo) link the images from `image_root` in beside
    their labels, so the output is a dataset a trainer can read; COCO names them relative to it."""
    report = report if report is not None else Report()
    if fmt not in FORMATS:
        raise UserError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")
    with bulk():
        _write_dataset(_holdable(ds, fmt, report), out, fmt, report, rle, progress, image_root)


def _holdable(ds: Dataset, fmt: str, report: Report) -> Dataset:
    """`ds` without the shapes `fmt` cannot hold, each kind reported once with its count."""
    dropped = [a.shape for a in ds.annotations if a.shape not in HOLDS[fmt]]
    if not dropped:
        return ds
    for shape in dict.fromkeys(dropped):  # in order of first appearance
        name = SHAPE_NAMES[shape]
        report.lose(f"dropped {{n}} {name}: {TITLES[fmt]} has no {name}", dropped.count(shape))
    return dataclasses.replace(ds, annotations=[a for a in ds.annotations if a.shape in HOLDS[fmt]])


def _write_dataset(ds: Dataset, out: Path, fmt: str, report: Report, rle: bool, progress: Progress,
                   image_root: Path | None) -> None:
    if fmt == "coco":
        write_coco(ds, out, rle=rle, progress=progress)
    elif fmt == "voc":
        write_voc(ds, out, report, image_root)
    elif fmt == "yolo":
        write_yolo(ds, out, report, image_root)
    elif fmt == "labelme":
        write_labelme(ds, out, report, image_root)
    else:
        write_cvat(ds, out, report, image_root)
