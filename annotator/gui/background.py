"""The window's work in the background beside the labelling: export, pre-labelling and ranking, each a
`BackgroundJob` shown on the status bar's one progress bar, and what each says when it ends. The window
knows it by its menu commands, its bar and its `ranked` signal."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMainWindow, QMessageBox, QProgressBar

from converters import UserError
from converters.formats import FORMATS

from ..database import database_name
from ..export import Exported, export_project
from ..prelabel import PrelabelResult, prelabel_project
from ..ranking import RankResult, rank_project
from ..runs import read_run, runs_folder
from ..settings import Settings, save_settings
from ..store import Project
from .jobs import BackgroundJob


class Background(QObject):
    ranked = Signal()  # a rank order was stored: the image list shows it

    def __init__(self, window: QMainWindow, project: Project, settings: Settings):
        super().__init__(window)
        self.window, self.project, self.settings = window, project, settings
        self.prelabeller = BackgroundJob("pre-labelling", "pre-labelling stopped; run it again to go on")
        self.exporter = BackgroundJob("export", "export stopped; nothing was written")
        self.ranker = BackgroundJob("ranking", "ranking stopped; the order from before stays")
        self._followed: list[tuple[BackgroundJob, Callable[[], None]]] = [
            (self.prelabeller, self._prelabel_changed), (self.exporter, self._export_changed),
            (self.ranker, self._rank_changed)]
        for job, slot in self._followed:
            job.changed.connect(slot)
        self.bar = QProgressBar(maximumWidth=180)
        self.bar.hide()
        self.stop_prelabel = QAction("&Stop pre-labelling", self, enabled=False)  # until there is one to stop
        self.stop_prelabel.triggered.connect(self.prelabeller.stop)
        self.report: QMessageBox | None = None  # the last export's loss report

    def close(self) -> None:
        for job, slot in self._followed:
            job.changed.disconnect(slot)  # answers still queued are for a project about to close
        self.prelabeller.close()  # stops after the image in hand; a later run goes on from there
        self.exporter.close()
        self.ranker.close()

    def _say(self, text: str, ms: int) -> None:
        self.window.statusBar().showMessage(text, ms)

    def _owner_may(self, what: str) -> bool:
        """Whether this person may do `what` (on a team project, the owner's), said at once if not rather
        than after the dialogs, at the work's first write."""
        try:
            self.project.check_owner(what)
        except UserError as e:
            self._say(str(e), 10000)
            return False
        return True

    def _start(self, job: BackgroundJob, work, label: str) -> None:
        """Start `work` in `job`, the bar busy until the work counts its first step."""
        job.start(work)
        self.bar.setFormat(label)
        self.bar.setRange(0, 0)
        self.bar.show()

    def _running(self, job: BackgroundJob) -> bool:
        """The bar follows `job`; False, and the bar hidden, once the job has finished."""
        if job.outcome is None:
            self.bar.setRange(0, max(job.total, 1))
            self.bar.setValue(job.done)
            return True
        self.bar.hide()
        return False

    # -- export ----------------------------------------------------------------------------------------
    def export(self, fmt: str) -> None:
        """Export the labels in the background, with progress; the loss report is shown at the end."""
        if self.exporter.running():
            self._say("an export is already running", 3000)
            return
        stem = Path.home() / database_name(str(self.project.location)) if self.project.is_team \
            else self.project.path.with_suffix("")
        target = FORMATS[fmt]
        if target.suffix is not None:
            suggested = f"{stem}-{fmt}{target.suffix}"
            chosen, _ = QFileDialog.getSaveFileName(self.window, f"Export to {target.title}", suggested,
                                                    f"{target.title} (*{target.suffix})")
        else:
            chosen, _ = QFileDialog.getSaveFileName(self.window, f"Export to {target.title}: the folder to write",
                                                    f"{stem}-{fmt}", "A new folder (*)")
        if not chosen:
            return
        project_path, done_only = self.project.location, self.settings.export_done_only
        self._start(self.exporter, lambda progress: export_project(project_path, Path(chosen), fmt, progress,
                                                                   done_only=done_only),
                    f"export {target.title} %p%")

    def _export_changed(self) -> None:
        if self._running(self.exporter):
            return
        outcome = self.exporter.outcome
        if not isinstance(outcome, Exported):
            self._say(str(outcome), 10000)
            return
        self._say(outcome.summary(), 10000)
        if outcome.notes:
            self.report = QMessageBox(QMessageBox.Information, "Export", outcome.summary() + ".\n\n" +
                                      "\n".join(f"note: {n}" for n in outcome.notes), parent=self.window)
            self.report.open()

    # -- pre-labelling and ranking ---------------------------------------------------------------------
    def prelabel(self, chosen: str = "") -> None:
        """A detector suggests on the images not yet done, in the background; labelling goes on.
        `chosen`: the detector's run directory (none: the person picks one)."""
        if self.prelabeller.running():
            self._say("pre-labelling is already running", 3000)
            return
        if not self._owner_may("pre-labelling"):
            return
        chosen = chosen or QFileDialog.getExistingDirectory(
            self.window, "Choose the detector (a run of annotator train)",
            self.settings.detector or str(runs_folder(self.project.path)))  # the project's own runs first
        if not chosen:
            return
        run = read_run(Path(chosen))
        own = run.scores.get("suggest_score")
        said = "Suggest the detections scoring at least:" if own is None else \
            f"Suggest the detections scoring at least\n(the model's suggestions did best from {own:.2f} on its " \
            "held-out images;\nlower finds more and is wrong more often):"
        if run.verdict()[0] is False:
            said = f"This model is not good enough to help yet (held-out AP50 {run.scores['ap50']:.2f}).\n\n" + said
        score, ok = QInputDialog.getDouble(self.window, "Pre-label", said, own if own is not None else
                                           self.settings.prelabel_score, 0.0, 1.0, 2)
        if not ok:
            return
        self.settings.detector, self.settings.prelabel_score = chosen, score
        save_settings(self.settings)
        project_path = self.project.location
        backend = self.settings.mask_method  # the suggestions' masks: the backend the person chose
        weights = self.settings.weights.get(backend, "")
        self._start(self.prelabeller, lambda progress: prelabel_project(project_path, Path(chosen), score, progress,
                                                                        backend, weights), "pre-labelling %v/%m")
        self.stop_prelabel.setEnabled(True)

    def _prelabel_changed(self) -> None:
        """Progress on the bar; new suggestions reach the list and the canvas about once a second."""
        if self._running(self.prelabeller):
            return
        self.project.check_outside()  # its last suggestions, now rather than when the files settle
        self.stop_prelabel.setEnabled(False)
        outcome = self.prelabeller.outcome
        if isinstance(outcome, PrelabelResult):
            outcome = outcome.summary()
        self._say(outcome, 10000)

    def rank(self) -> None:
        """Order the unfinished images by the detector's uncertainty, in the background (`annotator rank`)."""
        if self.ranker.running():
            return
        if not self._owner_may("ranking"):
            return
        chosen = self.settings.detector or QFileDialog.getExistingDirectory(
            self.window, "Choose the detector to rank with (a run of annotator train)")
        if not chosen:
            return
        project_path = self.project.location
        self._start(self.ranker, lambda progress: rank_project(project_path, Path(chosen), "uncertainty", progress),
                    "ranking %v/%m")

    def _rank_changed(self) -> None:
        worker = self.ranker
        if self._running(worker):
            return
        self.project.check_outside()
        if isinstance(worker.outcome, RankResult):
            self.ranked.emit()
            self._say(f"ranked {len(worker.outcome.ranked)} unfinished images, the most uncertain first: N goes to "
                      "the next", 10000)
        else:
            self._say(str(worker.outcome), 10000)
