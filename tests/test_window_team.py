"""The window on a team project (a PostgreSQL database on a real server): labelling with real clicks
writes to the database, another person's label shows up without reopening, and export works from the
menu, as on a project file."""
from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from annotator.store import Project
from annotator.team import push
from converters import Annotation, ExtremePoints, ImageStatus
from tests.test_window_job import at, click, drag, export_with_ctrl_e, label_object, make_project, show

#: How long a test waits for a window to hear another's commit: it looks every 250 ms (benchmarks/team.py
#: times it); the rest is slack for a loaded machine.
HEARD_MS = 3000


def pushed_with_person(tmp_path, database: str, server, who: str, *options: str) -> str:
    """`make_project` pushed into `database`, with one person (an annotator unless `options` say): their URL."""
    from annotator.cli import main

    make_project(tmp_path).close()
    push(tmp_path / "p.sqlite", database)
    name = database.rsplit("/", 1)[1]
    assert main(["team", "person", database, f"{name}_{who}", *options]) == 0
    return server.url(name).replace("annotator@", f"{name}_{who}@")


@pytest.fixture
def team_window(qtbot, tmp_path, database):
    make_project(tmp_path).close()
    push(tmp_path / "p.sqlite", database)
    (tmp_path / "p.sqlite").unlink()  # the file is gone: the window works on the database alone
    project = Project.open(database, image_root=tmp_path)
    w = show(qtbot, project)
    yield w
    w.close()
    project.close()


def test_clicks_on_a_team_project_are_stored_in_its_database_and_the_title_names_it(team_window, database):
    assert team_window.windowTitle() == f"{database.rsplit('/', 1)[1]} (team) - annotator"
    made = label_object(team_window)
    with Project.open(database) as other:  # another person's connection
        [stored] = other.annotations(made.image_id)
    assert stored.extreme == made.extreme and stored.id == made.id


def test_another_persons_label_shows_without_reopening(team_window, database, qtbot):
    label_object(team_window)
    image = team_window.session.image_id
    with Project.open(database) as other:
        other.add_annotation(Annotation.from_extreme(0, image, other.categories()[1].id,
                                                     ExtremePoints((30, 5), (5, 30), (30, 55), (55, 30))))
    qtbot.waitUntil(lambda: team_window.objects.count() == 2, timeout=HEARD_MS)
    assert "fig" in team_window.objects.text(1)


def test_dragging_a_point_someone_else_just_moved_is_refused_and_shows_their_object(team_window, database):
    made = label_object(team_window)  # top point at (60, 10)
    with Project.open(database) as other:  # meanwhile another person drags the top point up
        seen = other.annotation(made.id)
        other.update_annotation(seen.with_extreme(ExtremePoints((60, 2), seen.extreme.left, seen.extreme.bottom,
                                                                seen.extreme.right)), expected=seen)
    drag(team_window, at(team_window, 60, 10), at(team_window, 60, 20))  # before this window heard of it
    assert "was changed by someone else meanwhile" in team_window.statusBar().currentMessage()
    assert team_window.project.annotation(made.id).extreme.top == (60, 2)
    [drawn] = [a for a in team_window.canvas.shown.labels if a.id == made.id]
    assert drawn.extreme.top == (60, 2)  # theirs is drawn, not the refused drag


def test_export_from_the_window_reads_the_team_database(team_window, qtbot, monkeypatch, tmp_path):
    label_object(team_window)
    out = tmp_path / "team.json"
    export_with_ctrl_e(team_window, qtbot, monkeypatch, out)
    assert len(json.loads(out.read_text())["annotations"]) == 1


def test_the_owner_trains_a_detector_on_a_team_project_from_the_window_on_their_copy_of_the_images(
        qtbot, tmp_path, database):
    from converters.formats import read_dataset
    from tests.samples import blob_photos
    from tests.test_window_training import TRAINING_S, ask_to_train

    made = tmp_path / "made"
    made.mkdir()
    loaded = read_dataset(blob_photos(made, 4), "coco", made, extremes=True)
    with Project.create(made / "p.sqlite", made) as project:
        project.import_dataset(loaded.dataset, made)
        for image in project.images():
            project.set_status(image.id, ImageStatus.DONE)
    push(made / "p.sqlite", database)
    copy = tmp_path / "copy"
    made.rename(copy)  # where the push found the images is gone: only this person's copy holds them
    with Project.open(database, image_root=copy) as project:
        w = show(qtbot, project)
        ask_to_train(w, qtbot, 0.05)
        qtbot.waitUntil(lambda: not w.training.running(), timeout=TRAINING_S)
        assert w.training.outcome == "finished", w.training.outcome
        request = json.loads((w.training.run / "request.json").read_text())
        assert request["data"] == database and request["trained_on"]["images"] == 3  # one held out
        assert w.models.runs and w.models.runs[0].path == w.training.run
        w.close()


def test_an_annotator_is_told_training_and_pre_labelling_are_the_owners(qtbot, tmp_path, database, pg_server):
    with Project.open(pushed_with_person(tmp_path, database, pg_server, "ann"), image_root=tmp_path) as project:
        w = show(qtbot, project)
        for key, what in ((Qt.Key_T, "training"), (Qt.Key_L, "pre-labelling")):
            QTest.keyClick(w, key, Qt.ControlModifier)
            assert f"{what} is the team project's owner's to do, and your team role is annotator" in \
                w.statusBar().currentMessage()
        assert not hasattr(w.trainer, "train_dialog")  # no dialog was opened
        w.close()


def test_the_window_says_when_the_server_is_away_refuses_edits_and_saves_again_when_it_is_back(
        qtbot, tmp_path, own_server):
    from annotator import pg_server

    make_project(tmp_path).close()
    url = own_server.url("restart")
    push(tmp_path / "p.sqlite", url)
    with Project.open(url, image_root=tmp_path) as project:
        w = show(qtbot, project)
        pg_server.stop(own_server)
        qtbot.waitUntil(lambda: "cannot be reached" in w.statusBar().currentMessage(), timeout=2000)
        for p in ((60, 10), (20, 50), (62, 90), (100, 45)):
            click(w, *p)  # the fourth click's object cannot be saved: said, no traceback
        assert "cannot be reached" in w.statusBar().currentMessage()
        assert len(w.session.clicks.points) == 3  # the first three stay, to click the fourth again
        pg_server.start(own_server.folder, own_server.port)
        qtbot.waitUntil(lambda: "answers again" in w.statusBar().currentMessage(), timeout=3000)
        click(w, 100, 45)
        with Project.open(url) as other:
            [saved] = other.annotations(w.session.image_id)
        assert saved.box == w.project.annotation(w.session.selected[1]).box
        w.close()


def test_two_windows_see_who_labels_which_image_and_n_passes_the_others_by(qtbot, tmp_path, database,
                                                                           monkeypatch):
    names = iter(["alice@one#1", "bob@two#2"])
    monkeypatch.setattr("annotator.gui.team.new_holder", lambda person: next(names))
    make_project(tmp_path, images=("a.png", "b.png", "c.png")).close()
    push(tmp_path / "p.sqlite", database)
    alice_project = Project.open(database, image_root=tmp_path)
    alice = show(qtbot, alice_project)  # opens a.png, and claims it
    with Project.open(database, image_root=tmp_path) as bob_project:
        bob = show(qtbot, bob_project)  # opens a.png too
        assert "alice@one is labelling this image too" in bob.statusBar().currentMessage()
        qtbot.waitUntil(lambda: "[alice@one]" in bob.images.text(0), timeout=HEARD_MS)
        assert "[" not in alice.images.text(0)  # one's own claim is not shown
        QTest.keyClick(bob, Qt.Key_N)
        assert bob_project.image(bob.session.image_id).file_name == "b.png"
        qtbot.waitUntil(lambda: "[bob@two]" in alice.images.text(1), timeout=HEARD_MS)
        alice.activateWindow()
        assert QTest.qWaitForWindowActive(alice)
        QTest.keyClick(alice, Qt.Key_N)  # a.png is alice's; N passes b.png, which bob holds
        assert alice_project.image(alice.session.image_id).file_name == "c.png"
        alice.close()
        alice_project.close()
        qtbot.waitUntil(lambda: "[" not in bob.images.text(0) and "[" not in bob.images.text(2), timeout=HEARD_MS)
        bob.close()


def test_a_copy_of_an_image_that_differs_from_the_teams_is_said(qtbot, tmp_path, database):
    import cv2
    import numpy as np

    make_project(tmp_path).close()
    push(tmp_path / "p.sqlite", database)
    with Project.open(database, image_root=tmp_path) as first:
        alice = show(qtbot, first)  # the first copy opened is the team's
        qtbot.waitUntil(lambda: first._db.execute("SELECT content_hash FROM images WHERE path = 'a.png'")
                        .fetchone()[0] is not None, timeout=HEARD_MS)
        assert "differs" not in alice.statusBar().currentMessage()
        alice.close()
    mine = tmp_path / "mine"
    mine.mkdir()
    cv2.imwrite(str(mine / "a.png"), np.full((100, 120, 3), 90, np.uint8))  # same name and size, other pixels
    with Project.open(database, image_root=mine) as second:
        bob = show(qtbot, second)
        qtbot.waitUntil(lambda: "your copy of this image differs" in bob.statusBar().currentMessage(),
                        timeout=HEARD_MS)
        bob.close()


def test_an_annotator_labels_in_the_window_and_is_told_categories_are_the_owners(qtbot, tmp_path, database,
                                                                                pg_server):
    with Project.open(pushed_with_person(tmp_path, database, pg_server, "ann"), image_root=tmp_path) as project:
        w = show(qtbot, project)
        made = label_object(w)
        QTest.keyClick(w, Qt.Key_Space)
        assert project.image(made.image_id).status.value == "done"
        w.categories.added.emit("walnut")  # the Categories panel's field, then Enter
        assert "your team role may not do this" in w.statusBar().currentMessage()
        assert [c.name for c in project.categories()] == ["date", "fig"]
        w.close()


def test_an_image_sent_back_from_the_image_menu_shows_so_in_the_other_windows_list(qtbot, tmp_path, database,
                                                                                   monkeypatch):
    from PySide6.QtWidgets import QInputDialog

    make_project(tmp_path).close()
    push(tmp_path / "p.sqlite", database)
    with Project.open(database, image_root=tmp_path) as one, Project.open(database, image_root=tmp_path) as two:
        annotator, reviewer = show(qtbot, one), show(qtbot, two)
        reviewer.project.set_status(reviewer.session.image_id, ImageStatus.DONE)
        monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("the fig's stem is cut off", True))
        [send_back] = [a for m, a in reviewer.menu_actions if a.text().startswith("Send the image &back")]
        send_back.trigger()
        qtbot.waitUntil(lambda: "sent back by" in annotator.images.text(0) and "stem" in annotator.images.text(0),
                        timeout=HEARD_MS)
        assert one.image(annotator.session.image_id).status is ImageStatus.IN_PROGRESS
        annotator.close()
        reviewer.close()


def test_an_edit_made_while_the_server_is_away_is_kept_and_written_when_it_answers(qtbot, tmp_path, monkeypatch,
                                                                                   own_server):
    from annotator import pg_server

    warned: list = []
    monkeypatch.setattr("annotator.gui.team.QMessageBox.warning", lambda *a: warned.append(a[2]))
    make_project(tmp_path).close()
    url = own_server.url("kept")
    push(tmp_path / "p.sqlite", url)
    with Project.open(url, image_root=tmp_path) as project:
        w = show(qtbot, project)
        image = w.session.image_id
        pg_server.stop(own_server)
        QTest.keyClick(w, Qt.Key_Space)  # marked done while the server is away
        assert "this edit is kept (1 waiting)" in w.statusBar().currentMessage(), w.statusBar().currentMessage()
        pg_server.start(own_server.folder, own_server.port)
        qtbot.waitUntil(lambda: "1 of 1 kept edits written" in w.statusBar().currentMessage(), timeout=HEARD_MS)
        with Project.open(url) as other:
            assert other.image(image).status is ImageStatus.DONE
        assert not warned  # nothing left unsaved
        pg_server.stop(own_server)
        QTest.keyClick(w, Qt.Key_Space)  # kept again, and the window closed before the server is back
        w.close()
        [said] = warned
        assert said.startswith("The team database's server could not be reached: 1 edit not saved.\n\n")
        assert said.endswith("mark done (or not done) on a.png")
        assert not list(project.path.parent.glob("kept-*.json"))  # said: no record left to say again


def test_a_kept_edit_the_server_is_away_for_again_while_it_is_written_stays_kept_and_recorded_in_its_words(
        team_window, qtbot, monkeypatch):
    import os

    from annotator.database import ServerAway

    monkeypatch.setattr("annotator.gui.team.QMessageBox.warning", lambda *a: None)  # no dialog to wait on
    project, image = team_window.project, team_window.session.image_id
    record = project.path.parent / f"kept-{os.getpid()}.json"
    set_status, away = project.set_status, [2]  # the server is away for this edit and its first rewrite

    def flaky(*args, **kwargs):
        if away[0]:
            away[0] -= 1
            raise ServerAway("the server cannot be reached", project.where)
        return set_status(*args, **kwargs)
    monkeypatch.setattr(project, "set_status", flaky)
    QTest.keyClick(team_window, Qt.Key_Space)
    qtbot.waitUntil(lambda: away[0] == 0, timeout=HEARD_MS)  # the window tried to write it, and it failed again
    assert len(team_window.team._kept) == 1
    assert [e["what"] for e in json.loads(record.read_text())] == ["mark done (or not done)"]
    qtbot.waitUntil(lambda: project.image(image).status is ImageStatus.DONE, timeout=HEARD_MS)
    assert not record.exists()


def test_edits_kept_by_a_window_that_died_are_listed_by_the_next_window_on_the_project(team_window, qtbot,
                                                                                       monkeypatch, tmp_path):
    import os
    import subprocess
    import sys

    from annotator.kept_edits import KeptEdit, KeptEdits

    warned: list = []
    monkeypatch.setattr("annotator.gui.team.QMessageBox.warning", lambda *a: warned.append(a[2]))
    project = team_window.project
    KeptEdits(project.path.parent).write([KeptEdit("a brush stroke", "a.png", 0.0)])  # a living window's
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a window process that died with an edit kept
    KeptEdits(project.path.parent, gone.pid).write([KeptEdit("move the top point of label 3", "b.png", 0.0)])
    again = show(qtbot, Project.open(project.location, image_root=tmp_path))
    qtbot.waitUntil(lambda: bool(warned))
    [said] = warned
    assert "closed unexpectedly" in said and said.endswith("move the top point of label 3 on b.png")
    assert "brush" not in said  # the living window's edit is its own to write
    assert [p.name for p in project.path.parent.glob("kept-*.json")] == [f"kept-{os.getpid()}.json"]
    again.close()
    again.project.close()

def test_the_start_page_opens_a_team_project_from_its_url_with_this_persons_copy_of_the_images(
        qtbot, tmp_path, database, pg_server):
    from PySide6.QtWidgets import QApplication, QDialogButtonBox, QPushButton

    from annotator.gui.app import Launcher
    from annotator.team_roots import remembered_root

    bob = pushed_with_person(tmp_path, database, pg_server, "bob", "--password", "pw")
    name = database.rsplit("/", 1)[1]
    copy = tmp_path / "bobs"
    copy.mkdir()  # bob's copy of the images, in a folder of his
    for image in tmp_path.glob("*.png"):
        (copy / image.name).write_bytes(image.read_bytes())
    launcher = Launcher()
    launcher.show_start_page()
    [button] = [b for b in launcher.page.findChildren(QPushButton) if b.text() == "Open team project..."]
    QTest.mouseClick(button, Qt.LeftButton)
    dialog = launcher.page.team_dialog
    qtbot.waitUntil(dialog.isVisible)
    QTest.keyClicks(dialog.url, "not a url")
    open_button = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.Open)
    QTest.mouseClick(open_button, Qt.LeftButton)
    assert "postgresql://" in dialog.problem.text() and dialog.isVisible()
    dialog.url.clear()
    QTest.keyClicks(dialog.url, bob)
    QTest.keyClicks(dialog.images, str(copy))
    QTest.keyClicks(dialog.password, "pw")
    assert dialog.chosen() == bob.replace(f"{name}_bob@", f"{name}_bob:pw@")
    QTest.mouseClick(open_button, Qt.LeftButton)
    window = launcher.window
    assert window is not None and window.project.is_team and window.project.person == f"{name}_bob"
    assert window.project.image_root == copy.resolve() and remembered_root(bob) == copy.resolve()
    [again] = [a for menu, a in window.menu_actions if a.text() == "Open &team project..."]
    again.trigger()  # File > Open team project: the same dialog, the folder remembered for the URL
    QTest.keyClicks(window.team_dialog.url, bob)
    assert window.team_dialog.images.text() == str(copy.resolve())
    window.team_dialog.reject()
    window.close()
    QApplication.processEvents()
