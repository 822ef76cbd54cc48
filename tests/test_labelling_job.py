"""The session's side of a whole labelling job, without a window: categories edited and undone, image
status, selection at a point, box-only objects, attributes, clearing suggestions."""
import pytest
from hypothesis import given
from hypothesis import strategies as st

from annotator.export import export_project
from annotator.palette import click_color
from annotator.session import parse_value, shown_value
from annotator.store import progress_of
from converters import Annotation, Box, ExtremePoints, ImageStatus, Source, UserError
from converters.masks import polygons_contain
from tests.samples import image
from tests.test_session import BOTTOM, LEFT, RIGHT, TOP, session  # noqa: F401 (session: the fixture)


def four_clicks(session, points=(TOP, LEFT, BOTTOM, RIGHT)):
    for p in points:
        made = session.click(*p)
    return made


def rows(project):
    """Everything stored, for comparing before and after an undo."""
    return ([(c.id, c.name, c.color) for c in project.categories()],
            [project.annotations(i) for i in (1, 2)], [project.suggestions(i, None) for i in (1, 2)])


def test_categories_are_added_renamed_recoloured_reordered_and_each_change_undone(session):
    walnut = session.add_category("walnut")
    session.rename_category(walnut.id, "  pecan ")
    session.recolor_category(walnut.id, "#123456")
    session.order_categories([walnut.id, 1, 2])
    assert [(c.name, c.color) for c in session.project.categories()][0] == ("pecan", "#123456")
    with pytest.raises(UserError, match="already a category called 'fig'"):
        session.rename_category(walnut.id, "fig")
    with pytest.raises(UserError, match="already a category called 'date'"):
        session.add_category("date")
    for expected in (["date", "fig", "pecan"], ["date", "fig", "pecan"], ["date", "fig", "walnut"],
                     ["date", "fig"]):
        session.undo()
        assert [c.name for c in session.project.categories()] == expected
    session.redo()
    assert [c.name for c in session.project.categories()] == ["date", "fig", "walnut"]


def test_deleting_a_used_category_takes_its_objects_and_suggestions_and_undo_puts_back_every_row(session):
    obj = four_clicks(session)
    session.project.add_suggestions([Annotation.from_extreme(0, 2, 1, obj.extreme, score=0.4)], model="m")
    session.project.add_suggestions([Annotation.from_extreme(0, 2, 2, obj.extreme, score=0.6)], model="m")
    before = rows(session.project)
    session.delete_category(1)
    assert [c.name for c in session.project.categories()] == ["fig"] and session.category_id == 2
    assert session.project.annotations(1) == [] and [s.category_id for s in session.project.suggestions(2)] == [2]
    session.undo()
    assert rows(session.project) == before


def test_a_used_category_can_move_its_objects_to_another_first(session):
    obj = four_clicks(session)
    before = rows(session.project)
    session.delete_category(1, move_to=2)
    assert session.project.annotation(obj.id).category_id == 2
    with pytest.raises(UserError, match="another category"):
        session.delete_category(2, move_to=2)
    session.undo()
    assert rows(session.project) == before


def test_a_new_object_is_selected_until_the_first_click_of_the_next(session):
    made = four_clicks(session)
    assert session.selected == ("label", made.id)
    assert session.choose_category(2).category_id == 2  # a digit now fixes the new object's category
    session.click(*TOP)
    assert session.selected is None  # the next object is begun: a digit now is for it alone
    assert session.choose_category(1) is None and session.project.annotation(made.id).category_id == 2


def test_the_first_object_puts_the_image_in_progress_and_undo_takes_both_back(session):
    four_clicks(session)
    assert session.project.image(1).status is ImageStatus.IN_PROGRESS
    session.undo()
    assert session.project.image(1).status is ImageStatus.TODO and session.project.annotations(1) == []


def test_skip_keeps_its_reason_and_done_and_skip_are_undone_like_any_edit(session):
    session.skip("  blurred ")
    image1 = session.project.image(1)
    assert image1.status is ImageStatus.SKIPPED and image1.attributes == {"skip_reason": "blurred"}
    assert session.next_unfinished() == 2
    session.skip()  # again: no longer skipped, and nothing was labelled
    assert session.project.image(1).status is ImageStatus.TODO and session.project.image(1).attributes == {}
    session.mark_done()
    assert session.project.image(1).status is ImageStatus.DONE
    for expected in (ImageStatus.TODO, ImageStatus.SKIPPED):
        session.undo()
        assert session.project.image(1).status is expected
    assert session.project.image(1).attributes == {"skip_reason": "blurred"}


def test_select_at_takes_the_smallest_object_whose_mask_holds_the_point(session):
    big = four_clicks(session, ((50, 5), (5, 50), (50, 95), (95, 50)))
    small = four_clicks(session, ((40, 30), (30, 40), (40, 50), (50, 40)))
    assert session.select_at(40, 40) == ("label", small.id)
    assert session.select_at(60, 60) == ("label", big.id)
    assert session.select_at(8, 8) is None  # inside the big box, outside its octagon
    [s] = session.project.add_suggestions([Annotation.from_extreme(0, 1, 1, ExtremePoints(
        (40, 36), (36, 40), (40, 44), (44, 40)), score=0.5)])
    assert session.select_at(40, 40) == ("suggestion", s.id)


def test_a_box_only_object_is_resized_and_four_clicks_give_it_extreme_points_in_one_undo(session):
    box = session.project.add_annotation(Annotation(0, 1, 2, Box(10, 10, 30, 20), source=Source.IMPORTED))
    session.selected = ("label", box.id)
    resized = session.resize_box(box.id, Box(45, 35, -40, -30))  # dragged past the other corner
    assert resized.box == Box(5, 5, 40, 30)
    clicked = four_clicks(session)
    assert clicked.id == box.id and clicked.category_id == 2 and clicked.extreme == ExtremePoints(
        TOP, LEFT, BOTTOM, RIGHT)
    assert clicked.box == Box(12, 10, 76, 80) and clicked.polygons and len(session.project.annotations(1)) == 1
    session.undo()
    assert session.project.annotation(box.id).extreme is None and session.project.annotation(box.id).box == resized.box
    with pytest.raises(UserError, match="drag those instead"):
        session.resize_box(four_clicks(session, ((50, 5), (5, 50), (50, 95), (95, 50))).id, Box(0, 0, 5, 5))


def test_attributes_and_the_crowd_flag_are_set_removed_and_undone(session):
    obj = four_clicks(session)
    session.set_attribute(obj.id, "occluded", True)
    session.set_attribute(obj.id, "crowd", True)
    session.set_attribute(obj.id, "colour", "brown")
    now = session.project.annotation(obj.id)
    assert now.iscrowd and now.attributes == {"mask_method": "octagon", "occluded": True, "colour": "brown"}
    session.set_attribute(obj.id, "occluded", None)
    assert "occluded" not in session.project.annotation(obj.id).attributes
    with pytest.raises(UserError, match="kept by the mask backends"):
        session.set_attribute(obj.id, "mask_method", "drawn")
    for _ in range(4):
        session.undo()
    assert session.project.annotation(obj.id) == obj


def test_reject_all_and_clearing_one_models_suggestions_are_undone(session):
    ep = ExtremePoints(TOP, LEFT, BOTTOM, RIGHT)
    session.project.replace_suggestions(1, "/runs/a", [Annotation.from_extreme(0, 1, 1, ep, score=0.5)] * 2, 0.3)
    session.project.replace_suggestions(2, "/runs/a", [Annotation.from_extreme(0, 2, 1, ep, score=0.5)], 0.3)
    assert session.project.prelabelled("/runs/a") == {1: 0.3, 2: 0.3}
    session.project.add_suggestions([Annotation.from_extreme(0, 2, 1, ep, score=0.5)], model="/runs/b")
    assert session.reject_all() == 2 and session.project.suggestions(1) == []
    session.undo()
    assert len(session.project.suggestions(1)) == 2
    assert session.project.pending_by_model() == {"/runs/a": 3, "/runs/b": 1}
    assert session.clear_model("/runs/a") == 3
    assert session.project.pending_by_model() == {"/runs/b": 1}
    assert session.project.prelabelled("/runs/a") == {}  # a later run suggests there again
    session.undo()
    assert session.project.pending_by_model() == {"/runs/a": 3, "/runs/b": 1}


@given(st.one_of(st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=False, allow_infinity=False),
                 st.text(min_size=1).filter(lambda t: t.strip() == t and parse_value(t) == t)))
def test_an_attribute_value_reads_back_as_it_was_shown(value):
    assert parse_value(shown_value(value)) == value


def test_clicks_in_progress_take_a_colour_no_category_has():
    assert click_color(["#e6194b", "#3cb44b"]) == "#ffffff"
    assert click_color(["#ffffff", "#fefefe"]) == "#00ffff"
    assert click_color(["#ffffff", "#00ffff", "#ff00ff"]) == "#000000"


def test_a_point_inside_a_bridged_hole_is_outside_the_mask():
    ring = [0, 0, 10, 0, 10, 10, 0, 10, 0, 0, 3, 3, 3, 7, 7, 7, 7, 3, 3, 3]  # a square with a hole, bridged
    assert polygons_contain([ring], 1, 5) and not polygons_contain([ring], 5, 5)
    assert not polygons_contain([ring], 11, 5)


def test_the_start_pages_progress_and_an_export_that_refuses_a_project_as_output(session, tmp_path):
    four_clicks(session)
    session.mark_done()
    assert progress_of(session.project.path) == (1, 2) and progress_of(tmp_path / "nothing.sqlite") is None
    with pytest.raises(UserError, match="is the input or a project file"):
        export_project(session.project.path, session.project.path, "coco")
    image(tmp_path / "a.jpg", 100, 100)
    done = export_project(session.project.path, tmp_path / "out.json", "coco")
    assert (done.images, done.annotations) == (2, 1) and (tmp_path / "out.json").is_file()


@pytest.mark.parametrize("fmt, kept", [
    ("coco", {"occluded", "truncated", "colour", "crowd"}), ("voc", {"occluded", "truncated", "difficult"}),
    ("labelme", {"occluded", "truncated", "colour", "crowd"}), ("cvat", {"occluded", "truncated", "colour", "crowd"}),
])
def test_attributes_set_in_the_session_survive_every_export_that_holds_them(session, tmp_path, fmt, kept):
    from converters.formats import read_dataset

    image(tmp_path / "a.jpg", 100, 100)
    image(tmp_path / "b.jpg", 100, 100)
    obj = four_clicks(session)
    for name, value in (("occluded", True), ("truncated", True), ("difficult", True), ("colour", "brown")):
        session.set_attribute(obj.id, name, value)
    session.set_attribute(four_clicks(session, ((50, 5), (5, 50), (50, 95), (95, 50))).id, "crowd", True)
    out = tmp_path / ("out.json" if fmt == "coco" else "out")
    export_project(session.project.path, out, fmt)
    read = read_dataset(out, fmt).dataset
    first = min(read.annotations, key=lambda a: a.box.area)
    found = {k for k in ("occluded", "truncated", "difficult", "colour")
             if first.attributes.get(k) not in (None, False)}
    found |= {"crowd"} if any(a.iscrowd for a in read.annotations) else set()
    assert found >= kept - {"crowd"} and ("crowd" in found) == ("crowd" in kept)
    assert first.attributes.get("colour", "brown") == "brown"
