"""The canvas's mask tools: the brush and eraser, and the outline editor. While one is chosen it takes
the left button; the canvas asks it first and draws what it shows. Each finished gesture is one
signal (a stroke, an edited outline), and the session turns it into one undoable edit."""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen, QPolygonF

CLICK, BRUSH, ERASER, OUTLINE = "click", "brush", "eraser", "outline"
MIN_RADIUS, MAX_RADIUS = 1.0, 400.0  # image pixels
VERTEX_REACH = 7.0  # screen pixels around an outline vertex or edge that take hold of it

Point = tuple[float, float]


class MaskTools:
    def __init__(self, canvas) -> None:
        self.canvas = canvas
        self.tool = CLICK
        self.radius = 8.0  # the brush's, in image pixels
        self.vertices: list[Point] | None = None  # the selected object's outline, in the outline tool
        self._stroke: list[Point] = []
        self._erasing = False
        self._held: int | None = None  # the vertex being dragged
        self._changed = False

    @property
    def active(self) -> bool:
        return self.tool != CLICK

    @property
    def busy(self) -> bool:
        """A stroke or an outline drag is in the hand."""
        return bool(self._stroke) or self._held is not None

    def resize(self, factor: float) -> None:
        self.radius = min(MAX_RADIUS, max(MIN_RADIUS, self.radius * factor))
        self.canvas.viewport().update()

    # -- mouse, in image coordinates ---------------------------------------------------------------
    def press(self, at: QPointF, button, modifiers) -> None:
        if self.tool in (BRUSH, ERASER):
            if button == Qt.LeftButton:
                self._stroke = [(at.x(), at.y())]
                self._erasing = (self.tool == ERASER) != bool(modifiers & Qt.ShiftModifier)  # Shift: the other
        elif self.tool == OUTLINE and self.vertices:
            vertex = self._vertex_at(at)
            if vertex is not None and (button == Qt.RightButton or modifiers & Qt.ShiftModifier):
                if len(self.vertices) > 3:
                    del self.vertices[vertex]
                    self.canvas.outline_edited.emit(list(self.vertices))
                return
            if button != Qt.LeftButton:
                return
            if vertex is None:
                edge = self._edge_at(at)
                if edge is None:
                    return
                self.vertices.insert(edge + 1, (at.x(), at.y()))
                vertex, self._changed = edge + 1, True
            self._held = vertex
        self.canvas.viewport().update()

    def move(self, at: QPointF) -> None:
        if self._stroke:
            last = self._stroke[-1]
            if abs(at.x() - last[0]) + abs(at.y() - last[1]) >= 0.5:
                self._stroke.append((at.x(), at.y()))
        elif self._held is not None:
            self.vertices[self._held] = (at.x(), at.y())
            self._changed = True

    def release(self) -> None:
        if self._stroke:
            stroke, self._stroke = self._stroke, []
            self.canvas.stroked.emit(stroke, self.radius, self._erasing)
        elif self._held is not None:
            self._held = None
            if self._changed:
                self._changed = False
                self.canvas.outline_edited.emit(list(self.vertices))
        self.canvas.viewport().update()

    def _vertex_at(self, at: QPointF) -> int | None:
        reach = VERTEX_REACH / self._scale()
        near = [(abs(x - at.x()) + abs(y - at.y()), k) for k, (x, y) in enumerate(self.vertices)
                if abs(x - at.x()) <= reach and abs(y - at.y()) <= reach]
        return min(near)[1] if near else None

    def _edge_at(self, at: QPointF) -> int | None:
        """The edge (from vertex k to k + 1) passing within reach, nearest first."""
        reach = VERTEX_REACH / self._scale()
        best = None
        for k, (a, b) in enumerate(zip(self.vertices, self.vertices[1:] + self.vertices[:1], strict=True)):
            d = _segment_distance((at.x(), at.y()), a, b)
            if d <= reach and (best is None or d < best[0]):
                best = (d, k)
        return best[1] if best else None

    def _scale(self) -> float:
        return max(self.canvas.transform().m11(), 1e-9)

    # -- drawing, in screen coordinates ------------------------------------------------------------
    def paint(self, painter: QPainter, cursor: QPointF | None) -> None:
        to_screen = self.canvas.mapFromScene
        if self.tool in (BRUSH, ERASER):
            width = 2 * self.radius * self._scale()
            colour = QColor(255, 80, 80) if self._erasing and self._stroke else QColor(self.canvas.click_color)
            if len(self._stroke) > 0:
                colour.setAlpha(110)
                pen = QPen(colour, width, Qt.SolidLine, Qt.RoundCap, Qt.RoundJoin)
                painter.setPen(pen)
                points = [to_screen(QPointF(x, y)) for x, y in self._stroke]
                painter.drawPolyline(QPolygonF(points + points[-1:]))
            if cursor is not None:
                painter.setPen(QPen(QColor(0, 0, 0), 3))
                painter.setBrush(Qt.NoBrush)
                at = to_screen(cursor)
                painter.drawEllipse(QPointF(at), width / 2, width / 2)
                painter.setPen(QPen(QColor(255, 80, 80) if self.tool == ERASER else QColor(255, 255, 255), 1))
                painter.drawEllipse(QPointF(at), width / 2, width / 2)
        elif self.tool == OUTLINE and self.vertices:
            points = [QPointF(to_screen(QPointF(x, y))) for x, y in self.vertices]
            painter.setBrush(Qt.NoBrush)
            painter.setPen(QPen(QColor(0, 0, 0), 3))
            painter.drawPolygon(QPolygonF(points))
            painter.setPen(QPen(self.canvas.click_color, 1))
            painter.drawPolygon(QPolygonF(points))
            painter.setPen(QPen(QColor(0, 0, 0), 1))
            painter.setBrush(self.canvas.click_color)
            for p in points:
                painter.drawRect(QRectF(p.x() - 3, p.y() - 3, 6, 6))


def _segment_distance(p: Point, a: Point, b: Point) -> float:
    (px, py), (ax, ay), (bx, by) = p, a, b
    dx, dy = bx - ax, by - ay
    length = dx * dx + dy * dy
    t = 0.0 if length == 0 else max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / length))
    return ((px - ax - t * dx) ** 2 + (py - ay - t * dy) ** 2) ** 0.5
