"""What a team project adds to its window. It hears the others' commits: four times a second a look at
the notifications PostgreSQL has sent (no query), told to the window as changes from outside; while the
server is away the status bar says so, and says when it answers again. It claims the image the window
shows (`annotator.claims`): taken when the image opens, renewed while it stays open, let go when another
image opens or the window closes; a claim someone else holds is said in the status bar, and the image
still opens (each object's edits are checked against theirs). And it checks this person's copy of the
image against the team's: a content hash, read in a thread of its own, against the one the project keeps
(the first copy opened); a copy that differs is said (the labels may not fit it). An edit made while the
server is away is kept and written when it answers (if the person is still on its image); what was not
written is said, edit by edit: when the window closes first, and, from a record kept on this person's disk
(`annotator.kept_edits`), by the next window on the project when this one died with edits kept.
"""
from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QMainWindow, QMessageBox

from converters import UserError

from ..claims import RENEW_S, new_holder, person_of
from ..database import ServerAway
from ..kept_edits import KeptEdit, KeptEdits, left_by_windows_gone
from ..store import Project

#: How often the window looks for the others' commits: their edits show within this.
LISTEN_MS = 250


def file_hash(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "blake2b").hexdigest()


class Team(QObject):
    hashed = Signal(int, str)  # an image's id and its local copy's hash, from the hashing thread

    def __init__(self, window: QMainWindow, project: Project, act: Callable[..., bool],
                 image: Callable[[], int | None]):
        """`act`: the window's way to run an edit (`act(action, what=words)`: redrawn once, a refusal said,
        kept again if the server is away again); `image`: the image shown."""
        super().__init__(window)
        self.window, self.project, self.act, self.image = window, project, act, image
        self._kept: list[tuple[int | None, Callable[[], Any], KeptEdit]] = []  # made while the server was away
        self._record = KeptEdits(project.path.parent)
        self._image_name = ""  # the image shown, as an edit kept on it is said
        self.holder = new_holder(project.person)
        self.image_id: int | None = None  # the image this window holds
        self._renew = QTimer(self, interval=int(RENEW_S * 1000), timeout=self._take_again)
        self._hashing = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hash")
        self.hashed.connect(self._compare)
        self._listen = QTimer(self, interval=LISTEN_MS, timeout=self._hear)
        self._away = False  # the server could not be reached at the last look
        if project.is_team:
            self._listen.start()
            gone = left_by_windows_gone(project.path.parent)
            if gone:  # once the window is up
                QTimer.singleShot(0, lambda: self._not_saved(gone, "A window on this project closed unexpectedly "
                                                                   "while the team database's server was away"))

    def _hear(self) -> None:
        try:
            self.project.check_outside()
        except ServerAway as e:
            kept = f" ({len(self._kept)} edits kept, to write when it answers)" if self._kept else ""
            self.window.statusBar().showMessage(str(e) + kept)
            self._away = True
            return
        if self._away or self._kept:
            self._away = False
            self.window.statusBar().showMessage("the team database's server answers again: edits are saved"
                                                + self._write_kept(), 8000)

    def keep(self, action: Callable[[], Any], what: str) -> str:
        """An edit the server was away for (`what`: in words): kept, to write when it answers, and
        recorded on disk until then; what the status bar says."""
        self._kept.append((self.image(), action, KeptEdit(what, self._image_name, time.time())))
        self._record.write([edit for _, _, edit in self._kept])
        return f"the team database's server cannot be reached: this edit is kept ({len(self._kept)} waiting) " \
               "and written when it answers"

    def _write_kept(self) -> str:
        """The kept edits, in order, each checked as any edit is (one changed meanwhile is refused, said);
        an edit of an image the person has left is not written: it would land on the image shown."""
        kept, self._kept = self._kept, []
        self._record.write([])  # before writing them: one the server is away for again is kept and recorded anew
        here = [(action, edit) for image, action, edit in kept if image == self.image()]
        written = sum(bool(self.act(action, what=edit.what)) for action, edit in here)
        left = [edit for image, _, edit in kept if image != self.image()]
        if left:
            self._not_saved(left, "Made on an image since left, these edits were not written (they would land "
                                  "on the image shown)")
        return (f"; {written} of {len(kept)} kept edits written" if kept else "") + \
            (f" ({len(left)} made on an image since left were not)" if left else "")

    def _not_saved(self, edits: list[KeptEdit], why: str) -> None:
        count = f"{len(edits)} edit{'s' if len(edits) != 1 else ''}"
        QMessageBox.warning(self.window, "Edits not saved", f"{why}: {count} not saved.\n\n"
                            + "\n".join(edit.text() for edit in edits))

    def close(self) -> None:
        if self._kept:
            self._not_saved([edit for _, _, edit in self._kept], "The team database's server could not be reached")
            self._record.write([])  # said
        self._listen.stop()
        self._hashing.shutdown(wait=True, cancel_futures=True)
        self.let_go()

    def take(self, image_id: int, path: str) -> None:
        """The image the window now shows (its local copy at `path`): claimed, the last one let go, and
        the copy checked against the team's."""
        if not self.project.is_team:
            return
        self.let_go()
        self._image_name = os.path.basename(path)
        future = self._hashing.submit(file_hash, path)
        future.add_done_callback(lambda f: f.exception() is None and self.hashed.emit(image_id, f.result()))
        self._claim(image_id)

    def _compare(self, image_id: int, digest: str) -> None:
        if image_id != self.image():  # the person moved on meanwhile
            return
        try:
            kept = self.project.content_hash(image_id, digest)
        except UserError:  # the server away: said by the window's next look at it
            return
        if kept != digest:
            self.window.statusBar().showMessage("your copy of this image differs from the one the team labels "
                                                "(another file under the same name?): the labels may not fit it",
                                                15000)

    def _claim(self, image_id: int) -> None:
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
        """The claim renewed, without letting go of it in between (the others' lists stay as they are)."""
        if self.image_id is not None:
            self._claim(self.image_id)

    def let_go(self) -> None:
        self._renew.stop()
        if self.image_id is not None:
            image_id, self.image_id = self.image_id, None
            try:
                self.project.release(image_id, self.holder)
            except UserError:  # the server away: the claim runs out by itself
                pass
