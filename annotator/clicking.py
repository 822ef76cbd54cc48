"""The four clicks of one object, collected in any order and checked as they come."""
from __future__ import annotations

from converters import ExtremePoints, UserError
from converters.geometry import CLICK_TOLERANCE, Point, fmt_point


class ExtremeClicks:
    """Clicks on an image of `size` (width, height). The fourth click either completes the object
    (`add` returns its extreme points and the clicks start again) or is refused with a short hint,
    the three before it kept. Backspace removes the last click (`remove_last`), Esc all (`cancel`)."""

    def __init__(self, size: tuple[int, int]):
        self.size = size
        self.points: list[Point] = []

    def add(self, x: float, y: float) -> ExtremePoints | None:
        w, h = self.size
        if not (-CLICK_TOLERANCE <= x <= w + CLICK_TOLERANCE and -CLICK_TOLERANCE <= y <= h + CLICK_TOLERANCE):
            raise UserError(f"click {fmt_point((x, y))} is outside the image")
        if len(self.points) < 3:
            self.points.append((min(max(x, 0.0), float(w)), min(max(y, 0.0), float(h))))
            return None
        extreme = ExtremePoints.from_clicks([*self.points, (x, y)], self.size)
        self.points = []
        return extreme

    def remove_last(self) -> None:
        if self.points:
            self.points.pop()

    def cancel(self) -> None:
        self.points = []

    def box_so_far(self) -> tuple[float, float, float, float] | None:
        """(x0, y0, x1, y1) of the clicks so far, for the guide drawn while clicking."""
        if not self.points:
            return None
        xs, ys = [p[0] for p in self.points], [p[1] for p in self.points]
        return min(xs), min(ys), max(xs), max(ys)
