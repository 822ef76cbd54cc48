"""The start page and the list of recent projects behind it."""
from pathlib import Path

from PySide6.QtCore import Qt

from annotator.folders import project_for
from annotator.gui.app import open_window
from annotator.gui.start import StartPage
from annotator.recent import recent_projects, remember
from annotator.store import Project
from tests.samples import image


def test_recent_projects_are_newest_first_without_duplicates_or_vanished_files(tmp_path):
    a, b, c = (tmp_path / f"{n}.sqlite" for n in "abc")
    for p in (a, b, c):
        p.write_bytes(b"")
    for p in (a, b, a, c):
        remember(p)
    c.unlink()
    assert recent_projects() == [a.resolve(), b.resolve()]


def test_a_damaged_recent_list_reads_as_empty(tmp_path):
    from annotator.recent import config_dir
    config_dir().mkdir(parents=True, exist_ok=True)
    (config_dir() / "recent.json").write_text("{not json")
    assert recent_projects() == []


def test_choosing_a_folder_makes_its_project_and_the_window_remembers_it(qtbot, tmp_path):
    image(tmp_path / "photos" / "a.jpg")
    path = project_for(tmp_path / "photos")
    assert path == tmp_path / "photos" / "annotator.sqlite"
    with Project.open(path) as project:
        window = open_window(project)
        qtbot.addWidget(window)
        assert window.images.count() == 1
    page = StartPage()
    qtbot.addWidget(page)
    assert Path(page.recent.item(0).data(Qt.UserRole)) == path.resolve()
    with qtbot.waitSignal(page.chosen) as chosen:
        page.recent.itemActivated.emit(page.recent.item(0))
    assert chosen.args == [path.resolve()]


def test_a_folder_opened_again_after_an_export_into_it_keeps_its_images(tmp_path):
    from annotator.export import export_project
    image(tmp_path / "photos" / "a.jpg")
    path = project_for(tmp_path / "photos")
    export_project(path, tmp_path / "photos" / "annotator-yolo", "yolo")  # where the window offers it
    assert (tmp_path / "photos" / "annotator-yolo" / "images" / "a.jpg").is_file()
    assert project_for(tmp_path / "photos") == path
    with Project.open(path) as project:
        assert [im.file_name for im in project.images()] == ["a.jpg"]


def test_a_team_project_opened_in_the_window_is_on_the_start_page_by_its_url(qtbot, tmp_path, database):
    from annotator.team import push

    image(tmp_path / "photos" / "a.jpg")
    with Project.open(project_for(tmp_path / "photos")) as project:
        path = project.path
    push(path, database)
    with Project.open(database, image_root=tmp_path / "photos") as team:
        window = open_window(team)
        qtbot.addWidget(window)
    assert recent_projects()[0] == database  # the URL as given, a file's path after it
    page = StartPage()
    qtbot.addWidget(page)
    assert page.recent.item(0).text().startswith(f"{database.rsplit('/', 1)[1]} (team)")
    with qtbot.waitSignal(page.chosen) as chosen:
        page.recent.itemActivated.emit(page.recent.item(0))
    assert chosen.args == [database]
