"""CVAT for images 1.1 XML: one `annotations.xml` for a task or project, images under `images/`.

CVAT's coordinates are ours (origin at the top-left corner of the top-left pixel), so boxes and points
carry over exactly. A `<mask>` is CVAT's run-length code of its crop (`left`, `top`, `width`, `height`),
row by row, starting with a run of background. Shapes sharing a non-zero `group_id` and a label are one
object. In a project dump each image sits under its subset's folder (`images/<subset>/<name>`).

Typed attributes follow the label's declaration in `<meta>` (checkbox: true/false, number: a number);
`occluded`, `z_order` and `source` are kept as attributes too. A crowd region is a mask with the
attribute `iscrowd`; extreme points are derived from each mask, as CVAT has no field for them.
"""
from __future__ import annotations

import math
import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np

from .atomic import atomic_directory
from .errors import UserError, shown
from .exportfolder import ExportFolder
from .fileformat import Content, FileFormat, Read, ReadOptions, WriteOptions
from .geometry import Box, check_image_size, check_inside_image, ellipse, fmt_number
from .images import ImageFolder
from .masks import holds_holes, rle_to_mask, union_rle
from .model import Annotation, Category, Dataset, ImageRecord, Shape, Source
from .progress import tracked
from .regions import checked, region
from .report import Report
from .xmlfiles import parse_xml

ANNOTATIONS_FILE = "annotations.xml"
UNLABELLED = "unlabelled"
NO_LABEL = f"{{n}} CVAT shapes had an empty label: put under the category '{UNLABELLED}'"
SKIPPED_ELEMENT = "skipped {n} CVAT <%s> elements: not a shape we read"
ELLIPSES = "{n} ellipses read as 64-sided polygons (their extreme points exact)"
ROTATED = "{n} rotated boxes read as 4-sided polygons"
_SHAPES = {"box", "polygon", "polyline", "points", "mask", "ellipse"}
_XML_ATTRIBUTES = ("occluded", "z_order", "source")


def looks_like_cvat(src: Path) -> bool:
    path = _xml_file(src)
    if path is None:
        return False
    with open(path, "rb") as f:
        head = f.read(4096)
    return b"<annotations" in head and b"<version>1.1</version>" in head


def _xml_file(src: Path) -> Path | None:
    if src.is_file():
        return src if src.suffix.lower() == ".xml" else None
    if (src / ANNOTATIONS_FILE).is_file():
        return src / ANNOTATIONS_FILE
    found = sorted(src.glob("*.xml")) if src.is_dir() else []
    return found[0] if len(found) == 1 else None


def cvat_image_dir(src: Path) -> Path:
    base = src if src.is_dir() else src.parent
    return base / "images" if (base / "images").is_dir() else base


def read_cvat(src: Path, images_dir: Path | None = None, report: Report | None = None) -> Dataset:
    report = report if report is not None else Report()
    path = _xml_file(src)
    if path is None:
        raise UserError("expected a CVAT XML file, or a folder holding annotations.xml", src)
    root = parse_xml(path, "annotations")
    labels = _labels(root)
    categories = {name: i for i, name in enumerate(labels, 1)}
    folder = ImageFolder(images_dir or cvat_image_dir(src))
    ds = Dataset()
    for image_id, el in enumerate(root.iter("image"), 1):
        place = f"image[{image_id - 1}]"
        im = _image(el, path, place, folder, image_id)
        ds.images.append(im)
        for label, make in _objects(el, im, labels, path, place, report):
            category_id = categories.setdefault(label, len(categories) + 1)
            ds.annotations.append(make(len(ds.annotations) + 1, image_id, category_id))
    ds.categories = [Category(id=i, name=name) for name, i in categories.items()]
    return ds


def _labels(root: ET.Element) -> dict[str, dict[str, str]]:
    """Label names in declared order, each with its attributes' input types."""
    labels: dict[str, dict[str, str]] = {}
    for label in root.iterfind("meta//labels/label"):
        name = (label.findtext("name") or "").strip()
        if name:
            labels[name] = {(a.findtext("name") or ""): (a.findtext("input_type") or "text")
                            for a in label.iterfind("attributes/attribute")}
    return labels


def _image(el: ET.Element, path: Path, place: str, folder: ImageFolder, image_id: int) -> ImageRecord:
    name = (el.get("name") or "").replace("\\", "/")
    if not name:
        raise UserError("missing the `name` attribute", path, place)
    subset = el.get("subset")
    file_name = f"{subset}/{name}" if subset and folder.find(f"{subset}/{name}") else name
    found = folder.find(file_name)
    if found is not None:
        file_name = Path(os.path.relpath(found, folder.root)).as_posix()
    width, height = _int(el, "width", path, place), _int(el, "height", path, place)
    check_image_size(width, height, path, place)
    return ImageRecord(image_id, file_name, width, height)


def _int(el: ET.Element, key: str, path: Path, place: str) -> int:
    try:
        return int(el.get(key, ""))
    except ValueError:
        raise UserError(f"`{key}` is not an integer: {el.get(key)!r}", path, place) from None


def _float(el: ET.Element, key: str, path: Path, place: str) -> float:
    try:
        return float(el.get(key, ""))
    except ValueError:
        raise UserError(f"`{key}` is not a number: {el.get(key)!r}", path, place) from None


def _objects(el: ET.Element, im: ImageRecord, labels: dict, path: Path, place: str, report: Report) -> list:
    groups: dict[Any, list[tuple[ET.Element, str]]] = {}
    for i, shape in enumerate(el):
        where = f"{place}.{shape.tag}[{i}]"
        if shape.tag not in _SHAPES:
            report.add(SKIPPED_ELEMENT % shape.tag)
            continue
        label = shape.get("label") or ""
        if not label.strip():
            label = UNLABELLED
            report.add(NO_LABEL)
        group = shape.get("group_id", "0")
        key = (label, group) if group not in ("", "0") and shape.tag in ("polygon", "mask") else (label, i)
        groups.setdefault(key, []).append((shape, where))
    return [(key[0], _object(members, im, labels.get(key[0], {}), path, report)) for key, members in groups.items()]


def _object(members: list[tuple[ET.Element, str]], im: ImageRecord, types: dict[str, str], path: Path,
            report: Report):
    first, where = members[0]
    attributes = _attributes(first, types, path, where)
    iscrowd = bool(attributes.pop("iscrowd", False))
    kw: dict[str, Any] = dict(source=Source.IMPORTED, attributes=attributes)
    size = (im.width, im.height)
    tag = first.tag
    if tag in ("polyline", "points"):
        flat = [v for p in _points(first, im, path, where) for v in p]
        kind = Shape.POLYLINE if tag == "polyline" else Shape.POINTS
        return lambda id, image_id, cat: Annotation.from_points(id, image_id, cat, kind, flat, **kw)
    if tag == "box" and _rotation(first, path, where) == 0:
        box = _box(first, im, path, where)
        return checked(lambda id, image_id, cat: region(id, image_id, cat, box=box, iscrowd=iscrowd, size=size, **kw),
                       path, where)
    if tag == "ellipse":
        outline, extreme = _ellipse(first, im, path, where)
        report.add(ELLIPSES)
        return checked(lambda id, image_id, cat: region(id, image_id, cat, polygons=[outline], extreme=extreme,
                                                        iscrowd=iscrowd, size=size, **kw), path, where)
    polygons, masks = [], []
    for shape, at in members:
        if shape.tag == "polygon":
            polygons.append([v for p in _points(shape, im, path, at) for v in p])
        elif shape.tag == "box":
            polygons.append(_rotated_box(shape, im, path, at))
            report.add(ROTATED)
        else:
            masks.append(_mask(shape, im, path, at))
    if masks:
        rle = union_rle(masks, polygons, im.height, im.width)
        return checked(lambda id, image_id, cat: region(id, image_id, cat, rle=rle, iscrowd=iscrowd, **kw), path, where)
    return checked(lambda id, image_id, cat: region(id, image_id, cat, polygons=polygons, iscrowd=iscrowd, size=size,
                                                    **kw), path, where)


def _rotation(shape: ET.Element, path: Path, where: str) -> float:
    text = shape.get("rotation", "0") or "0"
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise UserError(f"rotation must be a number of degrees, got {shown(text)}", path, where)
    return value


def _attributes(shape: ET.Element, types: dict[str, str], path: Path, where: str) -> dict:
    attributes: dict[str, Any] = {}
    if shape.get("occluded") is not None:
        attributes["occluded"] = shape.get("occluded") == "1"
    if shape.get("z_order") not in (None, "0"):
        attributes["z_order"] = _int(shape, "z_order", path, where)
    if shape.get("source") is not None:
        attributes["source"] = shape.get("source")
    for attr in shape.iterfind("attribute"):
        name = attr.get("name") or ""
        attributes[name] = _typed(attr.text or "", types.get(name, "text" if name != "iscrowd" else "checkbox"))
    return attributes


def _typed(text: str, input_type: str) -> Any:
    if input_type == "checkbox":
        return text.strip().lower() == "true"
    if input_type == "number":
        try:
            value = float(text)
            return int(value) if value.is_integer() and "." not in text else value
        except ValueError:
            return text
    return text


def _points(shape: ET.Element, im: ImageRecord, path: Path, where: str) -> list[tuple[float, float]]:
    points = []
    for pair in filter(None, (shape.get("points") or "").split(";")):
        try:
            x, y = (float(v) for v in pair.split(","))
        except ValueError:
            raise UserError(f"expected `x,y` pairs, got {pair!r}", path, f"{where}.points") from None
        points.append(_inside((x, y), im, path, where))
    if not points:
        raise UserError("no points", path, f"{where}.points")
    return points


def _inside(p: tuple[float, float], im: ImageRecord, path: Path, where: str) -> tuple[float, float]:
    try:
        check_inside_image(p, (im.width, im.height))
    except UserError as e:
        raise e.at(path, where) from None
    return p


def _box(shape: ET.Element, im: ImageRecord, path: Path, where: str) -> Box:
    x0, y0, x1, y1 = (_float(shape, k, path, where) for k in ("xtl", "ytl", "xbr", "ybr"))
    _inside((x0, y0), im, path, where)
    _inside((x1, y1), im, path, where)
    if x1 < x0 or y1 < y0:
        raise UserError(f"xbr < xtl or ybr < ytl ({x0:g}, {y0:g}, {x1:g}, {y1:g})", path, where)
    return Box(x0, y0, x1 - x0, y1 - y0)


def _rotated_box(shape: ET.Element, im: ImageRecord, path: Path, where: str) -> list[float]:
    """A box turned by `rotation` degrees (clockwise on screen) about its centre, as 4 corners."""
    b = _box(shape, im, path, where)
    angle = np.deg2rad(_float(shape, "rotation", path, where))
    cx, cy = b.x + b.w / 2, b.y + b.h / 2
    corners = np.array([[-b.w, -b.h], [b.w, -b.h], [b.w, b.h], [-b.w, b.h]]) / 2
    c, s = np.cos(angle), np.sin(angle)
    turned = corners @ np.array([[c, s], [-s, c]]) + [cx, cy]
    return turned.ravel().tolist()


def _ellipse(shape: ET.Element, im: ImageRecord, path: Path, where: str):
    cx, cy, rx, ry = (_float(shape, k, path, where) for k in ("cx", "cy", "rx", "ry"))
    _inside((cx - rx, cy - ry), im, path, where)
    _inside((cx + rx, cy + ry), im, path, where)
    return ellipse(cx, cy, rx, ry)


def _mask(shape: ET.Element, im: ImageRecord, path: Path, where: str) -> np.ndarray:
    left, top, width, height = (_int(shape, k, path, where) for k in ("left", "top", "width", "height"))
    if width <= 0 or height <= 0:
        raise UserError(f"the mask's width and height must be above 0, not {width}x{height}", path, where)
    try:
        counts = [int(v) for v in (shape.get("rle") or "").split(",")]
    except ValueError:
        raise UserError("`rle` must be comma-separated integers", path, f"{where}.rle") from None
    if any(c < 0 for c in counts) or sum(counts) != width * height:
        raise UserError(f"`rle` covers {sum(counts)} pixels, not width x height = {width * height}", path,
                        f"{where}.rle")
    if left < 0 or top < 0 or left + width > im.width or top + height > im.height:
        raise UserError(f"the mask's crop ({left}, {top}, {width}x{height}) lies outside the "
                        f"{im.width}x{im.height} image", path, where)
    values = np.arange(len(counts)) % 2 == 1  # background first
    crop = np.repeat(values, counts).reshape(height, width)
    full = np.zeros((im.height, im.width), bool)
    full[top:top + height, left:left + width] = crop
    return full


# -- writing ---------------------------------------------------------------------------------------
def write_cvat(ds: Dataset, out: Path, options: WriteOptions, report: Report) -> None:
    """annotations.xml with every label and its attributes declared, and images/ linked from the image
    root."""
    names = {c.id: c.name for c in ds.categories}
    by_image = ds.annotations_by_image()
    root = ET.Element("annotations")
    ET.SubElement(root, "version").text = "1.1"
    root.append(_meta(ds, by_image))
    with atomic_directory(out) as tmp:
        files = ExportFolder(tmp, options.image_root, report)
        for index, im in enumerate(tracked(ds.images, len(ds.images), options.progress)):
            files.link_image(im.file_name, f"images/{im.file_name}")
            el = ET.SubElement(root, "image", id=str(index), name=im.file_name, width=str(im.width),
                               height=str(im.height))
            group = 0
            for a in by_image.get(im.id, []):
                shapes = _shape_elements(a, names[a.category_id], im)
                if len(shapes) > 1:
                    group += 1
                    for s in shapes:
                        s.set("group_id", str(group))
                el.extend(shapes)
        ET.indent(root)
        files.write(ANNOTATIONS_FILE, ET.tostring(root, encoding="utf-8", xml_declaration=True))


def _meta(ds: Dataset, by_image: dict[int, list[Annotation]]) -> ET.Element:
    """<meta><task> with the labels in category order and the attributes each label's objects use."""
    used: dict[int, dict[str, str]] = {c.id: {} for c in ds.categories}
    for anns in by_image.values():
        for a in anns:
            for key, value in a.attributes.items():
                if key not in _XML_ATTRIBUTES:
                    used[a.category_id].setdefault(key, _input_type(value))
            if a.iscrowd:
                used[a.category_id]["iscrowd"] = "checkbox"
    meta = ET.Element("meta")
    task = ET.SubElement(meta, "task")
    ET.SubElement(task, "size").text = str(len(ds.images))
    ET.SubElement(task, "mode").text = "annotation"
    labels = ET.SubElement(task, "labels")
    for c in ds.categories:
        label = ET.SubElement(labels, "label")
        ET.SubElement(label, "name").text = c.name
        attributes = ET.SubElement(label, "attributes")
        for key, input_type in used[c.id].items():
            attr = ET.SubElement(attributes, "attribute")
            ET.SubElement(attr, "name").text = key
            ET.SubElement(attr, "input_type").text = input_type
            ET.SubElement(attr, "default_value").text = "false" if input_type == "checkbox" else ""
            ET.SubElement(attr, "values").text = "false\ntrue" if input_type == "checkbox" else ""
    return meta


def _input_type(value: Any) -> str:
    if isinstance(value, bool):
        return "checkbox"
    return "number" if isinstance(value, (int, float)) else "text"


def _shape_elements(a: Annotation, label: str, im: ImageRecord) -> list[ET.Element]:
    if a.shape is not Shape.REGION:
        tag = "polyline" if a.shape is Shape.POLYLINE else "points"
        return [_element(a, label, tag, points=_points_text(a.points or []))]
    if a.polygons and not a.iscrowd and not holds_holes(a.polygons):
        return [_element(a, label, "polygon", points=_points_text(p)) for p in a.polygons]
    rle = a.mask_rle(im.height, im.width)
    if rle is not None:
        return [_element(a, label, "mask", **_mask_fields(rle_to_mask(rle)))]
    b = a.box
    return [_element(a, label, "box", xtl=fmt_number(b.x), ytl=fmt_number(b.y), xbr=fmt_number(b.x + b.w),
                     ybr=fmt_number(b.y + b.h))]


def _points_text(flat: list[float]) -> str:
    return ";".join(f"{fmt_number(flat[i])},{fmt_number(flat[i + 1])}" for i in range(0, len(flat), 2))


def _mask_fields(mask: np.ndarray) -> dict[str, str]:
    rows, cols = np.nonzero(mask)
    top, bottom, left, right = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    flat = mask[top:bottom, left:right].ravel()
    edges = np.flatnonzero(np.diff(flat.astype(np.int8))) + 1
    runs = np.diff(np.concatenate([[0], edges, [flat.size]]))
    counts = ([0] if flat[0] else []) + runs.tolist()
    return {"rle": ", ".join(map(str, counts)), "left": str(left), "top": str(top), "width": str(right - left),
            "height": str(bottom - top)}


def _element(a: Annotation, label: str, tag: str, **fields: str) -> ET.Element:
    el = ET.Element(tag, {"label": label, **fields})
    attributes = dict(a.attributes)
    if "occluded" in attributes:
        el.set("occluded", "1" if attributes.pop("occluded") else "0")
    for key in ("z_order", "source"):
        if key in attributes:
            el.set(key, str(attributes.pop(key)))
    if a.iscrowd:
        attributes["iscrowd"] = True
    for key, value in attributes.items():
        ET.SubElement(el, "attribute", name=key).text = str(value).lower() if isinstance(value, bool) else str(value)
    return el


def _recognise(src: Path) -> str | None:
    return "CVAT 1.1 XML" if looks_like_cvat(src) else None


def _read(src: Path, options: ReadOptions, report: Report) -> Read:
    root = options.images or cvat_image_dir(src)
    return Read(read_cvat(src, root, report), root)


FORMAT = FileFormat("cvat", "CVAT", frozenset(Content) - {Content.EXTREME_POINTS}, _recognise, _read, write_cvat)
