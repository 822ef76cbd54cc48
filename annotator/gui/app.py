"""Start the app: the window on a project, or the start page that leads to one. The launcher keeps one
labelling window at a time: File > Open puts another project in its place, File > Close goes back to the
start page, and each project is closed (its lock released) with its window."""
from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from converters import UserError
from converters.errors import disk_full

from ..database import is_database_url
from ..folders import project_for
from ..recent import remember
from ..store import Project, ProjectDamaged, damaged, is_damage


def run(project: Project) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    say_unsaved_edits()
    launcher = Launcher()
    launcher.show_window(project)
    return app.exec()


def run_start_page() -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    say_unsaved_edits()
    launcher = Launcher()
    launcher.show_start_page()
    return app.exec()


def say_unsaved_edits() -> None:
    """A write the disk refuses, or a read of a damaged project, in whichever slot it happens (a click, a
    stroke, a mask arriving), becomes a dialog: the edit was rolled back, or the project needs salvage,
    and the person must know (each different message once). Anything else goes on to the hook that was
    there (a traceback: a bug to report)."""
    previous = sys.excepthook
    shown: set[str] = set()

    def hook(kind, error, trace) -> None:
        full = disk_full(error)
        if full is not None:
            QMessageBox.critical(QApplication.activeWindow(), "Not saved", str(full))
        elif isinstance(error, ProjectDamaged) or (isinstance(error, sqlite3.DatabaseError) and is_damage(error)):
            said = str(error if isinstance(error, ProjectDamaged) else damaged(None, str(error)))
            if said not in shown:
                shown.add(said)
                QMessageBox.critical(QApplication.activeWindow(), "Project damaged", said)
        else:
            previous(kind, error, trace)

    sys.excepthook = hook


def open_window(project: Project):
    """The labelling window on `project`, shown; a second window on it is refused (UserError)."""
    from .window import MainWindow

    project.lock_for_labelling()
    remember(project.where if project.is_team else project.path)
    window = MainWindow(project)
    window.resize(1280, 800)
    window.show()
    return window


class Launcher(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.window = None
        self.page = None

    def show_window(self, project: Project):
        window = open_window(project)
        window.open_requested.connect(self.open)
        window.close_requested.connect(self.show_start_page)
        window.closed.connect(lambda: self._closed(window))
        window.setAttribute(Qt.WA_DeleteOnClose)
        self.window = window
        return window

    def _closed(self, window) -> None:
        """A window closed (File > Close, Quit, or its title bar): its project closes now, so that the
        lock goes with it and the start page can open the project again."""
        window.project.close()
        if self.window is window:
            self.window = None

    def show_start_page(self) -> None:
        from .start import StartPage

        self.page = StartPage()
        self.page.chosen.connect(self.open)
        self.page.resize(720, 460)
        self.page.show()

    def open(self, path: Path | str) -> None:
        """Open what the person chose in the one window; a bad choice is said, and nothing else changes."""
        asking: QWidget | None = self.window or self.page
        try:
            project = Project.open(path if is_database_url(path) else project_for(path))
        except UserError as e:
            QMessageBox.warning(asking, "annotator", str(e))
            return
        if self.window is not None and self.window.project.path.resolve() == project.path.resolve():
            project.close()
            return
        page = self.page
        if self.window is not None:
            self.window.close()  # its project closes with it
        try:
            self.show_window(project)
        except UserError as e:
            project.close()
            QMessageBox.warning(asking, "annotator", str(e))
            return
        if page is not None:
            page.close()
            self.page = None
