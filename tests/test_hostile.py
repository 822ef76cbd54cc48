"""Hostile and broken input: a name from an input file never leads a write or a read outside the folders
the person gave, an export never replaces its input, and a killed export is cleared up by the next."""
import os
import subprocess
import sys

import pytest

from annotator.cli import main
from tests.samples import image, write_json


def coco_naming(tmp_path, file_name: str):
    """A COCO file whose one image is called `file_name`, with one box on it, beside an image folder."""
    (tmp_path / "data" / "images").mkdir(parents=True)
    image(tmp_path / "data" / "images" / "a.jpg")
    return write_json(tmp_path / "data" / "labels.json", {
        "images": [{"id": 1, "file_name": file_name, "width": 40, "height": 30}],
        "categories": [{"id": 1, "name": "nut"}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [2, 2, 10, 10], "area": 100,
                         "iscrowd": 0}]})


def everything_under(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


@pytest.mark.parametrize("fmt", ["voc", "yolo", "labelme", "cvat"])
@pytest.mark.parametrize("name", ["../../escaped.jpg", "sub/../../../escaped.jpg", "/tmp/escaped-by-name.jpg"])
def test_an_image_name_never_leads_a_folder_export_outside_its_output(tmp_path, capsys, fmt, name):
    labels = coco_naming(tmp_path, name)
    before = everything_under(tmp_path)
    code = main(["convert", str(labels), "--from", "coco", "--images", str(tmp_path / "data" / "images"),
                 "--to", fmt, "-o", str(tmp_path / "data" / "out")])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "refused" in err and repr(name) in err
    assert everything_under(tmp_path) == before  # nothing written, not even the output folder
    assert not os.path.exists("/tmp/escaped-by-name.jpg")


def test_an_absolute_image_name_never_reads_a_file_into_an_export(tmp_path, capsys):
    secret = image(tmp_path / "elsewhere" / "secret.jpg")
    labels = coco_naming(tmp_path, str(secret))
    code = main(["convert", str(labels), "--from", "coco", "--images", str(tmp_path / "data" / "images"),
                 "--to", "yolo", "-o", str(tmp_path / "out")])
    assert code == 2 and "outside the image folder" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_labelme_image_path_up_and_out_is_refused_on_export(tmp_path, capsys):
    image(tmp_path / "secret.jpg")
    (tmp_path / "shapes").mkdir()
    write_json(tmp_path / "shapes" / "a.json", {
        "version": "5.0.1", "flags": {}, "imagePath": "../secret.jpg", "imageData": None, "imageHeight": 30,
        "imageWidth": 40, "shapes": [{"label": "nut", "points": [[2, 2], [12, 12]], "shape_type": "rectangle",
                                      "group_id": None, "flags": {}}]})
    code = main(["convert", str(tmp_path / "shapes"), "--to", "yolo", "-o", str(tmp_path / "out")])
    assert code == 2 and "secret.jpg" in capsys.readouterr().err and not (tmp_path / "out").exists()


def test_a_symbolic_link_out_of_the_image_folder_is_reported_not_followed(tmp_path, capsys):
    labels = coco_naming(tmp_path, "linked.jpg")
    image(tmp_path / "elsewhere" / "secret.jpg")
    os.symlink(tmp_path / "elsewhere" / "secret.jpg", tmp_path / "data" / "images" / "linked.jpg")
    code = main(["convert", str(labels), "--from", "coco", "--images", str(tmp_path / "data" / "images"),
                 "--to", "yolo", "-o", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert code == 0 and "symbolic links to files outside the image folder: not followed" in out
    assert not list((tmp_path / "out").rglob("*.jpg")) and list((tmp_path / "out").rglob("*.txt"))


def test_darknet_names_outside_the_dataset_are_not_read(tmp_path, capsys):
    outside = tmp_path / "private.txt"
    outside.write_text("password\nsecret\n")
    data = tmp_path / "darknet"
    (data / "obj").mkdir(parents=True)
    image(data / "obj" / "a.jpg")
    (data / "obj" / "a.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    (data / "train.txt").write_text("obj/a.jpg\n")
    (data / "obj.data").write_text(f"classes = 2\ntrain = train.txt\nnames = {outside}\n")
    code = main(["convert", str(data), "--to", "coco", "-o", str(tmp_path / "out.json")])
    err = capsys.readouterr().err
    assert code == 2 and "not found in the dataset's folder" in err and "password" not in err
    assert not (tmp_path / "out.json").exists()


def test_a_yaml_alias_bomb_is_one_line_not_a_crash(tmp_path, capsys):
    data = tmp_path / "yolo"
    (data / "images").mkdir(parents=True)
    image(data / "images" / "a.jpg")
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + k)}: &{chr(98 + k)} [*{chr(97 + k)}, *{chr(97 + k)}, *{chr(97 + k)}, *{chr(97 + k)}, "
        f"*{chr(97 + k)}, *{chr(97 + k)}, *{chr(97 + k)}, *{chr(97 + k)}, *{chr(97 + k)}]\n" for k in range(8))
    (data / "data.yaml").write_text(bomb + "names: [nut]\ntrain: images\n")
    code = main(["convert", str(data), "--to", "coco", "-o", str(tmp_path / "out.json")])
    err = capsys.readouterr().err
    assert code == 2 and "aliases" in err and "data.yaml" in err and len(err.strip().splitlines()) == 1


def test_an_export_never_replaces_its_project_or_an_image(tmp_path, capsys):
    image(tmp_path / "photos" / "a.jpg")
    assert main(["init", str(tmp_path / "photos"), "--labels", "nut"]) == 0
    project = tmp_path / "photos" / "annotator.sqlite"
    before = project.read_bytes()
    assert main(["convert", str(project), "--to", "coco", "-o", str(project)]) == 2
    assert main(["convert", str(project), "--to", "coco", "-o", str(tmp_path / "photos" / "a.jpg")]) == 2
    err = capsys.readouterr().err
    assert "is the input or a project file" in err and "would replace an image" in err
    assert project.read_bytes() == before and (tmp_path / "photos" / "a.jpg").stat().st_size > 100


KILLED_EXPORT = """
import os, signal, sys
from pathlib import Path
import converters.atomic as atomic
from converters.formats import read_dataset, write_dataset

moment, src, images, out = sys.argv[1:]
real_replace, real_rmtree, calls = os.replace, atomic.shutil.rmtree, []

def replace(a, b):
    calls.append(a)
    if moment == "old moved aside" and len(calls) == 2:  # the old export is out, the new not yet in
        os.kill(os.getpid(), signal.SIGKILL)
    real_replace(a, b)

def rmtree(path, **kw):
    if moment == "new moved in" and ".old." in str(path):  # swapped, the old one not yet removed
        os.kill(os.getpid(), signal.SIGKILL)
    real_rmtree(path, **kw)

atomic.os.replace, atomic.shutil.rmtree = replace, rmtree
loaded = read_dataset(Path(src), "coco", Path(images))
write_dataset(loaded.dataset, Path(out), "yolo", image_root=Path(images))
"""


@pytest.mark.parametrize("moment", ["old moved aside", "new moved in"])
def test_an_export_killed_mid_swap_is_finished_or_undone_by_the_next(tmp_path, moment):
    labels = coco_naming(tmp_path, "a.jpg")
    images, out = tmp_path / "data" / "images", tmp_path / "exports" / "yolo"
    assert main(["convert", str(labels), "--from", "coco", "--images", str(images), "--to", "yolo",
                 "-o", str(out)]) == 0
    first = everything_under(out)
    killed = subprocess.run([sys.executable, "-c", KILLED_EXPORT, moment, str(labels), str(images), str(out)],
                            capture_output=True, text=True, timeout=120)
    assert killed.returncode == -9, killed.stderr
    hidden = [p.name for p in out.parent.iterdir() if p.name.startswith(".")]
    assert hidden  # what the killed run left: its temporary folders
    if moment == "old moved aside":
        assert not out.exists()
    assert main(["convert", str(labels), "--from", "coco", "--images", str(images), "--to", "yolo",
                 "-o", str(out)]) == 0
    assert [p.name for p in out.parent.iterdir()] == ["yolo"]  # nothing hidden is left behind
    assert everything_under(out) == first


@pytest.mark.parametrize("value", ["no", "0", None, 2])
def test_an_iscrowd_that_is_not_0_or_1_is_refused_and_named(tmp_path, capsys, value):
    labels = coco_naming(tmp_path, "a.jpg")
    data = __import__("json").loads(labels.read_text())
    data["annotations"][0]["iscrowd"] = value
    write_json(labels, data)
    code = main(["convert", str(labels), "--from", "coco", "--images", str(tmp_path / "data" / "images"),
                 "--to", "coco", "-o", str(tmp_path / "out.json")])
    err = capsys.readouterr().err
    assert code == 2 and "annotations[0].iscrowd" in err and "must be 0 or 1" in err
    assert not (tmp_path / "out.json").exists()


def test_json_nested_ten_thousand_deep_is_one_line_not_a_crash(tmp_path, capsys):
    deep = tmp_path / "deep.json"
    deep.write_text('{"images": ' + "[" * 10000 + "]" * 10000 + "}")
    code = main(["convert", str(deep), "--from", "coco", "--to", "coco", "-o", str(tmp_path / "out.json")])
    err = capsys.readouterr().err
    assert code == 2 and "nested too deeply" in err and len(err.strip().splitlines()) == 1


def test_a_number_of_thousands_of_digits_in_a_coco_file_is_one_line(tmp_path, capsys):
    from annotator.cli import main

    path = tmp_path / "big.json"
    path.write_text('{"images": [{"id": ' + "9" * 5000 + ', "file_name": "a.png", "width": 4, "height": 4}], '
                    '"categories": [], "annotations": []}')
    assert main(["convert", str(path), "--to", "yolo", "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "big.json: a number in it cannot be a label's" in err and len(err.strip().splitlines()) == 1


def test_a_cvat_mask_of_negative_width_and_height_is_one_line(tmp_path):
    from converters import UserError
    from converters.cvat import read_cvat
    from tests.test_cvat import cvat_file

    cvat_file(tmp_path, '<mask label="car" rle="12" left="10" top="5" width="-4" height="-3"/>')
    with pytest.raises(UserError, match="the mask's width and height must be above 0, not -4x-3"):
        read_cvat(tmp_path)


def test_yolo_names_with_keys_of_mixed_types_are_one_line(tmp_path):
    from converters import UserError
    from converters.yolo import read_yolo

    (tmp_path / "data.yaml").write_text('names: {0: cat, "1": dog}\ntrain: images\n')
    (tmp_path / "images").mkdir()
    with pytest.raises(UserError, match="`names` keys must be 0, 1, 2"):
        read_yolo(tmp_path / "data.yaml")


def test_an_image_name_with_a_nul_character_is_refused_before_a_yolo_export_writes(tmp_path):
    from converters import Category, Dataset, ImageRecord, UserError
    from converters.formats import write_dataset
    from converters.report import Report

    data = Dataset(images=[ImageRecord(1, "a\0b.png", 10, 10)], categories=[Category(1, "x")])
    with pytest.raises(UserError, match="holds a NUL character"):
        write_dataset(data, tmp_path / "out", "yolo", Report())
