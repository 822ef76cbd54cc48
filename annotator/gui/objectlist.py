"""The Objects panel as a model and a view: Qt asks for the rows on screen only, so an image with a
thousand objects is listed again after a click without building a thousand widgets."""
from __future__ import annotations

from PySide6.QtCore import (
    QAbstractListModel,
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    QRect,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtWidgets import QListView

from converters import Annotation

from ..image_objects import ImageObjects
from ..masking import MASK_METHOD
from .categories import swatch


def row_text(number: int, ann: Annotation, names: dict[int, str], kind: str) -> str:
    """What tells one object from the next: its number, category, where it came from, score, mask."""
    made_by = ann.attributes.get(MASK_METHOD)
    if ann.shape.value != "region":
        mask = ann.shape.value
    else:
        came = "imported" if ann.source.value == "imported" else "drawn"
        mask = f"mask {made_by}" if made_by else f"mask {came}" if ann.has_mask else \
            "box only" if ann.extreme is None else "no mask"
    score = f" {ann.score:.2f}" if ann.score is not None else ""
    origin = "suggested" if kind == "suggestion" else ann.source.value
    return f"#{number}  {names.get(ann.category_id, '?')}  {origin}{score}  {mask}" + ("  crowd" if ann.iscrowd else "")


class ObjectListModel(QAbstractListModel):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[str, Annotation]] = []  # ("label" or "suggestion", the object)
        self.names: dict[int, str] = {}
        self.colors: dict[int, str] = {}

    def reset(self, rows: list[tuple[str, Annotation]], names: dict[int, str], colors: dict[int, str]) -> None:
        self.beginResetModel()
        self.rows, self.names, self.colors = rows, names, colors
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802 (Qt)
        return 0 if parent.isValid() else len(self.rows)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.DisplayRole):
        if not 0 <= index.row() < len(self.rows):
            return None
        kind, ann = self.rows[index.row()]
        if role == Qt.DisplayRole:
            return row_text(index.row() + 1, ann, self.names, kind)
        if role == Qt.DecorationRole:  # a square of the colour: yellow text on white cannot be read
            return swatch(self.colors.get(ann.category_id) or "#ffffff", "")
        return None


class ObjectList(QListView):
    """Follows the window's `shown`; emits `chosen((kind, id))` when a row is clicked."""

    chosen = Signal(tuple)

    def __init__(self) -> None:
        super().__init__(uniformItemSizes=True)
        self.list_model = ObjectListModel()
        self.setModel(self.list_model)
        self.setFocusPolicy(Qt.NoFocus)
        self.setIconSize(QSize(12, 12))  # the category's colour beside a line of text, no taller
        self.clicked.connect(lambda index: self.chosen.emit(self.key(index.row())))

    def show_objects(self, shown: ImageObjects) -> None:
        rows, names, colors = shown.rows(), shown.names, shown.colors
        listed = self.list_model.rows
        same = len(listed) == len(rows) and \
            all(a is b and k == j for (k, a), (j, b) in zip(listed, rows, strict=True)) and \
            names == self.list_model.names and colors == self.list_model.colors
        if not same:  # the store hands back the same objects when nothing changed: then only the selection
            self.list_model.reset(rows, names, colors)
        keys = [(kind, ann.id) for kind, ann in rows]
        if shown.selected in keys:
            index = self.list_model.index(keys.index(shown.selected))
            if self.currentIndex() != index:
                self.selectionModel().setCurrentIndex(index, QItemSelectionModel.ClearAndSelect)
                self.scrollTo(index)
        else:
            self.selectionModel().clear()

    def key(self, row: int) -> tuple[str, int]:
        kind, ann = self.list_model.rows[row]
        return kind, ann.id

    def count(self) -> int:
        return len(self.list_model.rows)

    def text(self, row: int) -> str:
        return self.list_model.data(self.list_model.index(row))

    def row_rect(self, row: int) -> QRect:
        return self.visualRect(self.list_model.index(row))
