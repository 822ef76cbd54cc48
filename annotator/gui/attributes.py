"""The selected object's attributes: the crowd, occluded, truncated and difficult flags, and whatever
attributes its import brought (CVAT's, LabelMe's), each edited in place."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..image_objects import ImageObjects
from ..masking import MASK_METHOD
from ..session import CROWD, FLAGS, parse_value, shown_value


class AttributesPanel(QWidget):
    changed = Signal(str, object)  # attribute name, new value (None: removed)

    def __init__(self) -> None:
        super().__init__()
        self.title = QLabel("no object selected")
        self.title.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)  # a new title never resizes the docks
        self.flags = {name: QCheckBox(name) for name in FLAGS}
        for name, box in self.flags.items():
            box.setFocusPolicy(Qt.NoFocus)
            box.clicked.connect(lambda checked, n=name: self.changed.emit(n, True if checked else
                                                                          (False if n == CROWD else None)))
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["attribute", "value"])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        self.table.verticalHeader().hide()
        self.table.itemChanged.connect(self._edited)
        # a letter key is a labelling shortcut, not the start of a new value
        self.table.setEditTriggers(QAbstractItemView.DoubleClicked | QAbstractItemView.EditKeyPressed)
        self.new = QLineEdit(placeholderText="name=value, then Enter")
        self.new.returnPressed.connect(self._add)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.title)
        for box in self.flags.values():
            column.addWidget(box)
        column.addWidget(self.table)
        column.addWidget(self.new)
        self._filling = False
        self.show_selected(ImageObjects(None))

    def show_selected(self, shown: ImageObjects) -> None:
        """The selected label's attributes (none for a suggestion, which is accepted first); follows the
        window's `shown`."""
        self._filling = True
        label = shown.selected_label()
        self.title.setText(shown.selection_title() or "no object selected")
        self.setEnabled(label is not None)
        attributes = label.attributes if label is not None else {}
        for name, box in self.flags.items():
            box.setChecked(bool(label.iscrowd) if name == CROWD and label else bool(attributes.get(name)))
        others = {k: v for k, v in attributes.items() if k not in FLAGS and k != MASK_METHOD}
        self.table.setRowCount(len(others))
        for row, (name, value) in enumerate(sorted(others.items())):
            key = QTableWidgetItem(name)
            key.setFlags(key.flags() & ~Qt.ItemIsEditable)
            self.table.setItem(row, 0, key)
            self.table.setItem(row, 1, QTableWidgetItem(shown_value(value)))
        self._filling = False

    def _edited(self, item: QTableWidgetItem) -> None:
        if self._filling or item.column() != 1:
            return
        self.changed.emit(self.table.item(item.row(), 0).text(), parse_value(item.text()))

    def _add(self) -> None:
        name, _, value = self.new.text().partition("=")
        if name.strip():
            self.changed.emit(name.strip(), parse_value(value))
            self.new.clear()
        self.new.clearFocus()  # the next key is a labelling key again, not a letter typed here
