"""Every format behind one pair of calls, and the detection that picks a reader when none is named."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .coco import read_coco, read_coco_results, write_coco
from .errors import UserError
from .model import Dataset
from .progress import Progress, bulk, no_progress
from .report import Report
from .voc import looks_like_voc, read_voc, voc_image_dir, write_voc
from .yolo import data_file, read_yolo, write_yolo

FORMATS = ("coco", "voc", "yolo")
READ_ONLY = ("coco-results",)  # detections with scores: read as pending suggestions, never written


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
                 report: Report | None = None, gt: Path | None = None) -> Loaded:
    """Read SRC as `fmt` (detected when None). A COCO results file needs `gt`, the COCO file whose
    image and category ids it uses. Built under `bulk()`: a million labels must not be rescanned by GC."""
    with bulk():
        return _read_dataset(src, fmt, images, report if report is not None else Report(), gt)


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
    raise UserError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")


def write_dataset(ds: Dataset, out: Path, fmt: str, report: Report | None = None, rle: bool = False,
                  progress: Progress = no_progress, image_root: Path | None = None) -> None:
    """Write `ds` as `fmt`. Folder formats (voc, yolo) link the images from `image_root` in beside
    their labels, so the output is a dataset a trainer can read; COCO names them relative to it."""
    report = report if report is not None else Report()
    with bulk():
        _write_dataset(ds, out, fmt, report, rle, progress, image_root)


def _write_dataset(ds: Dataset, out: Path, fmt: str, report: Report, rle: bool, progress: Progress,
                   image_root: Path | None) -> None:
    if fmt == "coco":
        write_coco(ds, out, rle=rle, progress=progress)
    elif fmt == "voc":
        write_voc(ds, out, report, image_root)
    elif fmt == "yolo":
        write_yolo(ds, out, report, image_root)
    else:
        raise UserError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")
