"""Fixing masks from the window: the tools (extreme clicks, brush, eraser, outline) and what [ and ] do
in each, correction points and strokes turned into session edits, and the mask backend box with the
model a backend needs. The canvas draws the tools (`masktools`); the session makes the edits; the window
runs each edit with `act` (one redraw, a refusal in the status bar)."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QImage
from PySide6.QtWidgets import QComboBox, QFileDialog, QMainWindow

from converters import Annotation, UserError
from detectors.catalogue import kind_serving
from detectors.mask_backends import BACKEND_NAMES, BACKENDS

from ..image_objects import ImageObjects
from ..mask_edit import outline_pixels, stepped_tolerance
from ..masking import apply_made_mask, awaits_mask, correction_base
from ..session import LabellingSession
from ..settings import Settings, save_settings
from .canvas import Canvas
from .dialogs import ask_mask_model
from .masktools import BRUSH, CLICK, ERASER, OUTLINE
from .maskworker import MaskWorker, rgb_view


class MaskFixing(QObject):
    backend_chosen = Signal(str)  # the mask backend the settings now hold: the window redraws with it
    train_asked = Signal()  # "train one" in the mask model's question: the Trainer asks what to train

    def __init__(self, window: QMainWindow, session: LabellingSession, canvas: Canvas, settings: Settings,
                 act: Callable[..., bool], runs: Callable[[], list]):
        super().__init__(window)
        self.window, self.session, self.canvas, self.settings = window, session, canvas, settings
        self.act, self.runs = act, runs  # the window's way to run an edit; the project's runs, newest first
        self.tool_actions: dict[str, QAction] = {}  # the Tool menu's, checked for the tool in hand
        self.backend_box = QComboBox(toolTip="mask backend: the octagon is drawn at once, then replaced by this")
        self.backend_box.addItems(BACKEND_NAMES)
        self.backend_box.setCurrentText(settings.mask_method)
        self.backend_box.currentTextChanged.connect(self.choose_backend)
        self.backend_box.setFocusPolicy(Qt.ClickFocus)  # the labelling keys stay with the window
        self.masks = MaskWorker()  # the backend's masks, made off the window's thread
        self.masks.ready.connect(self._store_masks)
        self._image, self._pixels = QImage(), None  # the image open, and its RGB view once a mask needs it
        self._asked: dict[int, tuple] = {}  # label id -> (the label, the backend) last looked at
        canvas.corrected.connect(self.correct)
        canvas.stroked.connect(self.paint)
        canvas.outline_edited.connect(lambda vertices: self.act(lambda: session.edit_outline(vertices),
                                                                what="an outline edit"))

    def _say(self, text: str, ms: int) -> None:
        self.window.statusBar().showMessage(text, ms)

    def close(self) -> None:
        self.masks.ready.disconnect(self._store_masks)  # answers still queued are for a project about to close
        self.masks.close()

    # -- the backend's masks -------------------------------------------------------------------------------
    def show_image(self, image: QImage) -> None:
        self._image, self._pixels = image, None

    def follow(self, shown: ImageObjects) -> None:
        """Follows the window's `shown`: masks asked for, and the selected object's outline in the outline
        tool."""
        self.ask_masks(shown.labels)
        self.show_outline()

    def ask_masks(self, labels: list[Annotation]) -> None:
        """Every label on screen whose mask the chosen backend should make goes to the worker."""
        if self._image.isNull():
            return
        backend = self.settings.mask_method
        for label in labels:
            if self._asked.get(label.id) == (label, backend):  # the same stored object: asked before
                continue
            self._asked[label.id] = (label, backend)
            if awaits_mask(label, backend):
                if self._pixels is None:
                    self._pixels = rgb_view(self._image)
                self.masks.ask(self._image, self._pixels, label.id, label.extreme, label.corrections, backend,
                               self.settings.weights.get(backend, ""), correction_base(label))

    def _store_masks(self) -> None:
        def store() -> None:
            for answer in self.masks.take():
                made = answer.made
                if made.note:
                    self._say(made.note, 5000)
                if made.backend == answer.backend:
                    self.masks.forget(answer)
                if made.polygons:
                    apply_made_mask(self.session.project, answer.label_id, answer.extreme, answer.corrections, made)
        self.act(store, always=False, what="store a mask made")

    # -- correction points and strokes ---------------------------------------------------------------------
    def correct(self, x: float, y: float, foreground: bool) -> None:
        backend = self.settings.mask_method
        what = f"a {'foreground' if foreground else 'background'} correction point"
        if self.act(lambda: self.session.add_correction(x, y, foreground), what=what) and \
                not BACKENDS[backend].correctable:
            steered = " or ".join(b.name for b in BACKENDS.values() if b.correctable)
            self._say(f"kept, but the {backend} ignores correction points: choose {steered} in the mask box to use "
                      "them", 8000)

    def paint(self, stroke: list, radius: float, erase: bool) -> None:
        """A stroke; one that moved the box (the brush past it) is said, as the box is what a detector
        learns."""
        selected = self.session.selected
        box = self.session.project.annotation(selected[1]).box if selected and selected[0] == "label" else None

        def paint() -> None:
            after = self.session.paint(stroke, radius, erase)
            if box is not None and after.box != box:
                self._say(f"the {'eraser' if erase else 'brush'} moved the box to {after.box.w:.0f} x "
                          f"{after.box.h:.0f} px (was {box.w:.0f} x {box.h:.0f}): Ctrl+Z undoes", 8000)
        self.act(paint, what=f"an {'eraser' if erase else 'brush'} stroke")

    # -- the tools ---------------------------------------------------------------------------------------
    def choose_tool(self, tool: str) -> None:
        """R, E, V choose a tool; its key again (or X, or Esc) goes back to extreme clicks."""
        tool = CLICK if tool == self.canvas.tools.tool and tool != CLICK else tool
        self.canvas.tools.tool = tool
        for name, action in self.tool_actions.items():
            action.setChecked(name == tool)
        self.show_outline()
        self._say(self.tool_text(), 4000)
        self.canvas.viewport().update()

    def tool_text(self) -> str:
        tools = self.canvas.tools
        size = f" {2 * tools.radius:.0f} px ([ and ] resize)" if tools.tool in (BRUSH, ERASER) else ""
        hint = {CLICK: "click an object's four extreme points; Shift+click (Shift+right-click) adds to "
                       "(takes from) the selected mask", BRUSH: "drag to paint the selected mask (Shift erases)",
                ERASER: "drag to erase from the selected mask (Shift paints)",
                OUTLINE: "drag the selected object's outline"}[tools.tool]
        if tools.tool == OUTLINE and tools.vertices:
            xs, ys = zip(*tools.vertices, strict=True)
            within = outline_pixels(self.session.outline_tolerance, max(max(xs) - min(xs), max(ys) - min(ys)) + 1)
            hint += (f": {len(tools.vertices)} vertices within {within:.0f} px of the mask "
                     f"({100 * self.session.outline_tolerance:g}% of the object; [ more, ] fewer)")
        return f"{tools.tool}{size}: {hint}"

    def resize_tool(self, step: int) -> None:
        """[ and ]: the brush's size, or in the outline tool the outline's tolerance (kept for next time)."""
        if self.canvas.tools.tool == OUTLINE:
            self.session.outline_tolerance = stepped_tolerance(self.session.outline_tolerance, step)
            self.show_outline()
            self.settings.outline_tolerance = self.session.outline_tolerance
            save_settings(self.settings)
            self.canvas.viewport().update()
        else:
            self.canvas.tools.resize(1.25 ** step)
        self._say(self.tool_text(), 4000)

    def show_outline(self) -> None:
        """In the outline tool, the selected object's outline; a hint when there is none to edit."""
        tools = self.canvas.tools
        if tools.busy:  # an answer from the mask worker mid-drag: the outline in the hand stays
            return
        tools.vertices = None
        if tools.tool == OUTLINE and self.session.selected is not None:
            try:
                tools.vertices = self.session.outline()
            except UserError as e:
                self._say(str(e), 5000)

    # -- the mask backend ----------------------------------------------------------------------------------
    def choose_backend(self, backend: str) -> None:
        """A backend that needs weights (DEXTR's model) takes the project's newest model of its kind, or
        says what a model is and offers to train one here or to choose a file; the settings keep it."""
        entry = BACKENDS[backend]
        weights = self.settings.weights.get(backend, "")
        if entry.weights and not (weights and Path(weights).exists()):
            own = [run for run in self.runs() if run.kind == kind_serving(backend) and run.has_model]
            if own:
                self.settings.weights = {**self.settings.weights, backend: str(own[0].path)}
                self._say(f"masks now come from this project's {backend} model {own[0].path.name}", 5000)
            else:
                chosen = self._ask_for_model(backend, entry.weights, entry.weight_files)
                self.backend_box.setCurrentText(self.settings.mask_method)  # until a model is there
                if chosen is None:
                    return
                self.settings.weights = {**self.settings.weights,
                                         backend: str(chosen.parent if chosen.name == "config.json" else chosen)}
        self.settings.mask_method = backend
        save_settings(self.settings)
        self.backend_chosen.emit(backend)

    def _ask_for_model(self, backend: str, what: str, files: str) -> Path | None:
        """Training a model starts here (the window offers it when it ends). The file chosen, or None."""
        answer = ask_mask_model(self.window, backend, what)
        if answer == "train":
            self.train_asked.emit()
        elif answer == "choose":
            chosen, _ = QFileDialog.getOpenFileName(self.window, f"Choose the {backend} model: {what}", "",
                                                    f"{backend} model ({files});;All files (*)")
            return Path(chosen) if chosen else None
        return None
