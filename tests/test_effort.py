"""The seconds a person spends on each object and how it came to be, read off a clock the test moves."""
import pytest

from annotator.effort import Origin, Stopwatch, described
from annotator.session import LabellingSession
from annotator.store import Project
from converters import Annotation, ExtremePoints

TOP, LEFT, BOTTOM, RIGHT = (50, 10), (12, 40), (47, 90), (88, 55)
POINTS = ExtremePoints(TOP, LEFT, BOTTOM, RIGHT)


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now

    def wait(self, seconds):
        self.now += seconds


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def session(tmp_path, clock):
    project = Project.create(tmp_path / "p.sqlite", tmp_path)
    project.add_images([("a.jpg", 100, 100)])
    project.add_category("date")
    s = LabellingSession(project, clock=clock)
    s.open_image(1)
    yield s
    project.close()


def click_object(session, clock, gap):
    for point in (TOP, LEFT, BOTTOM, RIGHT):
        clock.wait(gap)
        made = session.click(*point)
    return made


def suggest(session, count=1, score=0.9):
    return session.project.add_suggestions([Annotation.from_extreme(0, 1, 1, POINTS, score=score)] * count)


def test_four_clicks_count_from_the_first_click_to_the_fourth(session, clock):
    clock.wait(30)  # looking for the object before the first click is not its time
    label = click_object(session, clock, gap=2)
    assert session.project.effort(label.id) == (Origin.CLICKED, 6)


def test_a_pause_of_over_a_minute_is_not_counted(session, clock):
    session.click(*TOP)
    clock.wait(2)
    session.click(*LEFT)
    clock.wait(300)  # gone for coffee
    session.click(*BOTTOM)
    clock.wait(3)
    label = session.click(*RIGHT)
    assert session.project.effort(label.id) == (Origin.CLICKED, 5)


def test_the_next_object_starts_from_zero(session, clock):
    click_object(session, clock, gap=2)
    second = click_object(session, clock, gap=1)
    assert session.project.effort(second.id) == (Origin.CLICKED, 3)


def test_edits_of_a_label_add_their_time(session, clock):
    label = click_object(session, clock, gap=2)
    clock.wait(4)
    session.move_point(label.id, "top", 50, 12)
    assert session.project.effort(label.id) == (Origin.CLICKED, 10)


def test_a_suggestion_selected_then_accepted_counts_from_the_selection(session, clock):
    [s] = suggest(session)
    clock.wait(20)
    session.select(("suggestion", s.id))
    clock.wait(1.5)
    label = session.accept_selected()
    assert session.project.effort(label.id) == (Origin.ACCEPTED, 1.5)


def test_enter_without_a_selection_counts_the_time_spent_judging(session, clock):
    [s] = suggest(session)
    session.select(None)
    clock.wait(3)
    label = session.accept_selected()
    assert session.project.effort(label.id) == (Origin.ACCEPTED, 3)


def test_an_accepted_suggestion_edited_afterwards_counts_as_edited(session, clock):
    [s] = suggest(session)
    session.select(("suggestion", s.id))
    clock.wait(1)
    label = session.accept_selected()
    clock.wait(2)
    session.move_point(label.id, "left", 13, 40)
    assert session.project.effort(label.id) == (Origin.EDITED, 3)


def test_dragging_a_suggestions_point_makes_an_edited_label(session, clock):
    [s] = suggest(session)
    session.select(("suggestion", s.id))
    clock.wait(2.5)
    label = session.move_suggestion_point(s.id, "top", 50, 12)
    assert session.project.effort(label.id) == (Origin.EDITED, 2.5)


def test_accepting_many_at_once_shares_the_time(session, clock):
    suggest(session, count=4)
    session.select(None)
    clock.wait(8)
    labels = session.accept_all(0.5)
    assert [session.project.effort(label.id) for label in labels] == [(Origin.ACCEPTED, 2)] * 4


def test_a_deleted_label_brought_back_by_undo_keeps_its_time(session, clock):
    label = click_object(session, clock, gap=2)
    session.delete(label.id)
    assert session.project.effort_summary()["clicked"]["objects"] == 0  # only labels that exist count
    session.undo()
    assert session.project.effort(label.id) == (Origin.CLICKED, 6)
    assert session.project.effort_summary()["clicked"] == {"objects": 1, "median_seconds": 6}


def test_a_new_label_never_inherits_a_deleted_ones_time(session, clock):
    label = click_object(session, clock, gap=2)
    session.delete(label.id)
    reused = session.project.add_annotation(Annotation.from_extreme(0, 1, 1, POINTS))  # an import, say
    assert reused.id == label.id  # SQLite gave the id again
    assert session.project.effort(reused.id) is None


def test_stats_give_the_median_per_origin_and_what_the_model_supplied(session, clock):
    for gap in (1, 2, 3):
        click_object(session, clock, gap=gap)
    [s] = suggest(session)
    session.select(("suggestion", s.id))
    clock.wait(1)
    session.accept_selected()
    effort = session.project.stats()["effort"]
    assert effort == {"clicked": {"objects": 3, "median_seconds": 6}, "accepted": {"objects": 1, "median_seconds": 1},
                      "edited": {"objects": 0, "median_seconds": 0.0}}
    assert described(effort) == ("median time per object: clicked 6.0 s (3), accepted 1.0 s (1); "
                                 "the model supplied 1 of the 4 timed objects")


def test_the_stopwatch_charges_a_gap_only_to_the_object_it_continues():
    clock = Clock()
    watch = Stopwatch(clock)
    assert watch.lap("a") == 0
    clock.wait(2)
    assert watch.lap("a") == 2
    clock.wait(3)
    assert watch.lap("b") == 0  # a first touch
    clock.wait(4)
    assert watch.lap("c", ends=True) == 4  # an accept ends the work on c
