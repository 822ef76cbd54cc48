"""The main window: image list, canvas, categories, status bar; keys and mouse become session calls."""
from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage, QKeySequence, QShortcut
from PySide6.QtWidgets import (QComboBox, QDockWidget, QDoubleSpinBox, QFileDialog, QLabel, QLineEdit, QListWidget,
                               QListWidgetItem, QMainWindow, QProgressBar, QVBoxLayout, QWidget)

from converters import UserError

from ..imagelist import FILTERS, counts, shown_images
from ..masking import apply_made_mask, awaits_mask
from ..prelabel import MIN_SCORE, PrelabelResult
from ..session import LabellingSession
from ..settings import MASK_METHODS, load_settings, save_settings
from ..store import Project
from .canvas import Canvas
from .imagelistview import ImageList
from .maskworker import MaskWorker, rgb_view
from .prefetch import ImagePrefetcher
from .prelabelworker import PrelabelWorker


class MainWindow(QMainWindow):
    def __init__(self, project: Project):
        super().__init__()
        self.project = project
        self.session = LabellingSession(project)
        self.session.history.listeners.append(self.refresh)
        self.setWindowTitle(f"annotator - {project.path.name}")
        self.canvas = Canvas()
        self._prefetcher = ImagePrefetcher()
        self._image = QImage()
        self._pixels = None
        self.settings = load_settings()
        self.masks = MaskWorker()
        self.masks.ready.connect(self._store_masks)
        self.prelabeller = PrelabelWorker()
        self.prelabeller.changed.connect(self._prelabel_changed)
        self._list_filled_at = 0.0
        self.setCentralWidget(self.canvas)
        self._settings_bar()
        self._model_menu()
        self.images = ImageList()
        self.search = QLineEdit(placeholderText="search names")
        self.filter = QComboBox()
        self.filter.addItems(FILTERS)
        self.image_counts = QLabel()
        panel = QWidget()
        column = QVBoxLayout(panel)
        column.setContentsMargins(0, 0, 0, 0)
        for widget in (self.image_counts, self.search, self.filter, self.images):
            column.addWidget(widget)
        self.categories = QListWidget()
        self._dock("Images", panel, Qt.LeftDockWidgetArea)
        self._dock("Categories (1-9)", self.categories, Qt.RightDockWidgetArea)
        self.objects = QListWidget()  # the current image's labels, then its pending suggestions
        self.objects.setFocusPolicy(Qt.NoFocus)
        self.objects.itemClicked.connect(self._select_listed)
        self._dock("Objects", self.objects, Qt.RightDockWidgetArea)
        self._every = project.images()  # read once; one image is read again when it changes
        self._index = {im.id: k for k, im in enumerate(self._every)}
        self._pending = project.pending_suggestion_counts()
        self._fill_images()
        self.search.textChanged.connect(lambda _text: self._fill_images())
        self.filter.currentTextChanged.connect(lambda _text: self._fill_images())
        self._fill_categories()
        self.images.currentRowChanged.connect(self._open_row)
        self.images.setFocusPolicy(Qt.NoFocus)  # keys go to the window's shortcuts, not the list
        self.categories.currentItemChanged.connect(lambda item, _old: self._category_chosen(item))
        self.canvas.clicked.connect(self._click)
        self.canvas.point_dragged.connect(self._drop_point)
        self.canvas.moved.connect(self._show_cursor)
        self._keys()
        if self.images.count():
            self.images.setCurrentRow(0)
        self.setFocus()

    def _settings_bar(self) -> None:
        """The two settings, always in view at the right of the status bar; kept for the next start."""
        self.mask_method = QComboBox(toolTip="mask backend: the octagon is drawn at once, then replaced by this")
        self.mask_method.addItems(MASK_METHODS)
        self.mask_method.setCurrentText(self.settings.mask_method)
        self.mask_method.currentTextChanged.connect(self._choose_mask_method)
        self.accept_score = QDoubleSpinBox(toolTip="Ctrl+Enter accepts the suggestions scoring at least this",
                                           minimum=0.0, maximum=1.0, singleStep=0.05, decimals=2)
        self.accept_score.setValue(self.settings.accept_score)
        self.accept_score.valueChanged.connect(lambda value: self._set("accept_score", value))
        for text, widget in (("mask", self.mask_method), ("Ctrl+Enter accepts from", self.accept_score)):
            self.statusBar().addPermanentWidget(QLabel(text))
            self.statusBar().addPermanentWidget(widget)
        for widget in (self.mask_method, self.accept_score):
            widget.setFocusPolicy(Qt.ClickFocus)  # the labelling keys stay with the window

    def _model_menu(self) -> None:
        menu = self.menuBar().addMenu("&Model")
        menu.addAction("&Pre-label unfinished images...", QKeySequence("Ctrl+L"), self._prelabel)
        self.stop_prelabel = menu.addAction("&Stop pre-labelling", self.prelabeller.stop)
        self.stop_prelabel.setEnabled(False)
        self.prelabel_bar = QProgressBar(maximumWidth=160, format="pre-labelling %v/%m")
        self.prelabel_bar.hide()
        self.statusBar().addPermanentWidget(self.prelabel_bar)

    def _prelabel(self) -> None:
        """A detector suggests on the images not yet done, in the background; labelling goes on."""
        if self.prelabeller.running():
            self.statusBar().showMessage("pre-labelling is already running", 3000)
            return
        chosen = QFileDialog.getExistingDirectory(self, "Choose the detector (a run of annotator train --arch sapd)",
                                                  self.settings.detector)
        if not chosen:
            return
        self.settings.detector = chosen
        save_settings(self.settings)
        self.prelabeller.start(self.project.path, Path(chosen), MIN_SCORE)
        self.stop_prelabel.setEnabled(True)
        self.prelabel_bar.setRange(0, 0)  # busy until the model is loaded and the first image counted
        self.prelabel_bar.show()

    def _prelabel_changed(self) -> None:
        """Progress on the bar; new suggestions reach the list and the canvas about once a second."""
        worker = self.prelabeller
        finished = worker.outcome is not None
        if not finished:
            self.prelabel_bar.setRange(0, worker.total)
            self.prelabel_bar.setValue(worker.done)
        if finished or time.monotonic() - self._list_filled_at > 1.0:
            self._list_filled_at = time.monotonic()
            self._fill_categories()
            self._fill_images()
            self.refresh()
        if finished:
            self.prelabel_bar.hide()
            self.stop_prelabel.setEnabled(False)
            outcome = worker.outcome
            if isinstance(outcome, PrelabelResult):
                outcome = f"pre-labelled {outcome.images} images: {outcome.suggestions} suggestions" + \
                    (f"; {outcome.skipped} suggested on before by this model" if outcome.skipped else "") + \
                    (f"; {len(outcome.missing_images)} images missing" if outcome.missing_images else "")
            self.statusBar().showMessage(outcome, 10000)

    def _fill_categories(self) -> None:
        """The project's categories, keeping the chosen one (a detector may have added some)."""
        chosen = self.categories.currentItem().data(Qt.UserRole) if self.categories.currentItem() else None
        self.categories.blockSignals(True)
        self.categories.clear()
        for c in self.project.categories():
            item = QListWidgetItem(c.name)
            item.setForeground(QColor(c.color or "#ffffff"))
            item.setData(Qt.UserRole, c.id)
            self.categories.addItem(item)
            if c.id == chosen:
                self.categories.setCurrentItem(item)
        if self.categories.currentRow() < 0:
            self.categories.setCurrentRow(0)
        self.categories.blockSignals(False)

    def _choose_mask_method(self, method: str) -> None:
        """DEXTR needs its model: asked for once, then kept in the settings."""
        weights = self.settings.dextr_weights
        if method == "dextr" and not (weights and Path(weights).exists()):
            chosen, _ = QFileDialog.getOpenFileName(
                self, "Choose the DEXTR model", "",
                "DEXTR model (config.json *.pth);;All files (*)")
            if not chosen:
                self.mask_method.setCurrentText(self.settings.mask_method)  # cancelled: as it was
                return
            path = Path(chosen)
            self.settings.dextr_weights = str(path.parent if path.name == "config.json" else path)
        self._set("mask_method", method)

    def _set(self, name: str, value) -> None:
        setattr(self.settings, name, value)
        save_settings(self.settings)
        self.refresh()

    def _dock(self, title: str, widget, area) -> None:
        dock = QDockWidget(title, self)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetMovable)
        self.addDockWidget(area, dock)

    def _keys(self) -> None:
        bindings = {
            QKeySequence.Undo: self._undo, QKeySequence("Ctrl+Shift+Z"): self._redo,
            QKeySequence("D"): lambda: self._step(1), QKeySequence(Qt.Key_Right): lambda: self._step(1),
            QKeySequence("A"): lambda: self._step(-1), QKeySequence(Qt.Key_Left): lambda: self._step(-1),
            QKeySequence(Qt.Key_Escape): self._cancel_clicks, QKeySequence(Qt.Key_Backspace): self._remove_click,
            QKeySequence("F"): self.canvas.fit,
            QKeySequence(Qt.Key_Space): self._mark_done, QKeySequence("N"): self._next_unfinished,
            QKeySequence(Qt.Key_Tab): lambda: self._act(self.session.select_next),
            QKeySequence(Qt.Key_Delete): lambda: self._act(self.session.delete_selected),
            QKeySequence(Qt.Key_Return): lambda: self._act(self.session.accept_selected),
            QKeySequence(Qt.Key_Enter): lambda: self._act(self.session.accept_selected),
            QKeySequence("Ctrl+Return"): lambda: self._act(lambda: self.session.accept_all(self.settings.accept_score)),
            QKeySequence("M"): lambda: self._toggle("masks"), QKeySequence("B"): lambda: self._toggle("boxes"),
            QKeySequence("P"): lambda: self._toggle("points"), QKeySequence("O"): self._next_opacity,
        }
        for digit in range(1, 10):
            bindings[QKeySequence(str(digit))] = lambda d=digit: self._choose_category(d - 1)
        for key, slot in bindings.items():
            QShortcut(key, self, activated=slot)

    # -- actions -----------------------------------------------------------------------------------
    def _open_row(self, row: int) -> None:
        if row < 0:
            return
        record = self.images.records[row]
        self.session.open_image(record.id)
        self._image = self._prefetcher.get(self._path(row))
        self._pixels = None  # its RGB view, made when a mask is first asked for
        readable = self.canvas.show_image(self._image)
        if not readable:
            self.statusBar().showMessage(f"cannot read {record.file_name}: shown as a placeholder", 5000)
        if readable == bool(record.attributes.get("unreadable")):  # the store learns what changed
            self.project.mark_unreadable(record.id, not readable)
            self._reread(record.id)
        self.refresh()
        for near in (row + 1, row - 1):  # decoded in the background while this one is labelled
            if 0 <= near < self.images.count():
                self._prefetcher.prefetch(self._path(near))

    def _path(self, row: int) -> str:
        return str(self.project.image_root / self.images.records[row].file_name)

    def closeEvent(self, event) -> None:
        self._prefetcher.close()
        self.masks.close()
        self.prelabeller.close()  # stops after the image in hand; a later run goes on from there
        super().closeEvent(event)

    def _step(self, delta: int) -> None:
        row = min(max(self.images.currentRow() + delta, 0), self.images.count() - 1)
        self.images.setCurrentRow(row)

    def _fill_images(self) -> None:
        """Show the images the search and filter let through; keep the current image."""
        self._pending = self.project.pending_suggestion_counts()  # a model may have added some meanwhile
        shown = shown_images(self._every, self._pending, self.search.text(), self.filter.currentText())
        self.image_counts.setText(counts(self._every, self._pending))
        self.images.blockSignals(True)
        self.images.list_model.reset(shown, self._pending)
        row = self.images.list_model.row_of(self.session.image_id)
        if row is not None:
            self.images.setCurrentRow(row)
        self.images.blockSignals(False)

    def _reread(self, image_id: int) -> None:
        """One image changed in the store (status, mark, suggestions): its row and the counts follow."""
        record = self.project.image(image_id)
        self._every[self._index[image_id]] = record
        self.images.list_model.update(record, self._pending)
        self.image_counts.setText(counts(self._every, self._pending))

    def _mark_done(self) -> None:
        self._act(self.session.mark_done)
        if self.session.image_id is not None:
            self._reread(self.session.image_id)

    def _next_unfinished(self) -> None:
        image_id = self.session.next_unfinished()
        if image_id is None:
            self.statusBar().showMessage("every image is done", 3000)
            return
        if self.images.list_model.row_of(image_id) is None:  # hidden by the search or filter: show all
            self.search.clear()
            self.filter.setCurrentText("all")
        self.images.setCurrentRow(self.images.list_model.row_of(image_id))

    def _act(self, action) -> None:
        """Run a session action; a refusal is a short hint in the status bar, never a dialog."""
        try:
            action()
        except UserError as e:
            self.statusBar().showMessage(str(e), 5000)
        self.refresh()

    def _drop_point(self, kind: str, object_id: int, role: str, x: float, y: float) -> None:
        move = self.session.move_point if kind == "label" else self.session.move_suggestion_point
        self._act(lambda: move(object_id, role, x, y))

    def _toggle(self, layer: str) -> None:
        self.canvas.layers[layer] = not self.canvas.layers[layer]
        self.statusBar().showMessage(f"{layer} {'shown' if self.canvas.layers[layer] else 'hidden'}", 2000)
        self.refresh()

    def _next_opacity(self) -> None:
        steps = (0.15, 0.3, 0.5, 0.7)
        self.canvas.mask_opacity = steps[(steps.index(self.canvas.mask_opacity) + 1) % len(steps)] \
            if self.canvas.mask_opacity in steps else 0.3
        self.statusBar().showMessage(f"mask opacity {self.canvas.mask_opacity:.0%}", 2000)
        self.refresh()

    def _choose_category(self, index: int) -> None:
        if index < self.categories.count():
            self.categories.setCurrentRow(index)
            self._category_chosen(self.categories.item(index))

    def _category_chosen(self, item) -> None:
        """The category for the next object; a selected label takes it too (undoable)."""
        if item is None:
            return
        changed = None
        try:
            changed = self.session.choose_category(item.data(Qt.UserRole))
        except UserError as e:
            self.statusBar().showMessage(str(e), 5000)
        if changed is not None:
            self.statusBar().showMessage(f"object {changed.id} is now {item.text()}", 3000)

    def _select_listed(self, item) -> None:
        self.session.selected = item.data(Qt.UserRole)
        self.refresh()

    def _click(self, x: float, y: float) -> None:
        try:
            made = self.session.click(x, y)
        except UserError as e:  # a refused click: a short hint, no dialog, the clicks kept
            self.statusBar().showMessage(str(e), 5000)
        else:
            if made is not None:
                self.statusBar().showMessage(f"added object {made.id}", 3000)
        self.canvas.set_clicks(self.session.clicks.points if self.session.clicks else [])

    def _cancel_clicks(self) -> None:
        """Esc: drop the clicks in progress; with none, drop the selection."""
        if self.session.clicks and self.session.clicks.points:
            self.session.clicks.cancel()
            self.canvas.set_clicks([])
        elif self.session.selected is not None:
            self.session.selected = None
            self.refresh()

    def _remove_click(self) -> None:
        if self.session.clicks:
            self.session.clicks.remove_last()
            self.canvas.set_clicks(self.session.clicks.points)

    def _undo(self) -> None:
        self._say("undid", self.session.undo())

    def _redo(self) -> None:
        self._say("redid", self.session.redo())

    def _say(self, verb: str, what: str | None) -> None:
        self.statusBar().showMessage(f"{verb} {what}" if what else f"nothing to {verb[:-1]}", 3000)

    def refresh(self) -> None:
        """Redraw the current image's objects from the store."""
        if self.session.image_id is None:
            return
        suggestions = self.project.suggestions(self.session.image_id)
        if len(suggestions) != self._pending.get(self.session.image_id, 0):  # accepted or rejected: its mark
            self._pending[self.session.image_id] = len(suggestions)
            self._reread(self.session.image_id)
        categories = self.project.categories()
        colors = {c.id: c.color or "#ffffff" for c in categories}
        self.canvas.names = {c.id: c.name for c in categories}
        labels = self.project.annotations(self.session.image_id)
        self.canvas.set_objects(labels, colors, suggestions, self.session.selected)
        self._list_objects(labels, suggestions, colors)
        self._ask_masks(labels)

    def _list_objects(self, labels, suggestions, colors) -> None:
        self.objects.clear()
        for kind, anns in (("label", labels), ("suggestion", suggestions)):
            for ann in anns:
                score = f" {ann.score:.2f}" if ann.score is not None else ""
                text = f"{self.canvas.names.get(ann.category_id, '?')}  {ann.source.value}{score}" + \
                    ("  (suggested)" if kind == "suggestion" else "")
                item = QListWidgetItem(text)
                item.setForeground(QColor(colors.get(ann.category_id, "#ffffff")))
                item.setData(Qt.UserRole, (kind, ann.id))
                self.objects.addItem(item)
                if self.session.selected == (kind, ann.id):
                    self.objects.setCurrentItem(item)

    def _ask_masks(self, labels) -> None:
        """Every label on screen whose mask the chosen backend should make goes to the worker."""
        if self._image.isNull():
            return
        for label in labels:
            if awaits_mask(label, self.settings.mask_method):
                if self._pixels is None:
                    self._pixels = rgb_view(self._image)
                self.masks.ask(self._image, self._pixels, label.id, label.extreme, self.settings.mask_method,
                               self.settings.dextr_weights)

    def _store_masks(self) -> None:
        stored = False
        for label_id, extreme, method, made in self.masks.take():
            if made.note:
                self.statusBar().showMessage(made.note, 5000)
            if made.method == method:
                self.masks.forget(label_id, extreme, method)
            stored |= bool(made.polygons) and apply_made_mask(self.project, label_id, extreme, made) is not None
        if stored:
            self.refresh()

    def _show_cursor(self, x: float, y: float) -> None:
        index = self.images.currentRow() + 1
        zoom = self.canvas.transform().m11()
        self.statusBar().showMessage(f"image {index}/{self.images.count()}  zoom {zoom:.0%}  x {x:.1f}  y {y:.1f}")

