"""The image and its objects on a QGraphicsView, in image pixel coordinates (scene = image)."""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QImage, QPainter, QPainterPath, QPen, QPixmap, QPolygonF
from PySide6.QtWidgets import QGraphicsItem, QGraphicsScene, QGraphicsView

from converters import Annotation, Shape

POINT_RADIUS = 4.0  # screen pixels: the same size at any zoom


class Canvas(QGraphicsView):
    """Shows one image; emits `clicked(x, y)` and `moved(x, y)` in image coordinates."""

    clicked = Signal(float, float)
    moved = Signal(float, float)
    point_dragged = Signal(str, int, str, float, float)  # "label" or "suggestion", id, role, drop point

    def __init__(self) -> None:
        super().__init__()
        self.setScene(QGraphicsScene(self))
        self.setRenderHint(QPainter.Antialiasing)
        self.setTransformationAnchor(QGraphicsView.AnchorUnderMouse)
        self.setMouseTracking(True)
        self.setBackgroundBrush(QColor(40, 40, 40))
        self._image_size = (0, 0)
        self._cursor: QPointF | None = None
        self._clicks: list[tuple[float, float]] = []
        self._handles: list[tuple[str, int, str, float, float]] = []  # (kind, id, role, x, y)
        self._dragging: tuple[str, int, str] | None = None
        self._fitted = True
        self.layers = {"masks": True, "boxes": True, "points": True}  # what is drawn (keys M, B, P)
        self.mask_opacity = 0.3
        self.names: dict[int, str] = {}  # category names, for the hover text

    def show_image(self, image: QImage) -> bool:
        """Show `image`, fitted to the view; False (and a grey placeholder) if it is null (unreadable)."""
        scene = self.scene()
        scene.clear()
        if image.isNull():
            self._image_size = (0, 0)
            scene.setSceneRect(QRectF(0, 0, 640, 480))
            scene.addRect(QRectF(0, 0, 640, 480), QPen(Qt.NoPen), QBrush(QColor(90, 90, 90)))
            return False
        self._image_size = (image.width(), image.height())
        scene.addPixmap(QPixmap.fromImage(image)).setTransformationMode(Qt.FastTransformation)
        scene.setSceneRect(QRectF(0, 0, image.width(), image.height()))
        self.fit()
        return True

    def fit(self) -> None:
        self.fitInView(self.scene().sceneRect(), Qt.KeepAspectRatio)
        self._fitted = True  # kept fitted when the window is resized, until the person zooms

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._fitted:
            self.fit()

    def set_objects(self, labels: list[Annotation], colors: dict[int, str],
                    suggestions: list[Annotation] = (), selected: tuple[str, int] | None = None) -> None:
        """Draw the labels (solid) and pending suggestions (dashed) over the image; the selected one
        with a thicker line."""
        scene = self.scene()
        for item in scene.items():
            if item.data(0) == "object":
                scene.removeItem(item)
        self._handles = [(kind, a.id, role, *p) for kind, anns in (("label", labels), ("suggestion", suggestions))
                         for a in anns if a.extreme is not None for role, p in a.extreme.as_dict().items()]
        for kind, anns, style in (("label", labels, Qt.SolidLine), ("suggestion", suggestions, Qt.DashLine)):
            for ann in anns:
                width = 4 if selected == (kind, ann.id) else 2
                self._draw(ann, QColor(colors.get(ann.category_id, "#ffffff")), style, width)

    def set_clicks(self, clicks: list[tuple[float, float]]) -> None:
        self._clicks = list(clicks)
        self.viewport().update()

    def _draw(self, ann: Annotation, color: QColor, style: Qt.PenStyle, width: int) -> None:
        scene = self.scene()
        pen = QPen(color, width, style)
        pen.setCosmetic(True)  # `width` screen pixels at any zoom
        fill = QColor(color)
        fill.setAlphaF(self.mask_opacity)
        items = []
        if ann.shape is Shape.POLYLINE:
            path = QPainterPath(_point(ann.points, 0))
            for i in range(2, len(ann.points), 2):
                path.lineTo(_point(ann.points, i))
            items.append(scene.addPath(path, pen))
        elif ann.shape is Shape.REGION:
            for outline in ann.polygons or [] if self.layers["masks"] else []:
                polygon = QPolygonF([_point(outline, i) for i in range(0, len(outline), 2)])
                items.append(scene.addPolygon(polygon, QPen(Qt.NoPen), QBrush(fill)))
            if self.layers["boxes"]:
                b = ann.box
                items.append(scene.addRect(QRectF(b.x, b.y, b.w, b.h), pen))
        dots = ann.points if ann.shape is Shape.POINTS else \
            [v for p in ann.extreme.as_dict().values() for v in p] if ann.extreme is not None else []
        dots = dots if self.layers["points"] else []
        for i in range(0, len(dots), 2):
            dot = scene.addEllipse(QRectF(-POINT_RADIUS, -POINT_RADIUS, 2 * POINT_RADIUS, 2 * POINT_RADIUS),
                                   QPen(QColor(0, 0, 0)), QBrush(color))
            dot.setPos(_point(dots, i))
            dot.setFlag(QGraphicsItem.ItemIgnoresTransformations)  # screen-sized at any zoom
            items.append(dot)
        hover = f"{self.names.get(ann.category_id, '?')} ({ann.source.value}" + \
            (f", score {ann.score:.2f})" if ann.score is not None else ")")
        for item in items:
            item.setData(0, "object")
            item.setToolTip(hover)

    # -- drawn on top, in screen pixels: the extreme points and the guides while clicking ----------
    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        painter.save()
        painter.resetTransform()
        if self._cursor is not None and self._image_size != (0, 0):
            painter.setPen(QPen(QColor(255, 255, 255, 140), 1, Qt.DashLine))
            at = self.mapFromScene(self._cursor)
            painter.drawLine(0, at.y(), self.viewport().width(), at.y())
            painter.drawLine(at.x(), 0, at.x(), self.viewport().height())
        points = [self.mapFromScene(QPointF(x, y)) for x, y in self._clicks + self.drag_preview()]
        if len(points) > 1:
            xs, ys = [p.x() for p in points], [p.y() for p in points]
            painter.setPen(QPen(QColor(255, 220, 0), 1, Qt.DashLine))
            painter.drawRect(min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))
        painter.setPen(QPen(QColor(0, 0, 0), 1))
        painter.setBrush(QColor(255, 220, 0))
        for p in points:
            painter.drawEllipse(p, POINT_RADIUS, POINT_RADIUS)
        painter.restore()

    def drag_preview(self) -> list[tuple[float, float]]:
        """While a point is dragged: where the object's four points would be if it were dropped here,
        so the box is seen following the hand before the drop stores it."""
        if self._dragging is None or self._cursor is None:
            return []
        kind, object_id, role = self._dragging
        others = [(x, y) for k, i, r, x, y in self._handles if (k, i) == (kind, object_id) and r != role]
        return others + [(self._cursor.x(), self._cursor.y())]

    # -- mouse --------------------------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.LeftButton and self._image_size != (0, 0):
            self._dragging = self._handle_at(event.position())
            if self._dragging is None:
                p = self.mapToScene(event.position().toPoint())
                self.clicked.emit(p.x(), p.y())
            return
        if event.button() == Qt.MiddleButton:
            self.setDragMode(QGraphicsView.ScrollHandDrag)
        super().mousePressEvent(event)

    def mouseReleaseEvent(self, event) -> None:
        if self._dragging is not None and event.button() == Qt.LeftButton:
            p = self.mapToScene(event.position().toPoint())
            kind, object_id, role = self._dragging
            self._dragging = None
            self.point_dragged.emit(kind, object_id, role, p.x(), p.y())
            return
        super().mouseReleaseEvent(event)
        self.setDragMode(QGraphicsView.NoDrag)

    def mouseMoveEvent(self, event) -> None:
        self._cursor = self.mapToScene(event.position().toPoint())
        self.moved.emit(self._cursor.x(), self._cursor.y())
        self.viewport().update()
        super().mouseMoveEvent(event)

    def _handle_at(self, position: QPointF) -> tuple[str, int, str] | None:
        """The extreme point drawn under the cursor (within its screen radius), if any."""
        for kind, object_id, role, x, y in self._handles:
            at = self.mapFromScene(QPointF(x, y))
            if (at.x() - position.x()) ** 2 + (at.y() - position.y()) ** 2 <= (POINT_RADIUS + 2) ** 2:
                return kind, object_id, role
        return None

    def wheelEvent(self, event) -> None:
        """Zoom toward the cursor."""
        factor = 1.25 if event.angleDelta().y() > 0 else 1 / 1.25
        self.scale(factor, factor)
        self._fitted = False


def _point(flat: list[float], i: int) -> QPointF:
    return QPointF(flat[i], flat[i + 1])
