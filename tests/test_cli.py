import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from annotator.cli import main
from annotator.store import Project
from converters import Annotation, Box, ImageStatus
from converters.formats import read_dataset
from tests.samples import tricky_coco, write_json


def run(*args: str) -> subprocess.CompletedProcess:
    """The installed command as a user runs it, in its own process."""
    return subprocess.run([sys.executable, "-m", "annotator", *args], capture_output=True, text=True)


@pytest.fixture
def image_dir(tmp_path):
    d = tmp_path / "photos"
    (d / "sub").mkdir(parents=True)
    cv2.imwrite(str(d / "a.png"), np.zeros((20, 30, 3), np.uint8))
    cv2.imwrite(str(d / "sub" / "b.png"), np.zeros((20, 30, 3), np.uint8))
    (d / "notes.txt").write_text("not an image")
    return d


@pytest.mark.parametrize("command", [[], ["init"], ["open"], ["import"], ["convert"], ["masks"], ["eval-masks"],
                                     ["train"], ["eval"], ["prelabel"], ["stats"]])
def test_every_command_has_help(command):
    result = run(*command, "--help")
    assert result.returncode == 0 and "usage: annotator" in result.stdout


def test_init_creates_a_project_with_images_and_labels(image_dir, capsys):
    assert main(["init", str(image_dir), "--labels", "date, fig,,hazelnut"]) == 0
    assert "created" in capsys.readouterr().out
    assert main(["stats", str(image_dir / "annotator.sqlite"), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["images"] == 2 and stats["images_by_status"]["todo"] == 2
    assert stats["objects_per_category"] == {"date": 0, "fig": 0, "hazelnut": 0}


def test_init_again_reuses_the_project_and_adds_only_new_images(image_dir, capsys):
    main(["init", str(image_dir)])
    cv2.imwrite(str(image_dir / "c.png"), np.zeros((5, 5, 3), np.uint8))
    main(["init", str(image_dir), "--labels", "x"])
    assert "updated" in capsys.readouterr().out.splitlines()[-1]
    main(["stats", str(image_dir / "annotator.sqlite"), "--json"])
    assert json.loads(capsys.readouterr().out)["images"] == 3


def test_import_then_convert_then_stats(image_dir, tmp_path):
    coco = write_json(tmp_path / "labels.json", tricky_coco())
    project = tmp_path / "p.sqlite"
    imported = run("import", "--from", "coco", str(coco), "--images", str(image_dir), "--project", str(project))
    assert imported.returncode == 0, imported.stderr
    assert "imported 4 annotations" in imported.stdout
    assert "note: 1 box-only annotations: a box is not four extreme points, so they have none" in imported.stdout
    out = tmp_path / "export.json"
    converted = run("convert", str(project), "--to", "coco", "-o", str(out), "--rle")
    assert converted.returncode == 0, converted.stderr
    data = json.loads(out.read_text())
    assert len(data["annotations"]) == 4 and [im["file_name"] for im in data["images"]] == ["a.png", "sub/b.png"]
    stats = run("stats", str(project))
    assert "objects: 4, with masks: 3 (75%)" in stats.stdout
    assert "time per object: none timed yet" in stats.stdout  # imported labels have no origin
    effort = json.loads(run("stats", str(project), "--json").stdout)["effort"]
    assert effort["clicked"] == {"objects": 0, "median_seconds": 0.0}


def test_an_import_waits_for_no_window_and_no_window_waits_for_an_import(image_dir, tmp_path, capsys):
    """An import is one long transaction: edits made in a window meanwhile would time out and be lost,
    so the two refuse each other, in one line, before anything is written."""
    coco = write_json(tmp_path / "labels.json", tricky_coco())
    path = tmp_path / "p.sqlite"
    with Project.create(path, image_dir) as window_side:
        window_side.lock_for_labelling()
        assert main(["import", "--from", "coco", str(coco), "--images", str(image_dir), "--project", str(path)]) == 2
        assert window_side.stats()["objects"] == 0
    assert f"is in use by a labelling window (process {os.getpid()})" in capsys.readouterr().err
    assert main(["import", "--from", "coco", str(coco), "--images", str(image_dir), "--project", str(path)]) == 0
    with Project.open(path) as project:
        assert project.stats()["objects"] == 4
    assert not (tmp_path / "p.sqlite.lock").exists()  # who held it goes with the lock


@pytest.mark.parametrize("fmt", ["labelme", "voc", "cvat", "coco"])
def test_importing_the_projects_own_export_adds_nothing(tmp_path, capsys, fmt):
    """A format may round a box to whole pixels (VOC) or give the outline's box for the stated one
    (LabelMe, CVAT): the object is the same, and importing it back must not double it."""
    sample = Path(__file__).resolve().parent.parent / "assets" / "sample"
    project = tmp_path / "p.sqlite"
    assert main(["import", "--from", "coco", str(sample / "labels.json"), "--images", str(sample / "images"),
                 "--project", str(project)]) == 0
    out = tmp_path / ("export.json" if fmt == "coco" else "export")
    assert main(["convert", str(project), "--to", fmt, "-o", str(out)]) == 0
    capsys.readouterr()
    assert main(["import", str(out), "--images", str(sample / "images"), "--project", str(project)]) == 0
    said = capsys.readouterr().out
    assert "imported 0 annotations" in said and "39 annotations already in the project: skipped" in said


@pytest.mark.parametrize("fmt", ["coco", "yolo"])
def test_skipped_images_are_left_out_of_an_export_unless_asked_for(tmp_path, capsys, fmt):
    """A photo skipped as too dark, exported with no objects, would teach a detector it holds none."""
    sample = Path(__file__).resolve().parent.parent / "assets" / "sample"
    project = tmp_path / "p.sqlite"
    assert main(["import", "--from", "coco", str(sample / "labels.json"), "--images", str(sample / "images"),
                 "--project", str(project)]) == 0
    with Project.open(project) as p:
        first = p.images()[0]
        p.set_status(first.id, ImageStatus.SKIPPED, "too dark")
    out = tmp_path / ("export.json" if fmt == "coco" else "export")
    capsys.readouterr()
    assert main(["convert", str(project), "--to", fmt, "-o", str(out)]) == 0
    said = capsys.readouterr().out
    assert "note: 1 skipped images left out" in said and "--with-skipped keeps them" in said
    names = {Path(im.file_name).stem for im in read_dataset(out, fmt, sample / "images").dataset.images}
    assert Path(first.file_name).stem not in names and len(names) == 3
    assert main(["convert", str(project), "--to", fmt, "-o", str(out), "--with-skipped"]) == 0
    assert len(read_dataset(out, fmt, sample / "images").dataset.images) == 4


def test_done_only_leaves_out_the_images_not_marked_done_and_says_so(tmp_path, capsys):
    """A half-labelled photo would teach a detector that its unlabelled objects are background."""
    from tests.samples import SAMPLE as sample
    from tests.samples import sample_statuses

    project, (first, second, _, _) = sample_statuses(tmp_path, ImageStatus.DONE, ImageStatus.DONE,
                                                      (ImageStatus.SKIPPED, "blurred"))
    with Project.open(project) as p:
        kept = {first.file_name: len(p.annotations(first.id)), second.file_name: len(p.annotations(second.id))}
    out = tmp_path / "export.json"
    capsys.readouterr()
    assert main(["convert", str(project), "--to", "coco", "-o", str(out), "--done-only"]) == 0
    said = capsys.readouterr().out
    assert "note: 1 skipped images left out" in said and "note: 1 images not marked done left out" in said
    written = read_dataset(out, "coco", sample / "images").dataset
    assert {im.file_name for im in written.images} == set(kept)
    assert len(written.annotations) == sum(kept.values())
    assert main(["convert", str(out), "--to", "yolo", "-o", str(tmp_path / "y"), "--done-only"]) == 2  # no statuses


def test_yolo_polygons_are_simplified_to_a_pixel_with_their_boxes_exact_or_written_as_boxes(tmp_path, capsys):
    """A traced mask's outline has a vertex at every pixel step: hundreds per object in YOLO's lines."""
    from converters.masks import mask_iou, mask_to_polygons, polygons_to_mask

    truth = np.zeros((200, 300), bool)
    cv2.circle(truth.view(np.uint8), (150, 100), 70, 1, -1)
    traced = mask_to_polygons(truth)
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((200, 300, 3), np.uint8))
    with Project.create(tmp_path / "p.sqlite", tmp_path) as p:
        p.add_images([("a.png", 300, 200)])
        nut = p.add_category("nut").id
        p.add_annotation(Annotation(0, 1, nut, Box(80, 30, 140, 140), polygons=traced))
    written = {}
    for name, extra in (("exact", ["--tolerance", "0"]), ("simple", []), ("boxes", ["--boxes"])):
        assert main(["convert", str(tmp_path / "p.sqlite"), "--to", "yolo", "-o", str(tmp_path / name), *extra]) == 0
        [line] = (tmp_path / name / "labels" / "a.txt").read_text().splitlines()
        values = [float(v) for v in line.split()[1:]]
        written[name] = values
    assert len(written["boxes"]) == 4
    exact, simple = (np.array(written[k]).reshape(-1, 2) * (300, 200) for k in ("exact", "simple"))
    assert len(simple) < len(exact) / 4
    assert mask_iou(polygons_to_mask([simple.ravel().tolist()], 200, 300).astype(bool), truth) > 0.98
    assert (simple.min(axis=0) == exact.min(axis=0)).all() and (simple.max(axis=0) == exact.max(axis=0)).all()
    assert main(["convert", str(tmp_path / "p.sqlite"), "--to", "coco", "-o", str(tmp_path / "c.json"), "--boxes"]) == 2
    assert "--boxes applies to --to yolo only, not coco" in capsys.readouterr().err


def test_an_export_reports_only_the_attributes_a_person_set(tmp_path, capsys):
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((50, 50, 3), np.uint8))
    with Project.create(tmp_path / "p.sqlite", tmp_path) as p:
        p.add_images([("a.png", 50, 50)])
        nut = p.add_category("nut").id
        p.add_annotation(Annotation(0, 1, nut, Box(5, 5, 10, 10), attributes={"mask_method": "grabcut"}))
        p.add_annotation(Annotation(0, 1, nut, Box(20, 20, 10, 10), attributes={"ripe": True}))
    capsys.readouterr()
    assert main(["convert", str(tmp_path / "p.sqlite"), "--to", "yolo", "-o", str(tmp_path / "y")]) == 0
    assert "note: dropped the attributes of 1 objects: YOLO has no attributes" in capsys.readouterr().out
    assert main(["convert", str(tmp_path / "p.sqlite"), "--to", "coco", "-o", str(tmp_path / "c.json")]) == 0
    kept = [a.get("attributes", {}) for a in json.loads((tmp_path / "c.json").read_text())["annotations"]]
    assert {"mask_method": "grabcut"} in kept  # a format that holds attributes keeps how the mask was made


def test_objects_two_pixels_apart_are_two_objects(tmp_path):
    from converters import Annotation, Box, Dataset, ImageRecord
    from converters.model import Category

    with Project.create(tmp_path / "p.sqlite", tmp_path) as project:
        dataset = Dataset(images=[ImageRecord(1, "a.png", 100, 100)], categories=[Category(1, "nut")],
                          annotations=[Annotation(1, 1, 1, Box(10, 10, 20, 20)),
                                       Annotation(2, 1, 1, Box(12, 10, 20, 20)),
                                       Annotation(3, 1, 1, Box(10.6, 10.4, 19.5, 20.3))])
        assert project.import_dataset(dataset, tmp_path).annotations_added == 2  # the third is the first, rounded


def test_convert_reads_a_coco_file_too(tmp_path):
    coco = write_json(tmp_path / "labels.json", tricky_coco())
    result = run("convert", str(coco), "--to", "coco", "-o", str(tmp_path / "o.json"))
    assert result.returncode == 0 and len(json.loads((tmp_path / "o.json").read_text())["annotations"]) == 4


@pytest.mark.parametrize("args, expected", [
    (["stats", "{tmp}/absent.sqlite"], "{tmp}/absent.sqlite: no such project file"),
    (["convert", "{tmp}/bad.json", "--to", "coco", "-o", "{tmp}/out.json"],
     "{tmp}/bad.json: line 1 column 13: invalid JSON: Expecting value"),
    (["import", "--from", "coco", "{tmp}/bad.json", "--images", "{tmp}", "--project", "{tmp}/p.sqlite"],
     "{tmp}/bad.json: line 1 column 13: invalid JSON: Expecting value"),
    (["init", "{tmp}/nowhere"], "{tmp}/nowhere: no such folder"),
    (["import", "--from", "coco", "{tmp}/wrong_category.json", "--images", "{tmp}/nowhere", "--project",
      "{tmp}/p.sqlite"], "{tmp}/nowhere: no such folder (--images)"),
    (["convert", "{tmp}/good.json", "--to", "coco", "-o", "{tmp}"], "{tmp}: cannot write: Is a directory"),
    (["init", "{tmp}", "--project", "{tmp}/bad.json"], "{tmp}/bad.json: not an annotator project (not an SQLite file)"),
    (["convert", "{tmp}/good.json", "--to", "voc", "-o", "{tmp}/voc", "--rle"],
     "--rle applies to --to coco only, not voc"),
    (["convert", "{tmp}/wrong_category.json", "--to", "coco", "-o", "{tmp}/out.json"],
     "{tmp}/wrong_category.json: annotations[0].category_id: category_id 99 is not among the categories"),
])
def test_errors_are_one_line_naming_file_and_place_with_exit_code_2(tmp_path, args, expected):
    (tmp_path / "bad.json").write_text('{"images": [}')
    write_json(tmp_path / "good.json", tricky_coco())
    data = tricky_coco()
    data["annotations"][0]["category_id"] = 99
    write_json(tmp_path / "wrong_category.json", data)
    (tmp_path / "out.json").write_text("an older export")
    result = run(*[a.format(tmp=tmp_path) for a in args])
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1
    assert result.stderr == f"annotator: error: {expected.format(tmp=tmp_path)}\n"
    assert (tmp_path / "out.json").read_text() == "an older export"
    assert not (tmp_path / "p.sqlite").exists()


def test_unreadable_image_files_are_skipped_and_counted(image_dir, capsys):
    (image_dir / "broken.jpg").write_bytes(b"not really a jpeg")
    assert main(["init", str(image_dir)]) == 0
    assert "note: 1 files could not be read as images: skipped" in capsys.readouterr().out


def test_stats_names_the_images_that_vanished(image_dir, capsys):
    main(["init", str(image_dir)])
    (image_dir / "sub" / "b.png").unlink()
    capsys.readouterr()
    main(["stats", str(image_dir / "annotator.sqlite")])
    out = capsys.readouterr().out
    assert "missing on disk: 1" in out and "  missing: sub/b.png" in out


def test_open_refuses_what_is_neither_a_folder_nor_a_project(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("hello")
    assert main(["open", str(tmp_path / "notes.txt")]) == 2
    assert "not a folder of images or a project file" in capsys.readouterr().err


def test_open_without_a_display_says_so_in_one_line(tmp_path, capsys, monkeypatch):
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    assert main(["open", str(tmp_path)]) == 2
    assert "no display to open the window on" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # nothing made before the refusal


def test_open_names_the_system_packages_qt_lacks_in_one_line(tmp_path, capsys, monkeypatch):
    from annotator.gui import qtlibs

    monkeypatch.setenv("DISPLAY", ":99")
    for name in ("WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    ldd = ("\tlibQt6XcbQpa.so.6 => /x/libQt6XcbQpa.so.6 (0x1)\n\tlibxcb-cursor.so.0 => not found\n"
           "\tlibxcb-icccm.so.4 => not found\n\tlibodd.so.3 => not found\n")
    monkeypatch.setattr(qtlibs.subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(a, 0, ldd, ""))
    assert main(["open", str(tmp_path)]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.endswith("sudo apt-get install libxcb-cursor0 libxcb-icccm4 libodd.so.3")
    assert main([]) == 2  # the start page too
    assert list(tmp_path.iterdir()) == []


def test_the_qt_plugin_is_found_and_asked_about_without_loading_qt():
    from annotator.gui import qtlibs

    plugin = qtlibs.xcb_plugin()
    assert plugin is not None and plugin.name == "libqxcb.so"
    assert isinstance(qtlibs.missing_packages(plugin), list)


def test_plain_annotator_without_a_display_prints_the_help(capsys, monkeypatch):
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    assert main([]) == 0
    assert "commands:" in capsys.readouterr().out


def test_the_progress_bar_shows_counts_time_left_and_the_running_loss():
    import io

    from annotator.progress import TerminalProgress

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    with TerminalProgress("training", screen) as progress:
        progress.describe("loss cls 0.512")
        progress(500, 1000)
    drawn = screen.getvalue()
    assert "training [###############" in drawn and "500/1000" in drawn and "s left" in drawn
    assert "loss cls 0.512" in drawn and drawn.endswith("\n")
