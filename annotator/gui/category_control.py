"""What the Categories panel's edits, the digit keys, C and Ctrl+Shift+N do: each edit one undoable
session call, run by the window's `act`; the panel (`categories.py`) only says what the person asked."""
from __future__ import annotations

import dataclasses
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QColor, QKeySequence
from PySide6.QtWidgets import QColorDialog, QInputDialog, QMainWindow, QMenu

from converters import Category

from ..palette import click_color
from ..session import LabellingSession
from .categories import CategoryPanel
from .dialogs import CategoryPicker, ask_category_removal


class Categories(QObject):
    def __init__(self, window: QMainWindow, session: LabellingSession, canvas, act: Callable[..., bool]):
        super().__init__(window)
        self.window, self.session, self.canvas, self.act = window, session, canvas, act
        self.panel = CategoryPanel()
        self.keys: QMenu | None = None  # Edit > Category: one action per digit key, made by `fill`
        self.picker: CategoryPicker | None = None
        self._seen: tuple | None = None
        self.panel.chosen.connect(self.choose)
        self.panel.added.connect(lambda name: act(lambda: session.add_category(name)))
        self.panel.renamed.connect(lambda cid, name: act(lambda: session.rename_category(cid, name)))
        self.panel.recolor.connect(self._recolor)
        self.panel.delete.connect(self._delete)
        self.panel.reordered.connect(lambda ids: act(lambda: session.order_categories(ids)))

    def fill(self) -> list[Category]:
        """The project's categories, shown with the chosen one kept, the digit keys' menu following;
        returned, so that a redraw reads them once."""
        self.session.check_category()
        categories = self.session.project.categories()
        seen = ([dataclasses.astuple(c) for c in categories], self.session.category_id)
        if seen == self._seen:
            return categories
        self._seen = seen
        self.panel.fill(categories, self.session.category_id)
        self.canvas.click_color = QColor(click_color([c.color or "#ffffff" for c in categories]))
        if self.keys is not None:
            for action in self.keys.actions():
                self.window.removeAction(action)
                self.keys.removeAction(action)
                action.deleteLater()
            for k, c in enumerate(categories[:9]):
                action = QAction(c.name, self.window, shortcut=QKeySequence(str(k + 1)),
                                 shortcutContext=Qt.WindowShortcut)
                action.triggered.connect(lambda _checked=False, cid=c.id: self.choose(cid))
                self.keys.addAction(action)
                self.window.addAction(action)
        return categories

    def choose(self, category_id: int) -> None:
        """The category for the next object; a selected label takes it too (undoable)."""
        changed: list = []
        self.act(lambda: changed.append(self.session.choose_category(category_id)), always=False,
                 what="choose a category")
        if not changed or changed[0] is None:
            self.fill()  # the chosen one shown
        else:
            name = self.canvas.shown.names.get(category_id)
            self.window.statusBar().showMessage(f"object {changed[0].id} is now {name}", 3000)

    def pick(self) -> None:
        self.picker = CategoryPicker(self.window, self.session.project.categories())
        self.picker.picked.connect(self.choose)
        self.picker.open()

    def new(self, title: str = "New category", question: str = "Name of the new category:") -> bool:
        """Ask for a name and add it; whether a category is now chosen (a project without any asks on the
        first click)."""
        name, ok = QInputDialog.getText(self.window, title, question)
        if ok and name.strip():
            self.act(lambda: self.session.add_category(name), what=f"add category {name}")
        return self.session.category_id is not None

    def _recolor(self, category_id: int) -> None:
        [category] = [c for c in self.session.project.categories() if c.id == category_id]
        color = QColorDialog.getColor(QColor(category.color or "#ffffff"), self.window, f"Colour of {category.name}")
        if color.isValid():
            self.act(lambda: self.session.recolor_category(category_id, color.name()), what="recolour a category")

    def _delete(self, category_id: int) -> None:
        project = self.session.project
        categories = project.categories()
        [category] = [c for c in categories if c.id == category_id]
        labels, suggestions = project.category_use(category_id)
        choice: tuple[str, int | None] | None = ("delete", None)
        if labels or suggestions:
            choice = ask_category_removal(self.window, category.name, labels, suggestions,
                                          [c for c in categories if c.id != category_id])
        if choice is not None:
            self.act(lambda: self.session.delete_category(category_id, choice[1]), what="delete a category")
