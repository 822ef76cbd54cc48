"""Masks, COCO RLE and COCO polygons, converted without losing holes or parts.

COCO polygons are rasterised by pycocotools with the even-odd rule inside one polygon and a union
across the polygons of an annotation. So each connected part becomes one polygon, traced along pixel
edges (exact), and each hole is joined to its part's outer ring by a bridge walked there and back:
the bridge cancels under even-odd and the hole stays a hole. mask -> polygons -> mask is identical.
"""
from __future__ import annotations

import itertools
from collections.abc import Sequence

import cv2
import numpy as np
import pycocotools.mask as mask_utils
import shapely

from .errors import UserError
from .geometry import ExtremePoints

Polygons = list[list[float]]
Rle = dict  # {"size": [height, width], "counts": str}: compressed COCO RLE

#: ExtremeNet's band: boundary within this share of the box side counts as the extreme.
EXTREME_BAND = 0.02


def mask_to_rle(mask: np.ndarray) -> Rle:
    rle = mask_utils.encode(np.asfortranarray(mask, dtype=np.uint8))
    return {"size": [int(v) for v in rle["size"]], "counts": rle["counts"].decode("ascii")}


def rle_to_mask(rle: Rle) -> np.ndarray:
    return mask_utils.decode(_c_rle(rle))


def compress_rle(rle: dict) -> Rle:
    """Accept COCO RLE with `counts` as a list (uncompressed) or a string; return the string form."""
    size = rle.get("size")
    counts = rle.get("counts")
    if not (isinstance(size, (list, tuple)) and len(size) == 2 and all(isinstance(v, int) for v in size)):
        raise UserError("RLE `size` must be [height, width]")
    if isinstance(counts, list):
        if not all(isinstance(v, int) and v >= 0 for v in counts):
            raise UserError("RLE `counts` must be non-negative integers")
        if sum(counts) != size[0] * size[1]:
            raise UserError(f"RLE `counts` add up to {sum(counts)}, not height x width = {size[0] * size[1]}")
        compressed = mask_utils.frPyObjects({"size": list(size), "counts": counts}, size[0], size[1])
        return {"size": list(size), "counts": compressed["counts"].decode("ascii")}
    if isinstance(counts, (str, bytes)):
        try:
            text = counts.decode("ascii") if isinstance(counts, bytes) else counts
        except UnicodeDecodeError:
            text = "\x80"
        if size[0] < 0 or size[1] < 0:
            raise UserError(f"RLE `size` {size} is negative")
        total = _compressed_total(text)
        if total != size[0] * size[1]:
            raise UserError(f"RLE `counts` add up to {total}, not height x width = {size[0] * size[1]}"
                            if total is not None else "RLE `counts` is not COCO's compressed RLE text")
        return {"size": list(size), "counts": text}
    raise UserError("RLE `counts` must be a list of integers or a string")


def _compressed_total(text: str) -> int | None:
    """The sum of the run lengths in COCO's compressed RLE text (pycocotools' own decoding: 5 bits a
    character from '0', a continuation bit, a sign bit, runs after the second coded as differences),
    or None when the text is not such a code. pycocotools itself reads past the end of a short one."""
    if not text.isascii():
        return None
    counts: list[int] = []
    value = shift = 0
    for ch in text:
        c = ord(ch) - 48
        if not 0 <= c < 64:
            return None
        value |= (c & 0x1F) << shift
        shift += 5
        if c & 0x20:
            continue
        if c & 0x10:
            value |= -1 << shift
        if len(counts) > 2:
            value += counts[-2]
        counts.append(value)
        value = shift = 0
    if shift or any(v < 0 for v in counts):
        return None
    return sum(counts)


def rle_area(rle: Rle) -> float:
    return float(mask_utils.area(_c_rle(rle)))


def rle_bbox(rle: Rle) -> list[float]:
    """The mask's box [x, y, width, height] in pixel-edge coordinates."""
    return [float(v) for v in mask_utils.toBbox(_c_rle(rle))]


def valid_polygons(polygons: Sequence[Sequence[float]]) -> Polygons:
    """The polygons pycocotools can rasterise: at least 3 vertices each.

    (pycocotools reads a list whose first entry has 4 numbers as boxes, so 2-vertex polygons must go.)
    """
    return [list(p) for p in polygons if len(p) >= 6 and len(p) % 2 == 0]


def check_rasterisable(polygons: Sequence[Sequence[float]], height: int, width: int) -> None:
    """Refuse outlines pycocotools must not see: a coordinate that is not finite, or that lies further
    outside the image than its own size, made it crash or take all the memory there is. Readers refuse
    these first and say where; this guards what was stored before they did."""
    flat = np.fromiter(itertools.chain.from_iterable(polygons), float)
    if flat.size == 0:
        return
    xs, ys = flat[0::2], flat[1::2]
    with np.errstate(invalid="ignore"):
        fine = np.isfinite(flat).all() and xs.min() >= -width and xs.max() <= 2 * width and \
            ys.min() >= -height and ys.max() <= 2 * height
    if not fine:
        raise UserError(f"an outline has coordinates that are not numbers within reach of the {width}x{height} image")


def polygons_to_rle(polygons: Sequence[Sequence[float]], height: int, width: int) -> Rle:
    polys = valid_polygons(polygons)
    if not polys:
        return mask_to_rle(np.zeros((height, width), np.uint8))
    check_rasterisable(polys, height, width)
    rle = mask_utils.merge(mask_utils.frPyObjects(polys, height, width))
    return {"size": [height, width], "counts": rle["counts"].decode("ascii")}


def union_rle(masks: Sequence[np.ndarray], polygons: Sequence[Sequence[float]], height: int, width: int) -> Rle:
    """One object's mask from the pixel masks and outlines a file gives it in several shapes."""
    full = np.logical_or.reduce([np.asarray(m, bool) for m in masks]) if masks else np.zeros((height, width), bool)
    if polygons:
        full |= polygons_to_mask(polygons, height, width).astype(bool)
    return mask_to_rle(full)


def polygon_areas(polygons: Sequence[Sequence[float]], height: int, width: int) -> list[float]:
    """The pixel area of each single polygon (at least 3 vertices), rasterised as pycocotools does, in
    one call: an export computes a million of them, and the per-call cost is most of the time."""
    areas: list[float] = []
    check_rasterisable(polygons, height, width)
    for start in range(0, len(polygons), 255):  # pycocotools' area() counts its input in a uint8
        rles = mask_utils.frPyObjects([list(p) for p in polygons[start:start + 255]], height, width)
        areas += [float(v) for v in mask_utils.area(rles)]
    return areas


def polygons_to_mask(polygons: Sequence[Sequence[float]], height: int, width: int) -> np.ndarray:
    return rle_to_mask(polygons_to_rle(polygons, height, width))


def polygons_contain(polygons: Sequence[Sequence[float]], x: float, y: float) -> bool:
    """Whether (x, y) lies inside the mask the polygons draw, by the even-odd rule: a hole bridged into
    its outline, or a part inside another's hole, counts as it is drawn."""
    crossings = 0
    for flat in polygons:
        xs, ys = np.asarray(flat[0::2], float), np.asarray(flat[1::2], float)
        nx, ny = np.roll(xs, -1), np.roll(ys, -1)
        spans = (ys > y) != (ny > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            at = xs + (y - ys) * (nx - xs) / (ny - ys)
        crossings += int(np.count_nonzero(spans & (at > x)))
    return crossings % 2 == 1


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two boolean masks of one size (0 when both are empty)."""
    union = np.count_nonzero(a | b)
    return np.count_nonzero(a & b) / union if union else 0.0


def without_small_holes(mask: np.ndarray, share: float, keep: Sequence[tuple[float, float]] = ()) -> np.ndarray:
    """The mask with its holes under `share` of its area filled: a backend's pinholes, which a polygon
    can hold only as a cut from the outline. A hole holding a point of `keep` (a person's background
    correction) stays, whatever its size."""
    mask = np.asarray(mask, dtype=bool)
    count, labels, stats, _ = cv2.connectedComponentsWithStats((~mask).astype(np.uint8), connectivity=4)
    height, width = mask.shape
    kept = {int(labels[int(y), int(x)]) for x, y in keep if 0 <= x < width and 0 <= y < height}
    limit = share * mask.sum()
    out = mask.copy()
    for k in range(1, count):
        x, y, w, h, area = stats[k]
        inside = x > 0 and y > 0 and x + w < width and y + h < height  # touches no side: a hole
        if inside and area < limit and k not in kept:
            out[labels == k] = True
    return out


def simplified(polygon: Sequence[float], tolerance: float) -> list[float]:
    """An outline traced along pixel edges (every side horizontal or vertical, on whole pixels: what
    `mask_to_polygons` makes) with fewer vertices, every point within `tolerance` of it. The vertices
    at its left-, top-, right- and bottom-most are kept, so its box stays exact. Any other polygon (one
    a person or another tool drew) is returned as it is."""
    points = np.asarray(polygon, dtype=float).reshape(-1, 2)
    following = np.roll(points, -1, axis=0)
    traced = (points == np.round(points)).all() and ((points == following).any(axis=1)).all()
    if not traced or len(points) <= 4:
        return list(polygon)
    ends = sorted({int(points[:, 0].argmin()), int(points[:, 1].argmin()), int(points[:, 0].argmax()),
                   int(points[:, 1].argmax())})
    out = []
    for start, stop in zip(ends, ends[1:] + [ends[0] + len(points)], strict=True):
        chain = points[np.arange(start, stop + 1) % len(points)]
        kept = shapely.LineString(chain).simplify(tolerance, preserve_topology=False) if len(chain) > 2 else None
        out.append(np.asarray(kept.coords)[:-1] if kept is not None else chain[:-1])
    return np.concatenate(out).ravel().astype(float).tolist()


def mask_to_polygons(mask: np.ndarray) -> Polygons:
    """Trace a mask along pixel edges: one polygon per 8-connected part, its holes bridged in."""
    geometry = _mask_geometry(np.asarray(mask, dtype=bool))
    if geometry is None:
        return []
    parts = shapely.get_parts(geometry)
    return [_bridged(part) for part in parts if part.area > 0]


def _mask_geometry(mask: np.ndarray):
    """The union of the mask's row runs as pixel-edge rectangles (shapely), or None when empty."""
    if not mask.any():
        return None
    padded = np.pad(mask, ((0, 0), (1, 1))).astype(np.int8)
    change = np.diff(padded, axis=1)
    start_rows, start_cols = np.nonzero(change == 1)
    _, end_cols = np.nonzero(change == -1)  # row-major order matches the starts one to one
    boxes = shapely.box(start_cols, start_rows, end_cols, start_rows + 1)
    return shapely.simplify(shapely.union_all(boxes), 0)


def _bridged(polygon) -> list[float]:
    exterior = np.asarray(polygon.exterior.coords)[:-1]
    pieces = [exterior]
    for ring in polygon.interiors:
        pieces += [exterior[:1], np.asarray(ring.coords)]
    return np.concatenate(pieces).ravel().astype(float).tolist()


def extreme_points_from_mask(mask: np.ndarray) -> ExtremePoints | None:
    """ExtremeNet's rule on pixels: within a 2 % band of each side, the middle of the span it covers."""
    rows, cols = np.nonzero(np.asarray(mask))
    if rows.size == 0:
        return None
    y0, y1 = rows.min(), rows.max() + 1
    x0, x1 = cols.min(), cols.max() + 1
    band_y = EXTREME_BAND * (y1 - y0)
    band_x = EXTREME_BAND * (x1 - x0)

    def mid(values: np.ndarray) -> float:
        return (float(values.min()) + float(values.max()) + 1) / 2

    return ExtremePoints(
        top=(mid(cols[rows - y0 <= band_y]), float(y0)),
        left=(float(x0), mid(rows[cols - x0 <= band_x])),
        bottom=(mid(cols[(y1 - 1) - rows <= band_y]), float(y1)),
        right=(float(x1), mid(rows[(x1 - 1) - cols <= band_x])),
    )


def extreme_points_from_polygons(polygons: Sequence[Sequence[float]]) -> ExtremePoints | None:
    """ExtremeNet's rule on polygon vertices; None for polygons without width or height."""
    return extreme_points_of_many([polygons])[0]


def extreme_points_of_many(objects: Sequence[Sequence[Sequence[float]]]) -> list[ExtremePoints | None]:
    """ExtremeNet's rule on each object's polygon vertices (its polygons' together), for all the objects
    in one numpy pass over every vertex: one object at a time in Python, a million objects' points were
    a quarter of a YOLO -> COCO conversion. None for an object whose polygons have no width or height."""
    flat: list[float] = []
    counts = []
    for polygons in objects:
        before = len(flat)
        for p in polygons:
            if len(p) >= 6 and len(p) % 2 == 0:  # as valid_polygons, without copies
                flat.extend(p)
        counts.append((len(flat) - before) // 2)
    found: list[ExtremePoints | None] = [None] * len(objects)
    sizes = np.array(counts, dtype=np.int64)
    which = np.flatnonzero(sizes)
    if which.size == 0:
        return found
    xy = np.array(flat, dtype=np.float64).reshape(-1, 2)
    xs, ys = xy[:, 0], xy[:, 1]
    starts = np.concatenate(([0], np.cumsum(sizes[which])[:-1]))
    x0, x1 = np.minimum.reduceat(xs, starts), np.maximum.reduceat(xs, starts)
    y0, y1 = np.minimum.reduceat(ys, starts), np.maximum.reduceat(ys, starts)

    def each(values: np.ndarray) -> np.ndarray:
        return np.repeat(values, sizes[which])

    def middle(values: np.ndarray, inside: np.ndarray) -> list[float]:
        low = np.minimum.reduceat(np.where(inside, values, np.inf), starts)
        high = np.maximum.reduceat(np.where(inside, values, -np.inf), starts)
        with np.errstate(invalid="ignore"):  # an empty band (a flat object, discarded below) is inf - inf
            return ((low + high) / 2).tolist()

    in_top = ys <= each(y0 + EXTREME_BAND * (y1 - y0))  # the bands cannot overlap: each is 2 % of a side
    in_left = xs <= each(x0 + EXTREME_BAND * (x1 - x0))
    top, bottom = middle(xs, in_top), middle(xs, ~in_top & (ys >= each(y1 - EXTREME_BAND * (y1 - y0))))
    left, right = middle(ys, in_left), middle(ys, ~in_left & (xs >= each(x1 - EXTREME_BAND * (x1 - x0))))
    flat_sized = (x1 == x0) | (y1 == y0)
    for k, (i, a, b, c, d, no) in enumerate(zip(which.tolist(), x0.tolist(), y0.tolist(), x1.tolist(), y1.tolist(),
                                                 flat_sized.tolist(), strict=True)):
        if not no:  # consistent by construction: each point lies on its box side
            found[i] = ExtremePoints.checked_before(top=(top[k], b), left=(a, left[k]), bottom=(bottom[k], d),
                                                    right=(c, right[k]))
    return found


def has_bridge(polygon: Sequence[float]) -> bool:
    """Whether a polygon walks to a hole and back: it returns to its first vertex before its end
    (a closing repeat of the first vertex at the very end is no bridge), as our traced polygons do."""
    x0, y0 = polygon[0], polygon[1]
    values = list(polygon)
    i, end = 2, len(values) - 2
    while True:  # list.index scans in C: this runs once per object of a million-label export
        try:
            i = values.index(x0, i, end)
        except ValueError:
            return False
        if i % 2 == 0 and values[i + 1] == y0:
            return True
        i += 1


def holds_holes(polygons: Sequence[Sequence[float]]) -> bool:
    """Whether a mask's polygons keep a hole the only way a polygon can: bridged in (`has_bridge`)."""
    return any(has_bridge(p) for p in polygons)


def rings(polygon: Sequence[float]) -> list[list[float]]:
    """A polygon's outline and its holes' outlines apart, without the bridges `mask_to_polygons` walks
    from the outline to each hole and back (the inverse of `_bridged`): what a drawing should stroke."""
    points = np.asarray(polygon, dtype=float).reshape(-1, 2)
    back = np.flatnonzero((points[1:] == points[0]).all(axis=1)) + 1
    if not len(back):
        return [list(polygon)]
    out = [points[:back[0]]]
    i = back[0] + 1
    while i < len(points):
        same = np.flatnonzero((points[i + 1:] == points[i]).all(axis=1))
        end = i + 1 + same[0] if len(same) else len(points)
        out.append(points[i:end])  # the hole, without its closing repeat
        i = end + 2  # past the closing repeat and the way back to the outline's first vertex
    return [ring.ravel().astype(float).tolist() for ring in out if len(ring) >= 3]


def _c_rle(rle: Rle) -> dict:
    counts = rle["counts"]
    return {"size": list(rle["size"]), "counts": counts.encode("ascii") if isinstance(counts, str) else counts}
