"""`annotator anchors`: the boxes of a dataset described, and anchors fitted to them, written as people
paste them into their configs (YOLOv5's yaml, darknet's cfg, mmdetection's config, or JSON), each
format read back as well, so that `--compare FILE` scores anchors from any of them. The math is in
`detectors.anchor_boxes`; this module reads the data, scales the boxes and speaks."""
from __future__ import annotations

import ast
import json
import math
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from converters import Dataset, UserError
from detectors.anchor_boxes import RESTARTS, STANDARD, Fit, box_sizes, by_level, evolve, fit, kmeans, standard

FORMATS = ("yolov5", "darknet", "mmdet", "json")
#: COCO's size classes, by area in pixels of the original image.
SMALL, MEDIUM = 32 ** 2, 96 ** 2
TINY_PX = 3
#: A bound on --restarts: a typo of a few more digits would run for hours.
MAX_RESTARTS = 1000


@dataclass(frozen=True)
class Boxes:
    """The dataset's boxes: their sizes in the original pixels and scaled to `img_size`, their image's
    size, and their category names."""
    wh: np.ndarray  # (N, 2) original pixels
    scaled: np.ndarray  # (N, 2) with the image's long side at img_size
    image_wh: np.ndarray  # (N, 2)
    categories: list[str]
    images: int
    img_size: int


def boxes_of(dataset: Dataset, img_size: int) -> Boxes:
    """Every region's box that is not a crowd and has a size; None of them: a one-line error."""
    if img_size <= 0:
        raise UserError(f"--img-size must be positive, not {img_size}")
    wh, scaled, image_wh, category_ids = box_sizes(dataset, img_size)
    if not len(wh):
        raise UserError("has no boxes to fit anchors to (regions that are not crowds, with a width and a height)")
    names = {c.id: c.name for c in dataset.categories}
    return Boxes(wh, scaled, image_wh, [names.get(c, str(c)) for c in category_ids], len(dataset.images), img_size)


def statistics(boxes: Boxes) -> dict[str, Any]:
    """Per category and overall: count, quantiles of width, height and area (pixels and relative to the
    image), aspect ratios (w / h), COCO's small / medium / large shares, boxes per image, tiny boxes."""
    names = np.array(boxes.categories)
    groups = {"all": np.ones(len(names), bool), **{n: names == n for n in sorted(set(boxes.categories))}}
    out: dict[str, Any] = {}
    for name, keep in groups.items():
        wh, rel = boxes.wh[keep], boxes.wh[keep] / boxes.image_wh[keep]
        area = wh.prod(axis=1)
        out[name] = {
            "boxes": int(keep.sum()),
            "width_px": _quantiles(wh[:, 0]), "height_px": _quantiles(wh[:, 1]), "area_px": _quantiles(area),
            "width_rel": _quantiles(rel[:, 0]), "height_rel": _quantiles(rel[:, 1]),
            "aspect_w_over_h": _quantiles(wh[:, 0] / wh[:, 1]),
            "small": float((area < SMALL).mean()), "medium": float(((area >= SMALL) & (area < MEDIUM)).mean()),
            "large": float((area >= MEDIUM).mean()),
            "under_3px": int((wh.min(axis=1) < TINY_PX).sum()),
        }
    out["all"]["boxes_per_image"] = len(names) / max(boxes.images, 1)
    return out


def _quantiles(values: np.ndarray) -> dict[str, float]:
    q = np.quantile(values, [0, 0.25, 0.5, 0.75, 1])
    return dict(zip(("min", "q25", "median", "q75", "max"), (float(v) for v in q), strict=True))


@dataclass
class Result:
    levels: list[np.ndarray]  # the anchors per level, smallest first, at img_size
    fit: Fit
    algorithm: str
    evolved: bool | None  # evolve only: whether the search found better anchors than k-means'


def fitted(boxes: Boxes, k: int, levels: int, algorithm: str, threshold: float, seed: int = 0,
           restarts: int = RESTARTS, generations: int = 1000) -> Result:
    if k < 1:
        raise UserError(f"--num must be at least 1, not {k}")
    if not 1 <= restarts <= MAX_RESTARTS:
        raise UserError(f"--restarts must be from 1 to {MAX_RESTARTS}, not {restarts}")
    if not threshold > 1 or not math.isfinite(threshold):  # nan passed `<= 1` unrefused
        raise UserError(f"--threshold is a ratio above 1 (YOLOv5's default is 4.0), not {threshold:g}")
    try:
        anchors = kmeans(boxes.scaled, k, seed, restarts=restarts)
    except ValueError as e:
        raise UserError(f"--num {k}: {e}") from None
    evolved = None
    if algorithm == "evolve":
        anchors, evolved = evolve(boxes.scaled, anchors, threshold, generations, seed)
    try:
        split = by_level(anchors, levels)
    except ValueError as e:
        raise UserError(str(e)) from None
    return Result(split, fit(boxes.scaled, anchors, threshold), algorithm, evolved)


def compared(boxes: Boxes, name: str, threshold: float) -> tuple[list[np.ndarray], Fit]:
    """A shipped set (`STANDARD`, scaled to img_size) or a file in any format `written` makes."""
    if name in STANDARD:
        levels = standard(name, boxes.img_size)
    else:
        levels = read_anchors(Path(name))
    return levels, fit(boxes.scaled, np.vstack(levels), threshold)


# -- writing and reading back ---------------------------------------------------------------------------
def written(levels: list[np.ndarray], fmt: str, img_size: int, summary: dict[str, Any] | None = None) -> str:
    """The anchors as each tool's config holds them; whole pixels, except JSON's one decimal."""
    pairs = [[(round(float(w)), round(float(h))) for w, h in level] for level in levels]
    strides = [8 * 2 ** k for k in range(len(levels))]
    if fmt == "yolov5":
        rows = [f"  - [{', '.join(f'{w},{h}' for w, h in level)}]  # P{k + 3}/{strides[k]}"
                for k, level in enumerate(pairs)]
        return f"# annotator anchors, at img-size {img_size}\nanchors:\n" + "\n".join(rows) + "\n"
    if fmt == "darknet":
        flat = ",  ".join(f"{w},{h}" for level in pairs for w, h in level)
        return f"# annotator anchors, at width/height {img_size}\nanchors = {flat}\nnum={sum(map(len, pairs))}\n"
    if fmt == "mmdet":  # mmdetection's YOLOAnchorGenerator lists the largest level first
        bases = ",\n                ".join(f"[{', '.join(f'({w}, {h})' for w, h in level)}]" for level in pairs[::-1])
        return (f"# annotator anchors, at img-size {img_size}\n"
                "anchor_generator=dict(\n    type='YOLOAnchorGenerator',\n"
                f"    base_sizes=[{bases}],\n    strides={strides[::-1]})\n")
    if fmt == "json":
        data = {"img_size": img_size, "levels": [[[round(float(w), 1), round(float(h), 1)] for w, h in level]
                                                 for level in levels], **(summary or {})}
        return json.dumps(data, indent=1) + "\n"
    raise ValueError(f"format must be one of {FORMATS}")


def read_anchors(path: Path) -> list[np.ndarray]:
    """Anchors per level from a file `written` made (or one a person wrote the same way)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise UserError(f"cannot read anchors: {e.strerror or e}", path) from None
    try:
        levels = _parsed(text)
    except (ValueError, SyntaxError, yaml.YAMLError, TypeError, KeyError) as e:
        raise UserError(f"holds no anchors in a format annotator reads (yolov5, darknet, mmdet, json): {e}",
                        path) from None
    if not levels or any(len(level) == 0 for level in levels):
        raise UserError("holds no anchors", path)
    arrays = [np.array(level, float).reshape(-1, 2) for level in levels]
    if any((a <= 0).any() or not np.isfinite(a).all() for a in arrays):
        raise UserError("has an anchor whose width or height is not a positive number", path)
    return arrays


def _parsed(text: str) -> list[list]:
    if text.lstrip().startswith("{"):
        data = json.loads(text)
        return data["levels"] if "levels" in data else [data["anchors"]]
    if "base_sizes" in text:
        found = re.search(r"base_sizes\s*=\s*(\[.*?\]\s*\])\s*,", text, re.S)
        if found is None:
            raise ValueError("base_sizes=[[...]] not found")
        return [list(level) for level in ast.literal_eval(found.group(1))][::-1]
    darknet = re.search(r"^\s*anchors\s*=\s*(.+)$", text, re.M)
    if darknet is not None:
        values = [float(v) for v in darknet.group(1).split(",") if v.strip()]
        return [list(zip(values[::2], values[1::2], strict=True))]
    data = yaml.safe_load(text)
    rows = data["anchors"]
    return [list(zip(row[::2], row[1::2], strict=True)) for row in rows]


def summary_of(result: Result, stats: dict[str, Any], comparisons: dict[str, Fit]) -> dict[str, Any]:
    """Everything as one object, for --json and for the JSON file."""
    return {"algorithm": result.algorithm, "evolved": result.evolved, "fit": asdict(result.fit),
            "compared": {name: asdict(f) for name, f in comparisons.items()}, "boxes": stats}
