"""Start the app: the window on a project, or the start page that leads to one."""
from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication, QMessageBox

from converters import UserError

from ..folders import project_for
from ..recent import remember
from ..store import Project


def run(project: Project) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    window = open_window(project)
    code = app.exec()
    window.deleteLater()
    return code


def open_window(project: Project):
    """The labelling window on `project`, shown; a second window on it is refused (UserError)."""
    from .window import MainWindow

    project.lock_for_labelling()
    remember(project.path)
    window = MainWindow(project)
    window.resize(1280, 800)
    window.show()
    return window


def run_start_page() -> int:
    from .start import StartPage

    app = QApplication.instance() or QApplication(sys.argv[:1])
    page = StartPage()
    opened = []

    def choose(path: Path) -> None:
        try:
            project = Project.open(project_for(path))
            opened.append((project, open_window(project)))
        except UserError as e:  # a bad choice: say why, and let the person choose again
            QMessageBox.warning(page, "annotator", str(e))
            return
        page.close()

    page.chosen.connect(choose)
    page.resize(640, 420)
    page.show()
    code = app.exec()
    for project, _window in opened:
        project.close()
    return code
