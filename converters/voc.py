"""Pascal VOC XML: one file per image, boxes in 1-based inclusive pixels.

A box with xmin..xmax covers pixels xmin..xmax counted from 1, so in our coordinates (origin at the
top-left corner of the first pixel) it spans xmin - 1 .. xmax: x = xmin - 1, width = xmax - xmin + 1.
`difficult`, `truncated`, `occluded` and `pose` are kept as attributes; other attributes travel in
datumaro-style <attributes> elements. Instance masks are read from SegmentationObject PNGs when present.
"""
from __future__ import annotations

import math
import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .atomic import atomic_directory
from .errors import UserError, shown
from .exportfolder import ExportFolder
from .fileformat import Content, FileFormat, Read, ReadOptions, WriteOptions
from .geometry import CLICK_TOLERANCE, Box, fmt_number
from .images import ImageFolder, find_images
from .masks import mask_to_rle
from .model import Annotation, Category, Dataset, ImageRecord, Source
from .progress import tracked
from .report import Report
from .xmlfiles import parse_xml

FLAGS = ("difficult", "truncated", "occluded")
UNLABELLED = "{n} images without an XML file: added without labels"


def looks_like_voc(src: Path) -> bool:
    files = _xml_files(src) if src.is_dir() else [src] if src.suffix.lower() == ".xml" else []
    for f in files[:1]:
        try:
            return ET.parse(f).getroot().tag == "annotation"
        except (ET.ParseError, OSError):
            return False
    return False


def _xml_files(src: Path) -> list[Path]:
    folder = src / "Annotations" if (src / "Annotations").is_dir() else src
    return sorted(p for p in folder.rglob("*.xml") if not p.name.startswith("."))


def voc_image_dir(src: Path) -> Path:
    """Where a VOC dataset's images are: JPEGImages/ when it has one, else beside the XML files."""
    root = src if src.is_dir() else src.parent
    return root / "JPEGImages" if (root / "JPEGImages").is_dir() else root


def read_voc(src: Path, images_dir: Path | None = None, report: Report | None = None) -> Dataset:
    """Read a VOC folder (with Annotations/ and JPEGImages/, or XML files beside their images) or one file."""
    report = report if report is not None else Report()
    files = _xml_files(src) if src.is_dir() else [src]
    if not files:
        raise UserError("no VOC XML files found", src)
    root = src if src.is_dir() else src.parent
    images = ImageFolder(images_dir or voc_image_dir(src))
    ds = Dataset()
    categories: dict[str, int] = {}
    for image_id, path in enumerate(files, 1):
        _read_file(path, image_id, images, root, ds, categories, report)
    if src.is_dir() and images.root.is_dir():
        labelled = {im.file_name.lower() for im in ds.images}
        for rel in find_images(images.root):
            if rel.as_posix().lower() not in labelled:
                ds.images.append(ImageRecord(len(ds.images) + 1, rel.as_posix(), *images.size(rel.as_posix(), src)))
                report.add(UNLABELLED)
    ds.categories = [Category(id=i, name=name) for name, i in categories.items()]
    return ds


def _read_file(path: Path, image_id: int, images: ImageFolder, root: Path, ds: Dataset,
               categories: dict[str, int], report: Report) -> None:
    tree = parse_xml(path, "annotation")
    filename = _text(tree, "filename", path, "annotation")
    written_path = (tree.findtext("path") or "").strip()
    found = (images.find(written_path) if written_path and not Path(written_path).is_absolute() else None) \
        or images.find(filename)
    file_name = os.path.relpath(found, images.root) if found else filename
    width, height = _int(tree, "size/width", path, 0), _int(tree, "size/height", path, 0)
    if width <= 0 or height <= 0:
        width, height = images.size(filename, path, "size")
    ds.images.append(ImageRecord(id=image_id, file_name=Path(file_name).as_posix(), width=width, height=height))
    masks = _instance_masks(root, path.stem, (height, width), path)
    for index, obj in enumerate(tree.findall("object")):
        place = f"object[{index}]"
        name = _text(obj, "name", path, place)
        category_id = categories.setdefault(name, len(categories) + 1)
        box = _box(obj, width, height, path, place)
        attributes: dict[str, Any] = {flag: _int(obj, flag, path, 0) for flag in FLAGS if obj.find(flag) is not None}
        pose = obj.findtext("pose")
        if pose is not None:
            attributes["pose"] = pose
        for attr in obj.findall("attributes/attribute"):
            attributes[attr.findtext("name", "")] = _parse_value(attr.findtext("value", ""))
        ann = Annotation(id=len(ds.annotations) + 1, image_id=image_id, category_id=category_id, box=box,
                         source=Source.IMPORTED, attributes=attributes)
        if masks is not None and (masks == index + 1).any():
            instance = masks == index + 1
            ann.rle = mask_to_rle(instance)
        ds.annotations.append(ann)


def _text(node: ET.Element, tag: str, path: Path, place: str) -> str:
    value = node.findtext(tag)
    if value is None or not value.strip():
        raise UserError(f"missing <{tag}>", path, place)
    return value.strip()


def _number(node: ET.Element, tag: str, path: Path, place: str) -> float:
    text = _text(node, tag, path, place)
    try:
        value = float(text)
    except ValueError:
        raise UserError(f"<{tag}> is not a number: {shown(text)}", path, f"{place}.{tag}") from None
    if not math.isfinite(value):
        raise UserError(f"<{tag}> is not a finite number: {shown(text)}", path, f"{place}.{tag}")
    return value


def _int(node: ET.Element, tag: str, path: Path, default: int) -> int:
    text = node.findtext(tag)
    if text is None or not text.strip():
        return default
    try:
        value = float(text)
    except ValueError:
        raise UserError(f"<{tag}> is not a number: {shown(text.strip())}", path, tag) from None
    if not math.isfinite(value) or abs(value) > 2 ** 31:
        raise UserError(f"<{tag}> is not a number we can use: {shown(text.strip())}", path, tag)
    return int(value)


def _box(obj: ET.Element, width: int, height: int, path: Path, place: str) -> Box:
    place = f"{place}.bndbox"
    bb = obj.find("bndbox")
    if bb is None:
        raise UserError("missing <bndbox>", path, place)
    xmin, ymin, xmax, ymax = (_number(bb, t, path, place) for t in ("xmin", "ymin", "xmax", "ymax"))
    x0, y0, x1, y1 = xmin - 1, ymin - 1, xmax, ymax
    if x1 < x0 or y1 < y0:
        raise UserError(f"xmax < xmin or ymax < ymin ({xmin:g}, {ymin:g}, {xmax:g}, {ymax:g})", path, place)
    tol = CLICK_TOLERANCE
    if x0 < -tol or y0 < -tol or x1 > width + tol or y1 > height + tol:
        raise UserError(f"box ({xmin:g}, {ymin:g}, {xmax:g}, {ymax:g}) lies outside the {width}x{height} image",
                        path, place)
    return Box(x0, y0, x1 - x0, y1 - y0)


def _parse_value(text: str):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text, text)


def _instance_masks(root: Path, stem: str, shape: tuple[int, int], xml_path: Path) -> np.ndarray | None:
    """Instance indices from SegmentationObject/<stem>.png (VOC palette colours), or None."""
    png = root / "SegmentationObject" / f"{stem}.png"
    if not png.is_file():
        return None
    bgr = cv2.imread(str(png), cv2.IMREAD_COLOR)
    if bgr is None or bgr.shape[:2] != shape:
        raise UserError(f"unreadable, or not {shape[1]}x{shape[0]} like its image", png)
    packed = (bgr[..., 2].astype(np.int32) << 16) | (bgr[..., 1].astype(np.int32) << 8) | bgr[..., 0].astype(np.int32)
    lookup = {(int(r) << 16) | (int(g) << 8) | int(b): i for i, (r, g, b) in enumerate(voc_colormap())}
    indices = np.zeros(shape, np.int32)
    for colour in np.unique(packed):
        indices[packed == colour] = lookup.get(int(colour), 0)
    return indices


def voc_colormap(n: int = 256) -> np.ndarray:
    """VOC's palette: index i's bits are spread over the top bits of R, G and B."""
    cmap = np.zeros((n, 3), np.uint8)
    for i in range(n):
        c, r, g, b = i, 0, 0, 0
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        cmap[i] = (r, g, b)
    return cmap


def write_voc(ds: Dataset, out: Path, options: WriteOptions, report: Report) -> None:
    """Write Annotations/<image path>.xml for every image (boxes and attributes) and JPEGImages/ with
    hard links to the images under the image root."""
    names = {c.id: c.name for c in ds.categories}
    by_image = ds.annotations_by_image()
    with atomic_directory(out) as tmp:
        files = ExportFolder(tmp, options.image_root, report)
        for im in tracked(ds.images, len(ds.images), options.progress):
            files.link_image(im.file_name, f"JPEGImages/{im.file_name}")
            xml = _image_xml(im, by_image.get(im.id, []), names)
            files.write(f"Annotations/{Path(im.file_name).with_suffix('.xml').as_posix()}",
                        ET.tostring(xml, encoding="utf-8", xml_declaration=False))


def _image_xml(im: ImageRecord, anns: list[Annotation], names: dict[int, str]) -> ET.Element:
    root = ET.Element("annotation")
    ET.SubElement(root, "folder").text = Path(im.file_name).parent.as_posix().strip(".")
    ET.SubElement(root, "filename").text = Path(im.file_name).name
    ET.SubElement(root, "path").text = im.file_name
    size = ET.SubElement(root, "size")
    for tag, value in (("width", im.width), ("height", im.height), ("depth", 3)):
        ET.SubElement(size, tag).text = str(value)
    ET.SubElement(root, "segmented").text = "0"
    for a in anns:
        obj = ET.SubElement(root, "object")
        ET.SubElement(obj, "name").text = names[a.category_id]
        if "pose" in a.attributes:
            ET.SubElement(obj, "pose").text = str(a.attributes["pose"])
        for flag in FLAGS:
            if flag in a.attributes:
                ET.SubElement(obj, flag).text = str(int(a.attributes[flag]))
        bb = ET.SubElement(obj, "bndbox")
        b = a.box
        for tag, edge in (("xmin", b.x + 1), ("ymin", b.y + 1), ("xmax", b.x + b.w), ("ymax", b.y + b.h)):
            ET.SubElement(bb, tag).text = fmt_number(edge)
        extra = {k: v for k, v in a.attributes.items() if k not in FLAGS and k != "pose"}
        if extra:
            attrs = ET.SubElement(obj, "attributes")
            for key, value in extra.items():
                attr = ET.SubElement(attrs, "attribute")
                ET.SubElement(attr, "name").text = key
                ET.SubElement(attr, "value").text = str(value).lower() if isinstance(value, bool) else str(value)
    ET.indent(root)
    return root


def _recognise(src: Path) -> str | None:
    return "found VOC XML files" if looks_like_voc(src) else None


def _read(src: Path, options: ReadOptions, report: Report) -> Read:
    root = options.images or voc_image_dir(src)
    return Read(read_voc(src, root, report), root)


FORMAT = FileFormat("voc", "VOC", frozenset({Content.ATTRIBUTES}), _recognise, _read, write_voc)
