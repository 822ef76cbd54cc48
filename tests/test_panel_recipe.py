"""CONTRIBUTING's "Adding a panel to the window", walked as a newcomer would: a small panel that counts the
current image's objects, made, docked and following the window's `changed`, then used with real clicks."""
from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLabel

from annotator.changes import Change, Part
from annotator.image_objects import ImageObjects
from tests.test_window_job import POINTS, click, window  # noqa: F401


class CountLabel(QLabel):
    """Step 1: the widget shows what it is given and reads no project."""

    def show_count(self, count: int) -> None:
        self.setText(f"{count} objects on this image")


class ObjectCount(QObject):
    """Step 2: beside the widget, what it shows and its action; step 3: it follows `changed`."""

    def __init__(self, window, project):
        super().__init__(window)
        self.window, self.project = window, project
        self.widget = CountLabel()
        self.redraws = 0
        self.action = QAction("&Count the objects again", self)
        self.action.triggered.connect(self.redraw)

    def changed(self, change: Change) -> None:
        image = self.window.session.image_id
        if Part.LABELS in change.parts and (change.images is None or image in change.images):
            self.redraw()

    def redraw(self) -> None:
        self.redraws += 1
        self.widget.show_count(len(self.project.annotations(self.window.session.image_id)))


def test_a_panel_made_by_the_recipe_follows_the_labels_and_only_them(window):
    panel = ObjectCount(window, window.project)  # step 4, done from outside the window's __init__ here
    dock = window.dock("Object count", panel.widget, Qt.RightDockWidgetArea)
    window.changed.connect(panel.changed)
    window.menuBar().actions()[-1].menu().addAction(panel.action)
    assert window.docks["Object count"] is dock and dock.toggleViewAction() in window.view_menu.actions()
    for p in POINTS:
        click(window, *p)  # four clicks: one new object
    assert panel.widget.text() == "1 objects on this image" and panel.redraws == 1
    QTest.keyClick(window, Qt.Key_Z, Qt.ControlModifier)
    assert panel.widget.text() == "0 objects on this image" and panel.redraws == 2
    window.categories.renamed.emit(window.project.categories()[0].id, "renamed")  # the Categories panel's edit
    assert panel.redraws == 2  # categories changed, labels did not: no redraw
    panel.action.trigger()
    assert panel.redraws == 3


class SelectedCategory(QLabel):
    """Step 3's other signal: a panel that shows the open image's objects follows `shown`; it holds no
    project to read."""

    def show_selected(self, shown: ImageObjects) -> None:
        label = shown.selected_label()
        self.setText(shown.names[label.category_id] if label is not None else "nothing selected")


def test_a_panel_following_shown_sees_a_new_selection_without_a_project(window):
    panel = SelectedCategory()
    window.dock("Selected", panel, Qt.RightDockWidgetArea)
    window.shown.connect(panel.show_selected)
    for p in POINTS:
        click(window, *p)
    assert panel.text() == "date"  # the new object is selected
    click(window, 2, 2, Qt.ControlModifier)  # Ctrl+click on nothing: the selection goes, the store is unchanged
    assert panel.text() == "nothing selected"
