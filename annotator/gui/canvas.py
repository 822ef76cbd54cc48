"""The image and its objects on a QGraphicsView, in image pixel coordinates (scene = image).

Mouse rule (also in the README's key table): a plain left click is an extreme click; a Ctrl+click
selects the topmost object there; a press on a point handle drags it, and a tap on one (no movement)
selects its object; the edges and corners of a selected box-only object can be dragged, and a tap on
one is an extreme click (extreme points lie on the box). With an object selected, Shift+click adds a
foreground correction point and Shift+right-click (or Alt+click) a background one. While the brush,
eraser or outline tool is chosen (`tools`), it takes the left button. The middle button, or the left
button with Space held, pans.
"""
from __future__ import annotations

import functools

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QImage, QPainter, QPainterPath, QPen, QPixmap, QTransform
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QGraphicsScene, QGraphicsView

from converters import Annotation, Shape
from converters.geometry import Box
from converters.masks import has_bridge, mask_to_polygons, rings, rle_to_mask

from ..image_objects import ImageObjects
from .masktools import MaskTools

POINT_RADIUS = 4.0  # screen pixels: the same size at any zoom
MARK_SIZE = 13  # screen pixels: a correction point's + or -
EDGE_REACH = 6.0  # screen pixels from a box edge that still take hold of it
TAP = 3.0  # screen pixels a press may move and still be a tap, not a drag
ZOOM_STEP = 1.25


def mask_path(polygons: list[list[float]]) -> QPainterPath:
    """Every part and hole of a mask in one even-odd path, each hole its own ring: the bridge a traced
    polygon walks to a hole and back is not drawn as a line across the object."""
    path = QPainterPath()
    path.setFillRule(Qt.OddEvenFill)
    for flat in (ring for polygon in polygons for ring in (rings(polygon) if has_bridge(polygon) else [polygon])):
        path.moveTo(flat[0], flat[1])
        for i in range(2, len(flat), 2):
            path.lineTo(flat[i], flat[i + 1])
        path.closeSubpath()
    return path


class MaskItem(QGraphicsPathItem):
    """A mask's fill, outlined in the category colour; a dark halo item under it keeps the outline
    readable on light and dark objects alike. Both paint natively: a thousand masks repaint in
    milliseconds, where a Python paint() took a fifth of a second."""

    def __init__(self, path: QPainterPath, color: QColor, opacity: float, width: float) -> None:
        super().__init__(path)
        fill = QColor(color)
        fill.setAlphaF(opacity)
        self.setBrush(QBrush(fill))
        self.setPen(_cosmetic(color, width))


@functools.lru_cache(maxsize=256)
def dot_pixmap(color: str, ratio: float) -> QPixmap:
    """An extreme point's dot, drawn smooth once per colour: each point is then a cheap blit."""
    size = int(round((2 * POINT_RADIUS + 2) * ratio))
    pixmap = QPixmap(size, size)
    pixmap.setDevicePixelRatio(ratio)
    pixmap.fill(Qt.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.Antialiasing)
    painter.setPen(QPen(QColor(0, 0, 0), 1))
    painter.setBrush(QColor(color))
    painter.drawEllipse(QRectF(1, 1, 2 * POINT_RADIUS, 2 * POINT_RADIUS))
    painter.end()
    return pixmap


@functools.lru_cache(maxsize=4)
def mark_pixmap(foreground: bool, ratio: float) -> QPixmap:
    """A correction point's mark: a green plus (the mask holds it) or a red minus (it does not)."""
    size = int(round(MARK_SIZE * ratio))
    pixmap = QPixmap(size, size)
    pixmap.setDevicePixelRatio(ratio)
    pixmap.fill(Qt.transparent)
    painter = QPainter(pixmap)
    arms = [(1.5, MARK_SIZE / 2, MARK_SIZE - 1.5, MARK_SIZE / 2)]
    if foreground:
        arms.append((MARK_SIZE / 2, 1.5, MARK_SIZE / 2, MARK_SIZE - 1.5))
    for colour, width in ((QColor(0, 0, 0), 5), (QColor("#3ee05a") if foreground else QColor("#ff4d4d"), 2.5)):
        painter.setPen(QPen(colour, width, Qt.SolidLine, Qt.FlatCap))
        for x0, y0, x1, y1 in arms:
            painter.drawLine(QPointF(x0, y0), QPointF(x1, y1))
    painter.end()
    return pixmap


def _cosmetic(color: QColor, width: float, style: Qt.PenStyle = Qt.SolidLine) -> QPen:
    pen = QPen(color, width, style)
    pen.setCosmetic(True)  # `width` screen pixels at any zoom
    return pen


class Canvas(QGraphicsView):
    """Shows one image; emits what the mouse did in image coordinates."""

    clicked = Signal(float, float)
    select_at = Signal(float, float)  # Ctrl+click
    moved = Signal(float, float)
    view_changed = Signal()  # zoom or image changed: the status bar follows
    point_dragged = Signal(str, int, str, float, float)  # "label" or "suggestion", id, role, drop point
    handle_tapped = Signal(str, int)  # a point handle pressed and released in place: select its object
    box_dragged = Signal(int, float, float, float, float)  # label id, new x, y, w, h
    corrected = Signal(float, float, bool)  # a correction point: x, y, foreground
    stroked = Signal(object, float, bool)  # a brush stroke: its points, the radius, erase
    outline_edited = Signal(object)  # the outline's vertices after a drag, an insert or a delete

    def __init__(self) -> None:
        super().__init__()
        self.setScene(QGraphicsScene(self))
        # No antialiasing: masks traced along pixel edges and boxes are straight lines anyway, and at a
        # thousand objects it made each repaint 7x slower; the dots are smooth pixmaps.
        self.setRenderHint(QPainter.Antialiasing, False)
        self.setOptimizationFlags(QGraphicsView.DontSavePainterState)
        self.setTransformationAnchor(QGraphicsView.AnchorUnderMouse)
        self.setMouseTracking(True)
        self.setBackgroundBrush(QColor(40, 40, 40))
        self._image_size = (0, 0)
        self._cursor: QPointF | None = None
        self._clicks: list[tuple[float, float]] = []
        self.shown = ImageObjects(None)  # what is drawn
        self._handles_of: tuple[list, np.ndarray] | None = None
        self._dragging: tuple[str, int, str] | None = None
        self._pressed_at: QPointF | None = None
        self._box_edit: tuple[int, Box] | None = None  # the selected box-only label, its box
        self._box_grip: tuple[bool, bool, bool, bool] | None = None  # which edges move: left, top, right, bottom
        self._pan_from: QPointF | None = None
        self._drawn: dict[tuple[str, int], tuple[tuple, dict[str, list[QGraphicsItem]]]] = {}
        self._fitted = True
        self.space_down = False  # the window sets it while Space is held: the left button then pans
        self.panned = False  # whether the view was panned while Space was held
        self.layers = {"masks": True, "boxes": True, "points": True}  # what is drawn (keys M, B, P)
        self.mask_opacity = 0.3
        self.click_color = QColor("#ffffff")  # no category's colour: the window chooses it
        self.tools = MaskTools(self)

    def show_image(self, image: QImage) -> bool:
        """Show `image`, fitted to the view; False (and a grey placeholder) if it is null (unreadable)."""
        scene = self.scene()
        scene.clear()
        self._drawn.clear()
        self._box_edit = None
        if image.isNull():
            self._image_size = (0, 0)
            scene.setSceneRect(QRectF(0, 0, 640, 480))
            scene.addRect(QRectF(0, 0, 640, 480), QPen(Qt.NoPen), QBrush(QColor(90, 90, 90)))
            self.view_changed.emit()
            return False
        self._image_size = (image.width(), image.height())
        pixmap = scene.addPixmap(QPixmap.fromImage(image))
        pixmap.setTransformationMode(Qt.FastTransformation)
        pixmap.setZValue(-1e18)
        scene.setSceneRect(QRectF(0, 0, image.width(), image.height()))
        self.fit()
        return True

    # -- the view: fit, zoom, centre ------------------------------------------------------------------
    def fit(self) -> None:
        self.fitInView(self.scene().sceneRect(), Qt.KeepAspectRatio)
        self._fitted = True  # kept fitted when the window is resized, until the person zooms
        self.view_changed.emit()

    def zoom(self, factor: float) -> None:
        self.scale(factor, factor)
        self._fitted = False
        self.view_changed.emit()

    def actual_pixels(self) -> None:
        """One image pixel on one screen pixel."""
        ratio = self.devicePixelRatioF()
        self.setTransform(QTransform.fromScale(1 / ratio, 1 / ratio))
        self._fitted = False
        self.view_changed.emit()

    def zoom_level(self) -> float:
        return self.transform().m11() * self.devicePixelRatioF()

    def show_box(self, box: Box) -> None:
        """Bring an object into view: centred, zoomed out first if it does not fit."""
        rect = QRectF(box.x, box.y, max(box.w, 1.0), max(box.h, 1.0))
        shown = self.mapToScene(self.viewport().rect()).boundingRect()
        if rect.width() > shown.width() or rect.height() > shown.height():
            self.fitInView(rect.adjusted(-rect.width() / 4, -rect.height() / 4, rect.width() / 4,
                                         rect.height() / 4), Qt.KeepAspectRatio)
            self._fitted = False
        self.centerOn(rect.center())
        self.view_changed.emit()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._fitted:
            self.fit()

    # -- drawing --------------------------------------------------------------------------------------
    def set_objects(self, shown: ImageObjects) -> None:
        """Draw the labels (solid) and pending suggestions (dashed) over the image, smaller objects over
        larger ones; the selected one with a thicker line. Only objects that changed are drawn again, so
        a click on an image with a thousand objects redraws one."""
        scene = self.scene()
        self.shown = shown
        self._handles_of = None  # the point handles, worked out when the mouse asks
        self._box_edit = None
        wanted = {}
        for kind, anns, style in (("label", shown.labels, Qt.SolidLine), ("suggestion", shown.suggestions,
                                                                               Qt.DashLine)):
            for ann in anns:
                chosen = shown.selected == (kind, ann.id)
                if chosen and kind == "label" and ann.extreme is None and ann.shape is Shape.REGION:
                    self._box_edit = (ann.id, ann.box)
                color = shown.colors.get(ann.category_id, "#ffffff")
                look = (ann, color, style, 4 if chosen else 2, shown.names.get(ann.category_id))  # the store
                # hands back the same object for a label that did not change: compared by identity first
                wanted[kind, ann.id] = (look, ann)
        for key in [k for k in self._drawn if k not in wanted or self._drawn[k][0] != wanted[k][0]]:
            for items in self._drawn.pop(key)[1].values():
                for item in items:
                    scene.removeItem(item)
        for key, (look, ann) in wanted.items():
            if key not in self._drawn:
                self._drawn[key] = (look, self._draw(ann, QColor(look[1]), look[2], look[3]))

    def show_layer(self, layer: str) -> None:
        """Apply `layers[layer]` to what is drawn, without drawing anything again."""
        shown = self.layers[layer]
        for _, layers in self._drawn.values():
            for item in layers[layer]:
                item.setVisible(shown)

    def show_opacity(self) -> None:
        for _, layers in self._drawn.values():
            for item in layers["masks"]:
                if isinstance(item, MaskItem):
                    fill = QColor(item.pen().color())
                    fill.setAlphaF(self.mask_opacity)
                    item.setBrush(QBrush(fill))

    def set_clicks(self, clicks: list[tuple[float, float]]) -> None:
        """The clicks in progress; only the part of the view their guide box covered, or covers now, is
        painted again (a full repaint of a 24-megapixel image costs more than the click itself)."""
        points = [self.mapFromScene(QPointF(x, y)) for x, y in self._clicks + list(clicks)]
        self._clicks = list(clicks)
        if points:
            pad = POINT_RADIUS + 3
            xs, ys = [p.x() for p in points], [p.y() for p in points]
            self.viewport().update(int(min(xs) - pad), int(min(ys) - pad), int(max(xs) - min(xs) + 2 * pad),
                                   int(max(ys) - min(ys) + 2 * pad))

    def _draw(self, ann: Annotation, color: QColor, style: Qt.PenStyle, width: int) -> dict[str, list[QGraphicsItem]]:
        """The object's items by layer (masks, boxes, points; lines for polylines), shown as `layers` says."""
        scene = self.scene()
        pen = _cosmetic(color, width, style)
        layers: dict[str, list[QGraphicsItem]] = {"masks": [], "boxes": [], "points": [], "lines": []}
        if ann.shape is Shape.POLYLINE:
            path = QPainterPath(_point(ann.points, 0))
            for i in range(2, len(ann.points), 2):
                path.lineTo(_point(ann.points, i))
            layers["lines"].append(scene.addPath(path, pen))
        elif ann.shape is Shape.REGION:
            outline = ann.polygons or (mask_to_polygons(rle_to_mask(ann.rle)) if ann.rle is not None else None)
            if outline:
                path = mask_path(outline)
                mask = MaskItem(path, color, self.mask_opacity, 1.5 if width == 2 else 2.5)
                layers["masks"] += [scene.addPath(path, _cosmetic(QColor(0, 0, 0, 170), width + 1.5)), mask]  # halo
                scene.addItem(mask)
            b = ann.box
            layers["boxes"].append(scene.addRect(QRectF(b.x, b.y, b.w, b.h), pen))
        dots = ann.points if ann.shape is Shape.POINTS else \
            [v for p in ann.extreme.as_dict().values() for v in p] if ann.extreme is not None else []
        dot = dot_pixmap(color.name(), self.devicePixelRatioF())
        for i in range(0, len(dots), 2):
            item = scene.addPixmap(dot)
            item.setOffset(-POINT_RADIUS - 1, -POINT_RADIUS - 1)
            item.setPos(dots[i], dots[i + 1])
            item.setFlag(QGraphicsItem.ItemIgnoresTransformations)  # screen-sized at any zoom
            layers["points"].append(item)
        for c in ann.corrections:
            item = scene.addPixmap(mark_pixmap(c.foreground, self.devicePixelRatioF()))
            item.setOffset(-MARK_SIZE / 2, -MARK_SIZE / 2)
            item.setPos(c.x, c.y)
            item.setFlag(QGraphicsItem.ItemIgnoresTransformations)
            layers["points"].append(item)
        hover = f"{self.shown.names.get(ann.category_id, '?')} ({ann.source.value}" + \
            (f", score {ann.score:.2f})" if ann.score is not None else ")")
        z = -ann.box.area  # smaller objects lie over larger ones: the one Ctrl+click picks
        for layer, items in layers.items():
            shown = self.layers.get(layer, True)
            for item in items:
                item.setData(0, "object")
                item.setToolTip(hover)
                item.setZValue(z)
                if not shown:
                    item.setVisible(False)
        return layers

    # -- drawn on top, in screen pixels: the guides while clicking, the box being dragged ----------------
    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        painter.save()
        painter.resetTransform()
        if self._cursor is not None and self._image_size != (0, 0) and self._pan_from is None and not self.tools.active:
            painter.setPen(QPen(QColor(255, 255, 255, 140), 1, Qt.DashLine))
            at = self.mapFromScene(self._cursor)
            painter.drawLine(0, at.y(), self.viewport().width(), at.y())
            painter.drawLine(at.x(), 0, at.x(), self.viewport().height())
        points = [self.mapFromScene(QPointF(x, y)) for x, y in self._clicks + self.drag_preview()]
        if len(points) > 1:
            xs, ys = [p.x() for p in points], [p.y() for p in points]
            painter.setPen(QPen(self.click_color, 1, Qt.DashLine))
            painter.drawRect(min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))
        painter.setPen(QPen(QColor(0, 0, 0), 1))
        painter.setBrush(self.click_color)
        for p in points:
            painter.drawEllipse(p, POINT_RADIUS + 1, POINT_RADIUS + 1)
        if self._box_edit is not None:
            box = self.box_preview() or self._box_edit[1]
            corners = [self.mapFromScene(QPointF(x, y)) for x, y in (
                (box.x, box.y), (box.x + box.w, box.y), (box.x, box.y + box.h), (box.x + box.w, box.y + box.h))]
            painter.setPen(QPen(self.click_color, 1, Qt.DashLine))
            painter.setBrush(Qt.NoBrush)
            painter.drawRect(QRectF(corners[0], corners[3]))
            painter.setPen(QPen(QColor(0, 0, 0), 1))
            painter.setBrush(self.click_color)
            for c in corners:
                painter.drawRect(QRectF(c.x() - 4, c.y() - 4, 8, 8))
        self.tools.paint(painter, self._cursor if self._pan_from is None else None)
        painter.restore()

    def _handles(self) -> tuple[list[tuple[str, int, str, float, float]], np.ndarray]:
        """Every extreme point drawn as (kind, id, role, x, y), and their x, y as an array."""
        if self._handles_of is None:
            handles = [(kind, a.id, role, *p) for kind, a in self.shown.rows()
                       if a.extreme is not None for role, p in a.extreme.as_dict().items()]
            self._handles_of = (handles, np.array([h[3:] for h in handles], float).reshape(-1, 2))
        return self._handles_of

    def drag_preview(self) -> list[tuple[float, float]]:
        """While a point is dragged: where the object's four points would be if it were dropped here,
        so the box is seen following the hand before the drop stores it."""
        if self._dragging is None or self._cursor is None:
            return []
        kind, object_id, role = self._dragging
        others = [(x, y) for k, i, r, x, y in self._handles()[0] if (k, i) == (kind, object_id) and r != role]
        return others + [(self._cursor.x(), self._cursor.y())]

    def box_preview(self) -> Box | None:
        """While a box-only object's edge or corner is dragged: the box it would get if dropped here."""
        if self._box_grip is None or self._box_edit is None or self._cursor is None:
            return None
        b, (left, top, right, bottom) = self._box_edit[1], self._box_grip
        x0, y0, x1, y1 = b.x, b.y, b.x + b.w, b.y + b.h
        x, y = self._cursor.x(), self._cursor.y()
        x0, x1 = (x if left else x0), (x if right else x1)
        y0, y1 = (y if top else y0), (y if bottom else y1)
        return Box(min(x0, x1), min(y0, y1), abs(x1 - x0), abs(y1 - y0))

    # -- mouse --------------------------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:
        position = event.position()
        if event.button() == Qt.MiddleButton or (event.button() == Qt.LeftButton and self.space_down):
            self._pan_from = position
            self.panned = self.panned or self.space_down
            self.viewport().setCursor(Qt.ClosedHandCursor)
            return
        p = self.mapToScene(position.toPoint())
        modifiers, button = event.modifiers(), event.button()
        if self._image_size == (0, 0) or button not in (Qt.LeftButton, Qt.RightButton):
            super().mousePressEvent(event)
            return
        if button == Qt.LeftButton and modifiers & Qt.ControlModifier:
            self.select_at.emit(p.x(), p.y())
            return
        if self.tools.active:
            self.tools.press(p, button, modifiers)
            return
        if modifiers & (Qt.ShiftModifier | Qt.AltModifier):
            foreground = button == Qt.LeftButton and not modifiers & Qt.AltModifier
            self.corrected.emit(p.x(), p.y(), foreground)
            return
        if button != Qt.LeftButton:
            super().mousePressEvent(event)
            return
        self._pressed_at = position
        self._dragging = self._handle_at(position)
        if self._dragging is None:
            self._box_grip = self._grip_at(position)
        if self._dragging is None and self._box_grip is None:
            self.clicked.emit(p.x(), p.y())

    def mouseReleaseEvent(self, event) -> None:
        if self._pan_from is not None and event.button() in (Qt.MiddleButton, Qt.LeftButton):
            self._pan_from = None
            self.viewport().unsetCursor()
            return
        if self.tools.active:
            self.tools.release()
            return
        if event.button() != Qt.LeftButton:
            super().mouseReleaseEvent(event)
            return
        self._cursor = self.mapToScene(event.position().toPoint())
        tapped = self._pressed_at is not None and _distance(self._pressed_at, event.position()) <= TAP
        if self._dragging is not None or self._box_grip is not None:
            self.viewport().update()  # the preview drawn over the view goes
        if self._dragging is not None:
            kind, object_id, role = self._dragging
            self._dragging = None
            if tapped:
                self.handle_tapped.emit(kind, object_id)
            else:
                self.point_dragged.emit(kind, object_id, role, self._cursor.x(), self._cursor.y())
        elif self._box_grip is not None:
            box = self.box_preview()
            self._box_grip = None
            if tapped:  # a click on the edge of a box: an extreme point lies on it
                pressed = self.mapToScene(self._pressed_at.toPoint())
                self.clicked.emit(pressed.x(), pressed.y())
            elif box is not None:
                self.box_dragged.emit(self._box_edit[0], box.x, box.y, box.w, box.h)
        self._pressed_at = None

    def mouseMoveEvent(self, event) -> None:
        if self._pan_from is not None:
            delta = event.position() - self._pan_from
            self._pan_from = event.position()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - round(delta.x()))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - round(delta.y()))
            self._fitted = False
            return
        before = self._cursor
        self._cursor = self.mapToScene(event.position().toPoint())
        self.moved.emit(self._cursor.x(), self._cursor.y())
        if self.tools.active:
            self.tools.move(self._cursor)
        # the guide box follows the hand: all of it
        if self._clicks or self._dragging or self._box_grip or self.tools.active:
            self.viewport().update()
        else:  # only the two guide lines moved: repaint their strips, not a thousand objects
            for at in (before, self._cursor):
                if at is not None:
                    p = self.mapFromScene(at)
                    self.viewport().update(0, p.y() - 1, self.viewport().width(), 3)
                    self.viewport().update(p.x() - 1, 0, 3, self.viewport().height())
        super().mouseMoveEvent(event)

    def leaveEvent(self, event) -> None:
        """The guide lines go with the mouse."""
        self._cursor = None
        self.viewport().update()
        super().leaveEvent(event)

    def _handle_at(self, position: QPointF) -> tuple[str, int, str] | None:
        """The extreme point drawn under the cursor (within its screen radius), if any; the first drawn
        wins, as before. One array operation: a thousand objects have four thousand points."""
        handles, xy = self._handles()
        if not handles:
            return None
        at = self.mapToScene(position.toPoint())
        reach = (POINT_RADIUS + 2) / max(self.transform().m11(), 1e-9)
        near = np.flatnonzero(((xy - (at.x(), at.y())) ** 2).sum(axis=1) <= reach ** 2)
        return handles[near[0]][:3] if near.size else None

    def _grip_at(self, position: QPointF) -> tuple[bool, bool, bool, bool] | None:
        """Which edges of the selected box-only object lie within reach of the cursor (a corner: two)."""
        if self._box_edit is None:
            return None
        b = self._box_edit[1]
        top_left, bottom_right = self.mapFromScene(QPointF(b.x, b.y)), self.mapFromScene(QPointF(b.x + b.w, b.y + b.h))
        x, y = position.x(), position.y()
        inside_x = top_left.x() - EDGE_REACH <= x <= bottom_right.x() + EDGE_REACH
        inside_y = top_left.y() - EDGE_REACH <= y <= bottom_right.y() + EDGE_REACH
        grip = (inside_y and abs(x - top_left.x()) <= EDGE_REACH, inside_x and abs(y - top_left.y()) <= EDGE_REACH,
                inside_y and abs(x - bottom_right.x()) <= EDGE_REACH,
                inside_x and abs(y - bottom_right.y()) <= EDGE_REACH)
        return grip if any(grip) else None

    def wheelEvent(self, event) -> None:
        """Zoom toward the cursor."""
        self.zoom(ZOOM_STEP if event.angleDelta().y() > 0 else 1 / ZOOM_STEP)


def _point(flat: list[float], i: int) -> QPointF:
    return QPointF(flat[i], flat[i + 1])


def _distance(a: QPointF, b: QPointF) -> float:
    return ((a.x() - b.x()) ** 2 + (a.y() - b.y()) ** 2) ** 0.5
