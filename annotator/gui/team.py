"""What a team project adds to its window. It hears the others' commits: four times a second a look at
the notifications PostgreSQL has sent (no query), told to the window as changes from outside; while the
server is away the status bar says so, and says when it answers again. And it claims the image the
window shows (`annotator.claims`): taken when the image opens, renewed while it stays open, let go when
another image opens or the window closes. A claim someone else holds is said in the status bar; the
image still opens (each object's edits are checked against theirs)."""
from __future__ import annotations

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QMainWindow

from converters import UserError

from ..claims import RENEW_S, new_holder, person_of
from ..database import ServerAway
from ..store import Project

#: How often the window looks for the others' commits: their edits show within this.
LISTEN_MS = 250


class Team(QObject):
    def __init__(self, window: QMainWindow, project: Project):
        super().__init__(window)
        self.window, self.project = window, project
        self.holder = new_holder()
        self.image_id: int | None = None  # the image this window holds
        self._renew = QTimer(self, interval=int(RENEW_S * 1000), timeout=self._take_again)
        self._listen = QTimer(self, interval=LISTEN_MS, timeout=self._hear)
        self._away = False  # the server could not be reached at the last look
        if project.is_team:
            self._listen.start()

    def _hear(self) -> None:
        try:
            self.project.check_outside()
        except ServerAway as e:
            self.window.statusBar().showMessage(str(e))
            self._away = True
            return
        if self._away:
            self._away = False
            self.window.statusBar().showMessage("the team database's server answers again: edits are saved", 5000)

    def close(self) -> None:
        self._listen.stop()
        self.let_go()

    def take(self, image_id: int) -> None:
        """The image the window now shows: claimed, and the last one let go."""
        if not self.project.is_team:
            return
        self.let_go()
        try:
            other = self.project.claim(image_id, self.holder)
        except UserError as e:  # the server away: said by the window's next look at it
            self.window.statusBar().showMessage(str(e), 5000)
            return
        if other is not None:
            self.window.statusBar().showMessage(f"{person_of(other)} is labelling this image too: an edit of an "
                                                "object they changed is refused, not overwritten", 8000)
            return
        self.image_id = image_id
        self._renew.start()

    def _take_again(self) -> None:
        if self.image_id is not None:
            image_id, self.image_id = self.image_id, None
            self.take(image_id)

    def let_go(self) -> None:
        self._renew.stop()
        if self.image_id is not None:
            image_id, self.image_id = self.image_id, None
            try:
                self.project.release(image_id, self.holder)
            except UserError:  # the server away: the claim runs out by itself
                pass
