"""The window's small dialogs: the category picker, the category-removal question, the shortcut sheet
and About; and a path field with its Browse button, for the larger ones."""
from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from converters import Category

from ..effort import described
from ..store import Project
from .categories import swatch


class CategoryPicker(QDialog):
    """Type to filter, Enter picks: every category within reach when there are more than nine."""

    picked = Signal(int)

    def __init__(self, parent: QWidget, categories: list[Category]) -> None:
        super().__init__(parent)
        self.setWindowTitle("Choose a category")
        self.filter = QLineEdit(placeholderText="type to filter, Enter to choose")
        self.list = QListWidget()
        for k, c in enumerate(categories):
            item = QListWidgetItem(swatch(c.color or "#ffffff", str(k + 1) if k < 9 else ""), c.name)
            item.setData(Qt.UserRole, c.id)
            self.list.addItem(item)
        self.filter.textChanged.connect(self._narrow)
        self.filter.returnPressed.connect(self._pick)
        self.list.itemActivated.connect(lambda _item: self._pick())
        column = QVBoxLayout(self)
        column.addWidget(self.filter)
        column.addWidget(self.list)
        self.list.setCurrentRow(0)
        self.resize(320, 420)

    def _narrow(self, text: str) -> None:
        first = None
        for k in range(self.list.count()):
            item = self.list.item(k)
            item.setHidden(text.strip().lower() not in item.text().lower())
            first = first if first is not None or item.isHidden() else item
        if first is not None:
            self.list.setCurrentItem(first)

    def _pick(self) -> None:
        item = self.list.currentItem()
        if item is not None and not item.isHidden():
            self.picked.emit(item.data(Qt.UserRole))
            self.accept()


def ask_category_removal(parent: QWidget, name: str, labels: int, suggestions: int,
                         others: list[Category]) -> tuple[str, int | None] | None:
    """What to do with a used category's objects: ("delete", None), ("move", category id), or None to
    keep everything."""
    box = QMessageBox(QMessageBox.Question, "Delete category",
                      f"{labels} objects and {suggestions} suggestions are {name}. Delete them with the category, "
                      "or move them to another category first? (Ctrl+Z undoes either.)", parent=parent)
    delete = box.addButton(f"Delete {labels + suggestions}", QMessageBox.DestructiveRole)
    move = box.addButton("Move to...", QMessageBox.AcceptRole) if others else None
    box.addButton(QMessageBox.Cancel)
    box.exec()
    if box.clickedButton() is delete:
        return "delete", None
    if move is not None and box.clickedButton() is move:
        names = [c.name for c in others]
        chosen, ok = QInputDialog.getItem(parent, "Move objects", f"Move the {name} objects to:", names, 0, False)
        return ("move", others[names.index(chosen)].id) if ok else None
    return None


def ask_mask_model(parent: QWidget, backend: str, what: str) -> str:
    """What a mask network's model is and where one comes from: "train" one on the project, "choose" a
    file, or "cancel"."""
    box = QMessageBox(QMessageBox.Question, f"The {backend} mask network", (
        f"{backend} makes a mask from the four clicks with a neural network. It needs a model: {what}.\n\n"
        "Train one on this project's masks (Model > Train mask network, on the images marked done), or "
        "choose a model file you have.\n\nThe window also learns one by itself as you label (Model > Learn "
        "masks from my labels, on by default): every 20 new objects it trains for a few minutes, and GrabCut "
        "steered by its network (dextr-grabcut) takes over once it does better on your newest masks."),
        QMessageBox.Cancel, parent)
    train = box.addButton("Train one on this project...", QMessageBox.AcceptRole)
    choose = box.addButton("Choose a model file...", QMessageBox.ActionRole)
    box.exec()
    clicked = box.clickedButton()
    return "train" if clicked is train else "choose" if clicked is choose else "cancel"


#: What the mouse does, for the shortcut sheet (the keys come from the menus).
MOUSE = [("click", "an extreme point of a new object (four make it)"),
         ("Ctrl+click", "select the topmost object there"),
         ("drag a point", "move it (on a suggestion: accepts it)"), ("tap a point", "select its object"),
         ("drag a selected box's edge or corner", "resize a box-only object"),
         ("Shift+click in an object (the selected one, else the one whose box holds it)",
          "a foreground correction point: the mask must hold it"),
         ("Shift+right-click (or Alt+click)", "a background correction point: the mask must leave it out"),
         ("brush or eraser: drag", "paint into (erase from) the selected object's mask; nothing selected: "
                                   "paint a new object; Shift held: erase with the brush, paint with the eraser"),
         ("outline: drag a vertex, or an edge", "move it, or add a vertex there"),
         ("outline: right-click (or Shift+click) a vertex", "remove it"),
         ("outline: [ and ]", "more or fewer vertices (how far the polygon may stray from the mask)"),
         ("wheel", "zoom to the cursor"), ("middle button, or Space held + left button", "pan")]
#: The widest the shortcut sheet's keys column starts (pixels).
KEYS_WIDTH = 300


class ShortcutSheet(QDialog):
    """Every menu action with its keys, read from the menus themselves so that it never goes stale."""

    def __init__(self, parent: QWidget, actions: list[tuple[str, QAction]], mouse: list[tuple[str, str]]) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard and mouse")
        rows = [(menu, ", ".join(k.toString() for k in action.shortcuts()), action.text().replace("&", ""))
                for menu, action in actions if action.shortcuts()] + [("Mouse", how, what) for how, what in mouse]
        self.table = QTableWidget(len(rows), 3)
        self.table.setHorizontalHeaderLabels(["menu", "keys", "does"])  # the keys first: what a person looks up
        self.table.setWordWrap(True)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                self.table.setItem(r, c, QTableWidgetItem(text))
        QVBoxLayout(self).addWidget(self.table)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.Stretch)  # what it does: the rest of the width, wrapped
        self.table.resizeColumnToContents(1)
        self.table.setColumnWidth(1, min(self.table.columnWidth(1), KEYS_WIDTH))  # a long mouse gesture wraps
        self.resize(900, 720)

    def showEvent(self, event) -> None:  # noqa: N802 (Qt)
        super().showEvent(event)
        self.table.resizeRowsToContents()  # the wrapped rows, now that the columns have their widths


def about_box(parent: QWidget, project: Project) -> QMessageBox:
    """Help > About: the version, the project and its counts, and the time per object (`annotator.effort`)."""
    try:
        release = version("annotator")
    except PackageNotFoundError:
        release = "unknown"
    stats = project.stats()
    return QMessageBox(QMessageBox.Information, "About annotator",
                       f"annotator {release}\nLabel objects by clicking their four extreme points.\n\n"
                       f"{project.where}\n{stats['images']} images, {stats['images_by_status']['done']} done, "
                       f"{stats['objects']} objects, {stats['pending_suggestions']} pending suggestions\n\n"
                       f"{described(stats['effort'])}", parent=parent)


def with_browse(field: QLineEdit, browse: Callable[[], None]) -> QHBoxLayout:
    """A path's text field with a Browse... button beside it that calls `browse`."""
    button = QPushButton("Browse...")
    button.clicked.connect(browse)
    row = QHBoxLayout()
    row.addWidget(field)
    row.addWidget(button)
    return row
