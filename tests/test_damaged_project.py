"""A damaged project file: every command says so in one line and points at `annotator salvage`, which
copies what can still be read into a new project; the damaged file is never written."""
import os
import sqlite3

import cv2
import numpy as np
import pytest

from annotator.cli import main
from annotator.salvage import _past_damage
from annotator.store import Project, ProjectDamaged
from converters import Annotation, Box

OBJECTS = 600


@pytest.fixture
def project(tmp_path):
    """A project of two photos and 600 objects with outlines, so the objects span many pages."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("a.png", "b.png"):
        cv2.imwrite(str(folder / name), np.zeros((400, 400, 3), np.uint8))
    path = tmp_path / "p.sqlite"
    with Project.create(path, folder) as p:
        p.add_images([("a.png", 400, 400), ("b.png", 400, 400)])
        date, fig = p.add_category("date"), p.add_category("fig")
        p.add_annotations(Annotation(0, 1 + k % 2, (date, fig)[k % 3 == 0].id, Box(k % 300, k // 3, 20, 10),
                                     polygons=[[k % 300, k // 3, k % 300 + 20, k // 3, k % 300 + 20, k // 3 + 10]],
                                     attributes={"k": k})
                          for k in range(OBJECTS))
    return path


def edit(path, *sql):
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.execute("PRAGMA ignore_check_constraints = ON")  # as a hand edit or another tool writes
    for statement in sql:
        conn.execute(statement)
    conn.commit()
    conn.close()


def damage_a_page(path, table="annotations"):
    """Garbage over one leaf page in the middle of `table`, as a failing disk leaves it."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    pages = [n for (n,) in conn.execute("SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf' "
                                        "ORDER BY pageno", (table,))]
    size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    page = pages[len(pages) // 2]
    with open(path, "r+b") as f:
        f.seek((page - 1) * size)
        f.write(b"\x5a" * size)
    return len(pages)


def one_line_error(capsys):
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    return err


def test_a_damaged_page_is_one_line_and_salvage_keeps_every_object_around_it(project, tmp_path, capsys):
    pages = damage_a_page(project)
    before = project.read_bytes()
    out = tmp_path / "out.json"
    assert main(["convert", str(project), "--to", "coco", "-o", str(out)]) == 2
    err = one_line_error(capsys)
    assert "the project is damaged" in err and f"annotator salvage {project} NEW.sqlite" in err
    assert not out.exists()

    new = tmp_path / "new.sqlite"
    assert main(["salvage", str(project), str(new)]) == 0
    said = capsys.readouterr().out
    assert f"salvaged into {new}: 2 images, 2 categories" in said
    assert project.read_bytes() == before  # only read
    with Project.open(new) as salvaged:
        kept = salvaged.to_dataset().annotations
    assert OBJECTS - 2 * OBJECTS / pages < len(kept) < OBJECTS  # one page's objects lost, no more
    ks = sorted(a.attributes["k"] for a in kept)
    missing = sorted(set(range(OBJECTS)) - set(ks))
    assert missing == list(range(missing[0], missing[-1] + 1))  # the lost ones are one run: the page
    assert f"{OBJECTS - len(kept)} objects" not in said or "lost" in said


def test_a_missing_table_is_said_on_opening_and_salvage_copies_the_rest(project, tmp_path, capsys):
    edit(project, "DROP TABLE suggestions")
    assert main(["stats", str(project)]) == 2
    assert "the project is damaged (table suggestions is missing)" in one_line_error(capsys)
    with pytest.raises(ProjectDamaged):
        Project.open(project)  # the window opens projects this way, and shows this line
    new = tmp_path / "new.sqlite"
    assert main(["salvage", str(project), str(new)]) == 0
    assert "table suggestions (missing)" in capsys.readouterr().out
    with Project.open(new) as salvaged:
        assert salvaged.stats()["objects"] == OBJECTS


def test_a_field_that_does_not_parse_costs_only_that_field(project, tmp_path, capsys):
    edit(project, "UPDATE annotations SET attributes = X'7B6E6F74' WHERE id = 3",
         "UPDATE annotations SET polygons = X'5B5B31' WHERE id = 4", "UPDATE annotations SET source = 'x' WHERE id = 5")
    assert main(["convert", str(project), "--to", "coco", "-o", str(tmp_path / "o.json")]) == 2
    assert "the project is damaged (objects: " in one_line_error(capsys)
    with Project.open(project) as p, pytest.raises(ProjectDamaged, match="objects of image 1"):
        p.annotations(1)  # as the window reads an image's objects
    new = tmp_path / "new.sqlite"
    assert main(["salvage", str(project), str(new)]) == 0
    said = capsys.readouterr().out
    assert "nothing lost" in said and "attributes of 1" in said and "polygons of 1" in said
    assert "source, review or shape (set to a default) of 1" in said
    with Project.open(new) as salvaged:
        objects = salvaged.to_dataset().annotations
    assert len(objects) == OBJECTS
    assert sum(a.attributes == {} for a in objects) == 1 and sum(a.polygons is None for a in objects) == 1


def test_an_object_whose_category_is_gone_keeps_a_category_named_for_it(project, tmp_path, capsys):
    edit(project, "UPDATE annotations SET category_id = 99 WHERE id = 7")
    assert main(["convert", str(project), "--to", "coco", "-o", str(tmp_path / "o.json")]) == 2
    assert "object 7 has category 99, which does not exist" in one_line_error(capsys)
    new = tmp_path / "new.sqlite"
    assert main(["salvage", str(project), str(new)]) == 0
    with Project.open(new) as salvaged:
        assert salvaged.stats()["objects_per_category"]["category 99 (salvaged)"] == 1
        assert salvaged.stats()["objects"] == OBJECTS


def test_a_link_round_to_itself_is_one_line(tmp_path, capsys):
    os.symlink("loop.sqlite", tmp_path / "loop.sqlite")
    for command in (["stats"], ["convert", "--to", "coco", "-o", str(tmp_path / "o.json")], ["masks"],
                    ["salvage", "--images", str(tmp_path)]):
        args = [command[0], str(tmp_path / "loop.sqlite"), *command[1:]]
        if command[0] == "salvage":
            args.insert(2, str(tmp_path / "new.sqlite"))
        assert main(args) == 2
        assert "a symbolic link that leads nowhere (or round to itself)" in one_line_error(capsys)


def test_salvage_never_writes_over_a_file(project, tmp_path, capsys):
    assert main(["salvage", str(project), str(project)]) == 2
    assert "a file already exists here" in one_line_error(capsys)


def test_reading_past_damage_finds_the_first_readable_id_after_it():
    damaged = range(100, 237)
    assert _past_damage(lambda k: k not in damaged, 100) == 237
    assert _past_damage(lambda k: k < 5, 5) == 2**63  # nothing readable after: the end
