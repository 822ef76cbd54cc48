"""The categories panel: add by name, rename in place (double-click), recolour, reorder by dragging,
delete. It only says what the person asked for; the window turns each into an undoable session call."""
from __future__ import annotations

import functools

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from converters import Category


@functools.lru_cache(maxsize=256)
def swatch(color: str, key: str) -> QIcon:
    """A square of the category's colour with its digit key in it; drawn once per colour and key (the
    Objects panel asks for one per row it paints)."""
    pixmap = QPixmap(20, 20)
    pixmap.fill(QColor(color))
    if key:
        painter = QPainter(pixmap)
        light = QColor(color).lightness() > 140
        painter.setPen(QColor(0, 0, 0) if light else QColor(255, 255, 255))
        painter.drawText(pixmap.rect(), Qt.AlignCenter, key)
        painter.end()
    return QIcon(pixmap)


class CategoryPanel(QWidget):
    chosen = Signal(int)  # the category for the next object (and the selected one)
    added = Signal(str)
    renamed = Signal(int, str)
    recolor = Signal(int)
    delete = Signal(int)
    reordered = Signal(list)  # the category ids in their new order

    def __init__(self) -> None:
        super().__init__()
        self.list = QListWidget()
        self.list.setFocusPolicy(Qt.NoFocus)  # the labelling keys stay with the window
        self.list.setDragDropMode(QAbstractItemView.InternalMove)
        self.list.setEditTriggers(QAbstractItemView.DoubleClicked | QAbstractItemView.EditKeyPressed)
        self.list.model().rowsMoved.connect(lambda *_: self.reordered.emit(self.ids()))
        self.list.currentItemChanged.connect(lambda item, _old: item is not None and self.chosen.emit(self._id(item)))
        self.list.itemChanged.connect(self._edited)
        self.name = QLineEdit(placeholderText="new category, then Enter")
        self.name.returnPressed.connect(self._add)
        add = QPushButton("Add", clicked=self._add)
        colour = QPushButton("Colour...",
                             clicked=lambda: self._current() is not None and self.recolor.emit(self._current()))
        remove = QPushButton("Delete...",
                             clicked=lambda: self._current() is not None and self.delete.emit(self._current()))
        self.up = QPushButton("Up", clicked=lambda: self._move(-1), toolTip="move the category up (its key follows)")
        self.down = QPushButton("Down", clicked=lambda: self._move(1), toolTip="move the category down")
        self.colour, self.remove = colour, remove
        entry, buttons = QHBoxLayout(), QHBoxLayout()
        entry.addWidget(self.name)
        entry.addWidget(add)
        for button in (self.up, self.down, colour, remove):
            buttons.addWidget(button)
        for button in (add, self.up, self.down, colour, remove):
            button.setFocusPolicy(Qt.NoFocus)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(entry)
        column.addWidget(self.list)
        column.addLayout(buttons)
        self._filling = False
        self._shown: list[tuple] = []

    def fill(self, categories: list[Category], chosen: int | None) -> None:
        """Show the categories; when only the chosen one changed, the rows stay (a double-click that
        chose a category goes on to rename it in place)."""
        shown = [(c.id, c.name, c.color) for c in categories]
        if shown == self._shown:
            self.list.blockSignals(True)
            self.list.setCurrentRow(self.ids().index(chosen) if chosen in self.ids() else -1)
            self.list.blockSignals(False)
            return
        self._shown = shown
        self._filling = True
        self.list.blockSignals(True)
        self.list.clear()
        for k, c in enumerate(categories):
            item = QListWidgetItem(swatch(c.color or "#ffffff", str(k + 1) if k < 9 else ""), c.name)
            item.setData(Qt.UserRole, c.id)
            item.setFlags(item.flags() | Qt.ItemIsEditable)
            item.setToolTip(f"key {k + 1}" if k < 9 else "C: choose by name")
            self.list.addItem(item)
            if c.id == chosen:
                self.list.setCurrentItem(item)
        self.list.blockSignals(False)
        self._filling = False

    def ids(self) -> list[int]:
        return [self._id(self.list.item(k)) for k in range(self.list.count())]

    def _current(self) -> int | None:
        item = self.list.currentItem()
        return self._id(item) if item is not None else None

    @staticmethod
    def _id(item: QListWidgetItem) -> int:
        return item.data(Qt.UserRole)

    def _move(self, step: int) -> None:
        row = self.list.currentRow()
        ids = self.ids()
        if row < 0 or not 0 <= row + step < len(ids):
            return
        ids[row], ids[row + step] = ids[row + step], ids[row]
        self.reordered.emit(ids)

    def _add(self) -> None:
        if self.name.text().strip():
            self.added.emit(self.name.text())
            self.name.clear()
        self.name.clearFocus()  # the next key is a labelling key again, not a letter typed here

    def _edited(self, item: QListWidgetItem) -> None:
        if not self._filling:
            self.renamed.emit(self._id(item), item.text())
