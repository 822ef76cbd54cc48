"""The main window assembles the canvas, the menus, the status bar and the panels, each beside the code
that runs it (`images`, `category_control`, `fixing`, `trainer`, `background`; CONTRIBUTING's "Adding a
panel"). Keys and mouse become session calls run by `_act`, each redrawn once from the store, and
`changed` then tells the panels that follow it what changed."""
from __future__ import annotations

import contextlib
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QImage, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QDoubleSpinBox,
    QFileDialog,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QWidget,
)

from converters import UserError
from converters.formats import FORMATS, WRITABLE
from converters.geometry import Box
from converters.images import contained

from ..changes import Change, ChangeLog
from ..database import ServerAway
from ..folders import window_name
from ..image_objects import ImageObjects
from ..recent import recent_projects
from ..session import LabellingSession
from ..settings import load_settings, save_settings
from ..store import Project, ProjectDamaged
from .attributes import AttributesPanel
from .background import Background
from .canvas import ZOOM_STEP, Canvas
from .category_control import Categories
from .dialogs import MOUSE, ShortcutSheet, about_box
from .fields import KeyFocus
from .fixing import MaskFixing
from .images import ImageBrowser
from .masktools import BRUSH, CLICK, ERASER, OUTLINE
from .objectlist import ObjectList
from .prefetch import ImagePrefetcher
from .team import Team
from .team_dialog import TeamProjectDialog, ask_team_project
from .trainer import Trainer

#: After the project's files change on disk, how long the window waits before asking whether another
#: process wrote them: a worker's run of commits (pre-labelling) redraws the lists twice a second at most.
OUTSIDE_SETTLE_MS = 500


class MainWindow(QMainWindow):
    open_requested = Signal(object)  # File > Open folder / project / recent (a Path, or a team project's URL)
    close_requested = Signal()  # File > Close: the app shows the start page
    closed = Signal()  # the window has closed and its workers have stopped: the project can be closed
    changed = Signal(object)  # what an action changed in the project (a Change), once it is redrawn: panels follow
    shown = Signal(object)  # the open image's objects (ImageObjects) after each action: the panels drawing them follow

    def __init__(self, project: Project):
        super().__init__()
        self.project = project
        self.session = LabellingSession(project)  # every action below redraws once when it is done
        self.setWindowTitle(f"{window_name(project.location)} - annotator")
        self._keys = KeyFocus(self)
        QApplication.instance().installEventFilter(self._keys)
        self.canvas = Canvas()
        self._prefetcher = ImagePrefetcher()
        self._image = QImage()
        self.settings = load_settings()
        self.session.outline_tolerance = self.settings.outline_tolerance
        self.trainer = Trainer(self, project, self.settings)  # the Training and Models panels, and learning
        self.training, self.models = self.trainer.process, self.trainer.models
        self.fixing = MaskFixing(self, self.session, self.canvas, self.settings, self._act, lambda: self.models.runs)
        self.shown.connect(self.canvas.set_objects)
        self.shown.connect(self.fixing.follow)  # after the canvas: the outline tool draws over the objects
        self.fixing.backend_chosen.connect(lambda _method: self.refresh())
        self.fixing.train_asked.connect(lambda: self.trainer.train(masks=True))
        self.backend_box = self.fixing.backend_box  # the mask box, at the right of the status bar
        self.background = Background(self, project, self.settings)  # export, pre-labelling, ranking
        self.report: QMessageBox | None = None  # About
        self.setCentralWidget(self.canvas)
        self.where = QLabel()  # image n/N and zoom, always current
        self.statusBar().addWidget(self.where)
        self._settings_bar()
        self._doing = ""  # the menu command running, in words
        self.team_dialog: TeamProjectDialog | None = None  # File > Open team project
        self.team = Team(self, project, self._act, lambda: self.session.image_id)  # a team project's part
        self.browser = ImageBrowser(self, project, self.team.holder)  # the Images panel
        self.images = self.browser.list
        self.background.ranked.connect(lambda: self.browser.order.setCurrentText("by rank"))
        self.category_control = Categories(self, self.session, self.canvas, self._act)
        self.categories = self.category_control.panel
        self.docks: dict[str, QDockWidget] = {}
        self.view_menu: QMenu | None = None  # View: a toggle per panel
        self.dock("Images", self.browser.panel, Qt.LeftDockWidgetArea)
        self.dock("Categories", self.categories, Qt.RightDockWidgetArea, title="Categories (1-9, C)")
        self.objects = ObjectList()  # the current image's labels, then its pending suggestions
        self.objects.chosen.connect(self._select_listed)
        self.shown.connect(self.objects.show_objects)
        self.dock("Objects", self.objects, Qt.RightDockWidgetArea)
        self.attributes = AttributesPanel()
        self.attributes.changed.connect(self._set_attribute)
        self.shown.connect(self.attributes.show_selected)
        self.dock("Attributes", self.attributes, Qt.RightDockWidgetArea)
        self.trainer.use_backend.connect(self.backend_box.setCurrentText)
        self.trainer.prelabel.connect(self.background.prelabel)
        for follower in (self.browser, self.trainer):
            self.changed.connect(follower.changed)
        self.dock("Training", self.trainer.panel, Qt.LeftDockWidgetArea)
        self.dock("Models", self.models, Qt.LeftDockWidgetArea)
        self.tabifyDockWidget(self.docks["Training"], self.docks["Models"])
        self.docks["Training"].raise_()
        self._menus()
        self.category_control.fill()
        self.images.currentRowChanged.connect(self._open_row)
        self.canvas.clicked.connect(self._click)
        self.canvas.select_at.connect(self._select_at)
        self.canvas.handle_tapped.connect(lambda kind, oid: self._select((kind, oid)))
        self.canvas.point_dragged.connect(self._drop_point)
        self.canvas.box_dragged.connect(self._drop_box)
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
        self.accept_score = QDoubleSpinBox(toolTip="Ctrl+Enter accepts the suggestions scoring at least this",
                                           minimum=0.0, maximum=1.0, singleStep=0.05, decimals=2)
        self.accept_score.setValue(self.settings.accept_score)
        self.accept_score.valueChanged.connect(lambda value: self._set("accept_score", value))
        self.statusBar().addPermanentWidget(self.background.bar)
        self.statusBar().addPermanentWidget(self.trainer.bar)
        for text, widget in (("mask", self.backend_box), ("Ctrl+Enter accepts from", self.accept_score)):
            self.statusBar().addPermanentWidget(QLabel(text))
            self.statusBar().addPermanentWidget(widget)
        self.accept_score.setFocusPolicy(Qt.ClickFocus)  # the labelling keys stay with the window

    def _menus(self) -> None:
        """Every command in a menu with its keys shown; the keys work wherever the focus is in the window."""
        self.menu_actions: list[tuple[str, QAction]] = []
        s = self.session
        file = self._menu("&File", [
            ("Open &folder of images...", "Ctrl+O", self._open_folder),
            ("Open &project...", "Ctrl+Shift+O", self._open_project),
            ("Open &team project...", None, self._open_team_project)])
        self.recent_menu = file.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        export = file.addMenu("&Export")
        for fmt in WRITABLE:
            self._add(export, "File > Export", f"{FORMATS[fmt].title}...", "Ctrl+E" if fmt == "coco" else None,
                      lambda f=fmt: self.background.export(f))
        export.addSeparator()
        done_only = self._add(export, "File > Export", "Only images marked &done", None,
                              lambda: self._set("export_done_only", done_only.isChecked()))
        done_only.setCheckable(True)
        done_only.setChecked(self.settings.export_done_only)
        file.addSeparator()
        self._add(file, "File", "&Close project", "Ctrl+W", self._close_project)
        self._add(file, "File", "&Quit", "Ctrl+Q", QApplication.closeAllWindows)
        edit = self._menu("&Edit", [
            ("&Undo", "Ctrl+Z", self._undo), ("&Redo", ["Ctrl+Shift+Z", "Ctrl+Y"], self._redo), None,
            ("&Delete the selected object (or reject a suggestion)", "Delete", lambda: self._act(s.delete_selected)),
            ("Select the &next object", "Tab", lambda: self._act(s.select_next)),
            ("Drop the clicks in progress (none: the selection)", "Esc", self._cancel_clicks),
            ("Remove the last click", "Backspace", self._remove_click), None,
            ("&Choose a category by name...", "C", self.category_control.pick),
            ("&New category...", "Ctrl+Shift+N", self.category_control.new)])
        self.category_keys = self.category_control.keys = edit.addMenu("Categor&y of the next (and the selected) "
                                                                       "object")
        tools = edit.addMenu("&Tool")
        for tool, text, key in ((CLICK, "&Extreme clicks", "X"), (BRUSH, "&Brush", "R"), (ERASER, "&Eraser", "E"),
                                (OUTLINE, "&Outline", "V")):
            action = self._add(tools, "Edit > Tool", text, key, lambda t=tool: self.fixing.choose_tool(t))
            action.setCheckable(True)
            self.fixing.tool_actions[tool] = action
        self.fixing.tool_actions[CLICK].setChecked(True)
        tools.addSeparator()
        self._add(tools, "Edit > Tool", "Re&make the selected mask from its clicks", "Shift+R",
                  lambda: self._act(s.remake_mask))
        for text, key, step in (("&Larger brush (outline: fewer vertices)", "]", 1),
                                ("&Smaller brush (outline: more vertices)", "[", -1)):
            self._add(tools, "Edit > Tool", text, key, lambda step=step: self.fixing.resize_tool(step))
        self._menu("&View", [
            ("&Masks", "M", lambda: self._toggle("masks")), ("&Boxes", "B", lambda: self._toggle("boxes")),
            ("&Points", "P", lambda: self._toggle("points")), ("Mask &opacity", "O", self._next_opacity), None,
            ("&Fit the image", "F", self.canvas.fit),
            ("Zoom &in", ["Ctrl++", "Ctrl+="], lambda: self.canvas.zoom(ZOOM_STEP)),
            ("Zoom &out", "Ctrl+-", lambda: self.canvas.zoom(1 / ZOOM_STEP)),
            ("&Actual pixels", "Ctrl+0", self.canvas.actual_pixels)])
        self.view_menu = self.menuBar().actions()[-1].menu()
        self.view_menu.addSeparator()
        for dock in self.docks.values():
            self.view_menu.addAction(dock.toggleViewAction())
        done = self._menu("&Image", [
            ("Mark &done (again: not done)", None, self._mark_done),
            ("&Skip... (again: not skipped)", "S", self._skip), None,
            ("&Next image", ["D", "Right"], lambda: self.browser.step(1)),
            ("&Previous image", ["A", "Left"], lambda: self.browser.step(-1)),
            ("Next &unfinished image", "N", self._next_unfinished), None,
            ("&Accept the image (a team's reviewer)", None, lambda: self._review(True)),
            ("Send the image &back... (a team's reviewer)", None, lambda: self._review(False))]).actions()[0]
        done.setShortcut(QKeySequence(Qt.Key_Space))  # shown in the menu only: held, Space pans, so the window
        done.setShortcutContext(Qt.WidgetShortcut)  # reads the key itself (keyReleaseEvent)
        self.removeAction(done)
        self._menu("&Model", [
            ("&Pre-label unfinished images...", "Ctrl+L", self.background.prelabel),
            ("&Rank unfinished images, most uncertain first", None, self.background.rank), None,
            ("&Accept the selected (or first) suggestion", ["Return", "Enter"], lambda: self._act(s.accept_selected)),
            ("Accept every suggestion above the &score", ["Ctrl+Return", "Ctrl+Enter"],
             lambda: self._act(lambda: s.accept_all(self.settings.accept_score))),
            ("&Reject every suggestion on this image", "Shift+Delete", lambda: self._act(s.reject_all)),
            ("&Clear one model's pending suggestions...", None, self._clear_model), None,
            ("&Train detector...", "Ctrl+T", lambda: self.trainer.train(masks=False)),
            ("Train &mask network (DEXTR)...", "Ctrl+Shift+T", lambda: self.trainer.train(masks=True)),
            ("R&esume training", None, self.trainer.resume)])
        model = self.menuBar().actions()[-1].menu()
        model_actions = model.actions()
        model.insertAction(model_actions[1], self.background.stop_prelabel)
        model.insertAction(model_actions[-1], self.trainer.stop_action)
        model.addSeparator()
        model.addAction(self.trainer.learn_action)
        self.menu_actions += [("Model", a) for a in (self.background.stop_prelabel, self.trainer.stop_action,
                                                     self.trainer.learn_action)]
        self.stop_prelabel, self.stop_training = self.background.stop_prelabel, self.trainer.stop_action
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
        action.triggered.connect(lambda _checked=False: self._from_menu(text, slot))
        menu.addAction(action)
        self.addAction(action)  # its keys work while the menu bar is closed
        self.menu_actions.append((menu_name, action))
        return action

    def _from_menu(self, text: str, slot) -> None:
        """Run a menu's command, its words at hand for an edit kept while a team's server is away."""
        self._doing = text.replace("&", "").removesuffix("...")
        try:
            slot()
        finally:
            self._doing = ""

    def dock(self, name: str, widget: QWidget, area: Qt.DockWidgetArea, title: str = "") -> QDockWidget:
        """A panel docked at the window's side, in `docks` by `name`, with its toggle in the View menu."""
        dock = QDockWidget(title or name, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetClosable)
        self.addDockWidget(area, dock)
        self.docks[name] = dock
        if self.view_menu is not None:
            self.view_menu.addAction(dock.toggleViewAction())
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

    def _open_team_project(self) -> None:
        self.team_dialog = ask_team_project(self.team_dialog, self, self.open_requested.emit)

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for path in recent_projects():
            self.recent_menu.addAction(str(path), lambda p=path: self.open_requested.emit(p))
        if self.recent_menu.isEmpty():
            self.recent_menu.addAction("(none yet)").setEnabled(False)

    def _close_project(self) -> None:
        self.close_requested.emit()
        self.close()

    # -- pre-labelling ---------------------------------------------------------------------------------
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

    # -- help ------------------------------------------------------------------------------------------
    def _shortcuts(self) -> None:
        keys = [("Edit > Category", action) for action in self.category_keys.actions()]
        self.sheet = ShortcutSheet(self, self.menu_actions + keys, MOUSE)
        self.sheet.show()

    def _about(self) -> None:
        self.report = about_box(self, self.project)
        self.report.open()

    # -- images ----------------------------------------------------------------------------------------
    def _open_row(self, row: int) -> None:
        if row < 0:
            return
        record = self.images.records[row]
        self.session.open_image(record.id)
        self.team.take(record.id, self._path(row))  # after: a hash done at once is compared with this image
        self.browser.current = record.id
        self._image = self._prefetcher.get(self._path(row))
        self.fixing.show_image(self._image)
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
        self.team.close()
        self._outside.stop()
        self._unsubscribe()
        for signal, slot in ((self._files.fileChanged, self._files_changed),
                             (QApplication.instance().applicationStateChanged, self._app_state)):
            signal.disconnect(slot)  # answers still queued are for a project about to close
        self._prefetcher.close()
        self.fixing.close()
        self.background.close()
        self.trainer.close()
        super().closeEvent(event)
        self.closed.emit()


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
        self.changed.emit(change)  # the panels that follow it redraw their part (the Images panel its rows)
        if change.images is None:
            self.category_control.fill()
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
        self._act(self.session.mark_done, what="mark done (or not done)")

    def _skip(self) -> None:
        if self.session.image_id is None:
            return
        reason = ""
        if self.project.image(self.session.image_id).status.value != "skipped":
            reason, ok = QInputDialog.getText(self, "Skip image", "Why (optional, kept with the image):")
            if not ok:
                return
        self._act(lambda: self.session.skip(reason), what="skip (or unskip)")

    def _review(self, accept: bool) -> None:
        """A reviewer's verdict on the image shown; sending back asks what to fix, for its annotator."""
        if self.session.image_id is None:
            return
        comment, ok = ("", True) if accept else QInputDialog.getText(self, "Send back", "What to fix (for the "
                                                                     "person who marked it done):")
        if ok:
            self._act(lambda: self.project.review(self.session.image_id, accept, comment))

    def _next_unfinished(self) -> None:
        image_id = self.session.next_unfinished(self.browser.in_order(), self.browser.held())
        if image_id is None:
            self.statusBar().showMessage("every image is done", 3000)
            return
        self.browser.show(image_id)

    # -- edits -----------------------------------------------------------------------------------------
    def _act(self, action, always: bool = True, what: str = "") -> bool:
        """Run a session action, redrawn once (`always`: also when the store did not change, for a new
        selection); a refusal is a short hint in the status bar, never a dialog. Whether it ran. `what`:
        the edit in words (by default the menu command's), should the server be away for it."""
        with self._redrawn_once(always):
            try:
                action()
            except ServerAway:  # kept, to write when the server answers
                self.statusBar().showMessage(self.team.keep(action, what or self._doing or "an edit"))
                return False
            except UserError as e:
                self.statusBar().showMessage(str(e), 5000)
                return False
        return True

    def _drop_point(self, kind: str, object_id: int, role: str, x: float, y: float) -> None:
        move = self.session.move_point if kind == "label" else self.session.move_suggestion_point
        self._act(lambda: move(object_id, role, x, y), what=f"move the {role} point of {kind} {object_id}")

    def _drop_box(self, label_id: int, x: float, y: float, w: float, h: float) -> None:
        self._act(lambda: self.session.resize_box(label_id, Box(x, y, w, h)),
                  what=f"resize the box of label {label_id}")

    def _set_attribute(self, name: str, value) -> None:
        if self.session.selected and self.session.selected[0] == "label":
            label_id = self.session.selected[1]
            self._act(lambda: self.session.set_attribute(label_id, name, value),
                      what=f"set {name} of label {label_id} to {value!r}")

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
        self._act(lambda: self.session.select_at(x, y, tolerance), what="select an object")

    def _click(self, x: float, y: float) -> None:
        boxed = self.session.box_only_selected()
        clicking = self.session.clicks and self.session.clicks.points
        if self.session.category_id is None and boxed is None and not clicking:
            if not self.category_control.new("First category", "This project has no categories yet. Name the "
                                             "first one (add more in the Categories panel):"):
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

    # -- fixing masks: correction points and the tools ------------------------------------------------
    def _cancel_clicks(self) -> None:
        """Esc: drop the clicks in progress; with none, leave a mask tool, then drop the selection."""
        if self.canvas.tools.active and not (self.session.clicks and self.session.clicks.points):
            self.fixing.choose_tool(CLICK)
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

    def _set(self, name: str, value) -> None:
        setattr(self.settings, name, value)
        save_settings(self.settings)
        self.refresh()

    # -- drawing ---------------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Read the open image's objects once and hand them to the panels that draw them (`shown`)."""
        if self.session.image_id is None:
            return
        image_id = self.session.image_id
        try:
            suggestions = self.project.suggestions(image_id)
            labels = self.project.annotations(image_id)
        except ProjectDamaged:
            self.session.selected = None
            self.shown.emit(ImageObjects(image_id))  # not another image's objects over this one
            raise
        except ServerAway:  # what is drawn stays as it was read last; the status bar says why (`Team`)
            return
        self.browser.reread(image_id, len(suggestions))
        categories = self.category_control.fill()
        shown = ImageObjects(image_id, labels, suggestions, {c.id: c.name for c in categories},
                             {c.id: c.color or "#ffffff" for c in categories}, self.session.selected)
        self.session.saw(labels)
        if shown.selected not in shown.keys():  # deleted, undone, or of another image
            self.session.selected = None
            shown = replace(shown, selected=None)
        self.shown.emit(shown)
        self._show_where()

    def _show_where(self, cursor: tuple[float, float] | None = None) -> None:
        shown = f"image {self.images.currentRow() + 1}/{self.images.count()}  zoom {self.canvas.zoom_level():.0%}"
        self.where.setText(shown + (f"  x {cursor[0]:.1f}  y {cursor[1]:.1f}" if cursor else ""))

    def _show_cursor(self, x: float, y: float) -> None:
        self._show_where((x, y))

