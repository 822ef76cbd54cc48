"""COCO instances files: a tolerant reader for any valid file and a writer with our conventions.

Reader: ids may start at 0 and categories may use id 0; RLE may be compressed or not; crowd regions stay
crowd; empty segmentation lists mean no mask; unknown fields go to `attributes`. `extreme_points` are
read when present (the registry derives the others from masks); a box-only annotation keeps its box.

Writer: ids from 1, `area` from the mask, `bbox` from the annotation's box (which follows the extreme
points), polygons by default or RLE, `extreme_points` in [top, left, bottom, right] order, written to a
temporary file and renamed so no half file ever appears.
"""
from __future__ import annotations

import datetime
import json
import os
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from .atomic import atomic_write
from .errors import UserError, package_version, shown
from .fileformat import Content, FileFormat, Read, ReadOptions, WriteOptions
from .geometry import Box, ExtremePoints, check_image_size, finite_number
from .images import read_image_size
from .masks import compress_rle, holds_holes, mask_to_polygons, polygon_areas, rle_to_mask, valid_polygons
from .model import Annotation, Category, Dataset, ImageRecord, Review, Source
from .progress import Progress, bulk, no_progress, tracked
from .regions import region
from .report import Report

BOX_ONLY = "{n} box-only annotations: a box is not four extreme points, so they have none"
CROWD = "{n} crowd regions kept as crowd"
SUGGESTIONS = "{n} detections read as pending model suggestions"

_ANN_KEYS = {"id", "image_id", "category_id", "bbox", "area", "iscrowd", "segmentation", "extreme_points",
             "score", "attributes"}
_IMG_KEYS = {"id", "file_name", "width", "height"}


def load_json(path: str | os.PathLike) -> Any:
    """Parse a JSON file, turning every failure into one line naming the file and the place."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UserError("no such file", path) from None
    except IsADirectoryError:
        raise UserError("is a folder, not a JSON file", path) from None
    except OSError as e:
        raise UserError(f"cannot read: {e.strerror}", path) from None
    if not raw.strip():
        raise UserError("the file is empty", path)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise UserError(f"not UTF-8 text (byte 0x{raw[e.start]:02x})", path, f"offset {e.start}") from None
    del raw  # at 200 MB, the bytes, their text and the parsed tree must not peak together
    try:  # Python's json, not orjson: as fast on a 200 MB file, without orjson's document beside the
        # tree (0.4 GiB more at the peak); it also reads the NaN and Infinity Python-written files hold
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise UserError(f"invalid JSON: {e.msg}", path, f"line {e.lineno} column {e.colno}") from None
    except RecursionError:
        raise UserError("JSON nested too deeply to be labels (over a thousand levels)", path) from None
    except ValueError as e:  # a number of thousands of digits: Python's int() limit, not a decode error
        raise UserError(f"a number in it cannot be a label's ({str(e).split(';')[0][:100]})", path) from None


def read_coco(path: str | os.PathLike, images_dir: str | os.PathLike | None = None,
              report: Report | None = None) -> Dataset:
    """Read a COCO instances file. `images_dir` supplies image sizes a file leaves out."""
    report = report if report is not None else Report()
    data = load_json(path)
    try:
        return _parse(data, Path(images_dir) if images_dir else None, report)
    except UserError as e:
        raise e.at(file=path) from None


def _parse(data: Any, images_dir: Path | None, report: Report) -> Dataset:
    """The dataset of a parsed file; it empties the file's `annotations` list as it goes."""
    if not isinstance(data, dict):
        raise UserError("expected a JSON object with `images`, `annotations` and `categories`", place="top level")
    for key in ("images", "categories"):
        if not isinstance(data.get(key), list):
            raise UserError(f"missing the `{key}` list: not a COCO instances file", place="top level")
    annotations = data.get("annotations", [])
    if not isinstance(annotations, list):
        raise UserError("`annotations` must be a list", place="annotations")

    categories = [_category(c, f"categories[{i}]") for i, c in enumerate(data["categories"])]
    _unique([c.id for c in categories], "categories")
    images = [_image(im, f"images[{i}]", images_dir) for i, im in enumerate(data["images"])]
    _unique([im.id for im in images], "images")
    sizes = {im.id: (im.height, im.width) for im in images}
    category_ids = {c.id for c in categories}

    given_ids = [a.get("id") if isinstance(a, dict) else None for a in annotations]
    kept = all(type(v) is int for v in given_ids) and len(set(given_ids)) == len(given_ids)
    ids: list[int] = given_ids if kept else list(range(1, len(annotations) + 1))  # type: ignore[assignment]
    anns = []
    for i, a in enumerate(annotations):  # the file's ids where they are whole and unique, else from 1
        anns.append(_annotation(a, f"annotations[{i}]", ids[i], sizes, category_ids, report))
        annotations[i] = None  # each JSON object goes as its annotation comes, so the two never peak together
    info = given if isinstance(given := data.get("info"), dict) else {}
    licenses = listed if isinstance(listed := data.get("licenses"), list) else []
    return Dataset(images=images, categories=categories, annotations=anns, info=info, licenses=licenses)


def _unique(ids: list[int], where: str) -> None:
    seen: set[int] = set()
    for i, v in enumerate(ids):
        if v in seen:
            raise UserError(f"duplicate id {v}", place=f"{where}[{i}].id")
        seen.add(v)


def _field(obj: dict, key: str, kind: type | tuple, place: str) -> Any:
    if not isinstance(obj, dict):
        raise UserError("expected an object", place=place)
    if key not in obj:
        raise UserError(f"missing `{key}`", place=place)
    value = obj[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise UserError(f"expected {names}, got {shown(value)}", place=f"{place}.{key}")
    return value


def _category(c: Any, place: str) -> Category:
    cid = _field(c, "id", int, place)
    name = _field(c, "name", str, place)
    sup = c.get("supercategory")
    color = c.get("color")
    return Category(id=cid, name=name, supercategory=sup if isinstance(sup, str) else None,
                    color=color if isinstance(color, str) else None)


def _image(im: Any, place: str, images_dir: Path | None) -> ImageRecord:
    iid = _field(im, "id", int, place)
    file_name = _field(im, "file_name", str, place).replace("\\", "/")
    if "width" in im or "height" in im or images_dir is None:
        width = _field(im, "width", int, place)
        height = _field(im, "height", int, place)
    else:
        width, height = read_image_size(images_dir / file_name, place)
    check_image_size(width, height, place=place)
    extra = {k: v for k, v in im.items() if k not in _IMG_KEYS}
    return ImageRecord(id=iid, file_name=file_name, width=width, height=height, attributes=extra)


def _annotation(a: Any, place: str, new_id: int, sizes: dict[int, tuple[int, int]], category_ids: set[int],
                report: Report) -> Annotation:
    image_id = _field(a, "image_id", int, place)
    if image_id not in sizes:
        raise UserError(f"image_id {image_id} is not among the images", place=f"{place}.image_id")
    category_id = _field(a, "category_id", int, place)
    if category_id not in category_ids:
        raise UserError(f"category_id {category_id} is not among the categories", place=f"{place}.category_id")
    height, width = sizes[image_id]
    iscrowd = a.get("iscrowd", 0)
    if isinstance(iscrowd, str) or iscrowd not in (0, 1):  # "no" would read as a crowd
        raise UserError(f"iscrowd must be 0 or 1, not {shown(iscrowd)}", place=f"{place}.iscrowd")
    iscrowd = bool(iscrowd)
    polygons, rle = _segmentation(a.get("segmentation"), height, width, f"{place}.segmentation")

    extreme = None
    if "extreme_points" in a:
        try:
            if not isinstance(a["extreme_points"], list):
                raise TypeError("not a list")
            extreme = ExtremePoints.from_coco(a["extreme_points"])
        except (UserError, TypeError) as e:
            raise UserError(str(e) if isinstance(e, UserError) else "expected [[x, y] x 4]",
                            place=f"{place}.extreme_points") from None
    box = _bbox(a["bbox"], f"{place}.bbox") if "bbox" in a else None
    if box is None and polygons is None and rle is None and extreme is None:
        raise UserError("missing `bbox`, and no mask to derive it from", place=place)
    attributes = dict(a["attributes"]) if isinstance(a.get("attributes"), dict) else {}
    for key, value in a.items():
        if key not in _ANN_KEYS:
            attributes.setdefault(key, value)
    score = a.get("score")
    try:
        ann = region(new_id, image_id, category_id, polygons=polygons, rle=rle, box=box, extreme=extreme,
                     iscrowd=iscrowd, source=Source.IMPORTED, attributes=attributes, size=(width, height),
                     score=float(score) if finite_number(score) else None)
    except UserError as e:
        raise e.at(place=place) from None
    if iscrowd:
        report.add(CROWD)
    elif not ann.has_mask and ann.extreme is None:
        report.add(BOX_ONLY)
    return ann


def read_coco_results(path: str | os.PathLike, gt: Dataset, report: Report | None = None) -> Dataset:
    """Read a COCO results file (a list of detections with scores, boxes or RLE masks) as pending model
    suggestions on the images and categories of `gt`, the COCO dataset whose ids the results use."""
    report = report if report is not None else Report()
    data = load_json(path)
    if not isinstance(data, list):
        raise UserError("expected a JSON list of detections (a COCO results file)", path, "top level")
    sizes = {im.id: (im.height, im.width) for im in gt.images}
    category_ids = {c.id for c in gt.categories}
    anns = []
    for i, det in enumerate(data):
        place = f"[{i}]"
        try:
            score = _field(det, "score", (int, float), place)
            if "bbox" not in det and not isinstance(det.get("segmentation"), dict):
                raise UserError("a detection needs `bbox` or an RLE `segmentation`", place=place)
            ann = _annotation(det, place, i + 1, sizes, category_ids, Report())
        except UserError as e:
            raise e.at(file=path) from None
        ann.source, ann.review, ann.score = Source.MODEL, Review.PENDING, float(score)
        anns.append(ann)
    report.add(SUGGESTIONS, len(anns))
    return Dataset(images=gt.images, categories=gt.categories, annotations=anns, info=gt.info, licenses=gt.licenses)


_NUMBERS = {int, float}


def _numbers(values: list) -> bool:
    """Whether every entry is a JSON number (not a bool, not a string): one set of types per list is
    much faster than a check per number, and a million annotations hold ten million numbers."""
    return set(map(type, values)) <= _NUMBERS


def _bbox(value: Any, place: str) -> Box:
    if not (type(value) is list and len(value) == 4 and _numbers(value)):
        raise UserError("expected [x, y, width, height]", place=place)
    try:
        x, y, w, h = float(value[0]), float(value[1]), float(value[2]), float(value[3])
    except OverflowError:
        raise UserError("a number too large", place=place) from None
    if w < 0 or h < 0:
        raise UserError(f"negative width or height in {value}", place=place)
    return Box(x, y, w, h)


def _segmentation(seg: Any, height: int, width: int, place: str):
    """(polygons, rle) of a COCO segmentation; (None, None) when there is no mask."""
    if seg is None or seg == [] or seg == {}:
        return None, None
    if isinstance(seg, list):
        for i, poly in enumerate(seg):
            if not (type(poly) is list and _numbers(poly)):
                raise UserError("expected a list of numbers", place=f"{place}[{i}]")
            if len(poly) % 2:
                raise UserError(f"odd number of coordinates ({len(poly)})", place=f"{place}[{i}]")
        try:
            polygons = [list(map(float, poly)) for poly in seg]
        except OverflowError:
            raise UserError("a coordinate too large for a number", place=place) from None
        return (polygons, None) if valid_polygons(polygons) else (None, None)
    if isinstance(seg, dict):
        size = seg.get("size")
        if isinstance(size, list) and size != [height, width]:
            raise UserError(f"RLE size {shown(size)} differs from the image's [{height}, {width}]", place=place)
        try:
            rle = compress_rle(seg)
        except UserError as e:
            raise e.at(place=place) from None
        if list(rle["size"]) != [height, width]:
            raise UserError(f"RLE size {rle['size']} differs from the image's [{height}, {width}]", place=place)
        return None, rle
    raise UserError("expected polygons (a list) or RLE (an object)", place=place)


def write_coco(dataset: Dataset, path: str | os.PathLike, rle: bool = False,
               progress: Progress = no_progress, keep_ids: bool = False) -> None:
    """Write `dataset` as COCO instances JSON; annotations stream out in chunks to bound memory. Ids are
    numbered from 1, or with `keep_ids` are the dataset's own (a COCO file rewritten in place keeps the
    ids anything else may be keyed by)."""
    number = (lambda items: {x.id: x.id for x in items}) if keep_ids else \
        (lambda items: {x.id: i for i, x in enumerate(items, 1)})
    image_ids, category_ids = number(dataset.images), number(dataset.categories)
    images = {im.id: im for im in dataset.images}
    head = {
        "info": dataset.info or _default_info(),
        "licenses": dataset.licenses,
        "images": [{**im.attributes, "id": image_ids[im.id], "file_name": im.file_name,
                    "width": im.width, "height": im.height} for im in dataset.images],
        "categories": [_category_json(c, category_ids[c.id]) for c in dataset.categories],
    }
    anns = tracked(dataset.annotations, len(dataset.annotations), progress)
    try:
        _write(path, head, anns, images, image_ids, category_ids, rle, keep_ids)
    except OSError as e:
        raise UserError(f"cannot write: {e.strerror or e}", path) from None


def _write(path, head: dict, anns: Iterator[Annotation], images: dict[int, ImageRecord],
           image_ids: dict[int, int], category_ids: dict[int, int], rle: bool, keep_ids: bool) -> None:
    with bulk(), atomic_write(path, "wb") as f:
        f.write(orjson.dumps(head)[:-1] + b',"annotations":[')
        first = True
        for chunk in _chunks(anns, 5000):
            areas = _areas(chunk, images)
            dicts = [_annotation_json(a, a.id if keep_ids else n, images[a.image_id], image_ids, category_ids, rle,
                                      areas[n]) for n, a in chunk]
            f.write((b"" if first else b",") + orjson.dumps(dicts)[1:-1])
            first = False
        f.write(b"]}\n")


def _areas(chunk: list[tuple[int, Annotation]], images: dict[int, ImageRecord]) -> dict[int, float]:
    """COCO's `area` of each annotation in the chunk: cached, or computed, single polygons of one image
    size rasterised together."""
    areas: dict[int, float] = {}
    single: dict[tuple[int, int], list[tuple[int, list[float]]]] = defaultdict(list)
    for n, a in chunk:
        im = images[a.image_id]
        if a.area is not None:
            areas[n] = a.area
        elif a.rle is None and a.polygons and len(a.polygons) == 1 and len(a.polygons[0]) >= 6:
            single[(im.height, im.width)].append((n, a.polygons[0]))
        else:
            areas[n] = a.compute_area(im.height, im.width)
    for (height, width), items in single.items():
        areas.update(zip((n for n, _ in items), polygon_areas([p for _, p in items], height, width), strict=True))
    return areas


def _chunks(items, size: int) -> Iterator[list[tuple[int, Annotation]]]:
    chunk: list[tuple[int, Annotation]] = []
    for n, item in enumerate(items, 1):
        chunk.append((n, item))
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _default_info() -> dict:
    return {"description": "exported by annotator", "version": package_version(),
            "date_created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")}


def _category_json(c: Category, new_id: int) -> dict:
    out: dict[str, Any] = {"id": new_id, "name": c.name, "supercategory": c.supercategory or c.name}
    if c.color:
        out["color"] = c.color
    return out


def _annotation_json(a: Annotation, new_id: int, image: ImageRecord, image_ids: dict[int, int],
                     category_ids: dict[int, int], rle: bool, area: float) -> dict:
    out: dict[str, Any] = {
        "id": new_id,
        "image_id": image_ids[a.image_id],
        "category_id": category_ids[a.category_id],
        "bbox": a.box.to_list(),
        "area": area,
        "iscrowd": int(a.iscrowd),
        "segmentation": _segmentation_json(a, image, rle),
    }
    if a.extreme is not None:
        out["extreme_points"] = a.extreme.to_coco()
    if a.score is not None:
        out["score"] = a.score
    if a.attributes:
        out["attributes"] = a.attributes
    return out


def _segmentation_json(a: Annotation, image: ImageRecord, rle: bool) -> Any:
    """Polygons where they can say the mask; RLE for a mask with holes: COCO's polygons of one object
    are a union, so a hole could only be a cut from the outline, which every viewer draws as a line."""
    if a.iscrowd or rle or (a.polygons and holds_holes(a.polygons)):
        return a.mask_rle(image.height, image.width) or []
    if a.polygons:
        return a.polygons
    if a.rle is not None:
        return mask_to_polygons(rle_to_mask(a.rle))
    return []


def _first_char(path: Path) -> bytes:
    """The first character of a JSON file past a BOM and white space, read from its head only."""
    with open(path, "rb") as f:
        return f.read(4096).removeprefix(b"\xef\xbb\xbf").lstrip()[:1]


def _json_file(src: Path) -> bool:
    return src.is_file() and src.suffix.lower() == ".json"


def _coco_file(src: Path) -> Path | None:
    """The one JSON object file in a folder (a COCO export's folder), or None. The reader checks it whole."""
    if not src.is_dir():
        return None
    objects = [p for p in src.glob("*.json") if _first_char(p) == b"{"]
    return objects[0] if len(objects) == 1 else None


def _recognise(src: Path) -> str | None:
    if _json_file(src):
        return None if _first_char(src) == b"[" else "a JSON file"
    found = _coco_file(src)
    return None if found is None else f"found the COCO file {found.name}"


def _recognise_results(src: Path) -> str | None:
    return "a JSON list of detections" if _json_file(src) and _first_char(src) == b"[" else None


def _read(src: Path, options: ReadOptions, report: Report) -> Read:
    path = src if src.is_file() else _coco_file(src)
    if path is None:
        raise UserError("expected a COCO JSON file, or a folder holding exactly one", src)
    root = options.images or path.parent
    return Read(read_coco(path, root, report), root)


def _read_results(src: Path, options: ReadOptions, report: Report) -> Read:
    if options.gt is None:
        raise UserError("a COCO results file: name the COCO file its ids refer to with --gt", src)
    root = options.images or options.gt.parent
    return Read(read_coco_results(src, read_coco(options.gt, root, Report()), report), root)


def _write_format(dataset: Dataset, out: Path, options: WriteOptions, report: Report) -> None:
    write_coco(dataset, out, rle=options.rle, progress=options.progress)


#: Regions only: COCO has no polylines or point sets.
HOLDS = frozenset({Content.CROWD, Content.MASKS, Content.EXTREME_POINTS, Content.ATTRIBUTES})
FORMAT = FileFormat("coco", "COCO", HOLDS, _recognise, _read, _write_format, suffix=".json")
#: Detections with scores, read as pending suggestions; never written.
RESULTS_FORMAT = FileFormat("coco-results", "COCO results", HOLDS, _recognise_results, _read_results)
