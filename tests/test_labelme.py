"""LabelMe files: every shape type, groups, masks, embedded images, extreme points, bad input."""
import base64
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from converters import Report, Shape, UserError
from converters.coco import write_coco
from converters.formats import detect_format, read_dataset, write_dataset
from converters.labelme import CIRCLES, EMBEDDED_ONLY, read_labelme
from converters.masks import rle_to_mask
from tests.samples import image


def labelme_file(folder: Path, shapes: list, name: str = "a.jpg", w: int = 40, h: int = 30, **extra) -> Path:
    """A file as LabelMe 4.5 writes it (no `description` or `mask` keys)."""
    image(folder / name, w, h)
    data = {"version": "4.5.6", "flags": {"reviewed": True}, "shapes": shapes, "imagePath": name,
            "imageData": None, "imageHeight": h, "imageWidth": w, **extra}
    path = folder / Path(name).with_suffix(".json")
    path.write_text(json.dumps(data))
    return path


def shape(label, kind, points, group=None, **extra):
    return {"label": label, "points": points, "group_id": group, "shape_type": kind, "flags": {}, **extra}


def png_b64(array: np.ndarray) -> str:
    return base64.b64encode(cv2.imencode(".png", array)[1].tobytes()).decode()


def test_every_shape_type_becomes_the_object_it_means(tmp_path):
    labelme_file(tmp_path, [
        shape("box", "rectangle", [[30, 20], [10, 5]]),
        shape("fig", "polygon", [[2, 2], [8, 2], [8, 9]]),
        shape("fig", "polygon", [[12, 2], [18, 2], [18, 9]], group=7),
        shape("fig", "polygon", [[22, 2], [28, 2], [28, 9]], group=7),
        shape("coin", "circle", [[20, 15], [20, 10]]),
        shape("nose", "point", [[5, 25]]),
        shape("edge", "line", [[0, 0], [40, 30]]),
        shape("edge", "linestrip", [[0, 0], [10, 10], [20, 0]]),
        shape("tilted", "oriented_rectangle", [[10, 20], [20, 10], [30, 20], [20, 30]]),
    ])
    report = Report()
    loaded = read_dataset(tmp_path, report=report)
    ds, root = loaded.dataset, loaded.image_root
    assert root == tmp_path and [im.file_name for im in ds.images] == ["a.jpg"]
    assert ds.images[0].attributes == {"flags": {"reviewed": True}}
    assert [c.name for c in ds.categories] == ["box", "fig", "coin", "nose", "edge", "tilted"]
    box, fig, two_part, coin, nose, line, strip, tilted = ds.annotations
    assert box.box.to_list() == [10, 5, 20, 15] and not box.has_mask and box.extreme is None
    assert fig.polygons == [[2, 2, 8, 2, 8, 9]] and fig.box.to_list() == [2, 2, 6, 7]
    assert len(two_part.polygons) == 2 and two_part.box.to_list() == [12, 2, 16, 7]
    assert coin.extreme.as_dict() == {"top": (20, 10), "left": (15, 15), "bottom": (20, 20), "right": (25, 15)}
    assert coin.box.to_list() == [15, 10, 10, 10] and len(coin.polygons[0]) == 128
    assert report.count(CIRCLES) == 1
    assert (nose.shape, nose.points) == (Shape.POINTS, [5, 25])
    assert (line.shape, line.points) == (Shape.POLYLINE, [0, 0, 40, 30])
    assert (strip.shape, strip.points) == (Shape.POLYLINE, [0, 0, 10, 10, 20, 0])
    assert tilted.polygons == [[10, 20, 20, 10, 30, 20, 20, 30]] and tilted.extreme.top == (20, 10)


def test_a_mask_shape_gives_exactly_its_pixels(tmp_path):
    crop = np.zeros((6, 5), np.uint8)
    crop[1:5, 1:4] = 255
    crop[2, 2] = 0
    labelme_file(tmp_path, [shape("blob", "mask", [[10, 20], [14, 25]], mask=png_b64(crop), description="")])
    [ann] = read_labelme(tmp_path).annotations
    full = rle_to_mask(ann.rle)
    assert full.sum() == (crop > 0).sum() and (full[20:26, 10:15] == (crop > 0)).all()
    assert ann.box.to_list() == [11, 21, 3, 4]


def test_an_image_that_exists_only_as_image_data_still_converts(tmp_path):
    embedded = base64.b64encode(cv2.imencode(".jpg", np.zeros((24, 33, 3), np.uint8))[1].tobytes()).decode()
    path = tmp_path / "lonely.json"
    path.write_text(json.dumps({"version": "5.0.1", "flags": {}, "imagePath": "lonely.jpg", "imageData": embedded,
                                "shapes": [shape("x", "rectangle", [[1, 1], [5, 5]])]}))
    report = Report()
    ds = read_labelme(tmp_path, report=report)
    assert (ds.images[0].width, ds.images[0].height) == (33, 24)
    assert report.count(EMBEDDED_ONLY) == 1


def test_an_absolute_windows_image_path_is_looked_for_beside_the_file(tmp_path):
    labelme_file(tmp_path, [], name="b.jpg")
    data = json.loads((tmp_path / "b.json").read_text())
    data["imagePath"] = "C:\\Users\\ann\\Desktop\\b.jpg"
    del data["imageWidth"], data["imageHeight"]
    (tmp_path / "b.json").write_text(json.dumps(data))
    ds = read_labelme(tmp_path)
    assert (ds.images[0].file_name, ds.images[0].width, ds.images[0].height) == ("b.jpg", 40, 30)


def test_images_in_a_sibling_folder_are_read_only_when_the_person_names_that_folder(tmp_path):
    image(tmp_path / "img" / "c.jpg")
    (tmp_path / "ann").mkdir()
    (tmp_path / "ann" / "c.json").write_text(json.dumps(
        {"shapes": [], "imagePath": "../img/c.jpg", "imageHeight": 30, "imageWidth": 40}))
    with pytest.raises(UserError, match=r"c.json: imagePath: .* is outside .*ann: give the image folder with --images"):
        read_dataset(tmp_path / "ann")  # a name in a file never reads from above the folder given
    loaded = read_dataset(tmp_path / "ann", images=tmp_path / "img")
    assert loaded.format == "labelme" and loaded.image_root == tmp_path / "img"
    assert loaded.dataset.images[0].file_name == "c.jpg"


def test_extreme_points_and_masks_survive_coco_to_labelme_and_back(tmp_path):
    shared = Path(__file__).parent.parent / "assets" / "sample"
    coco = read_dataset(shared / "labels.json").dataset
    write_dataset(coco, tmp_path / "lm", "labelme", image_root=shared / "images")
    loaded = read_dataset(tmp_path / "lm")
    assert loaded.format == "labelme"
    write_coco(loaded.dataset, tmp_path / "back.json")
    back = read_dataset(tmp_path / "back.json").dataset
    assert [c.name for c in back.categories] == [c.name for c in coco.categories]
    assert len(back.annotations) == len(coco.annotations)
    for a, b in zip(coco.annotations, back.annotations, strict=True):
        assert b.extreme == a.extreme and b.polygons == a.polygons
        assert b.box == a.extreme.box  # LabelMe has no box beside the outline: it follows the points


def test_labels_file_keeps_category_order_and_unused_categories(tmp_path):
    labelme_file(tmp_path, [shape("zebra", "rectangle", [[1, 1], [5, 5]])])
    (tmp_path / "labels.txt").write_text("__ignore__\n_background_\napple\nzebra\n")
    ds = read_labelme(tmp_path)
    assert [c.name for c in ds.categories] == ["apple", "zebra"]
    assert ds.annotations[0].category_id == 2


def test_four_points_grouped_with_a_region_are_its_extreme_points(tmp_path):
    labelme_file(tmp_path, [
        shape("fig", "polygon", [[10, 2], [2, 10], [10, 20], [30, 8]], group=1),
        *(shape("fig", "point", [p], group=1) for p in ([10, 2], [2, 10], [10, 20], [30, 8])),
    ])
    [fig] = read_labelme(tmp_path).annotations
    assert fig.extreme.as_dict() == {"top": (10, 2), "left": (2, 10), "bottom": (10, 20), "right": (30, 8)}


def test_detection_prefers_labelme_over_coco_for_a_shapes_file(tmp_path):
    path = labelme_file(tmp_path, [])
    assert detect_format(path) == ("labelme", "JSON files with LabelMe `shapes`")
    assert detect_format(tmp_path) == ("labelme", "JSON files with LabelMe `shapes`")


@pytest.mark.parametrize("mutate, place, message", [
    (lambda d: d["shapes"].append(shape("x", "point", [[50, 5]])), "shapes[0].points[0]",
     "point (50, 5) lies outside the 40x30 image"),
    (lambda d: d["shapes"].append(shape("", "point", [[5, 5]])), "shapes[0]", "missing `label`"),
    (lambda d: d["shapes"].append(shape("x", "polygon", [[1, 2, 3]])), "shapes[0].points[0]", "expected [x, y]"),
    (lambda d: d["shapes"].append(shape("x", "mask", [[1, 1], [3, 3]], mask="%%%")), "shapes[0].mask",
     "not a base64-encoded image"),
    (lambda d: d.update(imageWidth="40"), "imageWidth", "imageWidth/imageHeight must be integers, got '40'"),
    (lambda d: (d.update(imageHeight=10 ** 400), d["shapes"].append(shape("x", "point", [[5, 5]]))), "imageWidth",
     "is not one an image can have"),
    (lambda d: d.update(imageHeight=0), "imageWidth", "image size 40x0 is not one an image can have"),
    (lambda d: d.pop("imagePath"), "imagePath", "missing `imagePath`"),
])
def test_bad_files_name_the_file_and_the_place(tmp_path, mutate, place, message):
    path = labelme_file(tmp_path, [])
    data = json.loads(path.read_text())
    mutate(data)
    path.write_text(json.dumps(data))
    with pytest.raises(UserError) as err:
        read_labelme(path)
    assert (err.value.file, err.value.place) == (str(path), place) and message in err.value.message


def test_malformed_json_names_the_line(tmp_path):
    path = labelme_file(tmp_path, [])
    path.write_text('{"shapes": [\n  {"label": "x",,}\n]}')
    with pytest.raises(UserError) as err:
        read_dataset(path, "labelme")
    assert err.value.file == str(path) and err.value.place.startswith("line 2")


def test_an_empty_file_is_one_clear_error(tmp_path):
    (tmp_path / "a.json").write_text("")
    with pytest.raises(UserError) as err:
        read_dataset(tmp_path / "a.json", "labelme")
    assert (err.value.file, err.value.message) == (str(tmp_path / "a.json"), "the file is empty")
