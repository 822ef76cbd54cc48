"""A whole labelling job through the window, driven by real mouse and key events (offscreen Qt); every
test checks the store afterwards."""
import json

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QColorDialog, QFileDialog, QInputDialog

from annotator.folders import window_name
from annotator.gui import window as window_module
from annotator.gui.app import Launcher
from annotator.gui.canvas import MaskItem
from annotator.gui.start import StartPage
from annotator.recent import remember
from annotator.store import Project
from converters import Annotation, Box, ExtremePoints, ImageStatus, Shape, Source

POINTS = ((60, 10), (20, 50), (62, 90), (100, 45))


def make_project(tmp_path, categories=("date", "fig"), images=("a.png", "b.png")):
    for name in images:
        cv2.imwrite(str(tmp_path / name), np.full((100, 120, 3), 200, np.uint8))
    project = Project.create(tmp_path / "p.sqlite", tmp_path)
    project.add_images([(name, 120, 100) for name in images])
    for name in categories:
        project.add_category(name)
    return project


def show(qtbot, project):
    w = window_module.MainWindow(project)
    w.backend_box.setCurrentText("octagon")  # no backend replaces the octagon while a test looks
    qtbot.addWidget(w)
    w.resize(1000, 700)
    w.show()
    w.activateWindow()
    assert QTest.qWaitForWindowActive(w)  # the window's shortcuts work in the active window
    return w


@pytest.fixture
def window(qtbot, tmp_path):
    project = make_project(tmp_path)
    w = show(qtbot, project)
    yield w
    w.close()
    project.close()


def at(window, x, y):
    return window.canvas.mapFromScene(QPointF(x, y))


def click(window, x, y, modifiers=Qt.NoModifier):
    QTest.mouseClick(window.canvas.viewport(), Qt.LeftButton, modifiers, at(window, x, y))


def drag(window, start, end, button=Qt.LeftButton):
    viewport = window.canvas.viewport()
    QTest.mousePress(viewport, button, Qt.NoModifier, start)
    QTest.mouseMove(viewport, end)
    QTest.mouseRelease(viewport, button, Qt.NoModifier, end)


def label_object(window, points=POINTS):
    for p in points:
        click(window, *p)
    return window.project.annotation(window.session.selected[1])


def names(window):
    return [c.name for c in window.project.categories()]


def test_a_project_without_categories_asks_for_one_on_the_first_click(qtbot, tmp_path, monkeypatch):
    project = make_project(tmp_path, categories=())
    window = show(qtbot, project)
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("hazelnut", True))
    label = label_object(window)
    assert names(window) == ["hazelnut"] and label.category_id == window.project.categories()[0].id
    assert window.categories.list.item(0).text() == "hazelnut"
    window.close()
    project.close()


def test_a_category_just_added_is_the_one_the_next_object_gets(window, qtbot):
    qtbot.keyClicks(window.categories.name, "candy")
    QTest.keyClick(window.categories.name, Qt.Key_Return)
    assert window.categories.list.currentItem().text() == "candy"
    QTest.keyClick(window, Qt.Key_Escape)  # the focus back on the canvas, as after Enter in the field
    label = label_object(window)
    assert window.project.categories()[label.category_id - 1].name == "candy"


def test_categories_are_added_renamed_recoloured_moved_and_deleted_from_the_panel(window, qtbot, monkeypatch):
    qtbot.keyClicks(window.categories.name, "walnut")
    QTest.keyClick(window.categories.name, Qt.Key_Return)
    assert names(window) == ["date", "fig", "walnut"]
    walnut = window.categories.list.item(2)
    QTest.mouseClick(window.categories.list.viewport(), Qt.LeftButton, Qt.NoModifier,
                     window.categories.list.visualItemRect(walnut).center())
    assert window.session.category_id == 3
    QTest.mouseDClick(window.categories.list.viewport(), Qt.LeftButton, Qt.NoModifier,
                      window.categories.list.visualItemRect(walnut).center())
    editor = QApplication.focusWidget()
    editor.selectAll()
    QTest.keyClicks(editor, "pecan")
    QTest.keyClick(editor, Qt.Key_Return)
    qtbot.waitUntil(lambda: names(window) == ["date", "fig", "pecan"])  # the editor commits from the event loop
    monkeypatch.setattr(QColorDialog, "getColor", lambda *a, **k: QColor("#102030"))
    QTest.mouseClick(window.categories.colour, Qt.LeftButton)
    assert window.project.categories()[2].color == "#102030"
    QTest.mouseClick(window.categories.up, Qt.LeftButton)
    assert names(window) == ["date", "pecan", "fig"]
    assert [a.text() for a in window.category_keys.actions()] == ["date", "pecan", "fig"]  # the keys follow
    QTest.keyClick(window, Qt.Key_2)
    label = label_object(window)
    assert label.category_id == 3  # pecan, now on key 2
    monkeypatch.setattr("annotator.gui.category_control.ask_category_removal", lambda *a: ("move", 1))
    QTest.mouseClick(window.categories.remove, Qt.LeftButton)
    assert names(window) == ["date", "fig"] and window.project.annotation(label.id).category_id == 1
    QTest.keyClick(window, Qt.Key_Z, Qt.ControlModifier)
    assert names(window) == ["date", "pecan", "fig"] and window.project.annotation(label.id).category_id == 3
    assert [window.categories.list.item(k).text() for k in range(3)] == ["date", "pecan", "fig"]


def test_a_label_added_by_another_process_appears_on_the_image_shown_without_a_poll(window, qtbot):
    assert not [t for t in window.findChildren(QTimer) if t.isActive() and not t.isSingleShot()]
    with Project.open(window.project.path) as other:
        other.add_annotation(Annotation.from_extreme(0, window.session.image_id, 1, ExtremePoints(*POINTS)))
    qtbot.waitUntil(lambda: len(window.objects.list_model.rows) == 1, timeout=5000)
    assert any(item.data(0) == "object" for item in window.canvas.scene().items())


def test_an_undoable_edit_redraws_the_window_once(window, monkeypatch):
    for x, y in POINTS[:3]:
        click(window, x, y)
    redraws = []
    redraw = window.refresh
    monkeypatch.setattr(window, "refresh", lambda: (redraws.append(1), redraw()))
    click(window, *POINTS[3])
    assert len(window.project.annotations(window.session.image_id)) == 1 and len(redraws) == 1
    QTest.keyClick(window, Qt.Key_Z, Qt.ControlModifier)
    assert window.project.annotations(window.session.image_id) == [] and len(redraws) == 2


def test_a_category_added_by_another_process_appears_without_reopening(window, qtbot):
    with Project.open(window.project.path) as other:
        other.add_category("walnut")
    qtbot.waitUntil(lambda: window.categories.list.count() == 3, timeout=5000)
    assert [a.text() for a in window.category_keys.actions()] == ["date", "fig", "walnut"]
    QTest.keyClick(window, Qt.Key_3)
    assert window.session.category_id == 3


def test_more_than_nine_categories_are_reached_by_typing_in_the_picker(qtbot, tmp_path):
    project = make_project(tmp_path, categories=[f"kind{k}" for k in range(12)] + ["walnut"])
    window = show(qtbot, project)
    QTest.keyClick(window, Qt.Key_C)
    qtbot.keyClicks(window.category_control.picker.filter, "waln")
    QTest.keyClick(window.category_control.picker.filter, Qt.Key_Return)
    assert window.session.category_id == 13
    assert label_object(window).category_id == 13
    window.close()
    project.close()


def test_ctrl_click_selects_the_topmost_object_and_tapping_a_point_selects_its_object(window):
    big = label_object(window, ((60, 5), (10, 50), (60, 95), (110, 50)))
    small = label_object(window, ((60, 40), (50, 50), (60, 60), (70, 50)))
    click(window, 60, 50, Qt.ControlModifier)
    assert window.session.selected == ("label", small.id)
    click(window, 30, 50, Qt.ControlModifier)
    assert window.session.selected == ("label", big.id)
    click(window, 60, 40)  # a tap on the small object's top point
    assert window.session.selected == ("label", small.id)
    assert window.session.clicks.points == [] and len(window.project.annotations(1)) == 2
    assert window.project.annotation(small.id) == small  # tapped, not moved
    click(window, 2, 2, Qt.ControlModifier)  # nothing there
    assert window.session.selected is None


def test_the_middle_button_and_space_held_pan_and_space_tapped_marks_done(window, qtbot):
    for _ in range(6):
        window.canvas.zoom(1.25)
    bars = window.canvas.horizontalScrollBar(), window.canvas.verticalScrollBar()
    before = [b.value() for b in bars]
    middle = QPointF(window.canvas.viewport().width() / 2, window.canvas.viewport().height() / 2).toPoint()
    drag(window, middle, middle + QPointF(-80, -60).toPoint(), Qt.MiddleButton)
    after_middle = [b.value() for b in bars]
    assert after_middle[0] > before[0] and after_middle[1] > before[1]
    QTest.keyPress(window, Qt.Key_Space)
    drag(window, middle, middle + QPointF(50, 40).toPoint())
    QTest.keyRelease(window, Qt.Key_Space)
    assert [b.value() for b in bars][0] < after_middle[0]
    assert window.project.annotations(1) == [] and window.session.clicks.points == []  # no clicks
    assert window.project.image(1).status is ImageStatus.TODO  # Space with a drag pans only
    QTest.keyClick(window, Qt.Key_Space)
    assert window.project.image(1).status is ImageStatus.DONE


def test_the_status_bar_says_which_image_and_zoom_without_the_mouse(window):
    QTest.keyClick(window, Qt.Key_D)
    assert window.where.text().startswith("image 2/2  zoom ")
    QTest.keyClick(window, Qt.Key_0, Qt.ControlModifier)
    assert window.where.text() == "image 2/2  zoom 100%"
    QTest.keyClick(window, Qt.Key_Equal, Qt.ControlModifier)
    assert window.where.text() == "image 2/2  zoom 125%"


def test_every_key_in_the_readme_is_in_a_menu_with_its_shortcut(window):
    menus = [a.text().replace("&", "") for a in window.menuBar().actions()]
    assert menus == ["File", "Edit", "View", "Image", "Model", "Help"]
    keys = {k.toString() for _, action in window.menu_actions for k in action.shortcuts()}
    keys |= {a.shortcut().toString() for a in window.category_keys.actions()}
    keys |= {a.shortcut().toString() for m in window.menuBar().actions() for a in m.menu().actions()}
    for key in ("1", "2", "D", "A", "Right", "Left", "N", "Space", "S", "Esc", "Backspace", "Tab", "Del",
                "Return", "Ctrl+Return", "Shift+Del", "Ctrl+Z", "Ctrl+Shift+Z", "Ctrl+L", "M", "B", "P", "O",
                "F", "C", "Ctrl+E", "Ctrl+Q", "Ctrl+O", "Ctrl+W", "F1", "?", "Ctrl+0", "Ctrl++", "Ctrl+-"):
        assert key in keys, key
    QTest.keyClick(window, Qt.Key_F1)
    sheet = window.sheet.table
    shown = {sheet.item(r, 1).text() for r in range(sheet.rowCount())}  # the keys column, next to the menu
    assert "Ctrl+Z" in shown and "S" in shown and any("pan" in sheet.item(r, 2).text() for r in range(sheet.rowCount()))
    assert all("other one" not in sheet.item(r, 2).text() for r in range(sheet.rowCount()))
    assert sheet.columnWidth(2) >= sheet.columnWidth(1)  # what each does has room beside its keys


def test_about_names_the_version(window):
    window.menu_actions[-1][1].trigger()
    assert window.report.text().startswith("annotator 0.1.0")


def test_about_gives_the_time_per_object_clicked_in_the_window(window):
    label_object(window)
    label = window.project.annotations(window.session.image_id)[0]
    assert window.project.effort(label.id)[0] == "clicked"
    window.menu_actions[-1][1].trigger()
    assert "median time per object: clicked" in window.report.text()
    assert "the model supplied 0 of the 1 timed objects" in window.report.text()


def export_with_ctrl_e(window, qtbot, monkeypatch, out) -> None:
    """Ctrl+E, `out` chosen in the save dialog, and the export (in the background) finished."""
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), ""))
    QTest.keyClick(window, Qt.Key_E, Qt.ControlModifier)
    qtbot.waitUntil(lambda: window.background.exporter.outcome is not None, timeout=10000)


def test_export_to_coco_from_the_menu_writes_the_labels_in_the_background(window, qtbot, monkeypatch, tmp_path):
    label_object(window)
    out = tmp_path / "exported.json"
    export_with_ctrl_e(window, qtbot, monkeypatch, out)
    qtbot.waitUntil(lambda: not window.background.bar.isVisible(), timeout=5000)
    coco = json.loads(out.read_text())
    assert len(coco["annotations"]) == 1 and coco["annotations"][0]["bbox"] == pytest.approx([20, 10, 80, 80], abs=1)
    assert window.statusBar().currentMessage().startswith("exported 2 images and 1 objects")


def test_export_can_leave_out_the_images_not_done_and_the_choice_is_kept(window, qtbot, monkeypatch, tmp_path):
    from annotator.settings import load_settings

    label_object(window)
    QTest.keyClick(window, Qt.Key_Space)  # a.png done; b.png not
    [done_only] = [a for m, a in window.menu_actions if a.text() == "Only images marked &done"]
    done_only.trigger()
    assert done_only.isChecked() and load_settings().export_done_only
    out = tmp_path / "exported.json"
    export_with_ctrl_e(window, qtbot, monkeypatch, out)
    qtbot.waitUntil(lambda: window.background.report is not None, timeout=10000)
    assert [im["file_name"] for im in json.loads(out.read_text())["images"]] == ["a.png"]
    assert "1 images not marked done left out" in window.background.report.text()


def test_an_export_that_loses_something_says_so(window, qtbot, monkeypatch, tmp_path):
    window.project.add_annotation(Annotation.from_points(0, 1, 1, Shape.POLYLINE, [1, 1, 5, 5]))
    out = tmp_path / "voc"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), ""))
    [voc] = [a for m, a in window.menu_actions if a.text() == "VOC..."]
    voc.trigger()
    qtbot.waitUntil(lambda: window.background.report is not None, timeout=10000)
    assert "note: dropped 1 polylines: VOC has no polylines" in window.background.report.text()
    assert (out / "Annotations").is_dir()


def test_ctrl_q_closes_the_window(window):
    QTest.keyClick(window, Qt.Key_Q, Qt.ControlModifier)
    assert not window.isVisible()


def test_masks_have_an_outline_in_the_category_colour_and_clicks_a_colour_of_their_own(window):
    label_object(window)
    [mask] = [i for i in window.canvas.scene().items() if isinstance(i, MaskItem)]
    assert mask.pen().color().name() == window.project.categories()[0].color
    colours = {c.color for c in window.project.categories()}
    assert window.canvas.click_color.name() not in colours


def test_the_objects_panel_tells_objects_apart_and_a_row_brings_its_object_into_view(window):
    first = label_object(window)
    second = label_object(window, ((10, 70), (5, 80), (10, 95), (15, 80)))
    window.project.add_suggestions([Annotation.from_extreme(0, 1, 2, first.extreme, score=0.42)])
    window.refresh()
    texts = [window.objects.text(k) for k in range(window.objects.count())]
    assert texts == ["#1  date  human  mask octagon", "#2  date  human  mask octagon",
                     "#3  fig  suggested 0.42  no mask"]
    for _ in range(8):
        window.canvas.zoom(1.25)
    QTest.mouseClick(window.objects.viewport(), Qt.LeftButton, Qt.NoModifier, window.objects.row_rect(1).center())
    assert window.session.selected == ("label", second.id)
    centre = window.canvas.mapToScene(window.canvas.viewport().rect().center())
    assert abs(centre.x() - 10) < 3 and abs(centre.y() - 82.5) < 3


@pytest.fixture
def boxed(window):
    """The window with one box-only object, as VOC or YOLO bring them."""
    box = window.project.add_annotation(Annotation(0, 1, 2, Box(30, 20, 40, 30), source=Source.IMPORTED))
    window.refresh()
    return window, box


def test_a_box_only_object_is_drawn_selected_and_its_edge_dragged(boxed):
    window, box = boxed
    assert any(i.data(0) == "object" for i in window.canvas.scene().items())
    click(window, 50, 35, Qt.ControlModifier)
    assert window.session.selected == ("label", box.id)
    drag(window, at(window, 70, 35), at(window, 90, 35))  # the right edge
    assert window.project.annotation(box.id).box.w == pytest.approx(60, abs=1)
    drag(window, at(window, 30, 20), at(window, 20, 10))  # the top-left corner
    moved = window.project.annotation(box.id).box
    assert (moved.x, moved.y) == pytest.approx((20, 10), abs=1)
    QTest.keyClick(window, Qt.Key_Z, Qt.ControlModifier)
    assert window.project.annotation(box.id).box.x == pytest.approx(30, abs=0.01)


def test_four_clicks_on_a_selected_box_give_it_extreme_points_and_a_mask_in_one_undo(boxed):
    window, box = boxed
    window.backend_box.setCurrentText("octagon")
    click(window, 50, 35, Qt.ControlModifier)
    for p in ((50, 21), (31, 35), (50, 49), (69, 35)):
        click(window, *p)
    made = window.project.annotation(box.id)
    assert len(window.project.annotations(1)) == 1 and made.extreme is not None and made.polygons
    assert made.category_id == 2
    QTest.keyClick(window, Qt.Key_Z, Qt.ControlModifier)
    assert window.project.annotation(box.id).extreme is None and window.project.annotation(box.id).box == box.box


def test_attributes_are_edited_for_the_selected_object_and_undone(window, qtbot):
    label = label_object(window)
    window.session.set_attribute(label.id, "colour", "brown")  # as an import brings them
    window.refresh()
    for flag in ("occluded", "crowd"):
        box = window.attributes.flags[flag]
        QTest.mouseClick(box, Qt.LeftButton, Qt.NoModifier, QPoint(8, box.height() // 2))  # on its tick box
    stored = window.project.annotation(label.id)
    assert stored.attributes["occluded"] is True and stored.iscrowd
    table = window.attributes.table
    assert table.item(0, 0).text() == "colour" and table.item(0, 1).text() == "brown"
    table.editItem(table.item(0, 1))
    editor = QApplication.focusWidget()
    editor.selectAll()
    QTest.keyClicks(editor, "3")
    QTest.keyClick(editor, Qt.Key_Return)
    qtbot.waitUntil(lambda: window.project.annotation(label.id).attributes["colour"] == 3)
    qtbot.keyClicks(window.attributes.new, "pose=left")
    QTest.keyClick(window.attributes.new, Qt.Key_Return)
    assert window.project.annotation(label.id).attributes["pose"] == "left"
    for _ in range(4):
        QTest.keyClick(window, Qt.Key_Z, Qt.ControlModifier)
    assert window.project.annotation(label.id).attributes == {"mask_method": "octagon", "colour": "brown"}
    assert not window.attributes.flags["occluded"].isChecked()


def test_image_status_in_progress_skip_with_a_reason_and_the_filters(window, monkeypatch):
    label_object(window)
    assert window.project.image(1).status is ImageStatus.IN_PROGRESS and window.images.text(0).startswith("◐")
    QTest.keyClick(window, Qt.Key_D)
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("blurred", True))
    QTest.keyClick(window, Qt.Key_S)
    assert window.project.image(2).status is ImageStatus.SKIPPED
    assert window.images.text(1) == "⊘ b.png  (skipped: blurred)"
    tip = window.images.list_model.data(window.images.list_model.index(1), Qt.ToolTipRole)
    assert tip == "b.png: skipped\nskipped because: blurred"  # a long reason, cut short in the row, in full
    window.browser.filter.setCurrentText("skipped")
    assert [window.images.text(k) for k in range(window.images.count())] == ["⊘ b.png  (skipped: blurred)"]
    window.browser.filter.setCurrentText("in progress")
    assert [window.images.text(k) for k in range(window.images.count())] == ["◐ a.png"]
    window.browser.filter.setCurrentText("all")
    QTest.keyClick(window, Qt.Key_Z, Qt.ControlModifier)
    assert window.project.image(2).status is ImageStatus.TODO and window.images.text(1) == "· b.png"


def test_reject_all_on_the_image_and_clearing_a_models_suggestions_from_the_model_menu(window, monkeypatch):
    ep = ExtremePoints(*POINTS[:1], (20, 50), (62, 90), (100, 45))
    window.project.add_suggestions([Annotation.from_extreme(0, 1, 1, ep, score=0.5)] * 2, model="/runs/a")
    window.project.add_suggestions([Annotation.from_extreme(0, 2, 1, ep, score=0.5)], model="/runs/a")
    window.refresh()
    QTest.keyClick(window, Qt.Key_Delete, Qt.ShiftModifier)
    assert window.project.suggestions(1) == [] and len(window.project.suggestions(2)) == 1
    QTest.keyClick(window, Qt.Key_Z, Qt.ControlModifier)
    assert len(window.project.suggestions(1)) == 2
    monkeypatch.setattr(QInputDialog, "getItem", lambda parent, title, text, items, *a: (items[0], True))
    [clear] = [a for m, a in window.menu_actions if a.text().startswith("&Clear one model")]
    clear.trigger()
    assert window.project.pending_by_model() == {} and window.objects.count() == 0


def test_prelabelling_asks_for_the_minimum_score(window, qtbot, monkeypatch, tmp_path):
    import torch

    from detectors.checkpoints import save_checkpoint
    from detectors.sapd import SAPD

    torch.manual_seed(0)
    model = SAPD(1, 18, 32)
    with torch.no_grad():
        model.head.cls_logits.bias.fill_(5.0)
    save_checkpoint(tmp_path / "detector", {"arch": "sapd", "classes": ["fig"], "depth": 18, "img_size": 64,
                                            "channels": 32}, model)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(tmp_path / "detector"))
    monkeypatch.setattr(QInputDialog, "getDouble", lambda *a, **k: (0.995, True))
    QTest.keyClick(window, Qt.Key_L, Qt.ControlModifier)
    qtbot.waitUntil(lambda: not window.stop_prelabel.isEnabled(), timeout=60000)
    scores = [s.score for k in (1, 2) for s in window.project.suggestions(k)]
    assert all(s >= 0.995 for s in scores) and window.settings.prelabel_score == 0.995


def test_the_start_page_says_where_a_new_project_goes_and_takes_another_place(qtbot, tmp_path, monkeypatch):
    photos = tmp_path / "photos"
    photos.mkdir()
    cv2.imwrite(str(photos / "a.png"), np.full((30, 40, 3), 100, np.uint8))
    elsewhere = tmp_path / "labels" / "mine.sqlite"
    page = StartPage()
    qtbot.addWidget(page)
    asked = []
    monkeypatch.setattr(page, "ask_where", lambda folder, default: asked.append(default) or elsewhere)
    with qtbot.waitSignal(page.chosen) as chosen:
        page.choose_folder(str(photos))
    assert asked == [photos / "annotator.sqlite"] and chosen.args == [elsewhere]
    assert not (photos / "annotator.sqlite").exists()
    with Project.open(elsewhere) as project:
        assert [im.file_name for im in project.images()] == ["a.png"]
    remember(elsewhere)
    again = StartPage()
    qtbot.addWidget(again)
    assert again.recent.item(0).text().startswith("mine.sqlite   0 of 1 done")


def test_file_open_puts_the_other_project_in_the_window_and_releases_the_first(qtbot, tmp_path):
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    first, second = make_project(tmp_path / "one"), make_project(tmp_path / "two")
    second.close()
    launcher = Launcher()
    window = launcher.show_window(first)
    window.open_requested.emit(tmp_path / "two" / "p.sqlite")
    assert launcher.window is not window and launcher.window.project.path == tmp_path / "two" / "p.sqlite"
    with Project.open(tmp_path / "one" / "p.sqlite") as again:
        again.lock_for_labelling()  # the first window's lock went with it
    launcher.window.close_requested.emit()  # File > Close: back to the start page
    launcher.window.close()
    assert launcher.window is None and launcher.page.isVisible()
    launcher.page.chosen.emit(tmp_path / "two" / "p.sqlite")  # and the same project again from there
    assert launcher.window.project.path == tmp_path / "two" / "p.sqlite" and launcher.page is None
    launcher.window.close()
    QApplication.processEvents()


@pytest.mark.qt_no_exception_capture  # the app's own hook is what is tested
def test_an_edit_the_full_disk_refuses_is_a_dialog_and_the_window_goes_on(window, monkeypatch):
    import sqlite3
    import sys

    from annotator.gui.app import say_unsaved_edits
    from annotator.store import Project

    def full(self, ann):
        raise sqlite3.OperationalError("database or disk is full")

    said = []
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # put back after the test
    monkeypatch.setattr("annotator.gui.app.QMessageBox.critical", lambda parent, title, text: said.append(text))
    say_unsaved_edits()
    with monkeypatch.context() as disk:
        disk.setattr(Project, "add_annotation", full)
        for p in POINTS:
            click(window, *p)
    assert len(said) == 1 and "is the disk full?" in said[0] and "The last change was not saved" in said[0]
    assert window.project.annotations(window.session.image_id) == []
    QTest.keyClick(window, Qt.Key_Escape)  # the clicks in progress dropped: four clicks start again
    assert label_object(window).extreme is not None  # room again: the same clicks label the object


@pytest.mark.qt_no_exception_capture  # the app's own hook is what is tested
def test_a_damaged_object_is_a_dialog_naming_salvage_once(window, monkeypatch, tmp_path):
    import sqlite3
    import sys

    from annotator.gui.app import say_unsaved_edits

    window.project.add_annotation(Annotation(0, 1, 1, Box(5, 5, 10, 10)))  # a.png's, readable
    window.refresh()
    assert window.objects.count() == 1
    label = window.project.add_annotation(Annotation(0, 2, 1, Box(30, 20, 40, 30), attributes={"a": 1}))
    other = sqlite3.connect(tmp_path / "p.sqlite")  # another tool, or a failing disk, spoils the row
    other.execute("UPDATE annotations SET attributes = X'7B6E6F74' WHERE id = ?", (label.id,))
    other.commit()
    other.close()
    said = []
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # put back after the test
    monkeypatch.setattr("annotator.gui.app.QMessageBox.critical", lambda parent, title, text: said.append(text))
    say_unsaved_edits()
    QTest.keyClick(window, Qt.Key_D)  # to b.png, whose object cannot be read
    QTest.keyClick(window, Qt.Key_A)
    QTest.keyClick(window, Qt.Key_D)  # again: the same line is not said twice
    assert len(said) == 1 and "the project is damaged (objects of image 2" in said[0]
    assert "annotator salvage" in said[0]
    assert window.objects.count() == 0 and not window.canvas.shown.rows()  # not a.png's object over b.png


def test_a_ranked_project_lists_the_most_uncertain_first_and_n_follows_the_ranks(qtbot, tmp_path):
    project = make_project(tmp_path, images=("a.png", "b.png", "c.png"))
    project.set_ranks({1: 0.2, 2: 3.0, 3: 1.5}, "uncertainty", "run")
    window = show(qtbot, project)
    assert window.browser.order.currentText() == "by rank"
    assert [window.images.records[row].file_name for row in range(3)] == ["b.png", "c.png", "a.png"]
    assert window.images.text(0).endswith("b.png  rank 3.00")
    tip = window.images.list_model.data(window.images.list_model.index(0), Qt.ToolTipRole)
    assert "rank 3.00: the higher, the sooner it is worth labelling" in tip
    assert window.session.image_id == 2  # the first row: the most uncertain
    QTest.keyClick(window, Qt.Key_N)
    assert window.session.image_id == 3
    QTest.keyClick(window, Qt.Key_Space)  # c is done
    QTest.keyClick(window, Qt.Key_N)
    assert window.session.image_id == 1
    window.browser.order.setCurrentText("by name")
    assert [window.images.records[row].file_name for row in range(3)] == ["a.png", "b.png", "c.png"]
    window.close()
    project.close()


def test_the_title_names_the_project_and_undo_with_nothing_to_undo_says_so(window, tmp_path):
    assert window.windowTitle() == "p - annotator"  # p.sqlite: the file's own name
    assert window_name(tmp_path / "boards" / "annotator.sqlite") == "boards"  # each folder's is annotator.sqlite
    for key, said in ((Qt.Key_Z, "nothing to undo"), (Qt.Key_Y, "nothing to redo")):
        QTest.keyClick(window, key, Qt.ControlModifier)
        assert window.statusBar().currentMessage() == said


def test_an_objects_colour_is_a_swatch_beside_text_in_the_themes_colour(window):
    lemon = window.project.add_category("lemon", "#ffff00")  # yellow: as text on white, unreadable
    window.project.add_annotation(Annotation(0, 1, lemon.id, Box(5, 5, 10, 10)))
    window.refresh()
    model = window.objects.list_model
    index = model.index(0)
    color = "#ffff00"
    assert model.data(index, Qt.ForegroundRole) is None  # the theme's text colour: readable for every category
    assert model.data(index, Qt.DecorationRole).pixmap(20, 20).toImage().pixelColor(10, 10) == QColor(color)


def test_after_enter_in_the_category_field_the_next_key_labels_again(window):
    window.categories.name.setFocus()
    QTest.keyClicks(window.categories.name, "nut")
    QTest.keyClick(window.categories.name, Qt.Key_Return)
    assert "nut" in [c.name for c in window.project.categories()]
    QTest.keyClick(window.focusWidget() or window, Qt.Key_D)  # wherever the focus went: next image
    assert window.images.currentRow() == 1 and window.categories.name.text() == ""


def test_after_enter_in_the_attribute_field_the_next_key_labels_again(window):
    label = label_object(window)
    window.attributes.new.setFocus()
    QTest.keyClicks(window.attributes.new, "ripe=yes")
    QTest.keyClick(window.attributes.new, Qt.Key_Return)
    assert window.project.annotation(label.id).attributes["ripe"] == "yes"
    QTest.keyClick(window.focusWidget() or window, Qt.Key_D)
    assert window.images.currentRow() == 1


def test_a_press_that_misses_a_points_dot_is_said_to_start_a_new_object(window):
    label_object(window)
    click(window, 60 + 12, 10 + 12)  # near the top point, off its dot
    assert len(window.session.clicks.points) == 1
    assert window.statusBar().currentMessage().startswith("the first of a new object's four extreme points")
    QTest.keyClick(window, Qt.Key_Escape)
    assert window.session.clicks.points == []
