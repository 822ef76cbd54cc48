"""The start page: recent projects, and buttons to open a folder of images or a project file."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QFileDialog, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton,
                               QVBoxLayout, QWidget)

from ..recent import recent_projects


class StartPage(QWidget):
    """Emits `chosen(path)`: a project file, or a folder of images."""

    chosen = Signal(Path)

    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("annotator")
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("<h2>annotator</h2>Click the four extreme points of each object."))
        layout.addWidget(QLabel("Recent projects (double-click to open):"))
        self.recent = QListWidget()
        for path in recent_projects():
            item = QListWidgetItem(str(path))
            item.setData(Qt.UserRole, path)
            self.recent.addItem(item)
        if not self.recent.count():
            self.recent.addItem("(none yet: open a folder of images)")
        self.recent.itemActivated.connect(lambda item: self._choose(item.data(Qt.UserRole)))
        layout.addWidget(self.recent)
        buttons = QHBoxLayout()
        folder = QPushButton("Open folder of images...")
        folder.clicked.connect(lambda: self._choose(QFileDialog.getExistingDirectory(self, "Folder of images")))
        project = QPushButton("Open project...")
        project.clicked.connect(lambda: self._choose(
            QFileDialog.getOpenFileName(self, "Project", filter="Projects (*.sqlite);;All files (*)")[0]))
        buttons.addWidget(folder)
        buttons.addWidget(project)
        layout.addLayout(buttons)

    def _choose(self, path) -> None:
        if path:  # None for the placeholder line, "" for a cancelled dialog
            self.chosen.emit(Path(path))
