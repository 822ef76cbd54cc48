"""Open a team project from the window, as `annotator open URL --images DIR` does: the URL the project's
owner gave, this person's copy of the images (remembered for the URL on this machine), and a password
for a server that asks for one (used to open, never kept: ~/.pgpass keeps one)."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QLabel,
    QLineEdit,
    QWidget,
)

from ..database import is_database_url
from ..team_roots import remember_root, remembered_root
from .dialogs import with_browse


class TeamProjectDialog(QDialog):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Open team project")
        form = QFormLayout(self)
        form.addRow(QLabel("The URL comes from the project's owner, who adds you with `annotator team person`."))
        self.url = QLineEdit(placeholderText="postgresql://NAME@HOST:5432/DATABASE")
        self.url.textChanged.connect(self._url_changed)
        form.addRow("Project URL", self.url)
        self.images = QLineEdit(placeholderText="your copy of the project's images (a shared mount or a local copy)")
        form.addRow("Image folder", with_browse(self.images, self._browse))
        self.password = QLineEdit(echoMode=QLineEdit.Password,
                                  placeholderText="if the server asks for one (not kept: ~/.pgpass can keep it)")
        form.addRow("Password", self.password)
        self.problem = QLabel()
        self.problem.setStyleSheet("color: #b00020")
        form.addRow(self.problem)
        buttons = QDialogButtonBox(QDialogButtonBox.Open | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _url_changed(self, text: str) -> None:
        """A URL opened before fills in the image folder given then."""
        if is_database_url(text.strip()) and not self.images.text():
            known = remembered_root(text.strip())
            if known is not None:
                self.images.setText(str(known))

    def _browse(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "Your copy of the project's images", self.images.text())
        if chosen:
            self.images.setText(chosen)

    def _accept(self) -> None:
        url, images = self.url.text().strip(), self.images.text().strip()
        if not is_database_url(url):
            self.problem.setText("the URL starts with postgresql:// (as the owner gave it)")
            return
        if images:
            if not Path(images).expanduser().is_dir():
                self.problem.setText(f"no such folder: {images}")
                return
            remember_root(url, Path(images).expanduser())
        self.accept()

    def chosen(self) -> str:
        """The URL to open: as typed, with the password in it when one was given."""
        url, password = self.url.text().strip(), self.password.text()
        if not password:
            return url
        parts = urlsplit(url)
        host = parts.netloc.rsplit("@", 1)[-1]
        user = (parts.username or "") + ":" + quote(password, safe="")
        return urlunsplit(parts._replace(netloc=f"{user}@{host}"))


def ask_team_project(dialog: TeamProjectDialog | None, parent: QWidget,
                     chosen: Callable[[str], object]) -> TeamProjectDialog:
    """`parent`'s dialog shown: made on first use and kept, so that what was typed is still there after a
    refusal; `chosen` gets the URL to open. Returns the dialog, for the parent to keep."""
    if dialog is None:
        made = dialog = TeamProjectDialog(parent)
        made.accepted.connect(lambda: chosen(made.chosen()))
    dialog.open()
    return dialog
