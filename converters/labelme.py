"""LabelMe JSON (4.x to 7.x): one file per image, written beside the image.

Shapes: polygon, rectangle, oriented_rectangle (LabelMe 6 and later), circle and mask make regions; line
and linestrip make polylines; point makes point sets. Shapes sharing a `group_id` and a label are one
object, as LabelMe means it: several polygons are one multi-part mask, and four points grouped with a
region are its extreme points (how the writer stores them). Coordinates are LabelMe's canvas
coordinates, the same as ours (origin at the top-left corner of the top-left pixel); a mask shape's two
points are the inclusive pixel indices of its crop.

LabelMe has no category list: `labels.txt` (one name per line, as `labelme --labels` reads it) keeps
their order and is read back when present. Attributes other than `flags` and `description` travel in a
shape's `attributes` object, as X-AnyLabeling writes them; a crowd region carries the flag `iscrowd`.
"""
from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeGuard

import cv2
import numpy as np
import orjson

from .atomic import atomic_directory
from .coco import load_json
from .errors import UserError, shown
from .exportfolder import ExportFolder
from .fileformat import Content, FileFormat, Read, ReadOptions, WriteOptions
from .geometry import Box, ExtremePoints, check_image_size, check_inside_image, ellipse
from .images import ImageFolder, read_image_size
from .masks import holds_holes, rle_to_mask, union_rle
from .model import Annotation, Category, Dataset, ImageRecord, Shape, Source
from .progress import tracked
from .regions import checked, region
from .report import Report

VERSION = "5.5.0"  # the file layout we write: `description` and `mask` fields included
LABELS_FILE = "labels.txt"
_RESERVED_LABELS = {"__ignore__", "_background_"}  # the labels-file lines labelme's own scripts skip
_REGION_TYPES = {"polygon", "oriented_rectangle", "rectangle", "circle", "mask"}
_LINE_TYPES = {"line", "linestrip"}
_MIN_POINTS = {"polygon": 3, "oriented_rectangle": 4, "rectangle": 2, "circle": 2, "mask": 2, "line": 2,
               "linestrip": 2, "point": 1}

NOT_LABELME = "skipped {n} JSON files that are not LabelMe files"
SKIPPED_TYPE = "skipped {n} LabelMe shapes of type %r: not a type we read"
DEGENERATE = "skipped {n} LabelMe shapes with too few points for their type"
CIRCLES = "{n} circles read as 64-sided polygons (their extreme points exact)"
EMBEDDED_ONLY = ("{n} images exist only inside their LabelMe files (imageData): labels converted, "
                 "the images are not written out")
UNGROUPED_POINTS = ("{n} groups of 4 points with a region are not its extreme points "
                    "(they disagree with each other): kept as point sets")


def looks_like_labelme(src: Path) -> bool:
    """A JSON object whose head has a `shapes` key: SRC itself, or the first such file in a folder."""
    files = [src] if src.is_file() else _json_files(src)[:20] if src.is_dir() else []
    return any(_SHAPES_KEY.search(_head(f)) for f in files)


_SHAPES_KEY = re.compile(rb'^\s*\{.*?"shapes"\s*:', re.S)


def _head(path: Path) -> bytes:
    with open(path, "rb") as f:
        return f.read(4096).removeprefix(b"\xef\xbb\xbf")


def _json_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.json") if not any(part.startswith(".") for part in p.parts[-1:]))


@dataclass
class _File:
    path: Path
    data: dict
    image: Path  # where the image is, as the file names it
    size: tuple[int, int] | None = None  # (width, height) when the file gives it
    embedded: bool = False
    anns: list[dict] = field(default_factory=list)


def read_labelme(src: Path, images_dir: Path | None = None, report: Report | None = None) -> Dataset:
    """Read a folder of LabelMe files (searched recursively) or one file. Image names are relative to
    `images_dir`, else to the folder SRC is or is in, which must hold every image."""
    report = report if report is not None else Report()
    candidates = _json_files(src) if src.is_dir() else [src]
    files = []
    for path in candidates:
        data = load_json(path)
        if isinstance(data, dict) and isinstance(data.get("shapes"), list):
            files.append(_open_file(path, data))
        elif src.is_dir():
            report.add(NOT_LABELME)
        else:
            raise UserError("not a LabelMe file: expected a JSON object with a `shapes` list", path, "top level")
    if not files:
        raise UserError("no LabelMe JSON files found", src)
    base = _base(src)
    root = images_dir or base
    if images_dir is None:  # images come from the folder the person gave, never from above it
        for f in files:
            if os.path.commonpath([base, f.image]) != str(base):
                raise UserError(f"imagePath {f.data['imagePath']!r} is outside {base}: give the image folder with "
                                "--images", f.path, "imagePath")
    folder = ImageFolder(root)
    names = _labels_file(base)
    ds = Dataset()
    categories: dict[str, int] = {name: i for i, name in enumerate(names, 1)}
    for image_id, f in enumerate(files, 1):
        file_name = _file_name(f.image, root, folder)
        width, height = _size(f, folder, file_name, report)
        ds.images.append(ImageRecord(image_id, file_name, width, height, attributes=_flags(f.data)))
        objects = _objects(f.data["shapes"], f.path, width, height, report)
        for label, make in objects:
            category_id = categories.setdefault(label, len(categories) + 1)
            ds.annotations.append(make(len(ds.annotations) + 1, image_id, category_id))
    ds.categories = [Category(id=i, name=name) for name, i in categories.items()]
    return ds


def _base(src: Path) -> Path:
    return src if src.is_dir() else src.parent


def _open_file(path: Path, data: dict) -> _File:
    written = data.get("imagePath")
    if not isinstance(written, str) or not written.strip():
        raise UserError("missing `imagePath`", path, "imagePath")
    written = written.strip().replace("\\", "/")
    if written.startswith("/") or re.match(r"^[A-Za-z]:/", written):
        written = written.rsplit("/", 1)[-1]  # another machine's absolute path: look beside the file
    image = Path(os.path.normpath(path.parent / written))
    size = None
    w, h = data.get("imageWidth"), data.get("imageHeight")
    if w is not None or h is not None:
        if not (_is_int(w) and _is_int(h)):
            raise UserError(f"imageWidth/imageHeight must be integers, got {shown(w)}/{shown(h)}", path, "imageWidth")
        size = (w, h)
        check_image_size(*size, path, "imageWidth")
    return _File(path, data, image, size, embedded=bool(data.get("imageData")))


def _is_int(v: Any) -> TypeGuard[int]:
    return isinstance(v, int) and not isinstance(v, bool)


def _file_name(image: Path, root: Path, folder: ImageFolder) -> str:
    try:
        return image.relative_to(root).as_posix()
    except ValueError:  # `--images` names another folder: find the image there by name
        found = folder.find(image.name)
        return found.relative_to(root).as_posix() if found else image.name


def _size(f: _File, folder: ImageFolder, file_name: str, report: Report) -> tuple[int, int]:
    on_disk = folder.find(file_name)
    if on_disk is None and f.embedded:
        report.add(EMBEDDED_ONLY)
    if f.size is not None:
        return f.size
    if on_disk is not None:
        return read_image_size(on_disk, "imagePath")
    if f.embedded:
        image = _decode_png_or_jpeg(f.data["imageData"], f.path, "imageData", cv2.IMREAD_UNCHANGED)
        return image.shape[1], image.shape[0]
    raise UserError(f"image {file_name!r} not found, and the file gives no imageWidth/imageHeight", f.path,
                    "imagePath")


def _flags(data: dict) -> dict:
    flags = data.get("flags")
    return {"flags": flags} if isinstance(flags, dict) and flags else {}


def _labels_file(base: Path) -> list[str]:
    path = base / LABELS_FILE
    if not path.is_file():
        return []
    lines = (line.strip() for line in path.read_text(encoding="utf-8-sig").splitlines())
    return [name for name in lines if name and name not in _RESERVED_LABELS]


# -- shapes to objects -----------------------------------------------------------------------------
def _objects(shapes: list, path: Path, width: int, height: int, report: Report) -> list[tuple[str, Any]]:
    """(label, make(id, image_id, category_id)) for each object, in the order of its first shape."""
    groups: dict[Any, list[tuple[int, dict]]] = {}
    for i, s in enumerate(shapes):
        place = f"shapes[{i}]"
        if not isinstance(s, dict):
            raise UserError("expected an object", path, place)
        label = s.get("label")
        if not isinstance(label, str) or not label.strip():
            raise UserError("missing `label`", path, place)
        if s.get("shape_type") is not None and not isinstance(s["shape_type"], str):
            raise UserError(f"`shape_type` must be a string, got {shown(s['shape_type'])}", path, f"{place}.shape_type")
        kind = s.get("shape_type") or "polygon"
        if kind not in _MIN_POINTS:
            report.add(SKIPPED_TYPE % kind[:40])
            continue
        s["points"] = _points(s.get("points"), width, height, path, f"{place}.points")
        if len(s["points"]) < _MIN_POINTS[kind]:
            report.add(DEGENERATE)
            continue
        group = s.get("group_id")
        if group is not None and (not isinstance(group, (int, str)) or isinstance(group, bool)):
            raise UserError(f"`group_id` must be a number or null, got {shown(group)}", path, f"{place}.group_id")
        flags = s.get("flags")
        if flags is not None and not isinstance(flags, dict):
            raise UserError(f"`flags` must be an object, got {shown(flags)}", path, f"{place}.flags")
        key = (label, group) if group is not None else (label, object(), i)
        groups.setdefault(key, []).append((i, s))
    objects = []
    for key, members in groups.items():
        objects += [(key[0], checked(make, path, f"shapes[{members[0][0]}]"))
                    for make in _group(members, path, width, height, report)]
    return objects


def _points(value: Any, width: int, height: int, path: Path, place: str) -> list[tuple[float, float]]:
    if not isinstance(value, list):
        raise UserError("expected a list of [x, y] points", path, place)
    points = []
    for j, p in enumerate(value):
        if not (isinstance(p, list) and len(p) == 2
                and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in p)):
            raise UserError(f"expected [x, y], got {shown(p)}", path, f"{place}[{j}]")
        try:
            x, y = float(p[0]), float(p[1])
        except OverflowError:
            raise UserError(f"coordinate too large: {shown(p)}", path, f"{place}[{j}]") from None
        try:
            check_inside_image((x, y), (width, height))
        except UserError as e:
            raise e.at(path, f"{place}[{j}]") from None
        points.append((x, y))
    return points


def _group(members: list[tuple[int, dict]], path: Path, width: int, height: int, report: Report) -> list:
    """The objects one group of shapes makes: its region (with its extreme points), lines, point sets."""
    regions = [(i, s) for i, s in members if (s.get("shape_type") or "polygon") in _REGION_TYPES]
    points = [(i, s) for i, s in members if s.get("shape_type") == "point"]
    made = []
    if regions:
        extreme = None
        if len(points) == 4:
            extreme = _extreme([s["points"][0] for _, s in points], width, height)
            if extreme is None:
                report.add(UNGROUPED_POINTS)
            else:
                points = []
        made.append(_region(regions, extreme, path, width, height, report))
    for _, s in members:
        if s.get("shape_type") in _LINE_TYPES:
            made.append(_shape_maker(Shape.POLYLINE, s["points"], s))
    if points:
        made.append(_shape_maker(Shape.POINTS, [p for _, s in points for p in s["points"]], points[0][1]))
    return made


def _extreme(clicks: list[tuple[float, float]], width: int, height: int) -> ExtremePoints | None:
    """Four points as extreme points: in the written order (top, left, bottom, right) when they agree,
    which keeps ties exact; else in whatever roles their geometry gives them."""
    try:
        return ExtremePoints(*clicks)
    except UserError:
        pass
    try:
        return ExtremePoints.from_clicks(clicks, (width, height))
    except UserError:
        return None


def _region(regions: list[tuple[int, dict]], extreme: ExtremePoints | None, path: Path, width: int, height: int,
            report: Report):
    polygons: list[list[float]] = []
    masks = []
    box = None
    for i, s in regions:
        kind = s.get("shape_type") or "polygon"
        pts = s["points"]
        if kind in ("polygon", "oriented_rectangle"):  # the latter: LabelMe 6+, its 4 corners in order
            polygons.append([v for p in pts for v in p])
        elif kind == "rectangle":
            xs, ys = [p[0] for p in pts], [p[1] for p in pts]
            box = Box(min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))
            polygons.append([box.x, box.y, box.x + box.w, box.y, box.x + box.w, box.y + box.h, box.x, box.y + box.h])
        elif kind == "circle":
            (cx, cy), (px, py) = pts[:2]
            r = ((px - cx) ** 2 + (py - cy) ** 2) ** 0.5
            outline, circle_extreme = ellipse(cx, cy, r, r)
            polygons.append(outline)
            extreme = extreme or (circle_extreme if len(regions) == 1 else None)
            report.add(CIRCLES)
        else:
            masks.append(_mask_shape(s, width, height, path, f"shapes[{i}]"))
    first = regions[0][1]
    flags = dict(first.get("flags") or {})
    iscrowd = bool(flags.pop("iscrowd", False))
    kw: dict[str, Any] = dict(source=Source.IMPORTED, attributes=_attributes(first, flags), score=_score(first),
                              iscrowd=iscrowd)
    if len(regions) == 1 and box is not None:  # one rectangle: a box, not a mask
        return lambda id, image_id, cat: region(id, image_id, cat, size=(width, height),
                                                box=box if extreme is None else None,
                                                extreme=extreme, **kw)
    rle = None
    if masks:
        rle, polygons = union_rle(masks, polygons, height, width), []
    return lambda id, image_id, cat: region(id, image_id, cat, size=(width, height), polygons=polygons or None, rle=rle,
                                            extreme=extreme, **kw)


def _mask_shape(s: dict, width: int, height: int, path: Path, place: str) -> np.ndarray:
    (x1, y1), (x2, y2) = s["points"][:2]
    if not all(float(v).is_integer() for v in (x1, y1, x2, y2)) or x2 < x1 or y2 < y1:
        raise UserError("a mask's two points must be the integer pixel corners of its crop", path, f"{place}.points")
    x1, y1, x2, y2 = int(x1), int(y1), int(x2), int(y2)
    crop = _decode_png_or_jpeg(s.get("mask"), path, f"{place}.mask", cv2.IMREAD_GRAYSCALE)
    if crop.shape != (y2 - y1 + 1, x2 - x1 + 1):
        raise UserError(f"the mask is {crop.shape[1]}x{crop.shape[0]}, its points span "
                        f"{x2 - x1 + 1}x{y2 - y1 + 1}", path, f"{place}.mask")
    full = np.zeros((height, width), bool)
    full[y1:y2 + 1, x1:x2 + 1] = crop[: max(0, height - y1), : max(0, width - x1)] > 0
    return full


def _decode_png_or_jpeg(text: Any, path: Path, place: str, flags: int) -> np.ndarray:
    try:
        raw = base64.b64decode(text, validate=True) if isinstance(text, str) else b""
    except binascii.Error:
        raw = b""
    image = cv2.imdecode(np.frombuffer(raw, np.uint8), flags) if raw else None
    if image is None:
        raise UserError("not a base64-encoded image", path, place)
    return image


def _attributes(s: dict, flags: dict) -> dict:
    extra = s.get("attributes")
    attributes = dict(extra) if isinstance(extra, dict) else {}
    if flags:
        attributes["flags"] = flags
    if isinstance(s.get("description"), str) and s["description"]:
        attributes["description"] = s["description"]
    return attributes


def _score(s: dict) -> float | None:
    score = s.get("score")
    return float(score) if isinstance(score, (int, float)) and not isinstance(score, bool) else None


def _shape_maker(shape: Shape, points: list[tuple[float, float]], s: dict):
    flat = [v for p in points for v in p]
    attributes = _attributes(s, dict(s.get("flags") or {}))
    return lambda id, image_id, cat: Annotation.from_points(id, image_id, cat, shape, flat, source=Source.IMPORTED,
                                                            attributes=attributes, score=_score(s))


# -- writing ---------------------------------------------------------------------------------------
def write_labelme(ds: Dataset, out: Path, options: WriteOptions, report: Report) -> None:
    """One LabelMe file beside each image (linked in from the image root), and labels.txt."""
    names = {c.id: c.name for c in ds.categories}
    by_image = ds.annotations_by_image()
    with atomic_directory(out) as tmp:
        files = ExportFolder(tmp, options.image_root, report)
        files.write(LABELS_FILE, "".join(f"{c.name}\n" for c in ds.categories).encode())
        written: set[str] = set()
        for im in tracked(ds.images, len(ds.images), options.progress):
            files.link_image(im.file_name, im.file_name)
            target = Path(im.file_name).with_suffix(".json").as_posix()
            if target in written:  # a.jpg and a.png in one folder
                target = f"{im.file_name}.json"
            written.add(target)
            data = _file_json(im, by_image.get(im.id, []), names)
            files.write(target, orjson.dumps(data, option=orjson.OPT_INDENT_2))


def _file_json(im: ImageRecord, anns: list[Annotation], names: dict[int, str]) -> dict:
    shapes: list[dict] = []
    group = 0
    for a in anns:
        parts = _shapes(a, im)
        if len(parts) > 1:
            group += 1
        for kind, points, mask in parts:
            shapes.append(_shape_json(a, names[a.category_id], kind, points, mask, group if len(parts) > 1 else None))
    return {"version": VERSION, "flags": im.attributes.get("flags", {}), "shapes": shapes,
            "imagePath": Path(im.file_name).name, "imageData": None, "imageHeight": im.height,
            "imageWidth": im.width}


def _shapes(a: Annotation, im: ImageRecord) -> list[tuple[str, list, str | None]]:
    """(shape_type, points, mask) of the shapes that make one object."""
    if a.shape is Shape.POLYLINE:
        pts = _pairs(a.points or [])
        return [("line" if len(pts) == 2 else "linestrip", pts, None)]
    if a.shape is Shape.POINTS:
        return [("point", [p], None) for p in _pairs(a.points or [])]
    parts: list[tuple[str, list, str | None]]
    if a.polygons and not holds_holes(a.polygons):
        parts = [("polygon", _pairs(p), None) for p in a.polygons]
    elif (rle := a.mask_rle(im.height, im.width)) is not None:  # a hole stays a hole in labelme's mask shape
        parts = [_mask_json(rle_to_mask(rle))]
    else:
        b = a.box
        parts = [("rectangle", [[b.x, b.y], [b.x + b.w, b.y + b.h]], None)]
    if a.extreme is not None:
        e = a.extreme
        parts += [("point", [list(p)], None) for p in (e.top, e.left, e.bottom, e.right)]
    return parts


def _pairs(flat: list[float]) -> list[list[float]]:
    return [[flat[i], flat[i + 1]] for i in range(0, len(flat), 2)]


def _mask_json(mask: np.ndarray) -> tuple[str, list, str]:
    rows, cols = np.nonzero(mask)
    y1, y2, x1, x2 = rows.min(), rows.max(), cols.min(), cols.max()
    ok, png = cv2.imencode(".png", mask[y1:y2 + 1, x1:x2 + 1].astype(np.uint8) * 255)
    assert ok, "PNG encoding of a 2-D uint8 array cannot fail"
    return "mask", [[int(x1), int(y1)], [int(x2), int(y2)]], base64.b64encode(png.tobytes()).decode("ascii")


def _shape_json(a: Annotation, label: str, kind: str, points: list, mask: str | None, group: int | None) -> dict:
    attributes = dict(a.attributes)
    flags = dict(attributes.pop("flags", None) or {})
    if a.iscrowd:
        flags["iscrowd"] = True
    shape: dict[str, Any] = {"label": label, "points": points, "group_id": group,
             "description": str(attributes.pop("description", "")), "shape_type": kind, "flags": flags,
             "mask": mask}
    if attributes:
        shape["attributes"] = attributes
    if a.score is not None:
        shape["score"] = a.score
    return shape


def _recognise(src: Path) -> str | None:
    return "JSON files with LabelMe `shapes`" if looks_like_labelme(src) else None


def _read(src: Path, options: ReadOptions, report: Report) -> Read:
    return Read(read_labelme(src, options.images, report), options.images or _base(src))


FORMAT = FileFormat("labelme", "LabelMe", frozenset(Content), _recognise, _read, write_labelme)
