"""Where the keys go. Keys typed into a text field stay in it: Enter, Esc and the editing keys belong to the
field with the focus (the new-category field, a rename in place, a search), not to the window's labelling
shortcuts, where Enter accepts a suggestion and Delete deletes an object. And once a dialog of the window
closes, the window has the keys again."""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QAbstractSpinBox, QApplication, QDialog, QLineEdit, QWidget

FIELD_KEYS = {Qt.Key_Return, Qt.Key_Enter, Qt.Key_Escape, Qt.Key_Delete, Qt.Key_Backspace, Qt.Key_Home, Qt.Key_End,
              Qt.Key_Left, Qt.Key_Right, Qt.Key_Up, Qt.Key_Down, Qt.Key_Space, Qt.Key_Tab}


class KeyFocus(QObject):
    """Installed on the application for `window`: a text field with the focus claims FIELD_KEYS before any
    shortcut; and when a dialog of the window closes and no other is open, the window is made active with
    the focus (where no window manager hands the focus back, or another window took it meanwhile, the
    labelling keys did nothing until a click)."""

    def __init__(self, window: QWidget):
        super().__init__(window)
        self.window = window

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt)
        kind = event.type()
        if kind == QEvent.ShortcutOverride and isinstance(watched, (QLineEdit, QAbstractSpinBox)) \
                and event.key() in FIELD_KEYS and not event.modifiers() & Qt.ControlModifier:
            event.accept()
            return True
        if kind == QEvent.Hide and self._ours(watched):
            QTimer.singleShot(0, self._take_keys)
        return False

    def _ours(self, widget: QObject) -> bool:
        return isinstance(widget, QDialog) and widget.parentWidget() is not None \
            and widget.parentWidget().window() is self.window

    def _take_keys(self) -> None:
        if self.window.isVisible() and QApplication.activeModalWidget() is None \
                and not any(self._ours(w) and w.isVisible() for w in QApplication.topLevelWidgets()):
            self.window.activateWindow()
            self.window.setFocus()
