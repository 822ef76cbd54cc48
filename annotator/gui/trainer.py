"""Training from the window, beside its two panels: the Training panel (the run going, its curves, Stop and
Resume) and the Models panel (the project's runs), the progress in the status bar, the offer when a run
ends, and the mask network learning from the person's labels (`annotator.mask_learning`). It follows the
window's `changed` notifications for new labels; the window knows it by its signals and its panels."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMainWindow, QMessageBox, QProgressBar

from converters import ImageStatus, UserError
from detectors.catalogue import Role, backend_of

from ..changes import Change, Part
from ..database import password
from ..mask_learning import BACKEND, due_learning, judged
from ..progress import clock_text
from ..runs import Run, read_run
from ..settings import Settings, save_settings
from ..store import Project, ProjectDamaged
from .training import ModelsPanel, TrainDialog, TrainingPanel, TrainingProcess, new_request

#: After labels change, how long the learning waits before counting the masks.
LEARN_CHECK_MS = 2000


class Trainer(QObject):
    use_backend = Signal(str)  # a mask backend to make the masks from now on (the window's mask box)
    prelabel = Signal(str)  # a detector run to pre-label the unfinished images with, now

    def __init__(self, window: QMainWindow, project: Project, settings: Settings):
        super().__init__(window)
        self.window, self.project, self.settings = window, project, settings
        self.process = TrainingProcess(self)  # one run at a time, in a process of its own
        self.process.changed.connect(self._progressed)
        self.process.epoch.connect(lambda: self.panel.show_curves(self.process.run / "metrics.png"))
        self.process.ended.connect(self._ended)
        self.panel = TrainingPanel()
        self.panel.stop.connect(self.process.stop)
        self.panel.resume.connect(self.resume)
        self.models = ModelsPanel()
        self.models.chosen.connect(self.use_run)
        self.bar = QProgressBar(maximumWidth=260, maximum=1000)
        self.bar.hide()
        self.stop_action = QAction("S&top training", self, enabled=False)
        self.stop_action.triggered.connect(self.process.stop)
        self.learn_action = QAction("&Learn masks from my labels", self, checkable=True, checked=settings.learn_masks)
        self.learn_action.triggered.connect(self._toggle_learning)
        self._learn_check = QTimer(self, singleShot=True, interval=LEARN_CHECK_MS, timeout=self._maybe_learn)
        self.learning = False  # the run going is the learning's
        self.show_runs()
        if self.models.runs:  # the project's newest run, as the panel showed it when the window closed
            last = self.models.runs[0]
            self.panel.show_state(False, True, f"last run: {last.path.name}\n{last.described()}")
            self.panel.show_curves(last.path / "metrics.png")

    def changed(self, change: Change) -> None:
        """The window's notification of what an action changed: new labels may make a learning run due."""
        if Part.LABELS in change.parts and not self._learn_check.isActive():
            self._learn_check.start()

    def close(self) -> None:
        self.process.ended.disconnect(self._ended)
        self.process.stop()  # its last epoch stays: Resume goes on from it
        self.process.process.waitForFinished(5000)

    def _say(self, text: str, ms: int) -> None:
        self.window.statusBar().showMessage(text, ms)

    # -- the person's training ---------------------------------------------------------------------------
    def train(self, masks: bool) -> None:
        """Ask what to train, then train it in a process of its own on the images marked done. The
        person's training goes before the mask network's learning, which stops for it."""
        try:
            self.project.check_owner("training")
        except UserError as e:
            self._say(str(e), 10000)
            return
        if self._learning_now():
            self.process.stop()
            self.process.process.waitForFinished(5000)
        if self.process.running():
            self._say("a training run is already going: stop it first (Model > Stop training)", 5000)
            return
        done = len(self.project.images(ImageStatus.DONE))
        if done < 2:
            self._say(f"training needs at least 2 images marked done (Space), and {done} are", 5000)
            return
        from detectors.kinds import KINDS  # loads torch: only when it is needed

        kinds = {name: [o for o in kind.options if o.choices] for name, kind in KINDS.items()
                 if (kind.role is Role.MASKS) == masks}
        self.train_dialog = TrainDialog(self.window, kinds, done)
        self.train_dialog.accepted.connect(self._start)
        self.train_dialog.open()

    def _start(self) -> None:
        try:
            request = new_request(self.train_dialog, self.project)
        except (UserError, OSError) as e:
            self._say(str(e), 10000)
            return
        self._run(request.out, request.kind, resume=False)

    def _run(self, run: Path, kind: str, resume: bool, title: str = "", learning: bool = False) -> None:
        self.learning = learning
        self.process.start(run, kind, resume, password(str(self.project.location)))
        self.panel.show_state(True, False, title or f"{'resuming' if resume else 'training'} {kind}: {run.name}")
        self.stop_action.setEnabled(True)
        self.bar.setValue(0)
        self.bar.setFormat(f"training {kind} %p%")
        self.bar.show()
        self.window.docks["Training"].raise_()

    def resume(self) -> None:
        """Go on with the run in the Training panel, or else the newest run of the project."""
        if self.process.running():
            self._say("a training run is already going", 3000)
            return
        run, kind = self.process.run, self.process.kind
        if run is None:
            if not self.models.runs:
                self._say("no training run to resume: Model > Train detector...", 5000)
                return
            run, kind = self.models.runs[0].path, self.models.runs[0].kind
        self._run(run, kind, resume=True)

    def _progressed(self) -> None:
        job = self.process
        self.bar.setValue(int(job.share * 1000))
        left = job.time_left()
        what = "learning masks" if self._learning_now() else f"training {job.kind}"
        self.bar.setFormat(f"{what} %p%" + (f", {clock_text(left)} left" if left is not None else ""))
        self.panel.title.setText(f"{job.kind}: {job.run.name}\n{job.line}")

    def _ended(self) -> None:
        """Say how it ended; a finished run is offered for use at once (a learning run is judged)."""
        job = self.process
        self.bar.hide()
        self.stop_action.setEnabled(False)
        self.show_runs()
        done = job.outcome == "finished"
        run = read_run(job.run)
        if run.learnt_from is not None:
            self._learnt(run, done)
            return
        scores = run.scores_text()
        said = {"finished": f"training {job.kind} finished" + (f" (held-out {scores})" if scores else "")
                            + f": {job.run}",
                "stopped": f"training stopped after {len(job.history)} epochs of this go; Resume goes on from "
                           "its last epoch"}.get(job.outcome, job.outcome)
        self._say(said, 15000)
        self.panel.show_state(False, job.outcome != "finished", said)
        if done and run.has_model:
            self._offer(run)

    def _offer(self, run: Run) -> None:
        """Offer the new model for use; a detector too weak to help is not offered, and the person is told
        what to do instead."""
        if backend_of(run.kind) is not None:
            question = "Use the new mask network for the masks from now on?"
        else:
            useful, why = run.verdict()
            if useful is False:
                self.offer = QMessageBox(QMessageBox.Warning, "Training finished", why, QMessageBox.Ok, self.window)
                self.offer.open()
                return
            todo = len([im for im in self.project.images()
                        if im.status not in (ImageStatus.DONE, ImageStatus.SKIPPED)])
            question = f"{why[0].upper()}{why[1:]}\n\nPre-label the {todo} images not yet done with the new model?"
        self.offer = QMessageBox(QMessageBox.Question, "Training finished", question,
                                 QMessageBox.Yes | QMessageBox.No, self.window)
        self.offer.button(QMessageBox.Yes).clicked.connect(lambda: self.use_run(run.path, start=True))
        self.offer.open()

    def use_run(self, run: Path, start: bool = False) -> None:
        """A run chosen in the Models panel (or just finished): a DEXTR model becomes the mask backend (a
        learnt one steering GrabCut, as learning uses it); a detector becomes the one pre-labelling
        offers, and with `start` it pre-labels now."""
        chosen = read_run(run)
        backend = BACKEND if chosen.learnt_from is not None else backend_of(chosen.kind)
        if backend is not None:
            self.settings.weights[backend] = str(run)
            save_settings(self.settings)
            self.use_backend.emit(backend)
            self._say(f"masks now come from {run.name}", 5000)
        else:
            self.settings.detector = str(run)
            save_settings(self.settings)
            self._say(f"pre-labelling (Ctrl+L) now uses {run.name}", 5000)
            if start:
                self.prelabel.emit(str(run))
        self.show_runs()

    def show_runs(self) -> None:
        self.models.show_runs(self.project.path, {self.settings.detector, *self.settings.weights.values()})

    # -- the mask network learning from the person's labels ------------------------------------------------
    def _maybe_learn(self) -> None:
        """A learning run when enough new masks came, nothing else trains, and the masks come from GrabCut
        or from what learning made before (a model the person chose stays theirs)."""
        if not self.settings.learn_masks or self.project.is_team or self.process.running() or \
                not self.learnt_or_grabcut():
            return
        try:
            request = due_learning(self.project.path, self.models.runs, self.project.mask_count())
            if request is not None:
                request.saved()
        except (OSError, ProjectDamaged) as e:
            self._say(f"the mask network cannot learn now: {e}", 8000)
            return
        if request is not None:
            self._run(request.out, request.kind, resume=False,
                      title=f"learning masks from your labels: {request.out.name}", learning=True)
            self.bar.setFormat("learning masks %p%")

    def learnt_or_grabcut(self) -> bool:
        """Whether the masks come from GrabCut or from a network the learning made: only then it learns."""
        backend = self.settings.mask_method
        if backend != BACKEND:
            return backend == "grabcut"
        weights = self.settings.weights.get(BACKEND)  # a run of this project's, listed in the Models panel
        steering = next((r for r in self.models.runs if weights is not None and r.path == Path(weights)), None)
        return steering is not None and steering.learnt_from is not None

    def _learning_now(self) -> bool:
        return self.process.running() and self.learning

    def _learnt(self, run: Run, finished: bool) -> None:
        """A learning run ended: its network makes the masks if it beat GrabCut on the newest masks, else
        GrabCut does; the status bar says which and why."""
        if not finished:
            said = f"learning masks stopped ({self.process.outcome}); it starts again after more objects"
        else:
            verdict = judged(run)
            said = verdict.text
            if verdict.use:
                self.settings.weights[BACKEND] = str(run.path)
                save_settings(self.settings)
            self.show_runs()  # with this run, which `learnt_or_grabcut` looks up
            if self.learnt_or_grabcut():
                self.use_backend.emit(BACKEND if verdict.use else "grabcut")
        self._say(said, 20000)
        self.panel.show_state(False, False, said)

    def _toggle_learning(self) -> None:
        self.settings.learn_masks = self.learn_action.isChecked()
        save_settings(self.settings)
        if not self.settings.learn_masks and self._learning_now():
            self.process.stop()

