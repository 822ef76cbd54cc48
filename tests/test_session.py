"""The labelling session without a window: clicks, edits, undo and redo, suggestions."""
import os

import pytest

from annotator.session import LabellingSession
from annotator.store import Project
from converters import Annotation, Box, ExtremePoints, ImageStatus, Review, UserError

TOP, LEFT, BOTTOM, RIGHT = (50, 10), (12, 40), (47, 90), (88, 55)


@pytest.fixture
def session(tmp_path):
    project = Project.create(tmp_path / "p.sqlite", tmp_path)
    project.add_images([("a.jpg", 100, 100), ("b.jpg", 100, 100)])
    project.add_category("date")
    project.add_category("fig")
    s = LabellingSession(project)
    s.open_image(1)
    yield s
    project.close()


def four_clicks(session, order=(BOTTOM, TOP, RIGHT, LEFT)):
    made = [session.click(*p) for p in order]
    assert made[:3] == [None, None, None]
    return made[3]


def test_four_clicks_in_any_order_make_an_object_with_the_exact_box(session):
    obj = four_clicks(session)
    assert obj.extreme == ExtremePoints(TOP, LEFT, BOTTOM, RIGHT)
    assert obj.box == Box(12, 10, 76, 80)
    assert obj.polygons == [obj.extreme.octagon()]  # the placeholder mask
    assert session.project.annotations(1) == [obj]
    assert session.clicks.points == []  # ready for the next object


def test_a_contradicting_fourth_click_is_refused_and_the_first_three_kept(session):
    for p in (TOP, LEFT, BOTTOM):
        session.click(*p)
    with pytest.raises(UserError, match="is both the"):
        session.click(5, 5)  # above the top and left of the left point: both extremes at once
    assert session.clicks.points == [TOP, LEFT, BOTTOM]
    assert session.project.annotations(1) == []
    assert session.click(*RIGHT) is not None


def test_a_fourth_click_while_another_program_writes_keeps_the_first_three(session, tmp_path):
    import sqlite3

    for p in (TOP, LEFT, BOTTOM):
        session.click(*p)
    other = sqlite3.connect(tmp_path / "p.sqlite", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # as another program's long write holds the project
    session.project._db.execute("PRAGMA busy_timeout = 50")
    with pytest.raises(UserError, match="is busy"):
        session.click(*RIGHT)
    other.execute("ROLLBACK")
    other.close()
    assert session.clicks.points == [TOP, LEFT, BOTTOM] and session.project.annotations(1) == []
    assert session.click(*RIGHT).extreme == ExtremePoints(TOP, LEFT, BOTTOM, RIGHT)


def test_backspace_removes_the_last_click_and_escape_all(session):
    session.click(*TOP)
    session.click(*LEFT)
    session.clicks.remove_last()
    assert session.clicks.points == [TOP]
    assert session.clicks.box_so_far() == (50, 10, 50, 10)
    session.clicks.cancel()
    assert session.clicks.points == [] and session.clicks.box_so_far() is None


def test_a_click_outside_the_image_is_refused_and_one_on_its_edge_clamped(session):
    with pytest.raises(UserError, match="outside the image"):
        session.click(150, 20)
    session.click(-1.5, 20)
    assert session.clicks.points == [(0.0, 20)]


def test_dragging_a_point_moves_the_box_and_undo_puts_it_back(session):
    obj = four_clicks(session)
    moved = session.move_point(obj.id, "right", 95, 60)
    assert moved.box == Box(12, 10, 83, 80) and session.project.annotation(obj.id).box == moved.box
    assert session.undo() == "move right point"
    assert session.project.annotation(obj.id).box == obj.box
    assert session.redo() == "move right point"
    assert session.project.annotation(obj.id).extreme.right == (95, 60)


def test_a_drag_that_breaks_the_points_is_refused_and_the_history_untouched(session):
    obj = four_clicks(session)
    with pytest.raises(UserError, match="right point"):
        session.move_point(obj.id, "right", 5, 50)  # left of the left point
    assert session.project.annotation(obj.id) == obj
    assert session.undo() == "add object" and session.project.annotations(1) == []


def test_undo_and_redo_walk_a_whole_history_and_ids_stay_the_same(session):
    obj = four_clicks(session)
    session.set_category(obj.id, 2)
    session.move_point(obj.id, "top", 50, 5)
    session.delete(obj.id)
    final = session.project.annotations(1)
    assert final == []
    assert [session.undo() for _ in range(5)] == ["delete object", "move top point", "change category",
                                                  "add object", None]
    assert session.project.annotations(1) == []
    assert [session.redo() for _ in range(3)] == ["add object", "change category", "move top point"]
    [back] = session.project.annotations(1)
    assert back.id == obj.id and back.category_id == 2 and back.extreme.top == (50, 5)


def test_a_new_edit_after_undo_drops_the_redo_side(session):
    obj = four_clicks(session)
    session.set_category(obj.id, 2)
    session.undo()
    session.delete(obj.id)
    assert session.redo() is None


def test_accepting_and_rejecting_suggestions_are_undoable(session):
    project = session.project
    ep = ExtremePoints(TOP, LEFT, BOTTOM, RIGHT)
    one, two = project.add_suggestions([Annotation.from_extreme(0, 1, 1, ep, score=0.9),
                                        Annotation.from_extreme(0, 1, 2, ep, score=0.4)])
    label = session.accept(one.id)
    assert project.annotations(1) == [label] and label.review is Review.ACCEPTED
    session.reject(two.id)
    assert project.suggestions(1) == []
    session.undo()
    assert [s.id for s in project.suggestions(1)] == [two.id]
    session.undo()
    assert [s.id for s in project.suggestions(1)] == [one.id, two.id] and project.annotations(1) == []
    session.redo()
    assert [a.id for a in project.annotations(1)] == [label.id]


def test_every_edit_is_in_the_store_for_the_next_session(session, tmp_path):
    obj = four_clicks(session)
    session.set_category(obj.id, 2)
    session.project.close()
    with Project.open(tmp_path / "p.sqlite") as reopened:
        [back] = reopened.annotations(1)
        assert back.category_id == 2 and back.extreme == obj.extreme


def test_listeners_hear_every_change(session):
    heard = []
    session.history.listeners.append(lambda: heard.append(len(session.project.annotations(1))))
    four_clicks(session)
    session.undo()
    session.redo()
    assert heard == [1, 0, 1]


def test_space_marks_the_image_done_and_n_finds_the_next_unfinished(session):
    assert session.next_unfinished() == 2
    session.mark_done()
    assert session.project.image(1).status is ImageStatus.DONE
    session.open_image(2)
    session.mark_done()
    assert session.next_unfinished() is None
    session.mark_done()  # again: back in progress
    assert session.next_unfinished() == 2


def test_tab_cycles_labels_then_suggestions_and_delete_and_enter_act_on_the_selection(session):
    obj = four_clicks(session)
    ep = ExtremePoints(TOP, LEFT, BOTTOM, RIGHT)
    one, two = session.project.add_suggestions([Annotation.from_extreme(0, 1, 1, ep, score=0.9)] * 2)
    assert session.selected == ("label", obj.id)  # a new object is selected after its 4th click
    assert [session.select_next() for _ in range(4)] == [
        ("suggestion", one.id), ("suggestion", two.id), ("label", obj.id), ("suggestion", one.id)]
    session.delete_selected()  # the selected suggestion is rejected, not deleted
    assert [s.id for s in session.project.suggestions(1)] == [two.id]
    accepted = session.accept_selected()  # nothing selected now: the first pending one
    assert session.selected == ("label", accepted.id) and session.project.suggestions(1) == []
    session.delete_selected()
    assert [a.id for a in session.project.annotations(1)] == [obj.id]
    with pytest.raises(UserError, match="select an object first"):
        session.delete_selected()


def test_a_second_labelling_window_on_the_project_is_refused(session, tmp_path):
    session.project.lock_for_labelling()
    with Project.open(tmp_path / "p.sqlite") as other:
        with pytest.raises(UserError, match=r"is in use by a labelling window \(process \d+\): close it"):
            other.lock_for_labelling()
    session.project.close()
    with Project.open(tmp_path / "p.sqlite") as later:
        later.lock_for_labelling()  # the first one closed: free again


def test_accepting_all_above_a_score_is_one_undoable_edit(session):
    ep = ExtremePoints(TOP, LEFT, BOTTOM, RIGHT)
    low, high, higher = session.project.add_suggestions(
        [Annotation.from_extreme(0, 1, 1, ep, score=s) for s in (0.3, 0.6, 0.9)])
    labels = session.accept_all(0.5)
    assert sorted(a.score for a in labels) == [0.6, 0.9]
    assert [s.id for s in session.project.suggestions(1)] == [low.id]
    assert session.undo() == "accept 2 suggestions"
    assert len(session.project.suggestions(1)) == 3 and session.project.annotations(1) == []
    with pytest.raises(UserError, match="no pending suggestion scores 0.95 or more"):
        session.accept_all(0.95)


def test_dragging_a_suggestions_point_accepts_it_and_one_undo_takes_both_back(session):
    ep = ExtremePoints(TOP, LEFT, BOTTOM, RIGHT)
    [suggestion] = session.project.add_suggestions([Annotation.from_extreme(0, 1, 1, ep, score=0.7)])
    label = session.move_suggestion_point(suggestion.id, "right", 95, 60)
    assert label.box == Box(12, 10, 83, 80) and label.source.value == "human"
    assert session.project.suggestions(1) == [] and session.project.annotations(1) == [label]
    assert session.undo() == "move right point"
    assert session.project.annotations(1) == [] and [s.id for s in session.project.suggestions(1)] == [suggestion.id]
    session.redo()
    assert [a.id for a in session.project.annotations(1)] == [label.id]
    with pytest.raises(UserError, match="no pending suggestion"):
        session.move_suggestion_point(suggestion.id, "right", 95, 60)


def test_a_digit_with_a_label_selected_changes_its_category_and_undo_restores_it(session):
    obj = four_clicks(session)
    session.selected = None
    assert session.choose_category(2) is None  # nothing selected: only the next object's category
    assert session.category_id == 2 and session.project.annotation(obj.id).category_id == 1
    session.select_next()
    assert session.choose_category(1) is None  # already that category: nothing to undo
    changed = session.choose_category(2)
    assert changed.category_id == 2 and session.undo() == "change category"
    assert session.project.annotation(obj.id).category_id == 1


def test_the_lock_file_is_never_followed_through_a_link(session, tmp_path):
    """With p.sqlite.lock a link to another file, taking the project truncated that file."""
    victim = tmp_path / "precious.txt"
    victim.write_text("the person's own file")
    (tmp_path / "p.sqlite.lock").symlink_to(victim)
    session.project.lock_for_labelling("annotator masks")
    assert victim.read_text() == "the person's own file"
    with Project.open(tmp_path / "p.sqlite") as other:
        with pytest.raises(UserError, match="is in use by another labelling window or command"):
            other.lock_for_labelling()  # the lock holds though its holder could not be written down


@pytest.mark.parametrize("link", ["symbolic", "hard"])
def test_a_project_opened_through_a_link_is_the_same_project_to_the_lock(session, tmp_path, link):
    session.project.lock_for_labelling("annotator masks")
    other = tmp_path / "elsewhere" / "q.sqlite"
    other.parent.mkdir()
    if link == "symbolic":
        other.symlink_to(tmp_path / "p.sqlite")
    else:
        os.link(tmp_path / "p.sqlite", other)
    with Project.open(other) as through_the_link:
        with pytest.raises(UserError, match="is in use by"):
            through_the_link.lock_for_labelling()
