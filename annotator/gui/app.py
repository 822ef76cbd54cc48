"""Start the window on a project file, or on a folder of images (its project is created or reused)."""
from __future__ import annotations

import sys

from PySide6.QtWidgets import QApplication

from ..store import Project


def run(project: Project) -> int:
    from .window import MainWindow

    project.lock_for_labelling()  # before any window: a second app is refused with one line
    app = QApplication.instance() or QApplication(sys.argv[:1])
    window = MainWindow(project)
    window.resize(1280, 800)
    window.show()
    return app.exec()
