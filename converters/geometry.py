"""Extreme points, the box they define exactly, and ExtremeNet's octagon.

Coordinates are float pixels with the origin at the top-left corner of the top-left pixel (COCO's
convention), so a mask's left-most pixel column c gives an extreme x of c and its right-most column c
gives c + 1: the box from the extreme points equals the mask's box.
"""
from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import permutations

from .errors import UserError, shown

#: Larger sides are refused as an image size: past JPEG's and WebP's limit, a mask of the whole image
#: would not fit in memory.
MAX_SIDE = 2 ** 16


def check_image_size(width: int, height: int, source: str | os.PathLike | None = None,
                     place: str | None = None) -> None:
    """Refuse a size no image has, as it is read: before any coordinate is compared with it (a side of
    400 digits cannot even be turned into a float)."""
    if not (0 < width < MAX_SIDE and 0 < height < MAX_SIDE):
        raise UserError(f"image size {shown(width, 12)}x{shown(height, 12)} is not one an image can have (each side "
                        f"1 to {MAX_SIDE - 1})", source, place)

Point = tuple[float, float]

#: Clicks this far outside the image (in pixels) are clamped onto its border; farther ones are refused.
CLICK_TOLERANCE = 2.0

ROLES = ("top", "left", "bottom", "right")
OPPOSITE = {"top": "bottom", "bottom": "top", "left": "right", "right": "left"}


def fmt_point(p: Sequence[float]) -> str:
    return f"({p[0]:g}, {p[1]:g})"


def fmt_number(v: float) -> str:
    """A coordinate for a text format: whole numbers as integers (as tools expect), others exactly."""
    return str(int(v)) if float(v).is_integer() else repr(float(v))


@dataclass(frozen=True, slots=True)
class Box:
    """An axis-aligned box as COCO writes it: top-left corner, width, height."""

    x: float
    y: float
    w: float
    h: float

    @property
    def area(self) -> float:
        return self.w * self.h

    def to_list(self) -> list[float]:
        return [self.x, self.y, self.w, self.h]

    def iou(self, other: Box) -> float:
        """Intersection over union with another box (0 when neither has an area)."""
        across = min(self.x + self.w, other.x + other.w) - max(self.x, other.x)
        down = min(self.y + self.h, other.y + other.h) - max(self.y, other.y)
        inter = max(across, 0.0) * max(down, 0.0)
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0

    def pixels(self, width: int, height: int) -> tuple[int, int, int, int]:
        """The pixels the box covers in a width x height image, as [x0, x1) x [y0, y1): at least one
        pixel, inside the image."""
        x0 = min(width - 1, max(0, math.floor(self.x)))
        y0 = min(height - 1, max(0, math.floor(self.y)))
        x1 = max(x0 + 1, min(width, math.ceil(self.x + self.w)))
        y1 = max(y0 + 1, min(height, math.ceil(self.y + self.h)))
        return x0, y0, x1, y1


@dataclass(frozen=True, slots=True)
class Correction:
    """A correction point a person adds to an object after its extreme clicks: the mask must hold it
    (`foreground`) or must not. The mask backends take them with the clicks."""

    x: float
    y: float
    foreground: bool

    def inside(self, box: Box) -> bool:
        return box.x <= self.x <= box.x + box.w and box.y <= self.y <= box.y + box.h


@dataclass(frozen=True, slots=True)
class ExtremePoints:
    """The top-, left-, bottom- and right-most points of one object, checked to agree with each other."""

    top: Point
    left: Point
    bottom: Point
    right: Point

    def __post_init__(self) -> None:
        t, l, b, r = self.top, self.left, self.bottom, self.right
        coords = (*t, *l, *b, *r)
        try:
            finite = len(coords) == 8 and all(map(math.isfinite, coords))
        except TypeError:
            finite = False
        if not finite:
            self._refuse_non_finite()
        agree = (t[1] <= min(l[1], b[1], r[1]) and b[1] >= max(t[1], l[1], r[1])
                 and l[0] <= min(t[0], b[0], r[0]) and r[0] >= max(t[0], l[0], b[0]))
        if not agree:
            raise UserError(self._contradiction())
        if r[0] == l[0]:
            raise UserError(f"the points have zero width: all lie on x = {l[0]:g}")
        if b[1] == t[1]:
            raise UserError(f"the points have zero height: all lie on y = {t[1]:g}")

    def _refuse_non_finite(self) -> None:
        for role, p in self.as_dict().items():
            if len(p) != 2 or not all(finite_number(v) for v in p):
                raise UserError(f"the {role} point {p!r} is not two finite numbers")

    def _contradiction(self) -> str:
        """Say which point disagrees with which, naming the opposite point first where it is involved."""
        points = self.as_dict()
        for role, p in points.items():
            for other in sorted((r for r in ROLES if r != role), key=lambda r: r != OPPOSITE[role]):
                q = points[other]
                if role == "top" and p[1] > q[1]:
                    return f"the top point {fmt_point(p)} lies below the {other} point {fmt_point(q)}"
                if role == "bottom" and p[1] < q[1]:
                    return f"the bottom point {fmt_point(p)} lies above the {other} point {fmt_point(q)}"
                if role == "left" and p[0] > q[0]:
                    return f"the left point {fmt_point(p)} lies right of the {other} point {fmt_point(q)}"
                if role == "right" and p[0] < q[0]:
                    return f"the right point {fmt_point(p)} lies left of the {other} point {fmt_point(q)}"
        raise AssertionError("called only when the points disagree")

    @classmethod
    def from_clicks(
        cls,
        clicks: Iterable[Sequence[float]],
        image_size: tuple[int, int] | None = None,
        tolerance: float = CLICK_TOLERANCE,
    ) -> ExtremePoints:
        """Assign four clicks given in any order to top/left/bottom/right by geometry.

        `image_size` is (width, height); clicks within `tolerance` px outside it are clamped onto it.
        """
        given = [tuple(float(v) for v in c) for c in clicks]
        if len(given) != 4:
            raise UserError(f"expected 4 extreme points, got {len(given)}")
        for i, p in enumerate(given, 1):
            if len(p) != 2 or not all(math.isfinite(v) for v in p):
                raise UserError(f"click {i} {p!r} is not two finite numbers")
        points = [(x, y) for x, y in given]
        if image_size is not None:
            points = [_clamp_to_image(p, image_size, tolerance) for p in points]
        xs = [p[0] for p in points]
        ys = [p[1] for p in points]
        if min(xs) == max(xs):
            raise UserError(f"the points have zero width: all lie on x = {xs[0]:g}")
        if min(ys) == max(ys):
            raise UserError(f"the points have zero height: all lie on y = {ys[0]:g}")
        for t, l, b, r in permutations(range(4)):
            if ys[t] == min(ys) and xs[l] == min(xs) and ys[b] == max(ys) and xs[r] == max(xs):
                return cls(points[t], points[l], points[b], points[r])
        raise UserError(_why_unassignable(points))

    @classmethod
    def checked_before(cls, top: Point, left: Point, bottom: Point, right: Point) -> ExtremePoints:
        """Points known to agree, built without the checks: validated when stored (the project store's
        rows) or consistent by construction (derived from an outline). A million labels must not pay twice."""
        obj = object.__new__(cls)
        for name, value in (("top", top), ("left", left), ("bottom", bottom), ("right", right)):
            object.__setattr__(obj, name, value)
        return obj

    @classmethod
    def from_coco(cls, values: Sequence) -> ExtremePoints:
        """Read ExtremeNet's field: [[x, y] top, left, bottom, right], or the same as 8 flat numbers."""
        flat = [v for p in values for v in p] if values and isinstance(values[0], (list, tuple)) else list(values)
        if len(flat) != 8 or not all(finite_number(v) for v in flat):
            raise UserError("expected [[x, y] top, left, bottom, right] (8 finite numbers)")
        pts = [(float(flat[i]), float(flat[i + 1])) for i in range(0, 8, 2)]
        return cls(*pts)

    def to_coco(self) -> list[list[float]]:
        return [list(self.top), list(self.left), list(self.bottom), list(self.right)]

    def as_dict(self) -> dict[str, Point]:
        return {"top": self.top, "left": self.left, "bottom": self.bottom, "right": self.right}

    @property
    def box(self) -> Box:
        """The box is exact: its sides pass through the extreme points."""
        return Box(self.left[0], self.top[1], self.right[0] - self.left[0], self.bottom[1] - self.top[1])

    def octagon(self) -> list[float]:
        """ExtremeNet's octagon as one flat COCO polygon, vertices in top, left, bottom, right order.

        Each extreme point is extended along its box side by 1/8 of that side, clipped at the corners.
        """
        b = self.box
        x0, y0, x1, y1 = b.x, b.y, b.x + b.w, b.y + b.h
        dx, dy = b.w / 8, b.h / 8
        (tx, ty), (lx, ly), (bx, by), (rx, ry) = self.top, self.left, self.bottom, self.right
        vertices = [
            (min(tx + dx, x1), ty), (max(tx - dx, x0), ty),
            (lx, max(ly - dy, y0)), (lx, min(ly + dy, y1)),
            (max(bx - dx, x0), by), (min(bx + dx, x1), by),
            (rx, min(ry + dy, y1)), (rx, max(ry - dy, y0)),
        ]
        return [v for p in vertices for v in p]


def finite_number(v: object) -> bool:
    try:
        return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
    except OverflowError:  # an integer too large for a float
        return False


def check_inside_image(p: Sequence[float], image_size: tuple[int, int], tolerance: float = CLICK_TOLERANCE) -> None:
    """Refuse a point more than `tolerance` px outside a (width, height) image."""
    w, h = image_size
    if not (-tolerance <= p[0] <= w + tolerance and -tolerance <= p[1] <= h + tolerance):
        raise UserError(f"point {fmt_point(p)} lies outside the {w}x{h} image")


def check_coordinates(flat: Sequence[float], image_size: tuple[int, int], what: str) -> None:
    """Refuse coordinates that are not finite numbers, or that lie further outside a (width, height)
    image than its own size: no real file has them, and they would be rasterised."""
    w, h = image_size
    for k, v in enumerate(flat):
        limit = w if k % 2 == 0 else h
        if not finite_number(v) or not -limit <= v <= 2 * limit:
            axis = "x" if k % 2 == 0 else "y"
            raise UserError(f"{what}: {axis} = {v!r} is not a number within reach of the {w}x{h} image")


def _clamp_to_image(p: Point, image_size: tuple[int, int], tolerance: float) -> Point:
    check_inside_image(p, image_size, tolerance)
    w, h = image_size
    return (min(max(p[0], 0.0), float(w)), min(max(p[1], 0.0), float(h)))


def _why_unassignable(points: list[Point]) -> str:
    """Name a click that alone is the extreme in two directions, the usual reason no assignment exists."""
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    holders = {
        "top-most": [i for i, y in enumerate(ys) if y == min(ys)],
        "left-most": [i for i, x in enumerate(xs) if x == min(xs)],
        "bottom-most": [i for i, y in enumerate(ys) if y == max(ys)],
        "right-most": [i for i, x in enumerate(xs) if x == max(xs)],
    }
    unique = [(name, idx[0]) for name, idx in holders.items() if len(idx) == 1]
    for i, (name, p) in enumerate(unique):
        for other, q in unique[i + 1:]:
            if p == q:
                return (
                    f"point {fmt_point(points[p])} is both the {name} and the {other} click: "
                    "the 4 clicks must be the top, left, bottom and right of one object"
                )
    return "the 4 clicks cannot be the top, left, bottom and right of one object"


def ellipse(cx: float, cy: float, rx: float, ry: float, vertices: int = 64) -> tuple[list[float], ExtremePoints]:
    """An axis-aligned ellipse (a circle when rx == ry) as a flat polygon, and its exact extreme points.

    The vertex count is a multiple of 4 starting at angle 0, so the polygon passes through the four
    extremes and its box is the ellipse's box."""
    n = max(4, vertices - vertices % 4)
    polygon = []
    for k in range(n):  # sin(2 pi k / n) is cos(2 pi (k - n / 4) / n)
        polygon += [cx + rx * _exact_cos(k, n), cy + ry * _exact_cos(k - n // 4, n)]
    extreme = ExtremePoints(top=(cx, cy - ry), left=(cx - rx, cy), bottom=(cx, cy + ry), right=(cx + rx, cy))
    return polygon, extreme


def _exact_cos(k: int, n: int) -> float:
    """cos(2 pi k / n) with the quarter turns exact (math.cos(pi / 2) is 6e-17, not 0)."""
    k %= n
    if 4 * k % n == 0:
        return (1.0, 0.0, -1.0, 0.0)[4 * k // n]
    return math.cos(2 * math.pi * k / n)
