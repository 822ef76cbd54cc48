import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import psycopg
import pytest

from annotator.changes import OUTSIDE, Change, Part
from annotator.effort import Origin
from annotator.schema import SCHEMA_VERSION
from annotator.store import Project
from converters import Annotation, Category, ExtremePoints, ImageStatus, Review, Shape, Source, UserError
from converters.geometry import Box

EP = ExtremePoints(top=(50, 10), left=(12, 40), bottom=(47, 90), right=(88, 55))


@pytest.fixture
def project(tmp_path):
    (tmp_path / "images").mkdir()
    for name in ("a.jpg", "b.jpg"):
        (tmp_path / "images" / name).write_bytes(b"")
    p = Project.create(tmp_path / "p.sqlite", tmp_path / "images")
    p.add_images([("a.jpg", 100, 100), ("b.jpg", 100, 100)])
    p.add_category("date")
    yield p
    p.close()


@pytest.fixture(params=["file", "team"])
def store(request, tmp_path):
    """The same project in either store: its SQLite file, or pushed into a team database on a real
    PostgreSQL server and opened by URL. `store.reopen()` is a second connection to it."""
    (tmp_path / "images").mkdir()
    for name in ("a.jpg", "b.jpg"):
        (tmp_path / "images" / name).write_bytes(b"")
    with Project.create(tmp_path / "p.sqlite", tmp_path / "images") as p:
        p.add_images([("a.jpg", 100, 100), ("b.jpg", 100, 100)])
        p.add_category("date")
    where = str(tmp_path / "p.sqlite")
    if request.param == "team":
        from annotator.team import push

        where = request.getfixturevalue("database")
        push(tmp_path / "p.sqlite", where)
    p = Project.open(where)
    p.reopen = lambda: Project.open(where)
    yield p
    p.close()


#: What a row the schema refuses (a category that does not exist) raises, in either store.
REFUSED = (sqlite3.IntegrityError, psycopg.errors.IntegrityError)


def label(project, image_id=1, source=Source.HUMAN) -> Annotation:
    cat = project.categories()[0]
    return Annotation.from_extreme(0, image_id, cat.id, EP, source=source)


def test_a_new_project_has_the_current_schema_in_wal_mode(project):
    assert project.schema_version == SCHEMA_VERSION
    assert project._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_every_edit_is_on_disk_when_the_call_returns(project, tmp_path):
    ann = project.add_annotation(label(project))
    other = sqlite3.connect(tmp_path / "p.sqlite")
    assert other.execute("SELECT COUNT(*) FROM annotations").fetchone()[0] == 1
    project.update_annotation(ann.with_extreme(ExtremePoints((50, 5), (12, 40), (47, 90), (88, 55))))
    assert other.execute("SELECT y, h FROM annotations").fetchone() == (5, 85)
    project.delete_annotation(ann.id)
    assert other.execute("SELECT COUNT(*) FROM annotations").fetchone()[0] == 0


def test_labels_come_back_as_they_were_stored(store, tmp_path):
    ann = label(store).with_mask(polygons=[EP.octagon()])
    stored = store.add_annotation(ann)
    with store.reopen() as again:
        (back,) = again.annotations(1)
    assert back.extreme == EP and back.box == EP.box and back.polygons == [EP.octagon()]
    assert back.id == stored.id and back.area == stored.area > 0


def test_area_is_the_mask_area_or_the_box_area(store):
    boxed = store.add_annotation(label(store))
    masked = store.add_annotation(label(store).with_mask(polygons=[[10, 10, 20, 10, 20, 30, 10, 30]]))
    assert boxed.area == EP.box.area and masked.area == 200


def test_suggestions_are_kept_apart_and_never_replace_labels(store):
    mine = store.add_annotation(label(store))
    (s1, s2) = store.add_suggestions([label(store, source=Source.MODEL)] * 2, model="run-1")
    assert store.annotations(1) == [mine]
    assert [s.review for s in store.suggestions(1)] == [Review.PENDING] * 2
    accepted = store.accept_suggestion(s1.id)
    store.reject_suggestion(s2.id)
    labels = store.annotations(1)
    assert labels[0] == mine and labels[1].id == accepted.id and accepted.source == Source.MODEL
    assert store.suggestions(1) == []
    with pytest.raises(UserError, match=f"no pending suggestion with id {s2.id}"):
        store.accept_suggestion(s2.id)


def test_image_status_changes_are_stored(store):
    store.set_status(2, ImageStatus.DONE)
    assert [im.file_name for im in store.images(ImageStatus.DONE)] == ["b.jpg"]
    assert store.stats()["images_by_status"] == {"todo": 1, "in-progress": 0, "done": 1, "skipped": 0}


def test_moved_or_vanished_images_are_listed_and_the_project_keeps_working(project, tmp_path):
    (tmp_path / "images" / "b.jpg").unlink()
    assert project.missing_images() == ["b.jpg"]
    project.add_annotation(label(project, image_id=2))
    assert len(project.annotations(2)) == 1


def test_the_project_and_its_images_can_move_together(project, tmp_path):
    project.close()
    (tmp_path / "p.sqlite").rename(tmp_path / "moved.sqlite")
    new_home = tmp_path / "elsewhere"
    new_home.mkdir()
    for name in ("moved.sqlite", "images"):
        (tmp_path / name).rename(new_home / name)
    with Project.open(new_home / "moved.sqlite") as p:
        assert p.image_root == (new_home / "images").resolve() and p.missing_images() == []


def test_opening_something_that_is_not_a_project_says_so(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    sqlite3.connect(tmp_path / "other.db").execute("CREATE TABLE t (x)")
    with pytest.raises(UserError, match="no such project file"):
        Project.open(tmp_path / "absent.sqlite")
    with pytest.raises(UserError, match="not an SQLite file"):
        Project.open(tmp_path / "notes.txt")
    with pytest.raises(UserError, match="an SQLite file, but not an annotator project"):
        Project.open(tmp_path / "other.db")
    assert (tmp_path / "notes.txt").read_text() == "hello"


def test_a_project_from_a_newer_version_is_refused_untouched(project, tmp_path):
    project._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    project.close()
    before = (tmp_path / "p.sqlite").read_bytes()
    with pytest.raises(UserError, match=f"newer annotator \\(schema {SCHEMA_VERSION + 1}; this one reads up to"):
        Project.open(tmp_path / "p.sqlite")
    assert (tmp_path / "p.sqlite").read_bytes() == before


def test_a_failing_migration_leaves_the_file_at_its_old_version(project, tmp_path, monkeypatch):
    from annotator import database, schema, store
    project.close()
    broken = schema.MIGRATIONS + ["ALTER TABLE images ADD COLUMN rating INTEGER; SELECT * FROM no_such_table"]
    monkeypatch.setattr(store, "MIGRATIONS", broken)
    monkeypatch.setattr(database, "MIGRATIONS", broken)
    monkeypatch.setattr(store, "SCHEMA_VERSION", len(broken))
    with pytest.raises(UserError, match=f"cannot upgrade the project to schema {len(broken)}"):
        Project.open(tmp_path / "p.sqlite")
    monkeypatch.undo()
    with Project.open(tmp_path / "p.sqlite") as p:
        assert p.schema_version == SCHEMA_VERSION
        assert "rating" not in [r[1] for r in p._db.execute("PRAGMA table_info(images)")]


def test_an_old_project_is_migrated_on_open(project, tmp_path, monkeypatch):
    from annotator import database, schema, store
    project.add_annotation(label(project))
    project.close()
    upgraded = schema.MIGRATIONS + ["ALTER TABLE images ADD COLUMN rating INTEGER"]
    monkeypatch.setattr(store, "MIGRATIONS", upgraded)
    monkeypatch.setattr(database, "MIGRATIONS", upgraded)
    monkeypatch.setattr(store, "SCHEMA_VERSION", len(upgraded))
    with Project.open(tmp_path / "p.sqlite") as p:
        assert p.schema_version == len(upgraded) and len(p.annotations(1)) == 1
        assert "rating" in [r[1] for r in p._db.execute("PRAGMA table_info(images)")]


def test_a_schema_1_project_gains_shapes_and_keeps_its_labels(tmp_path, monkeypatch):
    from annotator import database, schema, store
    monkeypatch.setattr(store, "MIGRATIONS", schema.MIGRATIONS[:1])
    monkeypatch.setattr(database, "MIGRATIONS", schema.MIGRATIONS[:1])
    monkeypatch.setattr(store, "SCHEMA_VERSION", 1)
    with Project.create(tmp_path / "old.sqlite", tmp_path) as p:
        p.add_images([("a.jpg", 100, 80)])
        p.add_category("fig")
        p._db.execute("INSERT INTO annotations (image_id, category_id, x, y, w, h, area, source, review, modified)"
                        " VALUES (1, 1, 1, 2, 3, 4, 12, 'human', 'accepted', 0)")
    monkeypatch.undo()
    with Project.open(tmp_path / "old.sqlite") as p:
        assert p.schema_version == SCHEMA_VERSION
        [ann] = p.annotations(1)
        assert ann.shape is Shape.REGION and ann.points is None and ann.box == Box(1, 2, 3, 4)
        line = p.add_annotation(Annotation.from_points(0, 1, 1, Shape.POLYLINE, [0, 0, 5, 5, 10, 0]))
        assert p.annotation(line.id).points == [0, 0, 5, 5, 10, 0]
        assert p.annotation(line.id).shape is Shape.POLYLINE


def test_killing_the_process_loses_at_most_the_edit_in_flight(project, tmp_path):
    project.close()
    script = textwrap.dedent(f"""
        import sys
        from annotator.store import Project
        from converters import Annotation
        from converters.geometry import Box
        p = Project.open({str(tmp_path / 'p.sqlite')!r})
        cat = p.categories()[0].id
        n = 0
        while True:
            p.add_annotation(Annotation(0, 1, cat, Box(1, 2, 3, 4)))
            n += 1
            print(n, flush=True)
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    reported = 0
    for line in child.stdout:
        reported = int(line)
        if reported >= 200:
            break
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    # The child runs ahead of our reading: what it printed before dying is still in the pipe.
    reported = max([reported] + [int(line) for line in child.stdout.read().split()])
    with Project.open(tmp_path / "p.sqlite") as p:
        assert p._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = len(p.annotations(1))
    # Every edit reported done is there; at most one more (committed, killed before it printed).
    assert reported <= stored <= reported + 1


def test_many_labels_are_stored_all_or_none(store):
    assert store.add_annotations([label(store)] * 3) == 3
    with pytest.raises(REFUSED):
        store.add_annotations([label(store), Annotation(0, 1, 999, Box(0, 0, 1, 1))])
    assert len(store.annotations(1)) == 3


def test_an_edit_that_fails_changes_nothing(store):
    store.add_annotation(label(store))
    with pytest.raises(REFUSED):
        store.add_annotation(Annotation(0, 1, 999, Box(0, 0, 1, 1)))  # no such category
    assert len(store.annotations(1)) == 1


def test_import_is_one_transaction_and_skips_labels_already_there(store, tmp_path):
    from converters import read_coco
    from tests.samples import tricky_coco, write_json
    path = write_json(tmp_path / "in.json", tricky_coco())
    ds = read_coco(path)
    first = store.import_dataset(ds, tmp_path / "images")
    second = store.import_dataset(ds, tmp_path / "images")
    assert first.annotations_added == 4 and second.annotations_added == 0
    assert second.report.lines() == [
        "2 images listed in the file are missing under the image folder (kept, marked missing)",
        "4 annotations already in the project: skipped",
    ]
    assert [c.name for c in store.categories()] == ["date", "things", "cat"]
    bad = read_coco(path)
    bad.annotations[-1].category_id = 12345
    with pytest.raises(KeyError):
        store.import_dataset(bad, tmp_path / "images")
    assert store.stats()["objects"] == 4


def test_labels_imported_are_read_back_at_once_by_the_connection_that_imported_them(store, tmp_path):
    from converters import read_coco
    from tests.samples import tricky_coco, write_json
    ds = read_coco(write_json(tmp_path / "in.json", tricky_coco()))
    store.import_dataset(ds, tmp_path / "images")  # it reads each image's labels as it writes
    read_back = sum(len(store.annotations(im.id)) for im in store.images())
    assert read_back == store.stats()["objects"] == 4


def test_subscribers_hear_each_commit_with_what_it_changed_and_where(store):
    heard = []
    store.subscribe(heard.append)
    ann = store.add_annotation(label(store, image_id=2))
    store.set_status(1, ImageStatus.DONE)
    [suggestion] = store.add_suggestions([label(store)])
    store.accept_suggestion(suggestion.id)
    store.add_category("fig")
    store.delete_annotation(ann.id)
    assert heard == [Change(frozenset({Part.LABELS}), frozenset({2})),
                     Change(frozenset({Part.IMAGES}), frozenset({1})),
                     Change(frozenset({Part.SUGGESTIONS}), frozenset({1})),
                     Change(frozenset({Part.LABELS, Part.SUGGESTIONS}), frozenset({1})),
                     Change(frozenset({Part.CATEGORIES}), frozenset()),
                     Change(frozenset({Part.LABELS}), frozenset({2}))]


def test_an_import_or_a_deleted_category_may_touch_any_image(store):
    heard = []
    store.subscribe(heard.append)
    store.add_annotation(label(store))
    store.delete_category(store.categories()[0].id)
    assert heard[-1] == Change(frozenset({Part.CATEGORIES, Part.LABELS, Part.SUGGESTIONS}), None)


def test_a_refused_edit_tells_nothing_and_an_unsubscribed_one_hears_nothing(store):
    heard = []
    unsubscribe = store.subscribe(heard.append)
    with pytest.raises(UserError):
        store.update_category(Category(99, "nut"))
    with pytest.raises(UserError):
        store.reject_suggestion(99)
    assert heard == []
    unsubscribe()
    store.add_category("fig")
    assert heard == []


def test_another_connections_commit_is_told_once_as_from_outside(store, tmp_path):
    heard = []
    store.subscribe(heard.append)
    assert not store.check_outside()
    store.add_category("fig")  # its own commit is told as itself, never again as from outside
    assert not store.check_outside()
    with store.reopen() as other:
        other.add_category("nut")
    deadline = time.monotonic() + 2  # a team database's notification arrives a moment after the commit
    while not store.check_outside():
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert not store.check_outside()
    assert heard == [Change(frozenset({Part.CATEGORIES}), frozenset()), OUTSIDE]


def test_a_write_while_another_process_writes_for_long_is_one_line_and_changes_nothing(tmp_path):
    import sqlite3

    with Project.create(tmp_path / "p.sqlite", tmp_path) as project:
        other = sqlite3.connect(tmp_path / "p.sqlite", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # as a long import holds the project
        project._db.execute("PRAGMA busy_timeout = 50")
        with pytest.raises(UserError, match="is busy: another program is writing it"):
            project.add_category("date")
        other.execute("ROLLBACK")
        other.close()
        assert project.categories() == []
        project.add_category("date")  # free again
        assert [c.name for c in project.categories()] == ["date"]


def test_an_edit_of_an_object_someone_else_changed_meanwhile_is_refused_not_overwritten(store):
    from annotator.commands import DeleteLabel, ReplaceLabel
    from annotator.store import Conflict

    mine = store.add_annotation(label(store))
    seen = store.annotations(1)[0]  # what this person's window shows
    with store.reopen() as other:  # another person moves the top point
        theirs = other.update_annotation(seen.with_extreme(ExtremePoints((50, 5), (12, 40), (47, 90), (88, 55))),
                                         expected=other.annotations(1)[0])
    moved = ReplaceLabel(seen, seen.with_extreme(ExtremePoints((50, 20), (12, 40), (47, 90), (88, 55))))
    with pytest.raises(Conflict, match=f"object {mine.id} was changed by someone else meanwhile"):
        moved.do(store)
    with pytest.raises(Conflict):
        DeleteLabel(seen).do(store)
    [now] = store.annotations(1)
    assert now.extreme == theirs.extreme and now.box.y == 5  # theirs, as they left it


def test_undo_and_redo_of_ones_own_edits_are_not_taken_for_someone_elses(store):
    from annotator.commands import ReplaceLabel

    seen = store.add_annotation(label(store))
    edit = ReplaceLabel(seen, seen.with_extreme(ExtremePoints((50, 20), (12, 40), (47, 90), (88, 55))))
    edit.do(store)
    edit.undo(store)
    edit.do(store)
    assert store.annotations(1)[0].box.y == 20


def test_an_image_is_claimed_by_one_person_at_a_time_until_they_let_go_or_their_claim_runs_out(store):
    assert store.claim(1, "alice#1") is None and store.claim(1, "alice#1") is None  # renewed
    with store.reopen() as other:
        assert other.claim(1, "bob#2") == "alice#1"
        assert other.claims() == {1: "alice#1"}
        assert other.claim(2, "bob#2", seconds=0.3) is None
        store.release(1, "alice#1")
        assert other.claim(1, "bob#2") is None
        time.sleep(0.5)
        assert store.claim(2, "alice#1") is None  # bob's claim on image 2 ran out
        assert other.claims() == {1: "bob#2", 2: "alice#1"}


def test_every_label_records_who_made_it_and_who_changed_it_and_stats_count_by_person(store, capsys):
    store.person = "alice@one"
    first = store.add_annotation(label(store))
    store.record_effort(first.id, 4.0, Origin.CLICKED)
    with store.reopen() as other:
        other.person = "bob@two"
        second = other.add_annotation(label(other, image_id=2))
        other.record_effort(second.id, 10.0, Origin.CLICKED)
        other.update_annotation(first.with_extreme(ExtremePoints((50, 5), (12, 40), (47, 90), (88, 55))),
                                expected=other.annotation(first.id))
        rows = dict(((i, (m, c)) for i, m, c in other._db.execute("SELECT id, made_by, changed_by FROM annotations")))
    assert rows == {first.id: ("alice@one", "bob@two"), second.id: ("bob@two", "bob@two")}
    assert store.stats()["people"] == {"alice@one": {"objects": 1, "timed": 1, "median_seconds": 4.0},
                                       "bob@two": {"objects": 1, "timed": 1, "median_seconds": 10.0}}
    from annotator.cli import main

    assert main(["stats", str(store.location)]) == 0
    said = capsys.readouterr().out
    assert "  alice@one: 1 objects, median 4.0 s (1 timed)" in said and "  bob@two: 1 objects, median 10.0 s" in said


def test_an_images_content_hash_is_the_first_copys_and_later_copies_are_compared_to_it(store):
    assert store.content_hash(1, "abc") == "abc"
    with store.reopen() as other:
        assert other.content_hash(1, "def") == "abc"  # another person's copy differs: they are told
    with pytest.raises(UserError, match="no image with id 99"):
        store.content_hash(99, "abc")
