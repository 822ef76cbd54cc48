"""Fixing a mask by hand without a window: correction points, brush and eraser, the outline."""
import cv2
import numpy as np
import pytest

from annotator.mask_edit import following_points, outline, outline_pixels, painted, pixel_mask, reshaped
from annotator.masking import (
    MASK_METHOD,
    MadeMask,
    apply_made_mask,
    awaits_mask,
    correction_base,
    make_mask,
    needs_mask,
)
from annotator.session import LabellingSession
from annotator.store import Project
from converters import Correction, UserError
from converters.masks import extreme_points_from_mask
from detectors.mask_backends import mask_from_extremes, masks_from_extremes
from detectors.mask_backends.grabcut import grabcut_mask
from detectors.mask_backends.simulate import next_correction
from tests.samples import object_photo

TOP, LEFT, BOTTOM, RIGHT = (50, 10), (12, 40), (47, 90), (88, 55)


@pytest.fixture
def session(tmp_path):
    project = Project.create(tmp_path / "p.sqlite", tmp_path)
    project.add_images([("a.jpg", 100, 100)])
    project.add_category("date")
    s = LabellingSession(project)
    s.open_image(1)
    yield s
    project.close()


def clicked(session):
    for p in (TOP, LEFT, BOTTOM, RIGHT):
        made = session.click(*p)
    return made


def two_squares():
    """Two touching squares of one colour: the clicks around both make one object of them."""
    truth = np.zeros((120, 160), bool)
    truth[30:90, 20:80] = True
    truth[40:80, 80:140] = True
    return truth


# -- the backends ----------------------------------------------------------------------------------
def test_a_background_point_takes_a_part_out_of_the_grabcut_mask():
    truth = two_squares()
    photo, clicks = object_photo(truth), extreme_points_from_mask(truth)
    before = grabcut_mask(photo, clicks)
    assert before[60, 110]  # the right square belongs to the object the clicks describe
    after = grabcut_mask(photo, clicks, [Correction(110.5, 60.5, False)])
    assert not after[60, 110]
    assert after[60, 50]  # the left square stays


def test_a_foreground_point_puts_a_corner_of_background_colour_into_the_grabcut_mask():
    truth = np.zeros((120, 160), bool)
    truth[20:100, 20:140] = True
    photo = object_photo(truth)
    photo[20:100, 110:140] = photo[20:100, 0:30][:, ::-1]  # its right end looks like the background
    clicks = extreme_points_from_mask(truth)
    assert not grabcut_mask(photo, clicks)[25, 130]
    assert grabcut_mask(photo, clicks, [Correction(130.5, 25.5, True)])[25, 130]


@pytest.mark.parametrize("backend", ["grabcut", "dextr"])
def test_every_backend_obeys_the_correction_points(backend):
    truth = two_squares()
    everything = lambda image, extremes, corrections: [np.ones(image.shape[:2], bool) for _ in extremes]  # noqa: E731
    points = [Correction(110.5, 60.5, False), Correction(50.5, 60.5, True)]
    result = mask_from_extremes(object_photo(truth), extreme_points_from_mask(truth), backend, everything, points)
    assert result.backend == backend
    assert not result.mask[60, 110] and result.mask[60, 50]


def test_the_octagon_ignores_correction_points():
    truth = two_squares()
    clicks = extreme_points_from_mask(truth)
    plain, = masks_from_extremes(object_photo(truth), [clicks], "octagon")
    corrected, = masks_from_extremes(object_photo(truth), [clicks], "octagon", None, [[Correction(110.5, 60.5, False)]])
    assert (plain.mask == corrected.mask).all()


def test_the_app_worker_makes_the_mask_with_the_points_on_a_crop_of_a_large_photo():
    truth = np.zeros((1200, 1600), bool)
    truth[300:900, 200:800] = True
    truth[400:800, 800:1400] = True
    photo = object_photo(truth)
    made = make_mask(photo, extreme_points_from_mask(truth), "grabcut", corrections=(Correction(1100, 600, False),))
    from converters.masks import polygons_to_mask
    mask = polygons_to_mask(made.polygons, 1200, 1600).astype(bool)
    assert not mask[600, 1100] and mask[600, 500]


# -- the simulated annotator -----------------------------------------------------------------------
def test_the_simulated_annotator_corrects_the_largest_error_at_its_middle():
    truth = np.zeros((100, 100), bool)
    truth[10:90, 10:90] = True
    made = truth.copy()
    made[20:40, 20:40] = False  # a missed 20 x 20 square
    made[60:65, 60:65] = False
    point = next_correction(made, truth, extreme_points_from_mask(truth).box)
    assert point.foreground and 28 <= point.x <= 32 and 28 <= point.y <= 32
    spill = truth.copy()
    spill[50:70, 10:30] = False  # the object has a notch the mask fills
    point = next_correction(truth, spill, extreme_points_from_mask(truth).box)
    assert not point.foreground and not spill[int(point.y), int(point.x)]
    assert next_correction(truth, truth, extreme_points_from_mask(truth).box) is None


# -- correction points in the session --------------------------------------------------------------
def test_a_correction_point_is_stored_marks_the_mask_stale_and_undoes_one_by_one(session):
    made = clicked(session)
    first = session.add_correction(30, 40, True)
    second = session.add_correction(60, 60, False)
    assert second.corrections == (Correction(30, 40, True), Correction(60, 60, False))
    assert session.project.annotation(made.id).corrections == second.corrections
    assert awaits_mask(second, "grabcut") and second.attributes[MASK_METHOD] == "remake"  # the octagon waits
    session.undo()
    assert session.project.annotation(made.id).corrections == first.corrections
    session.undo()
    assert session.project.annotation(made.id).corrections == ()


def test_a_correction_point_corrects_the_made_mask_on_screen_and_remake_replaces_it(session):
    made = clicked(session)
    square = [[20.0, 20.0, 80.0, 20.0, 80.0, 80.0, 20.0, 80.0]]
    apply_made_mask(session.project, made.id, made.extreme, (), MadeMask(square, "grabcut"))
    point = session.add_correction(30, 40, True)
    assert point.attributes[MASK_METHOD] == "stale" and awaits_mask(point, "grabcut")
    assert correction_base(point).polygons == square
    remade = session.remake_mask()
    assert remade.attributes[MASK_METHOD] == "remake" and correction_base(remade) is None


def test_a_correction_point_outside_the_box_is_refused_with_a_hint(session):
    clicked(session)
    with pytest.raises(UserError, match="inside the object's box: to make the object larger, drag"):
        session.add_correction(95, 50, True)


def test_a_correction_needs_a_selected_label_with_extreme_points(session):
    with pytest.raises(UserError, match="select an object first"):
        session.add_correction(30, 40, True)


def test_a_correction_with_nothing_selected_goes_to_the_object_whose_box_holds_it(session):
    made = clicked(session)
    session.select(None)  # back on the image later: nothing selected
    corrected = session.add_correction(30, 40, True)
    assert session.selected == ("label", made.id) and corrected.corrections == (Correction(30, 40, True),)
    session.select(None)
    with pytest.raises(UserError, match="select an object first"):
        session.add_correction(95, 95, False)  # in no object's box


def test_correction_points_are_kept_when_an_extreme_point_is_dragged(session):
    made = clicked(session)
    session.add_correction(30, 40, True)
    session.add_correction(80, 50, False)
    moved = session.move_point(made.id, "right", 70, 55)  # the second point is now outside the box
    assert moved.corrections == (Correction(30, 40, True),)


def test_a_mask_made_for_other_correction_points_is_not_stored(session):
    made = clicked(session)
    corrected = session.add_correction(30, 40, True)
    answer = MadeMask([[12, 10, 88, 10, 88, 90, 12, 90]], "grabcut")
    assert apply_made_mask(session.project, made.id, made.extreme, (), answer) is None  # asked before the point
    stored = apply_made_mask(session.project, made.id, made.extreme, corrected.corrections, answer)
    assert stored.attributes[MASK_METHOD] == "grabcut" and stored.corrections == corrected.corrections


# -- brush and eraser ------------------------------------------------------------------------------
def test_a_brush_stroke_is_one_undo_step_and_makes_the_mask_a_drawn_one(session):
    made = clicked(session)
    before = pixel_mask(made, 100, 100)
    painted_label = session.paint([(40, 50), (45, 52), (50, 55)], 3)
    assert painted_label.rle is not None and MASK_METHOD not in painted_label.attributes
    assert not needs_mask(painted_label, "grabcut")
    mask = pixel_mask(session.project.annotation(made.id), 100, 100)
    assert mask[52, 45] and (mask | before).sum() == mask.sum()
    session.undo()
    assert session.project.annotation(made.id) == made


def test_painting_outside_the_box_moves_the_points_and_the_box_to_the_mask(session):
    made = clicked(session)
    grown = session.paint([(95, 60)], 2)  # right of the right point (88, 55)
    mask = pixel_mask(grown, 100, 100)
    assert grown.extreme == following_points(made.extreme, mask)
    assert grown.box.x + grown.box.w == 98  # column 97 is the right-most painted
    rows, cols = np.nonzero(mask)
    assert (grown.box.x, grown.box.y) == (cols.min(), rows.min())
    assert grown.extreme.top == TOP  # still on the mask's top row: kept as clicked


def test_the_eraser_stops_short_of_a_clicked_point_so_the_box_stays(session):
    clicked(session)
    made = session.paint([(12, 40)], 1)  # make the left point a mask pixel for sure
    erased = session.paint([(13, 40), (20, 40)], 2, erase=True)  # up to the point, not around it
    mask = pixel_mask(erased, 100, 100)
    left_col, left_row = int(made.extreme.left[0]), int(made.extreme.left[1])
    assert mask[left_row, left_col] and not mask[40, 16]  # the point's pixel kept, the rest erased
    assert erased.extreme == made.extreme and erased.box == made.box


def test_erasing_all_around_a_point_takes_the_point_inside(session):
    clicked(session)
    session.paint([(12, 40)], 1)
    erased = session.paint([(12, 40), (12.5, 40)], 15, erase=True)
    assert erased.extreme.left[0] > 12 and erased.box.x > 12


def test_erasing_the_whole_mask_is_refused(session):
    clicked(session)
    with pytest.raises(UserError, match="delete it instead"):
        session.paint([(50, 50)], 100, erase=True)


def test_the_brush_with_nothing_selected_paints_a_new_object(session):
    new = session.paint([(20, 20), (30, 30)], 4)
    assert session.selected == ("label", new.id)
    assert session.project.annotations(1) == [new]
    assert extreme_points_from_mask(pixel_mask(new, 100, 100)) == new.extreme
    with pytest.raises(UserError, match="select an object first"):
        session.selected = None
        session.paint([(50, 50)], 3, erase=True)


def test_the_brush_draws_a_round_dab_and_a_thick_line():
    dab = painted(np.zeros((20, 20), bool), [(10.5, 10.5)], 3)
    assert dab[10, 10] and dab[10, 13] and not dab[10, 14] and not dab[13, 13]
    line = painted(np.zeros((20, 40), bool), [(5, 10), (35, 10)], 2)
    assert line[8:13, 5:36].all() and not line[14, 20]


# -- the outline -----------------------------------------------------------------------------------
def test_the_outline_follows_the_largest_part():
    mask = np.zeros((60, 60), bool)
    mask[10:40, 10:40] = True
    mask[50:55, 50:55] = True
    vertices = outline(mask)
    assert sorted(vertices) == sorted([(10.5, 10.5), (10.5, 39.5), (39.5, 39.5), (39.5, 10.5)])


@pytest.mark.parametrize("tolerance", [0.0025, 0.02, 0.1])
def test_the_outline_strays_from_the_mask_by_at_most_its_tolerance(tolerance):
    mask = np.zeros((200, 300), np.uint8)
    cv2.ellipse(mask, (150, 100), (120, 70), 15, 0, 360, 1, -1)
    vertices = outline(mask.astype(bool), tolerance)
    polygon = np.array(vertices, np.float32).reshape(-1, 1, 2)
    border, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    worst = max(abs(cv2.pointPolygonTest(polygon, (float(x) + 0.5, float(y) + 0.5), True))
                for x, y in border[0].reshape(-1, 2))
    assert worst <= outline_pixels(tolerance, 241) + 0.5
    assert len(vertices) <= {0.0025: 60, 0.02: 20, 0.1: 8}[tolerance]


def test_dragging_the_outline_keeps_holes_and_other_parts():
    mask = np.zeros((60, 60), bool)
    mask[10:40, 10:40] = True
    mask[20:25, 20:25] = False  # a hole
    mask[50:55, 50:55] = True  # another part
    before = outline(mask)
    after = [(x + 5 if x > 30 else x, y) for x, y in before]  # the right side moved out by 5 px
    moved = reshaped(mask, before, after)
    assert moved[25, 42] and not moved[25, 46]
    assert not moved[20:25, 20:25].any() and moved[50:55, 50:55].all()
    assert (moved[:, :40] == mask[:, :40]).all()


def test_editing_the_outline_in_the_session_stores_the_pixels_and_keeps_the_vertices(session):
    made = clicked(session)
    square = session.paint([(30, 30), (70, 70)], 20)
    vertices = session.outline()
    pulled = [(x, y) if x < 95 else (x, y) for x, y in vertices]
    pulled.insert(1, (5.5, 5.5))
    edited = session.edit_outline(pulled)
    assert pixel_mask(edited, 100, 100)[6, 6] and edited.box.x == 5 and edited.box.y == 5
    assert session.outline() == pulled  # the vertices as the person left them
    session.undo()
    assert session.project.annotation(made.id) == square
    assert session.outline() != pulled


def test_an_outline_needs_three_points(session):
    clicked(session)
    with pytest.raises(UserError, match="three points"):
        session.edit_outline([(10, 10), (20, 20)])


def test_ctrl_click_selects_a_drawn_mask_by_its_pixels(session):
    ring = session.paint([(20, 20), (80, 20), (80, 80), (20, 80), (20, 20)], 3)
    assert session.select_at(50, 21) == ("label", ring.id)
    assert session.select_at(50, 50) is None  # inside its box, outside its pixels


def test_eval_masks_reports_the_iou_after_each_correction_and_the_noc(tmp_path, capsys):
    import json

    import cv2

    from annotator.cli import main
    from converters import Annotation, Category, Dataset, ImageRecord, write_coco
    from converters.masks import mask_to_rle
    truth = np.zeros((120, 160), bool)
    truth[20:100, 20:140] = True
    photo = object_photo(truth)
    photo[20:100, 110:140] = photo[20:100, 0:30][:, ::-1]  # its right end looks like the background
    cv2.imwrite(str(tmp_path / "a.png"), photo[:, :, ::-1])
    ann = Annotation(1, 1, 1, extreme_points_from_mask(truth).box, rle=mask_to_rle(truth))
    write_coco(Dataset([ImageRecord(1, "a.png", 160, 120)], [Category(1, "thing")], [ann]), tmp_path / "gt.json")
    main(["eval-masks", str(tmp_path / "gt.json"), "--method", "grabcut", "--corrections", "3", "--json"])
    scores = json.loads(capsys.readouterr().out)
    after = scores["iou_after"]
    assert len(after) == 4 and after[-1] > after[0] + 0.02, after
    assert scores["noc"]["85"] <= 4 and scores["ms_per_recompute"] > 0


def test_the_simulated_annotator_counts_the_corrections_that_lowered_the_iou(tmp_path):
    import cv2

    from converters import Annotation, Category, Dataset, ImageRecord
    from converters.masks import mask_to_rle
    from detectors.mask_backends import MaskResult
    from detectors.mask_eval import score_masks

    truth = np.zeros((120, 160), bool)
    truth[20:100, 20:140] = True
    cv2.imwrite(str(tmp_path / "a.png"), object_photo(truth)[:, :, ::-1])
    ann = Annotation(1, 1, 1, extreme_points_from_mask(truth).box, rle=mask_to_rle(truth))
    dataset = Dataset([ImageRecord(1, "a.png", 160, 120)], [Category(1, "thing")], [ann])
    cut = {0: 80, 1: 110, 2: 80}  # the mask's right edge after 0, 1 and 2 corrections: better, then worse

    def make(image, clicks, points, before):
        mask = truth.copy()
        mask[:, cut[len(points)]:] = False
        return MaskResult(mask, "test")
    scores = score_masks(dataset, tmp_path, make, corrections=2)
    assert scores.iou_after[0] < scores.iou_after[1] > scores.iou_after[2]
    assert scores.lowered == 0.5  # one of the two corrections made it worse
