"""The start page: recent projects with their progress, and buttons to open a folder of images, a
project file or a team project. A folder without a project says where its new project will go, and lets the person
choose another place."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from converters import UserError

from ..database import is_database_url
from ..folders import DEFAULT_PROJECT_NAME, init_project, window_name
from ..recent import recent_projects
from ..store import progress_of
from .team_dialog import TeamProjectDialog, ask_team_project


class StartPage(QWidget):
    """Emits `chosen(path)`: a project file, or a folder of images whose own project exists."""

    chosen = Signal(object)  # a Path, or a team project's URL

    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("annotator")
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("<h2>annotator</h2>Click the four extreme points of each object."))
        layout.addWidget(QLabel("Recent projects (double-click to open):"))
        self.recent = QListWidget()
        for path in recent_projects():
            if isinstance(path, str):  # a team project: its server is not asked until it is opened
                item = QListWidgetItem(f"{window_name(path)}\n    {path}")
                item.setData(Qt.UserRole, path)
                self.recent.addItem(item)
                continue
            progress = progress_of(path)
            shown = f"{path.name}   {progress[0]} of {progress[1]} done" if progress else f"{path.name}   (unreadable)"
            item = QListWidgetItem(f"{shown}\n    {path.parent}")
            item.setData(Qt.UserRole, path)
            self.recent.addItem(item)
        if not self.recent.count():
            self.recent.addItem("(none yet: open a folder of images)")
        self.recent.itemActivated.connect(lambda item: self._choose(item.data(Qt.UserRole)))
        layout.addWidget(self.recent)
        buttons = QHBoxLayout()
        folder = QPushButton("Open folder of images...")
        folder.clicked.connect(lambda: self.choose_folder(QFileDialog.getExistingDirectory(self, "Folder of images")))
        project = QPushButton("Open project...")
        project.clicked.connect(lambda: self._choose(
            QFileDialog.getOpenFileName(self, "Project", filter="Projects (*.sqlite);;All files (*)")[0]))
        self.team_dialog: TeamProjectDialog | None = None
        team = QPushButton("Open team project...")
        team.clicked.connect(self.choose_team_project)
        buttons.addWidget(folder)
        buttons.addWidget(project)
        buttons.addWidget(team)
        layout.addLayout(buttons)

    def choose_team_project(self) -> None:
        self.team_dialog = ask_team_project(self.team_dialog, self, self._choose)

    def choose_folder(self, folder: str) -> None:
        """A folder's own project if it has one; else the person is told where the new one will be made,
        and may pick another place."""
        if not folder:
            return
        folder = Path(folder)
        project = folder / DEFAULT_PROJECT_NAME
        if not project.exists():
            project = self.ask_where(folder, project)
            if project is None:
                return
        try:
            init_project(folder, project)
        except UserError as e:
            QMessageBox.warning(self, "annotator", str(e))
            return
        self._choose(project)

    def ask_where(self, folder: Path, default: Path) -> Path | None:
        box = QMessageBox(QMessageBox.Question, "New project",
                          f"{folder} has no project yet. A new one will be created at\n\n{default}\n\n"
                          "It holds the labels; the images stay where they are.", parent=self)
        create = box.addButton("Create it there", QMessageBox.AcceptRole)
        elsewhere = box.addButton("Choose another place...", QMessageBox.ActionRole)
        box.addButton(QMessageBox.Cancel)
        box.exec()
        if box.clickedButton() is create:
            return default
        if box.clickedButton() is elsewhere:
            chosen, _ = QFileDialog.getSaveFileName(self, "Where to keep the new project", str(default),
                                                    "Projects (*.sqlite)")
            return Path(chosen) if chosen else None
        return None

    def _choose(self, path) -> None:
        if path:  # None for the placeholder line, "" for a cancelled dialog
            self.chosen.emit(path if is_database_url(path) else Path(path))
