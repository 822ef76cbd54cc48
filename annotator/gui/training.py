"""Training from the window: the dialog that asks what to train, the training process followed from its
lines (`annotator.training_process`), the Training panel with the run's curves, and the Models panel of
the project's runs. Labelling goes on meanwhile: the training is another process, at a lower priority."""
from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from detectors.catalogue import BACKBONES, Role, kinds_with

from ..progress import time_left
from ..runs import Run, list_runs, new_run
from ..store import Project
from ..training import TrainingRequest
from ..training_process import command, read_event
from .dialogs import with_browse

if TYPE_CHECKING:  # the kinds load torch; the window passes their options when the dialog opens
    from detectors.kinds import Option

IMAGENET = ("none (train from scratch)", "torchvision's ImageNet file (downloaded once, checked)", "a file...")
#: The share of the done images held back to validate on.
HOLD_OUT = 0.2
#: The detector and the budget a new run starts with: the kind that learned new datasets best from scratch
#: on a CPU, and long enough for it (benchmarks/README.md, "The detectors on several datasets and seeds").
FIRST_CHOICE, MINUTES = kinds_with(Role.DETECTOR)[0], 15.0
#: The training process's stderr (warnings, a crash's trace), in its run directory.
LOG_FILE = "training.log"


class TrainDialog(QDialog):
    """What to train: the kind and its word choices (RetinaNet's anchors), the minutes, the backbone and
    its ImageNet weights. `kinds`: each kind's name and its options that take a word."""

    def __init__(self, parent: QWidget, kinds: dict[str, list[Option]], done: int, minutes: float = MINUTES):
        super().__init__(parent)
        self.setWindowTitle("Train")
        form = QFormLayout(self)
        form.addRow(QLabel(f"Trains on the {done} images marked done, holding back {HOLD_OUT:.0%} of them to "
                           "validate on after every epoch. Labelling goes on meanwhile."))
        self.kinds = kinds
        self.kind = QComboBox()
        self.kind.addItems(list(kinds))
        if FIRST_CHOICE in kinds:
            self.kind.setCurrentText(FIRST_CHOICE)
        form.addRow("Model kind", self.kind)
        self.choices: dict[str, QComboBox] = {}  # the chosen kind's word options, by config key, as rows here
        self._form, self._choices_at = form, form.rowCount()
        self.kind.currentTextChanged.connect(self._show_choices)
        self._show_choices(self.kind.currentText())
        self.minutes = QDoubleSpinBox(minimum=0.05, maximum=24 * 60, decimals=2, value=minutes, suffix=" min")
        form.addRow("Time budget", self.minutes)
        self.backbone = QComboBox()
        self.backbone.addItems(BACKBONES)
        form.addRow("Backbone", self.backbone)
        self.imagenet = QComboBox()
        self.imagenet.addItems(IMAGENET)
        self.weights = QLineEdit(placeholderText="torchvision's resnet*.pth")
        form.addRow("ImageNet weights", self.imagenet)
        form.addRow("", with_browse(self.weights, self._browse))
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.button(QDialogButtonBox.Ok).setText("Train")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _show_choices(self, kind: str) -> None:
        for combo in self.choices.values():
            self._form.removeRow(combo)
        self.choices = {}
        for row, option in enumerate(self.kinds.get(kind, []), self._choices_at):
            combo = QComboBox()
            combo.addItems(list(option.choices))
            combo.setCurrentText(str(option.default))
            combo.setToolTip(option.help)
            self._form.insertRow(row, option.flag.removeprefix("--").replace("-", " ").capitalize(), combo)
            self.choices[option.key] = combo

    def _browse(self) -> None:
        chosen, _ = QFileDialog.getOpenFileName(self, "ImageNet weights", "", "PyTorch weights (*.pth *.pt)")
        if chosen:
            self.weights.setText(chosen)
            self.imagenet.setCurrentIndex(2)

    def request(self, project: Path | str, out: Path) -> TrainingRequest:
        """On the GPU when there is one, in mixed precision there."""
        from detectors.device import default_device

        choice = self.imagenet.currentIndex()
        weights = {0: None, 1: Path("imagenet"), 2: Path(self.weights.text()) if self.weights.text() else None}[choice]
        device = default_device()
        return TrainingRequest(self.kind.currentText(), out, data=project, minutes=self.minutes.value(),
                               depth=int(self.backbone.currentText().removeprefix("resnet")),
                               options={key: combo.currentText() for key, combo in self.choices.items()},
                               backbone_weights=weights, hold_out=HOLD_OUT, device=device)


class TrainingProcess(QObject):
    """One training process at a time, followed from its lines. `changed` fires on progress and epochs;
    `ended` once it has exited, with `outcome` saying how: "finished", "stopped", or what went wrong."""

    changed = Signal()
    epoch = Signal()  # an epoch's checkpoint and metrics.png are written: the curves are read once then
    ended = Signal()

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.process = QProcess(self)
        self.process.readyReadStandardOutput.connect(self._read)
        self.process.finished.connect(self._finished)
        self.process.errorOccurred.connect(self._failed)
        self.run: Path | None = None
        self.kind = ""
        self.history: list[dict] = []
        self.line = ""
        self.outcome = ""
        self.share = 0.0
        self._first: tuple[float, float] | None = None  # (time, share) of the first progress: the pace from there
        self._stopping = False
        self._error = ""
        self._buffer = b""

    def running(self) -> bool:
        return self.process.state() != QProcess.NotRunning

    def start(self, run: Path, kind: str, resume: bool = False, password: str | None = None) -> None:
        """`password`: a team database's, which the run's request.json never holds: the process gets it
        the way libpq reads one."""
        self.run, self.kind = run, kind
        environment = QProcessEnvironment.systemEnvironment()
        if password:
            environment.insert("PGPASSWORD", password)
        self.process.setProcessEnvironment(environment)
        self.history, self.line, self.outcome, self._error, self._buffer = [], "starting", "", "", b""
        self.share, self._first, self._stopping = 0.0, None, False
        self.process.setStandardErrorFile(str(run / LOG_FILE), QProcess.Append)  # read, it could never fill up
        program, *arguments = command(run, resume)
        self.process.start(program, arguments)

    def stop(self) -> None:
        """Stop it; the last epoch's checkpoint stays, and Resume goes on from it."""
        if self.running():
            self._stopping = True
            self.process.terminate()

    def time_left(self) -> float | None:
        if self._first is None:
            return None
        return time_left(time.monotonic() - self._first[0], self.share, self._first[1])

    def _read(self) -> None:
        self._buffer += bytes(self.process.readAllStandardOutput())
        *lines, self._buffer = self._buffer.split(b"\n")
        for raw in lines:
            event = read_event(raw.decode("utf-8", "replace"))
            if event is not None:
                self._take(event)
        self.changed.emit()

    def _take(self, event: dict) -> None:
        (key, value), = event.items()
        if key == "progress":
            done, total = value
            self.share = done / total if total else 0.0
            if self._first is None:
                self._first = (time.monotonic(), self.share)
        elif key == "epoch":
            self.history.append(value)
            self.epoch.emit()
        elif key == "line":
            self.line = value
        elif key == "error":
            self._error = value

    def _finished(self, code: int, _status) -> None:
        self._read()
        if self._stopping:
            self.outcome = "stopped"
        elif code == 0:
            self.outcome = "finished"
        else:
            self.outcome = self._error or f"training stopped unexpectedly (exit code {code}): see {self.run / LOG_FILE}"
        self.ended.emit()

    def _failed(self, error) -> None:
        if error == QProcess.FailedToStart:
            self.outcome = f"training could not start: {self.process.errorString()}"
            self.ended.emit()


class Chart(QLabel):
    """The curves, scaled to the room the panel leaves them whenever it changes; a click asks for them
    at full size."""

    clicked = Signal()

    def __init__(self) -> None:
        super().__init__(alignment=Qt.AlignCenter)
        self.curves = QPixmap()

    def show_curves(self, curves: QPixmap) -> None:
        self.curves = curves
        self._fit()

    def mousePressEvent(self, event) -> None:  # noqa: N802 (Qt)
        self.clicked.emit()

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt)
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        if not self.curves.isNull():
            self.setPixmap(self.curves.scaled(self.size(), Qt.KeepAspectRatio, Qt.SmoothTransformation))


class TrainingPanel(QWidget):
    """The run in hand: what it is doing, its curves after every epoch, and Stop / Resume."""

    stop = Signal()
    resume = Signal()

    def __init__(self):
        super().__init__()
        self.setMinimumWidth(300)  # the curves stay readable
        column = QVBoxLayout(self)
        self.title = QLabel("No training yet: Model > Train detector...")
        self.title.setWordWrap(True)
        self.title.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)  # long lines wrap, the panel stays
        self.chart = Chart()
        self.chart.setMinimumSize(160, 160)
        self.chart.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Ignored)  # the curves fit the space left
        self.chart.setToolTip("click: the curves at full size")
        self.chart.clicked.connect(self.show_full_curves)
        self.full: QDialog | None = None  # the curves at full size, once asked for
        self.stop_button = QPushButton("Stop")
        self.resume_button = QPushButton("Resume")
        self.stop_button.clicked.connect(self.stop)
        self.resume_button.clicked.connect(self.resume)
        buttons = QHBoxLayout()
        buttons.addWidget(self.stop_button)
        buttons.addWidget(self.resume_button)
        column.addWidget(self.title, 0, Qt.AlignTop)
        column.addWidget(self.chart, 1)  # the curves take the room the title leaves
        column.addLayout(buttons)
        self.show_state(running=False, resumable=False)

    def show_state(self, running: bool, resumable: bool, title: str | None = None) -> None:
        self.stop_button.setEnabled(running)
        self.resume_button.setEnabled(resumable and not running)
        if title is not None:
            self.title.setText(title)

    def show_curves(self, png: Path) -> None:
        pixmap = QPixmap(str(png))
        if not pixmap.isNull():
            self.chart.show_curves(pixmap)

    def show_full_curves(self) -> None:
        """The panel's curves are small beside the image: a click shows them at the size they were drawn."""
        if self.chart.curves.isNull():
            return
        self.full = QDialog(self, windowTitle="Training curves")
        picture = QLabel(pixmap=self.chart.curves)
        QVBoxLayout(self.full).addWidget(picture)
        self.full.show()


class ModelsPanel(QListWidget):
    """The project's runs, newest first; double-click one to use it (pre-labelling, or masks for DEXTR)."""

    chosen = Signal(Path)

    def __init__(self):
        super().__init__()
        self.runs: list[Run] = []
        self.itemActivated.connect(lambda item: self.chosen.emit(Path(item.data(Qt.UserRole))))
        self.setToolTip("Double-click a run to use it: a detector for pre-labelling (Ctrl+L), DEXTR for masks")

    def show_runs(self, project: Path, in_use: set[str]) -> None:
        self.runs = list_runs(project)
        self.clear()
        for run in self.runs:
            mark = "\u2713 " if str(run.path) in in_use else ""
            item = QListWidgetItem(mark + run.described())
            item.setData(Qt.UserRole, str(run.path))
            item.setToolTip(str(run.path))
            if not run.has_model:
                item.setFlags(item.flags() & ~Qt.ItemIsEnabled)
            self.addItem(item)
        if not self.runs:
            self.addItem(QListWidgetItem("No runs yet: Model > Train detector..."))


def new_request(dialog: TrainDialog, project: Project) -> TrainingRequest:
    """The dialog's request, in a new run directory beside the project (a team project's: beside its
    stand-in in this person's settings), written there for the process."""
    request = dialog.request(project.location, new_run(project.path, dialog.kind.currentText()))
    if project.is_team:  # this person's copy of the images, which the window was opened on
        request = dataclasses.replace(request, images=project.image_root)
    request.saved()
    return request

