"""Fixing masks through the window with real mouse and key events (offscreen Qt): correction points,
brush, eraser and outline; each test checks the pixels the store holds afterwards."""
import cv2
import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from annotator.mask_edit import pixel_mask
from annotator.masking import MASK_METHOD
from converters.masks import extreme_points_from_mask
from tests.samples import object_photo
from tests.test_window_job import POINTS, at, click, label_object, make_project, show, window  # noqa: F401


def press_move_release(window, points, button=Qt.LeftButton, modifiers=Qt.NoModifier):
    viewport = window.canvas.viewport()
    QTest.mousePress(viewport, button, modifiers, at(window, *points[0]))
    for p in points[1:]:
        QTest.mouseMove(viewport, at(window, *p))
    QTest.mouseRelease(viewport, button, modifiers, at(window, *points[-1]))


def points(window):
    """The selected object's correction points, to the pixel the mouse pressed on."""
    return [(round(c.x), round(c.y), c.foreground) for c in stored(window).corrections]


def stored(window):
    return window.project.annotation(window.session.selected[1])


def two_squares_clicked(qtbot, tmp_path):
    """A window on a photo of two touching squares, clicked as one object, its GrabCut mask arrived."""
    truth = np.zeros((100, 120), bool)
    truth[20:80, 10:60] = True
    truth[30:70, 60:110] = True  # a second square touching the first: one object for the clicks
    cv2.imwrite(str(tmp_path / "a.png"), object_photo(truth)[:, :, ::-1])
    project = make_project(tmp_path, images=())
    project.add_images([("a.png", 120, 100)])
    w = show(qtbot, project)
    w.backend_box.setCurrentText("grabcut")
    e = extreme_points_from_mask(truth)
    for p in (e.top, e.left, e.bottom, e.right):
        click(w, *p)
    qtbot.waitUntil(lambda: stored(w).attributes.get(MASK_METHOD) == "grabcut", timeout=10000)
    return w, project


def test_shift_click_adds_a_foreground_point_and_alt_click_a_background_one(window):
    label_object(window)
    click(window, 60, 50, Qt.ShiftModifier)
    click(window, 40, 40, Qt.AltModifier)
    QTest.mouseClick(window.canvas.viewport(), Qt.RightButton, Qt.ShiftModifier, at(window, 70, 60))
    assert points(window) == [(60, 50, True), (40, 40, False), (70, 60, False)]
    assert "octagon ignores correction points" in window.statusBar().currentMessage()
    QTest.keyClick(window, Qt.Key_Z, Qt.ControlModifier)
    assert len(stored(window).corrections) == 2  # undone one by one


def test_a_correction_outside_the_box_is_refused_in_the_status_bar(window):
    label_object(window)
    click(window, 110, 95, Qt.ShiftModifier)
    assert stored(window).corrections == ()
    assert "inside the object's box" in window.statusBar().currentMessage()


def test_the_grabcut_worker_remakes_the_mask_with_the_correction_points(qtbot, tmp_path):
    w, project = two_squares_clicked(qtbot, tmp_path)
    assert pixel_mask(stored(w), 100, 120)[50, 85]
    click(w, 85.2, 50.2, Qt.AltModifier)  # "not the right square" (clear of a pixel edge at any zoom)
    assert stored(w).attributes[MASK_METHOD] == "stale"
    qtbot.waitUntil(lambda: stored(w).attributes.get(MASK_METHOD) == "grabcut", timeout=10000)
    mask = pixel_mask(stored(w), 100, 120)
    assert not mask[50, 85] and mask[50, 30]
    assert points(w) == [(85, 50, False)]
    w.close()
    project.close()


def test_a_correction_changes_the_mask_only_near_its_point_and_keeps_an_erased_notch(qtbot, tmp_path):
    w, project = two_squares_clicked(qtbot, tmp_path)
    QTest.keyClick(w, Qt.Key_E)  # the person erases a notch in the left square by hand
    press_move_release(w, [(30, 50), (35, 50)])
    QTest.keyClick(w, Qt.Key_Escape)
    notched = pixel_mask(stored(w), 100, 120)
    assert not notched[50, 32]
    click(w, 85.2, 50.2, Qt.AltModifier)  # "not the right square"
    qtbot.waitUntil(lambda: stored(w).attributes.get(MASK_METHOD) == "grabcut", timeout=10000)
    mask = pixel_mask(stored(w), 100, 120)
    assert not mask[50, 85] and not mask[50, 32]  # the notch stays: the point changed only the right square
    assert not (mask & ~notched).any()  # a background point only takes away
    assert mask[20:80, 10:60].sum() == notched[20:80, 10:60].sum()  # and nothing from the left square
    w.close()
    project.close()


def test_a_brush_stroke_paints_the_selected_mask_and_undoes_as_one(window):
    label = label_object(window)
    QTest.keyClick(window, Qt.Key_R)
    assert window.canvas.tools.tool == "brush"
    press_move_release(window, [(105, 20), (108, 25), (110, 30)])
    painted = stored(window)
    mask = pixel_mask(painted, 100, 120)
    assert mask[25, 108] and painted.box.x + painted.box.w > 110  # the box grew to the paint
    assert window.statusBar().currentMessage().startswith(f"the brush moved the box to {painted.box.w:.0f} x ")
    assert MASK_METHOD not in painted.attributes
    QTest.keyClick(window, Qt.Key_Z, Qt.ControlModifier)
    assert stored(window) == label


def test_the_eraser_and_shift_in_the_brush_take_pixels_out(window):
    label_object(window)
    QTest.keyClick(window, Qt.Key_E)
    press_move_release(window, [(55, 45), (65, 45)])
    assert not pixel_mask(stored(window), 100, 120)[45, 60]
    QTest.keyClick(window, Qt.Key_R)
    press_move_release(window, [(60, 70), (60, 72)], modifiers=Qt.ShiftModifier)
    assert not pixel_mask(stored(window), 100, 120)[71, 60]


def test_brackets_resize_the_brush_and_esc_leaves_the_tool(window):
    QTest.keyClick(window, Qt.Key_R)
    radius = window.canvas.tools.radius
    QTest.keyClick(window, Qt.Key_BracketRight)
    assert window.canvas.tools.radius > radius
    QTest.keyClick(window, Qt.Key_BracketLeft)
    QTest.keyClick(window, Qt.Key_BracketLeft)
    assert window.canvas.tools.radius < radius
    QTest.keyClick(window, Qt.Key_Escape)
    assert window.canvas.tools.tool == "click"


def test_the_brush_with_nothing_selected_paints_a_new_object(window):
    QTest.keyClick(window, Qt.Key_R)
    press_move_release(window, [(20, 20), (30, 30)])
    [made] = window.project.annotations(1)
    assert pixel_mask(made, 100, 120)[25, 25] and window.session.selected == ("label", made.id)


def test_dragging_an_outline_vertex_moves_the_mask_edge(window):
    label_object(window)
    QTest.keyClick(window, Qt.Key_V)
    vertices = window.canvas.tools.vertices
    assert vertices and len(vertices) >= 4
    right = max(range(len(vertices)), key=lambda k: vertices[k][0])
    x, y = vertices[right]
    press_move_release(window, [(x, y), (x + 8, y), (x + 12, y)])
    mask = pixel_mask(stored(window), 100, 120)
    assert mask[int(y), int(x) + 8]
    assert np.allclose(window.canvas.tools.vertices[right], (x + 12, y), atol=0.5)


def test_an_outline_edge_takes_a_new_vertex_and_a_right_click_removes_one(window):
    label_object(window)
    QTest.keyClick(window, Qt.Key_V)
    before = list(window.canvas.tools.vertices)
    (ax, ay), (bx, by) = before[0], before[1]
    middle = ((ax + bx) / 2, (ay + by) / 2)
    press_move_release(window, [middle, (middle[0] + 0.5, middle[1] + 0.5)])
    assert len(window.canvas.tools.vertices) == len(before) + 1
    QTest.mouseClick(window.canvas.viewport(), Qt.RightButton, Qt.NoModifier, at(window, *before[0]))
    assert len(window.canvas.tools.vertices) == len(before)
    assert before[0] not in window.canvas.tools.vertices


def test_shift_r_gives_up_a_painted_mask_for_the_backend_s(window):
    label_object(window)
    QTest.keyClick(window, Qt.Key_R)
    press_move_release(window, [(105, 20), (110, 30)])
    assert MASK_METHOD not in stored(window).attributes
    QTest.keyClick(window, Qt.Key_R, Qt.ShiftModifier)
    remade = stored(window)
    assert remade.attributes[MASK_METHOD] == "remake" and remade.extreme is not None


def test_the_outline_tool_s_brackets_set_how_many_vertices_the_outline_has(window):
    QTest.keyClick(window, Qt.Key_R)
    window.canvas.tools.radius = 40.0
    press_move_release(window, [(60, 50), (60.5, 50)])  # a disc painted as a new object
    disc = pixel_mask(stored(window), 100, 120)
    QTest.keyClick(window, Qt.Key_V)
    first = len(window.canvas.tools.vertices)
    assert 6 <= first <= 16  # labelme-like, not one vertex per pixel step
    assert f"{first} vertices within 2 px" in window.statusBar().currentMessage()
    for _ in range(4):
        QTest.keyClick(window, Qt.Key_BracketRight)
    coarse = window.canvas.tools.vertices
    assert len(coarse) < first and f"{len(coarse)} vertices" in window.statusBar().currentMessage()
    assert window.canvas.tools.radius == 40.0  # the brush kept its size
    for _ in range(8):
        QTest.keyClick(window, Qt.Key_BracketLeft)
    assert len(window.canvas.tools.vertices) > first
    assert np.array_equal(pixel_mask(stored(window), 100, 120), disc)  # choosing the vertices edits nothing


def test_a_coarse_outline_dragged_changes_the_mask_only_near_the_drag(window):
    QTest.keyClick(window, Qt.Key_R)
    window.canvas.tools.radius = 40.0
    press_move_release(window, [(60, 50), (60.5, 50)])
    disc = pixel_mask(stored(window), 100, 120)
    QTest.keyClick(window, Qt.Key_V)
    for _ in range(6):
        QTest.keyClick(window, Qt.Key_BracketRight)
    vertices = window.canvas.tools.vertices
    right = max(range(len(vertices)), key=lambda k: vertices[k][0])
    x, y = vertices[right]
    press_move_release(window, [(x, y), (x + 6, y), (x + 10, y)])
    after = pixel_mask(stored(window), 100, 120)
    assert after[int(y), int(x) + 8] and after.sum() > disc.sum()
    assert np.array_equal(after[:, :60], disc[:, :60])  # the far side's round edge is as it was


def test_the_outline_tolerance_is_kept_for_the_next_window(qtbot, tmp_path):
    from annotator.settings import load_settings
    project = make_project(tmp_path)
    w = show(qtbot, project)
    QTest.keyClick(w, Qt.Key_V)
    QTest.keyClick(w, Qt.Key_BracketRight)
    assert load_settings().outline_tolerance == pytest.approx(0.03)
    w.close()
    again = show(qtbot, project)
    assert again.session.outline_tolerance == pytest.approx(0.03)
    again.close()
    project.close()
