"""YOLO: one text file per image, normalised to the image size.

A line is `class cx cy w h` (a box) or `class x1 y1 x2 y2 ...` (a polygon); real exports mix both in one
file. The class names come from an Ultralytics `data.yaml` (names as a list or a dict; split paths
absolute or relative) or from Darknet's `obj.data` / `obj.names` / `train.txt`. Labels sit in a
`labels` folder beside `images` (Ultralytics) or beside the image (Darknet).
"""
from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

import orjson
import yaml

from .atomic import atomic_directory
from .errors import UserError
from .exportfolder import ExportFolder
from .fileformat import Content, FileFormat, Read, ReadOptions, WriteOptions
from .geometry import CLICK_TOLERANCE, Box
from .images import image_names, read_image_size
from .masks import has_bridge, mask_to_polygons, rings, rle_to_mask, simplified
from .model import Annotation, Category, Dataset, ImageRecord, Source
from .progress import tracked
from .report import Report

SPLITS = ("train", "val", "test")
RESOLVED = "{n} split paths in the data file did not exist as written: found them under its folder"
ONE_OUTLINE = ("{n} masks had several parts or holes: YOLO holds one outline per object (kept the largest "
               "part's outline, its holes filled)")


def data_file(src: Path) -> Path | None:
    if src.is_file() and (src.suffix in (".yaml", ".yml", ".data")):
        return src
    if src.is_dir():
        for name in ("data.yaml", "data.yml", "dataset.yaml", "obj.data"):
            if (src / name).is_file():
                return src / name
    return None


def read_yolo(src: Path, report: Report | None = None) -> Dataset:
    """Read a YOLO dataset from its data file (data.yaml or obj.data) or the folder holding it; the
    data file says where the images are."""
    report = report if report is not None else Report()
    data = data_file(src)
    if data is None:
        raise UserError("no data.yaml or obj.data found: not a YOLO dataset", src)
    if data.suffix == ".data":
        names, splits, beside = _darknet(data, report)
    else:
        names, splits, beside = _ultralytics(data, report)
    ds = Dataset(categories=[Category(id=i, name=n) for i, n in enumerate(names)])
    root = data.parent
    for split, image_paths in splits.items():
        for image in image_paths:  # strings, not paths: this loop runs once per image of 100k
            label = os.path.splitext(image)[0] + ".txt" if beside else _label_path(image)
            width, height = read_image_size(image)
            rel = _relative(image, root)
            record = ImageRecord(id=len(ds.images) + 1, file_name=rel, width=width, height=height,
                                 attributes={"subset": split} if split else {})
            ds.images.append(record)
            try:
                with open(label, "rb") as f:
                    text = f.read()
            except (FileNotFoundError, IsADirectoryError):  # no label file: an image without objects
                continue
            ds.annotations += _read_labels(label, text, record, len(names), len(ds.annotations))
    return ds


def _ultralytics(path: Path, report: Report) -> tuple[list[str], dict[str, list[str]], bool]:
    try:
        data = yaml.load(_read_text(path), Loader=NoAliasLoader)  # noqa: S506 (safe, and no aliases)
    except ValueError as e:  # an integer of thousands of digits
        raise UserError(f"a value YAML cannot read: {str(e)[:60]}", path) from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        place = f"line {mark.line + 1} column {mark.column + 1}" if mark else None
        raise UserError(f"malformed YAML: {getattr(e, 'problem', e)}", path, place) from None
    if not isinstance(data, dict) or "names" not in data:
        raise UserError("missing `names`", path, "top level")
    raw = data["names"]
    if isinstance(raw, dict):
        if not all(type(k) is int for k in raw) or sorted(raw) != list(range(len(raw))):
            raise UserError("`names` keys must be 0, 1, 2, ...", path, "names")
        names = [str(raw[i]) for i in range(len(raw))]
    elif isinstance(raw, list):
        names = [str(n) for n in raw]
    else:
        raise UserError("`names` must be a list or a mapping", path, "names")
    base = path.parent / str(data.get("path", "")) if data.get("path") else path.parent
    if not base.is_dir():
        base = path.parent
    splits: dict[str, list[str]] = {}
    for split in SPLITS:
        for value in _as_list(data.get(split)):
            folder = _locate(base, str(value), path.parent, report)
            if folder is None:
                raise UserError(f"split path {value!r} not found in the dataset's folder", path, split)
            splits.setdefault(split, []).extend(_images_of(folder, path.parent))
    if not splits:
        raise UserError("no train, val or test split", path, "top level")
    return names, splits, False


class NoAliasLoader(yaml.SafeLoader):
    """YAML without aliases: a data file has no use for them, and a few nested aliases ("billion laughs")
    expand into more data than memory holds."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not accepted in a data file",
                                              event.start_mark)
        return super().compose_node(parent, index)


def _darknet(path: Path, report: Report) -> tuple[list[str], dict[str, list[str]], bool]:
    fields = {}
    for line in _read_text(path).splitlines():
        if "=" in line:
            key, value = line.split("=", 1)
            fields[key.strip()] = value.strip()
    names_path = _locate(path.parent, fields.get("names", "obj.names"), path.parent, report)
    if names_path is None:
        raise UserError(f"names file {fields.get('names')!r} not found in the dataset's folder", path, "names")
    names = [n.strip() for n in _read_text(names_path).splitlines() if n.strip()]
    splits = {}
    for split, key in (("train", "train"), ("val", "valid"), ("test", "test")):
        if key in fields:
            listing = _locate(path.parent, fields[key], path.parent, report)
            if listing is None:
                raise UserError(f"image list {fields[key]!r} not found in the dataset's folder", path, key)
            splits[split] = _images_of(listing, path.parent)
    return names, splits, True


def _read_text(path: str | Path, raw: bytes | None = None) -> str:
    """A YOLO text file (data file, names, image list, labels); a wrong encoding is the file's error."""
    try:
        return (Path(path).read_bytes() if raw is None else raw).decode("utf-8")
    except UnicodeDecodeError as e:
        raise UserError("not UTF-8 text", path, f"offset {e.start}") from None


def _as_list(value) -> list:
    return [] if value is None else value if isinstance(value, list) else [value]


def _locate(base: Path, written: str, root: Path, report: Report) -> Path | None:
    """A path as written, or, when it does not exist (absolute paths from the exporter's machine,
    `data/` prefixes), the longest tail of it that exists under the data file's folder."""
    candidate = Path(written) if Path(written).is_absolute() else base / written
    if candidate.exists() and _within(candidate, root):
        return candidate
    parts = [p for p in PurePosixPath(written.replace("\\", "/")).parts if p not in ("/", "..", ".")]
    for start in range(len(parts)):
        tail = root.joinpath(*parts[start:])
        if tail.exists() and _within(tail, root):
            report.add(RESOLVED)
            return tail
    return None


def _within(path: Path, root: Path) -> bool:
    """Whether `path`, links followed, lies in the dataset's folder: a data file names files to read,
    and `names = /any/file` must not read a file the person did not give."""
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def _images_of(source: Path, root: Path) -> list[str]:
    if source.is_dir():
        return [f"{source}/{name}" for name in image_names(source)]
    images = []
    for line in _read_text(source).splitlines():
        if line.strip():
            found = _locate(source.parent, line.strip(), root, Report())
            if found is None:
                raise UserError(f"image {line.strip()!r} not found", source)
            images.append(str(found))
    return images


def _label_path(image: str | Path) -> str:
    """Where Ultralytics looks for an image's labels: its last `images` folder becomes `labels`."""
    parts = os.fspath(image).replace(os.sep, "/").split("/")
    for i in range(len(parts) - 1, -1, -1):
        if parts[i] == "images":
            parts[i] = "labels"
            break
    stem, dot, _ = parts[-1].rpartition(".")
    parts[-1] = (stem if dot else parts[-1]) + ".txt"
    return "/".join(parts)


def _relative(image: str, root: Path) -> str:
    """The image's name under the data file's folder. Found images usually lie under it as written, so
    the path is resolved (a system call per folder level) only when they do not."""
    text, prefix = image.replace(os.sep, "/"), root.as_posix().rstrip("/") + "/"
    if text.startswith(prefix) and "/../" not in text:
        return text[len(prefix):]
    try:
        return Path(image).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return text


def _read_labels(path: str, raw: bytes, image: ImageRecord, n_classes: int, first_id: int) -> list[Annotation]:
    anns: list[Annotation] = []
    text = _read_text(path, raw)
    w, h = image.width, image.height
    tol_x, tol_y = CLICK_TOLERANCE / w, CLICK_TOLERANCE / h
    for number, line in enumerate(text.splitlines(), 1):
        tokens = line.split()
        if not tokens:
            continue
        try:
            cls, values = int(tokens[0]), list(map(float, tokens[1:]))
        except ValueError:
            raise UserError(f"expected a class id and numbers, got {line.strip()[:60]!r}", path,
                            f"line {number}") from None
        if not 0 <= cls < n_classes:
            raise UserError(f"class id {cls} is not among the {n_classes} names", path, f"line {number}")
        if not all(map(math.isfinite, values)):
            raise UserError("a number that is not finite (nan or inf)", path, f"line {number}")
        n = len(values)
        polygons = score = None
        if n == 4 or n == 5:  # a box, with a confidence when 5
            cx, cy, bw, bh = values[:4]
            x0, y0, x1, y1 = cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2
            score = values[4] if n == 5 else None
        elif n >= 6 and n % 2 == 0:
            xs, ys = values[0::2], values[1::2]
            x0, y0, x1, y1 = min(xs), min(ys), max(xs), max(ys)
            values[0::2] = [x * w for x in xs]
            values[1::2] = [y * h for y in ys]
            polygons = [values]
        else:
            raise UserError(f"{n} numbers after the class id: expected 4 (a box) or an even number of "
                            "at least 6 (a polygon)", path, f"line {number}")
        if x0 < -tol_x or y0 < -tol_y or x1 > 1 + tol_x or y1 > 1 + tol_y or x1 < x0 or y1 < y0:
            raise UserError("coordinates outside the image (they are normalised to 0..1)", path, f"line {number}")
        box = Box(x0 * w, y0 * h, (x1 - x0) * w, (y1 - y0) * h)
        anns.append(Annotation(first_id + len(anns) + 1, image.id, cls, box, None, polygons, None, False,
                               Source.IMPORTED, score))  # positional, in field order: a million of these
    return anns


def write_yolo(ds: Dataset, out: Path, options: WriteOptions, report: Report) -> None:
    """Write an Ultralytics dataset: images/ (hard links to the images under the image root), a label
    file where Ultralytics looks for it, and data.yaml. Box lines, and polygon lines for objects with
    masks."""
    index = {c.id: i for i, c in enumerate(ds.categories)}
    by_image = ds.annotations_by_image()
    with atomic_directory(out) as tmp:
        files = ExportFolder(tmp, options.image_root, report)
        for im in tracked(ds.images, len(ds.images), options.progress):
            image = f"images/{im.file_name}"
            files.link_image(im.file_name, image)
            lines = [_line(a, im, index[a.category_id], options, report) for a in by_image.get(im.id, [])]
            files.write(_label_path(image), "".join(line + "\n" for line in lines).encode())
        data = {"path": ".", "train": "images", "names": {i: c.name for i, c in enumerate(ds.categories)}}
        files.write("data.yaml", yaml.safe_dump(data, sort_keys=False, allow_unicode=True).encode())


def _line(a: Annotation, im: ImageRecord, cls: int, options: WriteOptions, report: Report) -> str:
    w, h = im.width, im.height
    outline = None if options.boxes else _outline(a, im, report)
    if outline and options.tolerance > 0:
        outline = simplified(outline, options.tolerance)
    if outline:
        values = list(outline)
        values[0::2] = [x / w for x in outline[0::2]]
        values[1::2] = [y / h for y in outline[1::2]]
    else:
        b = a.box
        values = [(b.x + b.w / 2) / w, (b.y + b.h / 2) / h, b.w / w, b.h / h]
    return f"{cls} {_numbers(values)}"


def _numbers(values: list[float]) -> str:
    """Space-separated, each the shortest text that reads back as the same float (as repr, but in one
    call for the whole line: formatting is most of the time of a million-label export)."""
    return orjson.dumps(values)[1:-1].replace(b",", b" ").decode()


def _outline(a: Annotation, im: ImageRecord, report: Report) -> list[float] | None:
    """The one polygon YOLO can hold: the mask's only outline, else its largest part."""
    polygons = a.polygons if a.polygons else mask_to_polygons(rle_to_mask(a.rle)) if a.rle is not None else []
    if not polygons:
        return None
    if len(polygons) > 1 or has_bridge(polygons[0]):
        report.lose(ONE_OUTLINE)
        return rings(max(polygons, key=_area))[0]  # its outline: a hole kept would be a cut across the object
    return polygons[0]


def _area(poly: Sequence[float]) -> float:
    xs, ys = poly[0::2], poly[1::2]
    return abs(sum(xs[i] * ys[i - 1] - xs[i - 1] * ys[i] for i in range(len(xs)))) / 2



def _recognise(src: Path) -> str | None:
    found = data_file(src)
    return None if found is None else f"found {found.name}"


def _read(src: Path, options: ReadOptions, report: Report) -> Read:
    dataset = read_yolo(src, report)  # refuses a source without a data file
    return Read(dataset, data_file(src).parent)  # type: ignore[union-attr]


FORMAT = FileFormat("yolo", "YOLO", frozenset({Content.MASKS}), _recognise, _read, write_yolo)
