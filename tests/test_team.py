"""Team projects on PostgreSQL: a real server started in a temporary folder (the system's PostgreSQL
package; `.ci/run` installs it), projects pushed into it and pulled back, every row compared."""
from __future__ import annotations

import json
import shutil
import sqlite3
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
import pytest

from annotator import pg_server
from annotator.claims import this_person
from annotator.cli import main
from annotator.effort import Origin
from annotator.pg_schema import columns, schema_version
from annotator.schema import MIGRATIONS, SCHEMA_VERSION, expected_columns
from annotator.store import Project
from annotator.team import pull, push
from converters import Annotation, ExtremePoints, ImageStatus, UserError
from tests.samples import SAMPLE, sample_statuses

EP = ExtremePoints(top=(50, 10), left=(12, 40), bottom=(47, 90), right=(88, 55))


@pytest.fixture
def server(pg_server):
    return pg_server


def sample_project(tmp_path) -> Path:
    """The sample's photos and labels, with what a person's work leaves besides: statuses, a deleted
    category (a gap in the ids), suggestions pending, accepted and rejected, time per object, ranks."""
    path, (first, _, third, _) = sample_statuses(tmp_path, ImageStatus.DONE,
                                             (ImageStatus.SKIPPED, "too dark: ünïcode kept"))
    with Project.open(path) as p:
        gone = p.add_category("gone")
        p.delete_category(gone.id)
        p.add_category("walnut", "#123456", supercategory="nut")
        category = p.categories()[0].id
        label = p.add_annotation(Annotation.from_extreme(0, third.id, category, EP, attributes={"note": "é"}))
        p.record_effort(label.id, 7.25, Origin.CLICKED)
        made = p.replace_suggestions(third.id, "run-1", [Annotation.from_extreme(0, third.id, category, EP,
                                                                                 score=0.8125)] * 3, 0.3)
        p.accept_suggestion(made[0].id)
        p.reject_suggestion(made[1].id)
        p.set_ranks({first.id: 0.5, third.id: 1.5}, "uncertainty", "run-1")
    return path


def rows(path: Path) -> dict[str, list[tuple]]:
    with sqlite3.connect(path) as conn:
        tables = [t for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in tables}


def test_the_postgres_schema_has_the_tables_and_columns_of_the_project_file(tmp_path, database):
    with Project.create(tmp_path / "empty.sqlite", tmp_path) as empty:
        path = empty.path
    push(path, database)
    with psycopg.connect(database) as conn:
        assert columns(conn) == expected_columns(tuple(MIGRATIONS))
        assert schema_version(conn) == SCHEMA_VERSION


def test_a_project_pushed_and_pulled_back_keeps_every_row(tmp_path, database):
    original = sample_project(tmp_path)
    before = rows(original)
    moved = push(original, database)
    assert moved.rows["annotations"] == len(before["annotations"]) and moved.rows["effort"] == 1
    assert rows(original) == before  # only read
    back = tmp_path / "back" / "p.sqlite"
    back.parent.mkdir()
    pull(database, back)
    after = rows(back)
    assert {t: r for t, r in after.items() if t != "meta"} == {t: r for t, r in before.items() if t != "meta"}
    meta = dict(before["meta"])
    assert dict(after["meta"]).keys() == meta.keys()
    with Project.open(original) as a, Project.open(back) as b, Project.open(database) as team:
        assert a.image_root == b.image_root == team.image_root  # the pushed root, absolute in the database
        assert a.to_dataset() == b.to_dataset() == team.to_dataset()


def test_a_pull_may_give_its_own_image_folder(tmp_path, database):
    push(sample_project(tmp_path), database)
    mine = tmp_path / "my copy"
    shutil.copytree(SAMPLE / "images", mine)
    pull(database, tmp_path / "mine.sqlite", mine)
    with Project.open(tmp_path / "mine.sqlite") as p:
        assert p.image_root == mine.resolve() and not p.missing_images()


def test_new_rows_in_the_database_get_ids_after_the_pushed_ones(tmp_path, database):
    push(sample_project(tmp_path), database)
    with psycopg.connect(database) as conn:
        top = conn.execute("SELECT max(id) FROM annotations").fetchone()[0]
        new = conn.execute("INSERT INTO annotations (image_id, category_id, x, y, w, h, area, source, review, "
                           "modified) SELECT image_id, category_id, 1, 1, 2, 2, 4, 'human', 'accepted', 0 "
                           "FROM annotations LIMIT 1 RETURNING id").fetchone()[0]
        assert new == top + 1


def test_a_push_into_a_database_that_holds_tables_is_refused_and_changes_nothing(tmp_path, database):
    push(sample_project(tmp_path), database)
    with psycopg.connect(database) as conn:
        count = conn.execute("SELECT count(*) FROM annotations").fetchone()[0]
    other = tmp_path / "other"
    other.mkdir()
    with pytest.raises(UserError, match="already holds tables"):
        push(sample_project(other), database)
    with psycopg.connect(database) as conn:
        assert conn.execute("SELECT count(*) FROM annotations").fetchone()[0] == count


def test_a_push_that_fails_half_way_leaves_the_database_empty(tmp_path, database):
    path = sample_project(tmp_path)
    with sqlite3.connect(path) as conn:  # a value PostgreSQL's column cannot take, in the last table
        conn.execute("INSERT INTO prelabelled (model, image_id, min_score) VALUES ('m', 1, 'not a number')")
    with pytest.raises(UserError, match="the push failed and wrote nothing"):
        push(path, database)
    with psycopg.connect(database) as conn:
        assert schema_version(conn) == 0


def test_pull_never_replaces_a_file_and_names_what_it_cannot_use(tmp_path, database, capsys):
    with pytest.raises(UserError, match="holds no project"):
        pull(database, tmp_path / "new.sqlite")
    assert not (tmp_path / "new.sqlite").exists() and list(tmp_path.iterdir()) == []
    taken = tmp_path / "taken.sqlite"
    taken.write_text("mine")
    assert main(["team", "pull", database, str(taken)]) == 2
    assert "a file already exists here" in capsys.readouterr().err and taken.read_text() == "mine"


def test_the_command_line_pushes_and_pulls_and_names_an_unreachable_server_without_its_password(
        tmp_path, database, capsys):
    project = sample_project(tmp_path)
    capsys.readouterr()
    assert main(["team", "push", str(project), database]) == 0
    assert "pushed" in capsys.readouterr().out
    assert main(["team", "pull", database, str(tmp_path / "back.sqlite")]) == 0
    assert "pulled" in capsys.readouterr().out and (tmp_path / "back.sqlite").is_file()
    port = pg_server.free_port()
    assert main(["team", "push", str(project), f"postgresql://ann:secret@127.0.0.1:{port}/x"]) == 2
    said = capsys.readouterr().err
    assert "cannot reach the team database postgresql://ann@127.0.0.1" in said and "secret" not in said
    assert main(["team", "push", str(project), str(tmp_path / "not-a-url")]) == 2
    assert "not a PostgreSQL URL" in capsys.readouterr().err


def test_a_database_named_in_a_push_is_made_when_the_server_has_none(tmp_path, server):
    url = server.url(f"new{uuid.uuid4().hex[:8]}")
    push(sample_project(tmp_path), url)
    with psycopg.connect(url) as conn:
        assert schema_version(conn) == SCHEMA_VERSION


def test_a_second_server_on_a_taken_port_says_why_it_did_not_start(server):
    folder = Path(tempfile.mkdtemp(prefix="annotator-pg-"))
    try:
        with pytest.raises(UserError, match=f"could not create any TCP/IP sockets: is port {server.port} taken"):
            pg_server.start(folder, server.port)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_stats_convert_and_import_take_a_team_projects_url(tmp_path, database, capsys):
    push(sample_project(tmp_path), database)
    capsys.readouterr()
    assert main(["stats", database, "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["objects"] == 41 and stats["images_by_status"]["done"] == 1 and stats["pending_suggestions"] == 1
    assert stats["people"] == {this_person(): {"objects": 41, "timed": 1, "median_seconds": 7.25}}
    out = tmp_path / "team.json"
    assert main(["convert", database, "--to", "coco", "-o", str(out), "--done-only"]) == 0
    assert "2 images not marked done left out" in capsys.readouterr().out  # and 1 skipped
    assert len(json.loads(out.read_text())["images"]) == 1
    assert main(["import", "--from", "coco", str(SAMPLE / "labels.json"), "--images", str(SAMPLE / "images"),
                 "--project", database]) == 0
    said = capsys.readouterr().out
    assert "imported 0 annotations" in said and "39 annotations already in the project: skipped" in said
    assert database.split("@")[1] in said  # the import names the team database


def test_opening_a_database_without_a_project_says_what_to_do(database):
    with pytest.raises(UserError, match="holds no annotator project: `annotator team push PROJECT URL`"):
        Project.open(database)


def test_a_server_restart_refuses_the_edit_in_flight_in_one_line_and_the_next_one_is_saved(tmp_path, own_server):
    from annotator import database

    url = own_server.url("away")
    push(sample_project(tmp_path), url)
    with Project.open(url) as team:
        image = team.images()[0].id
        category = team.categories()[0].id
        before = len(team.annotations(image))
        pg_server.stop(own_server)
        with pytest.raises(database.ServerAway, match="cannot be reached: edits are not saved until it answers"):
            team.add_annotation(Annotation.from_extreme(0, image, category, EP))
        pg_server.start(own_server.folder, own_server.port)
        heard = []
        team.subscribe(heard.append)
        assert team.check_outside() and heard  # anything may have changed while it was away
        team.add_annotation(Annotation.from_extreme(0, image, category, EP))
        assert len(team.annotations(image)) == before + 1


def test_a_claim_of_a_window_killed_with_sigkill_runs_out_by_itself(tmp_path, database):
    import subprocess
    import sys

    push(sample_project(tmp_path), database)
    killed = subprocess.run([sys.executable, "-c", (
        "import os, signal; from annotator.store import Project\n"
        f"p = Project.open({database!r}); assert p.claim(1, 'crashed#1', seconds=1.0) is None\n"
        "os.kill(os.getpid(), signal.SIGKILL)")], check=False)
    assert killed.returncode == -9
    with Project.open(database) as team:
        assert team.claim(1, "bob#2") == "crashed#1"
        time.sleep(1.2)
        assert team.claim(1, "bob#2") is None


def test_an_edit_waits_for_another_transaction_on_the_same_object_and_then_is_refused(tmp_path, database):
    """The check and the write are one: another person's transaction on the object, committed between
    them, would otherwise be overwritten unseen (a lost update)."""
    import threading

    from annotator.store import Conflict

    push(sample_project(tmp_path), database)
    with Project.open(database) as team, psycopg.connect(database) as other:
        image = team.images()[0].id
        seen = team.annotations(image)[0]
        other.execute("UPDATE annotations SET x = x WHERE id = %s", (seen.id,))  # their transaction holds the row
        outcome: list = []

        def drag() -> None:
            try:
                outcome.append(team.update_annotation(seen.with_extreme(EP), expected=seen))
            except Conflict as e:
                outcome.append(e)

        mine = threading.Thread(target=drag)
        mine.start()
        time.sleep(0.3)
        assert not outcome  # waiting on their transaction
        other.execute("UPDATE annotations SET x = x + 1 WHERE id = %s", (seen.id,))
        other.commit()
        mine.join(5)
        assert isinstance(outcome[0], Conflict)
        assert team.annotation(seen.id).box.x == seen.box.x + 1  # theirs kept


def test_an_annotator_changes_only_their_own_labels_a_reviewer_anyones_and_only_the_owner_categories(
        tmp_path, database, pg_server, capsys):
    from annotator.database import NotAllowed

    push(sample_project(tmp_path), database)
    name = database.rsplit("/", 1)[1]
    for person, role in (("alice", "annotator"), ("bob", "annotator"), ("carol", "reviewer")):
        assert main(["team", "person", database, f"{name}_{person}", "--role", role]) == 0
    assert f"{name}_carol is a reviewer" in capsys.readouterr().out
    as_person = {p: pg_server.url(name).replace("annotator@", f"{name}_{p}@") for p in ("alice", "bob", "carol")}
    with Project.open(as_person["alice"]) as alice:
        image, category = alice.images()[0].id, alice.categories()[0].id
        mine = alice.add_annotation(Annotation.from_extreme(0, image, category, EP))
        assert alice.person == f"{name}_alice"
    with Project.open(as_person["bob"]) as bob:
        seen = bob.annotation(mine.id)
        with pytest.raises(NotAllowed, match=f"object {mine.id} is {name}_alice's: your team role changes only"):
            bob.update_annotation(seen.with_extreme(ExtremePoints((50, 5), (12, 40), (47, 90), (88, 55))),
                                  expected=seen)
        with pytest.raises(NotAllowed):
            bob.delete_annotation(mine.id, expected=seen)
        with pytest.raises(NotAllowed, match="your team role may not do this"):
            bob.add_category("pistachio")
        own = bob.add_annotation(Annotation.from_extreme(0, image, category, EP))
        bob.delete_annotation(own.id, expected=bob.annotation(own.id))  # their own: allowed
    with Project.open(as_person["carol"]) as carol:
        seen = carol.annotation(mine.id)
        moved = seen.with_extreme(ExtremePoints((50, 5), (12, 40), (47, 90), (88, 55)))
        assert carol.update_annotation(moved, expected=seen).box.y == 5
        row = carol._db.execute("SELECT made_by, changed_by FROM annotations WHERE id = ?", (mine.id,)).fetchone()
        assert tuple(row) == (f"{name}_alice", f"{name}_carol")
    with Project.open(database) as owner:
        owner.add_category("pistachio")


def test_a_project_file_of_an_older_schema_is_brought_up_to_date_and_pushed(tmp_path, database, monkeypatch):
    from annotator import database as databases
    from annotator import schema, store

    older = schema.MIGRATIONS[:-1]  # a file made by the annotator before the last migration
    for module in (store, databases):
        monkeypatch.setattr(module, "MIGRATIONS", older)
    monkeypatch.setattr(store, "SCHEMA_VERSION", len(older))
    with Project.create(tmp_path / "old.sqlite", tmp_path) as old:
        old.add_images([("a.jpg", 40, 30)])
        old.add_category("date")
        path = old.path
    monkeypatch.undo()
    push(path, database)
    with Project.open(path, read_only=True) as p:
        assert p.schema_version == SCHEMA_VERSION
    with Project.open(database) as team:
        assert [im.file_name for im in team.images()] == ["a.jpg"] and team.categories()[0].name == "date"


def test_a_reviewer_sends_an_image_back_to_whoever_marked_it_done_and_an_annotator_may_not_review(
        tmp_path, database, pg_server):
    from annotator.database import NotAllowed

    push(sample_project(tmp_path), database)
    name = database.rsplit("/", 1)[1]
    for person, role in (("alice", "annotator"), ("carol", "reviewer")):
        assert main(["team", "person", database, f"{name}_{person}", "--role", role]) == 0
    url = {p: pg_server.url(name).replace("annotator@", f"{name}_{p}@") for p in ("alice", "carol")}
    with Project.open(url["alice"]) as alice:
        image = alice.images()[2].id
        alice.set_status(image, ImageStatus.DONE)
        with pytest.raises(NotAllowed):
            alice.review(image, True)
    with Project.open(url["carol"]) as carol:
        carol.review(image, False, "the second fig is missing")
        assert carol.image(image).status is ImageStatus.IN_PROGRESS
        assert carol.reviews()[image] == ("sent back", f"{name}_carol", "the second fig is missing", f"{name}_alice")
        carol.set_status(image, ImageStatus.DONE)
        carol.review(image, True)
        assert carol.reviews()[image][:2] == ("accepted", f"{name}_carol")


def this_machines_address() -> str:
    """An address of this machine that is not a loopback one: connections to it come from it too, as
    another machine's would (routing only; nothing is sent)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("192.0.2.1", 9))
        return s.getsockname()[0]


def test_a_server_opened_to_other_machines_asks_them_for_the_password_their_person_was_given(tmp_path, own_server,
                                                                                             capsys):
    address = this_machines_address()
    assert not address.startswith("127."), "the test needs a network interface besides the loopback"
    url = own_server.url("fruits")
    push(sample_project(tmp_path), url)
    assert main(["team", "person", url, "alice", "--password", "pw1"]) == 0
    from_afar = f"postgresql://alice@{address}:{own_server.port}/fruits"
    assert main(["stats", from_afar]) == 2  # by default the server listens on 127.0.0.1 alone
    assert "connection refused" in capsys.readouterr().err.lower()

    pg_server.stop(own_server)
    pg_server.start(own_server.folder, own_server.port, listen="*")
    assert main(["stats", from_afar]) == 2
    err = capsys.readouterr().err
    assert "no password supplied" in err and "~/.pgpass" in err and len(err.strip().splitlines()) == 1
    assert main(["stats", from_afar.replace("alice@", "alice:wrong@")]) == 2
    assert "password authentication failed" in capsys.readouterr().err
    assert main(["stats", from_afar.replace("alice@", "alice:pw1@")]) == 0
    assert main(["stats", url]) == 0  # this machine is still trusted

    pg_server.stop(own_server)
    pg_server.start(own_server.folder, own_server.port)  # closed again: the password lines go
    assert not set(pg_server.OTHER_MACHINES) & set((own_server.data / "pg_hba.conf").read_text().splitlines())
    assert main(["stats", from_afar.replace("alice@", "alice:pw1@")]) == 2


def test_listen_takes_addresses_only(tmp_path):
    with pytest.raises(UserError, match="--listen takes addresses"):
        pg_server.start(tmp_path / "server", listen="0.0.0.0 -c ssl=on")


def test_init_makes_a_team_project_from_a_folder_and_adds_new_images_to_it_later(tmp_path, server, capsys):
    import cv2
    import numpy as np

    photos = tmp_path / "photos"
    photos.mkdir()
    cv2.imwrite(str(photos / "a.png"), np.zeros((30, 40, 3), np.uint8))
    url = server.url(f"init{uuid.uuid4().hex[:8]}")
    assert main(["init", str(photos), "--project", url, "--labels", "date,fig"]) == 0
    assert f"created {url}: 1 new images (1 found), categories: date, fig" in capsys.readouterr().out
    cv2.imwrite(str(photos / "b.png"), np.zeros((30, 40, 3), np.uint8))
    assert main(["init", str(photos), "--project", url]) == 0
    assert f"updated {url}: 1 new images (2 found)" in capsys.readouterr().out
    with Project.open(url) as project:
        assert [(im.file_name, im.width) for im in project.images()] == [("a.png", 40), ("b.png", 40)]
        assert project.image_root == photos.resolve()
    copy = tmp_path / "copy"  # another copy of the folder, with an image more, given to init later
    shutil.copytree(photos, copy)
    cv2.imwrite(str(copy / "c.png"), np.zeros((30, 40, 3), np.uint8))
    assert main(["init", str(copy), "--project", url]) == 0
    with Project.open(url) as project:
        assert project.image_root == copy.resolve() and not project.missing_images()
