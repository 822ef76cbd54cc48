"""The main window: menus, image list, canvas, categories, objects and attributes panels, status bar.
Keys and mouse become session calls; everything drawn is read back from the store."""
from __future__ import annotations

import contextlib
import dataclasses
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QColor, QImage, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QColorDialog,
    QComboBox,
    QDockWidget,
    QDoubleSpinBox,
    QFileDialog,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from converters import Annotation, ImageStatus, UserError
from converters.formats import FORMATS, WRITABLE
from converters.geometry import Box
from converters.images import contained
from detectors.catalogue import Role, backend_of, kind_serving
from detectors.mask_backends import BACKENDS, METHODS

from ..changes import Change, ChangeLog, Part
from ..effort import described
from ..export import Exported, export_project
from ..folders import window_name
from ..imagelist import FILTERS, ORDERS, Counts, ranked, shown_images
from ..mask_edit import outline_pixels, stepped_tolerance
from ..masking import apply_made_mask, awaits_mask, correction_base
from ..palette import click_color
from ..prelabel import PrelabelResult, prelabel_project
from ..progress import clock_text
from ..ranking import RankResult, rank_project
from ..recent import recent_projects
from ..runs import Run, read_run, runs_folder
from ..session import LabellingSession
from ..settings import load_settings, save_settings
from ..store import Project, ProjectDamaged
from .attributes import AttributesPanel
from .canvas import ZOOM_STEP, Canvas
from .categories import CategoryPanel
from .dialogs import CategoryPicker, ShortcutSheet, ask_category_removal, ask_mask_model
from .fields import FieldKeys
from .imagelistview import ImageList
from .jobs import BackgroundJob
from .masktools import BRUSH, CLICK, ERASER, OUTLINE
from .maskworker import MaskWorker, rgb_view
from .objectlist import ObjectList
from .prefetch import ImagePrefetcher
from .training import ModelsPanel, TrainDialog, TrainingPanel, TrainingProcess, new_request

#: What the mouse does, for the shortcut sheet (the keys come from the menus).
MOUSE = [("click", "an extreme point of a new object (four make it)"),
         ("Ctrl+click", "select the topmost object there"),
         ("drag a point", "move it (on a suggestion: accepts it)"), ("tap a point", "select its object"),
         ("drag a selected box's edge or corner", "resize a box-only object"),
         ("Shift+click in an object (the selected one, else the one whose box holds it)",
          "a foreground correction point: the mask must hold it"),
         ("Shift+right-click (or Alt+click)", "a background correction point: the mask must leave it out"),
         ("brush or eraser: drag", "paint into (erase from) the selected object's mask; nothing selected: "
                                   "paint a new object; Shift held: erase with the brush, paint with the eraser"),
         ("outline: drag a vertex, or an edge", "move it, or add a vertex there"),
         ("outline: right-click (or Shift+click) a vertex", "remove it"),
         ("outline: [ and ]", "more or fewer vertices (how far the polygon may stray from the mask)"),
         ("wheel", "zoom to the cursor"), ("middle button, or Space held + left button", "pan")]
#: After the project's files change on disk, how long the window waits before asking whether another
#: process wrote them: a worker's run of commits (pre-labelling) redraws the lists twice a second at most.
OUTSIDE_SETTLE_MS = 500


class MainWindow(QMainWindow):
    open_requested = Signal(Path)  # File > Open folder / project / recent: the app opens it in place of this
    close_requested = Signal()  # File > Close: the app shows the start page
    closed = Signal()  # the window has closed and its workers have stopped: the project can be closed

    def __init__(self, project: Project):
        super().__init__()
        self.project = project
        self.session = LabellingSession(project)  # every action below redraws once when it is done
        self.setWindowTitle(f"{window_name(project.path)} - annotator")
        self._field_keys = FieldKeys(self)
        QApplication.instance().installEventFilter(self._field_keys)
        self.canvas = Canvas()
        self._prefetcher = ImagePrefetcher()
        self._image = QImage()
        self._pixels = None
        self.settings = load_settings()
        self.session.outline_tolerance = self.settings.outline_tolerance
        self.masks = MaskWorker()
        self.masks.ready.connect(self._store_masks)
        self.prelabeller = BackgroundJob("pre-labelling", "pre-labelling stopped; run it again to go on")
        self.prelabeller.changed.connect(self._prelabel_changed)
        self.exporter = BackgroundJob("export", "export stopped; nothing was written")
        self.exporter.changed.connect(self._export_changed)
        self.ranker = BackgroundJob("ranking", "ranking stopped; the order from before stays")
        self.ranker.changed.connect(self._rank_changed)
        self.picker: CategoryPicker | None = None
        self.report: QMessageBox | None = None  # the last export's loss report, or About
        self._categories_seen: tuple | None = None
        self._mask_checked: dict[int, tuple] = {}  # label id -> (the label, the backend) last looked at
        self.setCentralWidget(self.canvas)
        self.where = QLabel()  # image n/N and zoom, always current
        self.statusBar().addWidget(self.where)
        self._settings_bar()
        self.images = ImageList()
        self.search = QLineEdit(placeholderText="search names")
        self.filter = QComboBox()
        self.filter.addItems(FILTERS)
        self.filter.setFocusPolicy(Qt.ClickFocus)
        self.order = QComboBox(toolTip="by rank: the order `annotator rank` (or Model > Rank) stored, the most "
                                       "uncertain first; N follows it")
        self.order.addItems(ORDERS)
        self.order.setFocusPolicy(Qt.ClickFocus)
        if project.ranked_by() is not None:  # ranked by `annotator rank`: that is the order asked for
            self.order.setCurrentText("by rank")
        self.image_counts = QLabel()
        panel = QWidget()
        column = QVBoxLayout(panel)
        column.setContentsMargins(0, 0, 0, 0)
        for widget in (self.image_counts, self.search, self.filter, self.order, self.images):
            column.addWidget(widget)
        self.categories = CategoryPanel()
        self.docks = {"Images": self._dock("Images", panel, Qt.LeftDockWidgetArea),
                      "Categories": self._dock("Categories (1-9, C)", self.categories, Qt.RightDockWidgetArea)}
        self.objects = ObjectList()  # the current image's labels, then its pending suggestions
        self.objects.chosen.connect(self._select_listed)
        self.docks["Objects"] = self._dock("Objects", self.objects, Qt.RightDockWidgetArea)
        self.attributes = AttributesPanel()
        self.attributes.changed.connect(self._set_attribute)
        self.docks["Attributes"] = self._dock("Attributes", self.attributes, Qt.RightDockWidgetArea)
        self.training = TrainingProcess(self)  # one run at a time, in a process of its own
        self.training.changed.connect(self._training_changed)
        self.training.epoch.connect(lambda: self.training_panel.show_curves(self.training.run / "metrics.png"))
        self.training.ended.connect(self._training_ended)
        self.training_panel = TrainingPanel()
        self.training_panel.stop.connect(self.training.stop)
        self.training_panel.resume.connect(self._resume_training)
        self.models = ModelsPanel()
        self.models.chosen.connect(self._use_run)
        self.docks["Training"] = self._dock("Training", self.training_panel, Qt.LeftDockWidgetArea)
        self.docks["Models"] = self._dock("Models", self.models, Qt.LeftDockWidgetArea)
        self.tabifyDockWidget(self.docks["Training"], self.docks["Models"])
        self.docks["Training"].raise_()
        self._show_runs()
        if self.models.runs:  # the project's newest run, as the panel showed it when the window closed
            last = self.models.runs[0]
            self.training_panel.show_state(False, True, f"last run: {last.path.name}\n{last.described()}")
            self.training_panel.show_curves(last.path / "metrics.png")
        self._every = project.images()  # read once; one image is read again when it changes
        self._index = {im.id: k for k, im in enumerate(self._every)}
        self._pending = project.pending_suggestion_counts()
        self._menus()
        self._fill_images()
        self.search.textChanged.connect(lambda _text: self._fill_images(recount=False))
        self.filter.currentTextChanged.connect(lambda _text: self._fill_images(recount=False))
        self.order.currentTextChanged.connect(lambda _text: self._fill_images(recount=False))
        self._fill_categories()
        self.images.currentRowChanged.connect(self._open_row)
        self.images.setFocusPolicy(Qt.NoFocus)  # keys go to the window's shortcuts, not the list
        self.categories.chosen.connect(self._category_chosen)
        self.categories.added.connect(lambda name: self._act(lambda: self.session.add_category(name)))
        self.categories.renamed.connect(lambda cid, name: self._act(lambda: self.session.rename_category(cid, name)))
        self.categories.recolor.connect(self._recolor)
        self.categories.delete.connect(self._delete_category)
        self.categories.reordered.connect(lambda ids: self._act(lambda: self.session.order_categories(ids)))
        self.canvas.clicked.connect(self._click)
        self.canvas.select_at.connect(self._select_at)
        self.canvas.handle_tapped.connect(lambda kind, oid: self._select((kind, oid)))
        self.canvas.point_dragged.connect(self._drop_point)
        self.canvas.box_dragged.connect(self._drop_box)
        self.canvas.corrected.connect(self._correct)
        self.canvas.stroked.connect(self._paint)
        self.canvas.outline_edited.connect(lambda vertices: self._act(lambda: self.session.edit_outline(vertices)))
        self.canvas.moved.connect(self._show_cursor)
        self.canvas.view_changed.connect(lambda: self._show_where())
        self._held: ChangeLog | None = None  # during one action: what it changes, redrawn once at its end
        self._unsubscribe = project.subscribe(self._store_changed)
        self._outside = QTimer(self, singleShot=True, interval=OUTSIDE_SETTLE_MS, timeout=project.check_outside)
        self._files = QFileSystemWatcher(self)
        self._files.fileChanged.connect(self._files_changed)
        self._files_changed()
        QApplication.instance().applicationStateChanged.connect(self._app_state)
        if self.images.count():
            self.images.setCurrentRow(0)
        self.setFocus()

    # -- building ----------------------------------------------------------------------------------
    def _settings_bar(self) -> None:
        """The two settings, always in view at the right of the status bar; kept for the next start."""
        self.mask_method = QComboBox(toolTip="mask backend: the octagon is drawn at once, then replaced by this")
        self.mask_method.addItems(METHODS)
        self.mask_method.setCurrentText(self.settings.mask_method)
        self.mask_method.currentTextChanged.connect(self._choose_mask_method)
        self.accept_score = QDoubleSpinBox(toolTip="Ctrl+Enter accepts the suggestions scoring at least this",
                                           minimum=0.0, maximum=1.0, singleStep=0.05, decimals=2)
        self.accept_score.setValue(self.settings.accept_score)
        self.accept_score.valueChanged.connect(lambda value: self._set("accept_score", value))
        self.job_bar = QProgressBar(maximumWidth=180)
        self.job_bar.hide()
        self.statusBar().addPermanentWidget(self.job_bar)
        self.train_bar = QProgressBar(maximumWidth=260, maximum=1000)
        self.train_bar.hide()
        self.statusBar().addPermanentWidget(self.train_bar)
        for text, widget in (("mask", self.mask_method), ("Ctrl+Enter accepts from", self.accept_score)):
            self.statusBar().addPermanentWidget(QLabel(text))
            self.statusBar().addPermanentWidget(widget)
        for widget in (self.mask_method, self.accept_score):
            widget.setFocusPolicy(Qt.ClickFocus)  # the labelling keys stay with the window

    def _menus(self) -> None:
        """Every command in a menu with its keys shown; the keys work wherever the focus is in the window."""
        self.menu_actions: list[tuple[str, QAction]] = []
        s = self.session
        file = self._menu("&File", [
            ("Open &folder of images...", "Ctrl+O", self._open_folder),
            ("Open &project...", "Ctrl+Shift+O", self._open_project)])
        self.recent_menu = file.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        export = file.addMenu("&Export")
        for fmt in WRITABLE:
            self._add(export, "File > Export", f"{FORMATS[fmt].title}...", "Ctrl+E" if fmt == "coco" else None,
                      lambda f=fmt: self._export(f))
        file.addSeparator()
        self._add(file, "File", "&Close project", "Ctrl+W", self._close_project)
        self._add(file, "File", "&Quit", "Ctrl+Q", QApplication.closeAllWindows)
        edit = self._menu("&Edit", [
            ("&Undo", "Ctrl+Z", self._undo), ("&Redo", ["Ctrl+Shift+Z", "Ctrl+Y"], self._redo), None,
            ("&Delete the selected object (or reject a suggestion)", "Delete", lambda: self._act(s.delete_selected)),
            ("Select the &next object", "Tab", lambda: self._act(s.select_next)),
            ("Drop the clicks in progress (none: the selection)", "Esc", self._cancel_clicks),
            ("Remove the last click", "Backspace", self._remove_click), None,
            ("&Choose a category by name...", "C", self._pick_category),
            ("&New category...", "Ctrl+Shift+N", self._new_category)])
        self.category_keys = edit.addMenu("Categor&y of the next (and the selected) object")
        tools = edit.addMenu("&Tool")
        self.tool_actions = {}
        for tool, text, key in ((CLICK, "&Extreme clicks", "X"), (BRUSH, "&Brush", "R"), (ERASER, "&Eraser", "E"),
                                (OUTLINE, "&Outline", "V")):
            action = self._add(tools, "Edit > Tool", text, key, lambda t=tool: self._choose_tool(t))
            action.setCheckable(True)
            self.tool_actions[tool] = action
        self.tool_actions[CLICK].setChecked(True)
        tools.addSeparator()
        self._add(tools, "Edit > Tool", "Re&make the selected mask from its clicks", "Shift+R",
                  lambda: self._act(s.remake_mask))
        self._add(tools, "Edit > Tool", "&Larger brush (outline: fewer vertices)", "]", lambda: self._resize_tool(1))
        self._add(tools, "Edit > Tool", "&Smaller brush (outline: more vertices)", "[", lambda: self._resize_tool(-1))
        self._menu("&View", [
            ("&Masks", "M", lambda: self._toggle("masks")), ("&Boxes", "B", lambda: self._toggle("boxes")),
            ("&Points", "P", lambda: self._toggle("points")), ("Mask &opacity", "O", self._next_opacity), None,
            ("&Fit the image", "F", self.canvas.fit),
            ("Zoom &in", ["Ctrl++", "Ctrl+="], lambda: self.canvas.zoom(ZOOM_STEP)),
            ("Zoom &out", "Ctrl+-", lambda: self.canvas.zoom(1 / ZOOM_STEP)),
            ("&Actual pixels", "Ctrl+0", self.canvas.actual_pixels)])
        view = self.menuBar().actions()[-1].menu()
        view.addSeparator()
        for dock in self.docks.values():
            view.addAction(dock.toggleViewAction())
        done = self._menu("&Image", [
            ("Mark &done (again: not done)", None, self._mark_done),
            ("&Skip... (again: not skipped)", "S", self._skip), None,
            ("&Next image", ["D", "Right"], lambda: self._step(1)),
            ("&Previous image", ["A", "Left"], lambda: self._step(-1)),
            ("Next &unfinished image", "N", self._next_unfinished)]).actions()[0]
        done.setShortcut(QKeySequence(Qt.Key_Space))  # shown in the menu only: held, Space pans, so the window
        done.setShortcutContext(Qt.WidgetShortcut)  # reads the key itself (keyReleaseEvent)
        self.removeAction(done)
        self._menu("&Model", [
            ("&Pre-label unfinished images...", "Ctrl+L", self._prelabel),
            ("&Stop pre-labelling", None, self.prelabeller.stop),
            ("&Rank unfinished images, most uncertain first", None, self._rank), None,
            ("&Accept the selected (or first) suggestion", ["Return", "Enter"], lambda: self._act(s.accept_selected)),
            ("Accept every suggestion above the &score", ["Ctrl+Return", "Ctrl+Enter"],
             lambda: self._act(lambda: s.accept_all(self.settings.accept_score))),
            ("&Reject every suggestion on this image", "Shift+Delete", lambda: self._act(s.reject_all)),
            ("&Clear one model's pending suggestions...", None, self._clear_model), None,
            ("&Train detector...", "Ctrl+T", lambda: self._train(masks=False)),
            ("Train &mask network (DEXTR)...", "Ctrl+Shift+T", lambda: self._train(masks=True)),
            ("S&top training", None, self.training.stop),
            ("R&esume training", None, self._resume_training)])
        model_actions = self.menuBar().actions()[-1].menu().actions()
        self.stop_prelabel = model_actions[1]
        self.stop_training = next(a for a in model_actions if a.text() == "S&top training")
        for action in (self.stop_prelabel, self.stop_training):
            action.setEnabled(False)  # until there is something to stop
        self._menu("&Help", [("&Keyboard and mouse", ["F1", "?"], self._shortcuts), ("&About annotator", None,
                                                                                     self._about)])

    def _menu(self, title: str, entries: list):
        menu = self.menuBar().addMenu(title)
        for entry in entries:
            if entry is None:
                menu.addSeparator()
            else:
                self._add(menu, title.replace("&", ""), *entry)
        return menu

    def _add(self, menu, menu_name: str, text: str, keys, slot) -> QAction:
        action = QAction(text, self)
        if keys is not None:
            action.setShortcuts([QKeySequence(k) for k in (keys if isinstance(keys, list) else [keys])])
        action.setShortcutContext(Qt.WindowShortcut)
        action.triggered.connect(lambda _checked=False: slot())
        menu.addAction(action)
        self.addAction(action)  # its keys work while the menu bar is closed
        self.menu_actions.append((menu_name, action))
        return action

    def _dock(self, title: str, widget, area) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(title)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetClosable)
        self.addDockWidget(area, dock)
        return dock

    # -- keys the menus cannot take: Space held pans, Space tapped marks the image done ------------------
    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key_Space and not event.isAutoRepeat():
            self.canvas.space_down, self.canvas.panned = True, False
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:
        if event.key() == Qt.Key_Space and not event.isAutoRepeat():
            self.canvas.space_down = False
            if not self.canvas.panned:
                self._mark_done()
            return
        super().keyReleaseEvent(event)

    # -- projects and export -------------------------------------------------------------------------
    def _open_folder(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "Folder of images")
        if chosen:
            self.open_requested.emit(Path(chosen))

    def _open_project(self) -> None:
        chosen, _ = QFileDialog.getOpenFileName(self, "Project", filter="Projects (*.sqlite);;All files (*)")
        if chosen:
            self.open_requested.emit(Path(chosen))

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for path in recent_projects():
            self.recent_menu.addAction(str(path), lambda p=path: self.open_requested.emit(p))
        if self.recent_menu.isEmpty():
            self.recent_menu.addAction("(none yet)").setEnabled(False)

    def _close_project(self) -> None:
        self.close_requested.emit()
        self.close()

    def _export(self, fmt: str) -> None:
        """Export the labels in the background, with progress; the loss report is shown at the end."""
        if self.exporter.running():
            self.statusBar().showMessage("an export is already running", 3000)
            return
        stem = self.project.path.with_suffix("")
        target = FORMATS[fmt]
        if target.suffix is not None:
            chosen, _ = QFileDialog.getSaveFileName(self, f"Export to {target.title}", f"{stem}-{fmt}{target.suffix}",
                                                    f"{target.title} (*{target.suffix})")
        else:
            chosen, _ = QFileDialog.getSaveFileName(self, f"Export to {target.title}: the folder to write",
                                                    f"{stem}-{fmt}", "A new folder (*)")
        if not chosen:
            return
        project_path = self.project.path
        self._start_job(self.exporter, lambda progress: export_project(project_path, Path(chosen), fmt, progress),
                        f"export {target.title} %p%")

    def _start_job(self, job: BackgroundJob, work, label: str) -> None:
        """Start `work` in `job`, the bar busy until the work counts its first step."""
        job.start(work)
        self.job_bar.setFormat(label)
        self.job_bar.setRange(0, 0)
        self.job_bar.show()

    def _job_running(self, job: BackgroundJob) -> bool:
        """The bar follows `job`; False, and the bar hidden, once the job has finished."""
        if job.outcome is None:
            self.job_bar.setRange(0, max(job.total, 1))
            self.job_bar.setValue(job.done)
            return True
        self.job_bar.hide()
        return False

    def _export_changed(self) -> None:
        if self._job_running(self.exporter):
            return
        outcome = self.exporter.outcome
        if not isinstance(outcome, Exported):
            self.statusBar().showMessage(str(outcome), 10000)
            return
        self.statusBar().showMessage(outcome.summary(), 10000)
        if outcome.notes:
            self.report = QMessageBox(QMessageBox.Information, "Export", outcome.summary() + ".\n\n" +
                                      "\n".join(f"note: {n}" for n in outcome.notes), parent=self)
            self.report.open()

    # -- pre-labelling ---------------------------------------------------------------------------------
    def _prelabel(self, chosen: str = "") -> None:
        """A detector suggests on the images not yet done, in the background; labelling goes on.
        `chosen`: the detector's run directory (none: the person picks one)."""
        if self.prelabeller.running():
            self.statusBar().showMessage("pre-labelling is already running", 3000)
            return
        chosen = chosen or QFileDialog.getExistingDirectory(
            self, "Choose the detector (a run of annotator train)",
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
        score, ok = QInputDialog.getDouble(self, "Pre-label", said, own if own is not None else
                                           self.settings.prelabel_score, 0.0, 1.0, 2)
        if not ok:
            return
        self.settings.detector, self.settings.prelabel_score = chosen, score
        save_settings(self.settings)
        project_path = self.project.path
        method = self.settings.mask_method  # the suggestions' masks: the backend the person chose
        weights = self.settings.weights.get(method, "")
        self._start_job(self.prelabeller, lambda progress: prelabel_project(project_path, Path(chosen), score, progress,
                                                                            method, weights), "pre-labelling %v/%m")
        self.stop_prelabel.setEnabled(True)

    def _prelabel_changed(self) -> None:
        """Progress on the bar; new suggestions reach the list and the canvas about once a second."""
        if self._job_running(self.prelabeller):
            return
        self.project.check_outside()  # its last suggestions, now rather than when the files settle
        self.stop_prelabel.setEnabled(False)
        outcome = self.prelabeller.outcome
        if isinstance(outcome, PrelabelResult):
            outcome = outcome.summary()
        self.statusBar().showMessage(outcome, 10000)

    def _rank(self) -> None:
        """Order the unfinished images by the detector's uncertainty, in the background (`annotator rank`)."""
        if self.ranker.running():
            return
        chosen = self.settings.detector or QFileDialog.getExistingDirectory(
            self, "Choose the detector to rank with (a run of annotator train)")
        if not chosen:
            return
        project_path = self.project.path
        self._start_job(self.ranker, lambda progress: rank_project(project_path, Path(chosen), "uncertainty", progress),
                        "ranking %v/%m")

    def _rank_changed(self) -> None:
        worker = self.ranker
        if self._job_running(worker):
            return
        self.project.check_outside()
        if isinstance(worker.outcome, RankResult):
            self.order.setCurrentText("by rank")
            self.statusBar().showMessage(f"ranked {len(worker.outcome.ranked)} unfinished images, the most uncertain "
                                         "first: N goes to the next", 10000)
        else:
            self.statusBar().showMessage(str(worker.outcome), 10000)

    def _clear_model(self) -> None:
        models = self.project.pending_by_model()
        if not models:
            self.statusBar().showMessage("no pending suggestions in this project", 3000)
            return
        names = [f"{Path(m).name or '(no model named)'}: {n} pending  [{m}]" for m, n in models.items()]
        chosen, ok = QInputDialog.getItem(self, "Clear suggestions", "Delete the pending suggestions of:", names, 0,
                                          False)
        if ok:
            model = list(models)[names.index(chosen)]
            self._act(lambda: self.statusBar().showMessage(
                f"cleared {self.session.clear_model(model)} suggestions (Ctrl+Z brings them back)", 5000))

    # -- training ---------------------------------------------------------------------------------------
    def _train(self, masks: bool) -> None:
        """Ask what to train, then train it in a process of its own on the images marked done."""
        if self.training.running():
            self.statusBar().showMessage("a training run is already going: stop it first (Model > Stop training)",
                                         5000)
            return
        done = len([im for im in self._every if im.status is ImageStatus.DONE])
        if done < 2:
            self.statusBar().showMessage(f"training needs at least 2 images marked done (Space), and {done} are",
                                         5000)
            return
        from detectors.kinds import KINDS  # loads torch: only when it is needed

        kinds = {name: [o for o in kind.options if o.choices] for name, kind in KINDS.items()
                 if (kind.role is Role.MASKS) == masks}
        self.train_dialog = TrainDialog(self, kinds, done)
        self.train_dialog.accepted.connect(self._start_training)
        self.train_dialog.open()

    def _start_training(self) -> None:
        try:
            request = new_request(self.train_dialog, self.project.path)
        except (UserError, OSError) as e:
            self.statusBar().showMessage(str(e), 10000)
            return
        self._run_training(request.out, request.kind, resume=False)

    def _run_training(self, run: Path, kind: str, resume: bool) -> None:
        self.training.start(run, kind, resume)
        self.training_panel.show_state(True, False, f"{'resuming' if resume else 'training'} {kind}: {run.name}")
        self.stop_training.setEnabled(True)
        self.train_bar.setValue(0)
        self.train_bar.setFormat(f"training {kind} %p%")
        self.train_bar.show()
        self.docks["Training"].raise_()

    def _resume_training(self) -> None:
        """Go on with the run in the Training panel, or else the newest run of the project."""
        if self.training.running():
            self.statusBar().showMessage("a training run is already going", 3000)
            return
        run, kind = self.training.run, self.training.kind
        if run is None:
            if not self.models.runs:
                self.statusBar().showMessage("no training run to resume: Model > Train detector...", 5000)
                return
            run, kind = self.models.runs[0].path, self.models.runs[0].kind
        self._run_training(run, kind, resume=True)

    def _training_changed(self) -> None:
        job = self.training
        self.train_bar.setValue(int(job.share * 1000))
        left = job.time_left()
        self.train_bar.setFormat(f"training {job.kind} %p%" + (f", {clock_text(left)} left" if left is not None
                                                               else ""))
        self.training_panel.title.setText(f"{job.kind}: {job.run.name}\n{job.line}")

    def _training_ended(self) -> None:
        """Say how it ended; a finished run is offered for use at once."""
        job = self.training
        self.train_bar.hide()
        self._show_runs()
        done = job.outcome == "finished"
        run = read_run(job.run)
        scores = run.scores_text()
        said = {"finished": f"training {job.kind} finished" + (f" (held-out {scores})" if scores else "")
                            + f": {job.run}",
                "stopped": f"training stopped after {len(job.history)} epochs of this go; Resume goes on from "
                           "its last epoch"}.get(job.outcome, job.outcome)
        self.statusBar().showMessage(said, 15000)
        self.training_panel.show_state(False, job.outcome != "finished", said)
        self.stop_training.setEnabled(False)
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
                self.offer = QMessageBox(QMessageBox.Warning, "Training finished", why, QMessageBox.Ok, self)
                self.offer.open()
                return
            todo = len([im for im in self._every if im.status not in (ImageStatus.DONE, ImageStatus.SKIPPED)])
            question = f"{why[0].upper()}{why[1:]}\n\nPre-label the {todo} images not yet done with the new model?"
        self.offer = QMessageBox(QMessageBox.Question, "Training finished", question,
                                 QMessageBox.Yes | QMessageBox.No, self)
        self.offer.button(QMessageBox.Yes).clicked.connect(lambda: self._use_run(run.path, start=True))
        self.offer.open()

    def _use_run(self, run: Path, start: bool = False) -> None:
        """A run chosen in the Models panel (or just finished): DEXTR becomes the mask backend; a detector
        becomes the one pre-labelling offers, and with `start` it pre-labels now."""
        kind = read_run(run).kind
        backend = backend_of(kind)
        if backend is not None:
            self.settings.weights[backend] = str(run)
            save_settings(self.settings)
            self.mask_method.setCurrentText(backend)
            self.statusBar().showMessage(f"masks now come from {run.name}", 5000)
        else:
            self.settings.detector = str(run)
            save_settings(self.settings)
            self.statusBar().showMessage(f"pre-labelling (Ctrl+L) now uses {run.name}", 5000)
            if start:
                self._prelabel(str(run))
        self._show_runs()

    def _show_runs(self) -> None:
        self.models.show_runs(self.project.path, {self.settings.detector, *self.settings.weights.values()})

    # -- help ------------------------------------------------------------------------------------------
    def _shortcuts(self) -> None:
        keys = [("Edit > Category", action) for action in self.category_keys.actions()]
        self.sheet = ShortcutSheet(self, self.menu_actions + keys, MOUSE)
        self.sheet.show()

    def _about(self) -> None:
        try:
            release = version("annotator")
        except PackageNotFoundError:
            release = "unknown"
        stats = self.project.stats()
        self.report = QMessageBox(QMessageBox.Information, "About annotator",
                                  f"annotator {release}\nLabel objects by clicking their four extreme points.\n\n"
                                  f"{self.project.path}\n{stats['images']} images, "
                                  f"{stats['images_by_status']['done']} done, {stats['objects']} objects, "
                                  f"{stats['pending_suggestions']} pending suggestions\n\n"
                                  f"{described(stats['effort'])}", parent=self)
        self.report.open()

    # -- categories ------------------------------------------------------------------------------------
    def _fill_categories(self) -> list:
        """The project's categories, shown with the chosen one kept, the digit keys' menu following;
        returned, so that a redraw reads them once."""
        self.session.check_category()
        categories = self.project.categories()
        seen = ([dataclasses.astuple(c) for c in categories], self.session.category_id)
        if seen == self._categories_seen:
            return categories
        self._categories_seen = seen
        self.categories.fill(categories, self.session.category_id)
        self.canvas.click_color = QColor(click_color([c.color or "#ffffff" for c in categories]))
        for action in self.category_keys.actions():
            self.removeAction(action)
            self.category_keys.removeAction(action)
            action.deleteLater()
        for k, c in enumerate(categories[:9]):
            action = QAction(c.name, self, shortcut=QKeySequence(str(k + 1)), shortcutContext=Qt.WindowShortcut)
            action.triggered.connect(lambda _checked=False, cid=c.id: self._category_chosen(cid))
            self.category_keys.addAction(action)
            self.addAction(action)
        return categories

    def _category_chosen(self, category_id: int) -> None:
        """The category for the next object; a selected label takes it too (undoable)."""
        changed = None
        with self._redrawn_once(always=False):
            try:
                changed = self.session.choose_category(category_id)
            except UserError as e:
                self.statusBar().showMessage(str(e), 5000)
        if changed is None:
            self._fill_categories()  # the chosen one shown
        else:
            self.statusBar().showMessage(f"object {changed.id} is now {self.canvas.names.get(category_id)}", 3000)

    def _pick_category(self) -> None:
        self.picker = CategoryPicker(self, self.project.categories())
        self.picker.picked.connect(self._category_chosen)
        self.picker.open()

    def _new_category(self) -> bool:
        name, ok = QInputDialog.getText(self, "New category", "Name of the new category:")
        if ok and name.strip():
            self._act(lambda: self.session.add_category(name))
        return self.session.category_id is not None

    def _recolor(self, category_id: int) -> None:
        [category] = [c for c in self.project.categories() if c.id == category_id]
        color = QColorDialog.getColor(QColor(category.color or "#ffffff"), self, f"Colour of {category.name}")
        if color.isValid():
            self._act(lambda: self.session.recolor_category(category_id, color.name()))

    def _delete_category(self, category_id: int) -> None:
        categories = self.project.categories()
        [category] = [c for c in categories if c.id == category_id]
        labels, suggestions = self.project.category_use(category_id)
        choice: tuple[str, int | None] | None = ("delete", None)
        if labels or suggestions:
            choice = ask_category_removal(self, category.name, labels, suggestions,
                                          [c for c in categories if c.id != category_id])
        if choice is not None:
            self._act(lambda: self.session.delete_category(category_id, choice[1]))

    # -- images ----------------------------------------------------------------------------------------
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
        with self._redrawn_once():
            if readable == bool(record.attributes.get("unreadable")):  # the store learns what changed
                self.project.mark_unreadable(record.id, not readable)
            self.canvas.set_clicks([])
        for near in (row + 1, row - 1):  # decoded in the background while this one is labelled
            if 0 <= near < self.images.count():
                self._prefetcher.prefetch(self._path(near))

    def _path(self, row: int) -> str:
        return str(self.project.image_root / contained(self.images.records[row].file_name))

    def _app_state(self, state: Qt.ApplicationState) -> None:
        """Coming back to the app looks for other processes' changes at once, also where the file
        system tells no one of them (a network share)."""
        if state == Qt.ApplicationActive:
            self.project.check_outside()

    def closeEvent(self, event) -> None:
        self._outside.stop()
        self._unsubscribe()
        for signal, slot in ((self.masks.ready, self._store_masks), (self.prelabeller.changed, self._prelabel_changed),
                             (self.exporter.changed, self._export_changed), (self.ranker.changed, self._rank_changed),
                             (self._files.fileChanged, self._files_changed),
                             (QApplication.instance().applicationStateChanged, self._app_state)):
            signal.disconnect(slot)  # answers still queued are for a project about to close
        self._prefetcher.close()
        self.masks.close()
        self.prelabeller.close()  # stops after the image in hand; a later run goes on from there
        self.exporter.close()
        self.ranker.close()
        self.training.ended.disconnect(self._training_ended)
        self.training.stop()  # its last epoch stays: Resume goes on from it
        self.training.process.waitForFinished(5000)
        super().closeEvent(event)
        self.closed.emit()

    def _step(self, delta: int) -> None:
        row = min(max(self.images.currentRow() + delta, 0), self.images.count() - 1)
        self.images.setCurrentRow(row)

    def _fill_images(self, recount: bool = True) -> None:
        """Show the images the search and filter let through; keep the current image. A new search or
        filter changes no status (`recount` False): the images are counted again only if suggestions came."""
        pending = self.project.pending_suggestion_counts()  # a model may have added some meanwhile
        if recount or pending != self._pending:
            self._pending = pending
            self._counts = Counts.of(self._every, self._pending)
            self.image_counts.setText(self._counts.text())
        ranks = self._ranks()
        shown = shown_images(self._every, self._pending, self.search.text(), self.filter.currentText(), ranks)
        self.images.blockSignals(True)
        self.images.list_model.reset(shown, self._pending, ranks)
        row = self.images.list_model.row_of(self.session.image_id)
        if row is not None:
            self.images.setCurrentRow(row)
        self.images.blockSignals(False)
        self._show_where()

    def _ranks(self) -> dict[int, float] | None:
        """The stored ranks when the list is in rank order."""
        return self.project.ranks() if self.order.currentText() == "by rank" else None

    def _reread(self, image_id: int, pending: int | None = None) -> None:
        """One image may have changed in the store (status, mark, its pending suggestions, now `pending`):
        its row and the counts follow, and nothing is redrawn when nothing changed."""
        before, record = self._every[self._index[image_id]], self.project.image(image_id)
        pending_before = self._pending.get(image_id, 0)
        if pending is not None:
            self._pending[image_id] = pending
        if record == before and self._pending.get(image_id, 0) == pending_before:
            return
        self._every[self._index[image_id]] = record
        self._counts.changed(before, record, pending_before, self._pending.get(image_id, 0))
        self.images.list_model.update(record, self._pending)
        self.image_counts.setText(self._counts.text())

    def _reload(self) -> None:
        """Everything again from the store: any image may have changed (another process, an import, a
        category deleted)."""
        self._every = self.project.images()
        self._index = {im.id: k for k, im in enumerate(self._every)}
        self._fill_categories()
        self._fill_images()
        self.refresh()

    # -- the store's changes ---------------------------------------------------------------------------
    def _store_changed(self, change: Change) -> None:
        """The project committed a change: redrawn now, or once at the end of the action making it."""
        if self._held is not None:
            self._held.merge(change)
        else:
            self._redraw(change)

    @contextlib.contextmanager
    def _redrawn_once(self, always: bool = True):
        """What an action changes in the store, redrawn once when it ends, with the selection the session
        has then; with `always`, redrawn also when the store did not change (a new selection)."""
        if self._held is not None:  # inside another action, which redraws
            yield
            return
        self._held = ChangeLog()
        try:
            yield
        finally:
            change, self._held = self._held.take(), None
            if change is not None:
                self._redraw(change)
            elif always:
                self.refresh()

    def _redraw(self, change: Change) -> None:
        """Everything again when any image may have changed (another process, an import, a category
        deleted); else the rows of the images it touched, and the current image."""
        if change.images is None:
            self._reload()
            return
        for image_id in change.images - {self.session.image_id}:
            self._reread(image_id, len(self.project.suggestions(image_id)) if Part.SUGGESTIONS in change.parts
                         else None)
        self.refresh()

    def _files_changed(self, _path: str = "") -> None:
        """The project file or its write-ahead log changed on disk: asked about shortly, once for a run
        of writes. A file SQLite made anew is watched again."""
        names = [self.project.path, self.project.path.with_name(self.project.path.name + "-wal")]
        missing = [str(p) for p in names if str(p) not in self._files.files() and p.exists()]
        if missing:
            self._files.addPaths(missing)
        if _path and not self._outside.isActive():
            self._outside.start()

    def _mark_done(self) -> None:
        self._act(self.session.mark_done)

    def _skip(self) -> None:
        if self.session.image_id is None:
            return
        reason = ""
        if self.project.image(self.session.image_id).status.value != "skipped":
            reason, ok = QInputDialog.getText(self, "Skip image", "Why (optional, kept with the image):")
            if not ok:
                return
        self._act(lambda: self.session.skip(reason))

    def _next_unfinished(self) -> None:
        ranks = self._ranks()
        image_id = self.session.next_unfinished(ranked(self._every, ranks) if ranks is not None else None)
        if image_id is None:
            self.statusBar().showMessage("every image is done", 3000)
            return
        if self.images.list_model.row_of(image_id) is None:  # hidden by the search or filter: show all
            self.search.clear()
            self.filter.setCurrentText("all")
        self.images.setCurrentRow(self.images.list_model.row_of(image_id))

    # -- edits -----------------------------------------------------------------------------------------
    def _act(self, action) -> bool:
        """Run a session action, redrawn once; a refusal is a short hint in the status bar, never a
        dialog. Whether it ran."""
        with self._redrawn_once():
            try:
                action()
            except UserError as e:
                self.statusBar().showMessage(str(e), 5000)
                return False
        return True

    def _paint(self, stroke: list, radius: float, erase: bool) -> None:
        """A stroke; one that moved the box (the brush past it) is said, as the box is what a detector
        learns."""
        selected = self.session.selected
        box = self.project.annotation(selected[1]).box if selected and selected[0] == "label" else None

        def paint() -> None:
            after = self.session.paint(stroke, radius, erase)
            if box is not None and after.box != box:
                self.statusBar().showMessage(f"the {'eraser' if erase else 'brush'} moved the box to "
                                             f"{after.box.w:.0f} x {after.box.h:.0f} px (was {box.w:.0f} x "
                                             f"{box.h:.0f}): Ctrl+Z undoes", 8000)
        self._act(paint)

    def _drop_point(self, kind: str, object_id: int, role: str, x: float, y: float) -> None:
        move = self.session.move_point if kind == "label" else self.session.move_suggestion_point
        self._act(lambda: move(object_id, role, x, y))

    def _drop_box(self, label_id: int, x: float, y: float, w: float, h: float) -> None:
        self._act(lambda: self.session.resize_box(label_id, Box(x, y, w, h)))

    def _set_attribute(self, name: str, value) -> None:
        if self.session.selected and self.session.selected[0] == "label":
            self._act(lambda: self.session.set_attribute(self.session.selected[1], name, value))

    def _toggle(self, layer: str) -> None:
        self.canvas.layers[layer] = not self.canvas.layers[layer]
        self.statusBar().showMessage(f"{layer} {'shown' if self.canvas.layers[layer] else 'hidden'}", 2000)
        self.canvas.show_layer(layer)

    def _next_opacity(self) -> None:
        steps = (0.15, 0.3, 0.5, 0.7)
        self.canvas.mask_opacity = steps[(steps.index(self.canvas.mask_opacity) + 1) % len(steps)] \
            if self.canvas.mask_opacity in steps else 0.3
        self.statusBar().showMessage(f"mask opacity {self.canvas.mask_opacity:.0%}", 2000)
        self.canvas.show_opacity()

    def _select(self, selected: tuple[str, int] | None) -> None:
        self.session.select(selected)
        self.refresh()

    def _select_listed(self, key: tuple[str, int]) -> None:
        """A row of the Objects panel: its object selected and brought into view."""
        self._select(key)
        [ann] = [a for kind, a in self.objects.list_model.rows if (kind, a.id) == key]  # as listed, not read again
        self.canvas.show_box(ann.box)

    def _select_at(self, x: float, y: float) -> None:
        tolerance = 4 / max(self.canvas.transform().m11(), 1e-6)  # 4 screen pixels around a box
        self._act(lambda: self.session.select_at(x, y, tolerance))

    def _click(self, x: float, y: float) -> None:
        boxed = self.session.box_only_selected()
        clicking = self.session.clicks and self.session.clicks.points
        if self.session.category_id is None and boxed is None and not clicking:
            if not self._first_category():
                return
        try:
            with self._redrawn_once(always=False):  # a new object drawn selected, as the session selects it
                made = self.session.click(x, y)
        except UserError as e:  # a refused click: a short hint, no dialog, the clicks kept
            self.statusBar().showMessage(str(e), 5000)
        else:
            if made is not None:
                done = "gave object {} its extreme points" if boxed is not None else "added object {}"
                self.statusBar().showMessage(done.format(made.id) + ": 1-9 or C changes its category", 3000)
            elif self.session.box_only_selected() is not None and len(self.session.clicks.points) == 1:
                self.statusBar().showMessage("four clicks give the selected box its extreme points (Esc: a new "
                                             "object instead)", 5000)
            elif len(self.session.clicks.points) == 1:  # a press that missed a point's handle lands here too
                self.statusBar().showMessage("the first of a new object's four extreme points (Esc drops it; to "
                                             "move a point, press on its dot)", 5000)
        if self.session.clicks and len(self.session.clicks.points) == 1:
            self.refresh()  # the first click of a new object drops the selection
        self.canvas.set_clicks(self.session.clicks.points if self.session.clicks else [])

    def _first_category(self) -> bool:
        """A project without categories: the first click asks for one."""
        name, ok = QInputDialog.getText(self, "First category", "This project has no categories yet. Name the "
                                        "first one (add more in the Categories panel):")
        if ok and name.strip():
            self._act(lambda: self.session.add_category(name))
        return self.session.category_id is not None

    # -- fixing masks: correction points and the tools ------------------------------------------------
    def _correct(self, x: float, y: float, foreground: bool) -> None:
        method = self.settings.mask_method
        if self._act(lambda: self.session.add_correction(x, y, foreground)) and not BACKENDS[method].correctable:
            steered = " or ".join(b.name for b in BACKENDS.values() if b.correctable)
            self.statusBar().showMessage(f"kept, but the {method} ignores correction points: choose "
                                         f"{steered} in the mask box to use them", 8000)

    def _choose_tool(self, tool: str) -> None:
        """R, E, V choose a tool; its key again (or X, or Esc) goes back to extreme clicks."""
        tool = CLICK if tool == self.canvas.tools.tool and tool != CLICK else tool
        self.canvas.tools.tool = tool
        for name, action in self.tool_actions.items():
            action.setChecked(name == tool)
        self._show_outline()
        self.statusBar().showMessage(self._tool_text(), 4000)
        self.canvas.viewport().update()

    def _tool_text(self) -> str:
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

    def _resize_tool(self, step: int) -> None:
        """[ and ]: the brush's size, or in the outline tool the outline's tolerance (kept for next time)."""
        if self.canvas.tools.tool == OUTLINE:
            self.session.outline_tolerance = stepped_tolerance(self.session.outline_tolerance, step)
            self._show_outline()
            self.settings.outline_tolerance = self.session.outline_tolerance
            save_settings(self.settings)
            self.canvas.viewport().update()
        else:
            self.canvas.tools.resize(1.25 ** step)
        self.statusBar().showMessage(self._tool_text(), 4000)

    def _show_outline(self) -> None:
        """In the outline tool, the selected object's outline; a hint when there is none to edit."""
        tools = self.canvas.tools
        if tools.busy:  # an answer from the mask worker mid-drag: the outline in the hand stays
            return
        tools.vertices = None
        if tools.tool == OUTLINE and self.session.selected is not None:
            try:
                tools.vertices = self.session.outline()
            except UserError as e:
                self.statusBar().showMessage(str(e), 5000)

    def _cancel_clicks(self) -> None:
        """Esc: drop the clicks in progress; with none, leave a mask tool, then drop the selection."""
        if self.canvas.tools.active and not (self.session.clicks and self.session.clicks.points):
            self._choose_tool(CLICK)
        elif self.session.clicks and self.session.clicks.points:
            self.session.clicks.cancel()
            self.canvas.set_clicks([])
        elif self.session.selected is not None:
            self._select(None)

    def _remove_click(self) -> None:
        if self.session.clicks:
            self.session.clicks.remove_last()
            self.canvas.set_clicks(self.session.clicks.points)

    def _undo(self) -> None:
        with self._redrawn_once():
            self._say("undid", "undo", self.session.undo())

    def _redo(self) -> None:
        with self._redrawn_once():
            self._say("redid", "redo", self.session.redo())

    def _say(self, done: str, verb: str, what: str | None) -> None:
        self.statusBar().showMessage(f"{done} {what}" if what else f"nothing to {verb}", 3000)

    def _choose_mask_method(self, method: str) -> None:
        """A backend that needs weights (DEXTR's model) takes the project's newest model of its kind, or
        says what a model is and offers to train one here or to choose a file; the settings keep it."""
        backend = BACKENDS[method]
        weights = self.settings.weights.get(method, "")
        if backend.weights and not (weights and Path(weights).exists()):
            own = [run for run in self.models.runs if run.kind == kind_serving(method) and run.has_model]
            if own:
                self.settings.weights = {**self.settings.weights, method: str(own[0].path)}
                self.statusBar().showMessage(f"masks now come from this project's {method} model {own[0].path.name}",
                                             5000)
            else:
                chosen = self._ask_for_model(method, backend.weights, backend.weight_files)
                self.mask_method.setCurrentText(self.settings.mask_method)  # until a model is there
                if chosen is None:
                    return
                self.settings.weights = {**self.settings.weights,
                                         method: str(chosen.parent if chosen.name == "config.json" else chosen)}
        self._set("mask_method", method)

    def _ask_for_model(self, method: str, what: str, files: str) -> Path | None:
        """Training a model starts here (the window offers it when it ends). The file chosen, or None."""
        answer = ask_mask_model(self, method, what)
        if answer == "train":
            self._train(masks=True)
        elif answer == "choose":
            chosen, _ = QFileDialog.getOpenFileName(self, f"Choose the {method} model: {what}", "",
                                                    f"{method} model ({files});;All files (*)")
            return Path(chosen) if chosen else None
        return None

    def _set(self, name: str, value) -> None:
        setattr(self.settings, name, value)
        save_settings(self.settings)
        self.refresh()

    # -- drawing ---------------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Redraw the current image's objects, its list row and the panels from the store."""
        if self.session.image_id is None:
            return
        image_id = self.session.image_id
        try:
            suggestions = self.project.suggestions(image_id)
            labels = self.project.annotations(image_id)
        except ProjectDamaged:
            self._show_no_objects()  # not another image's objects over this one
            raise
        self._reread(image_id, len(suggestions))
        categories = self._fill_categories()
        colors = {c.id: c.color or "#ffffff" for c in categories}
        self.canvas.names = {c.id: c.name for c in categories}
        shown = {("label", a.id) for a in labels} | {("suggestion", a.id) for a in suggestions}
        if self.session.selected not in shown:  # deleted, undone, or of another image
            self.session.selected = None
        self.canvas.set_objects(labels, colors, suggestions, self.session.selected)
        self._list_objects(labels, suggestions, colors)
        self._show_attributes(labels)
        self._ask_masks(labels)
        self._show_outline()
        self._show_where()

    def _show_no_objects(self) -> None:
        self.session.selected = None
        self.canvas.set_objects([], {}, [], None)
        self._list_objects([], [], {})
        self._show_attributes([])

    def _list_objects(self, labels: list[Annotation], suggestions: list[Annotation], colors: dict[int, str]) -> None:
        rows = [("label", a) for a in labels] + [("suggestion", a) for a in suggestions]
        self.objects.show_objects(rows, self.canvas.names, colors, self.session.selected)

    def _show_attributes(self, labels: list[Annotation]) -> None:
        selected = self.session.selected
        [label] = [a for a in labels if selected == ("label", a.id)] or [None]
        title = f"object {label.id}: {self.canvas.names.get(label.category_id, '?')}" if label is not None else \
            "a suggestion: accept it (Enter) to edit" if selected else ""
        self.attributes.show_object(label, title)

    def _ask_masks(self, labels) -> None:
        """Every label on screen whose mask the chosen backend should make goes to the worker."""
        if self._image.isNull():
            return
        method = self.settings.mask_method
        for label in labels:
            if self._mask_checked.get(label.id) == (label, method):  # the same stored object: asked before
                continue
            self._mask_checked[label.id] = (label, method)
            if awaits_mask(label, method):
                if self._pixels is None:
                    self._pixels = rgb_view(self._image)
                self.masks.ask(self._image, self._pixels, label.id, label.extreme, label.corrections,
                               self.settings.mask_method, self.settings.weights.get(self.settings.mask_method, ""),
                               correction_base(label))

    def _store_masks(self) -> None:
        with self._redrawn_once(always=False):
            for answer in self.masks.take():
                made = answer.made
                if made.note:
                    self.statusBar().showMessage(made.note, 5000)
                if made.method == answer.method:
                    self.masks.forget(answer)
                if made.polygons:
                    apply_made_mask(self.project, answer.label_id, answer.extreme, answer.corrections, made)

    def _show_where(self, cursor: tuple[float, float] | None = None) -> None:
        shown = f"image {self.images.currentRow() + 1}/{self.images.count()}  zoom {self.canvas.zoom_level():.0%}"
        self.where.setText(shown + (f"  x {cursor[0]:.1f}  y {cursor[1]:.1f}" if cursor else ""))

    def _show_cursor(self, x: float, y: float) -> None:
        self._show_where((x, y))

