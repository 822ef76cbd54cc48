"""Keys typed into a text field stay in it: Enter, Esc and the editing keys belong to the field with the
focus (the new-category field, a rename in place, a search), not to the window's labelling shortcuts,
where Enter accepts a suggestion and Delete deletes an object."""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QAbstractSpinBox, QLineEdit

FIELD_KEYS = {Qt.Key_Return, Qt.Key_Enter, Qt.Key_Escape, Qt.Key_Delete, Qt.Key_Backspace, Qt.Key_Home, Qt.Key_End,
              Qt.Key_Left, Qt.Key_Right, Qt.Key_Up, Qt.Key_Down, Qt.Key_Space, Qt.Key_Tab}


class FieldKeys(QObject):
    """Installed on the application: a text field with the focus claims these keys before any shortcut."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt)
        if event.type() == QEvent.ShortcutOverride and isinstance(watched, (QLineEdit, QAbstractSpinBox)) \
                and event.key() in FIELD_KEYS and not event.modifiers() & Qt.ControlModifier:
            event.accept()
            return True
        return False
