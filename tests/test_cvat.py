"""CVAT for images 1.1: every shape, typed attributes, masks in CVAT's RLE, groups, bad input."""
from pathlib import Path

import numpy as np
import pytest

from annotator.cli import main
from converters import Report, Shape, UserError
from converters.cvat import NO_LABEL, UNLABELLED, read_cvat
from converters.formats import detect_format, read_dataset, write_dataset
from converters.masks import mask_to_polygons, mask_to_rle, rle_to_mask
from tests.samples import image

CVAT_XML = """<?xml version="1.0" encoding="utf-8"?>
<annotations>
  <version>1.1</version>
  <meta><task><labels>
    <label><name>car</name><attributes>
      <attribute><name>parked</name><input_type>checkbox</input_type></attribute>
      <attribute><name>doors</name><input_type>number</input_type></attribute>
    </attributes></label>
    <label><name>road</name></label>
    <label><name>unused</name></label>
  </labels></task></meta>
  <image id="0" name="street.jpg" width="40" height="30">
    {shapes}
  </image>
</annotations>
"""


def cvat_file(folder: Path, shapes: str) -> Path:
    image(folder / "images" / "street.jpg")
    path = folder / "annotations.xml"
    path.write_text(CVAT_XML.format(shapes=shapes))
    return path


def test_boxes_polygons_lines_and_points_with_typed_attributes(tmp_path):
    cvat_file(tmp_path, """
    <box label="car" occluded="1" source="manual" xtl="1.5" ytl="2" xbr="20.25" ybr="12" z_order="3">
      <attribute name="parked">true</attribute><attribute name="doors">4</attribute></box>
    <polygon label="car" points="2,20;10,20;10,28" group_id="5"/>
    <polygon label="car" points="20,20;28,20;28,28" group_id="5"/>
    <polyline label="road" points="0,29.5;39.5,29.5"/>
    <points label="road" points="3,3;4,4"/>""")
    ds = read_dataset(tmp_path).dataset
    assert [c.name for c in ds.categories] == ["car", "road", "unused"]
    assert ds.images[0].file_name == "street.jpg"
    box, two_part, line, points = ds.annotations
    assert box.box.to_list() == [1.5, 2, 18.75, 10] and not box.has_mask
    assert box.attributes == {"occluded": True, "z_order": 3, "source": "manual", "parked": True, "doors": 4}
    assert two_part.polygons == [[2, 20, 10, 20, 10, 28], [20, 20, 28, 20, 28, 28]]
    assert two_part.box.to_list() == [2, 20, 26, 8] and two_part.extreme is not None
    assert (line.shape, line.points) == (Shape.POLYLINE, [0, 29.5, 39.5, 29.5])
    assert (points.shape, points.points) == (Shape.POINTS, [3, 3, 4, 4])


def test_a_mask_is_cvat_rle_of_its_crop_row_by_row(tmp_path):
    # crop 4 wide x 3 tall at (10, 5): rows 0110 / 1111 / 0000 -> runs 1,2,1,4,4
    cvat_file(tmp_path, '<mask label="car" rle="1, 2, 1, 4, 4" left="10" top="5" width="4" height="3"/>')
    [ann] = read_cvat(tmp_path).annotations
    mask = rle_to_mask(ann.rle)
    expected = np.zeros((30, 40), np.uint8)
    expected[5, 11:13] = 1
    expected[6, 10:14] = 1
    assert (mask == expected).all() and ann.box.to_list() == [10, 5, 4, 2]


def test_a_mask_with_a_hole_is_written_as_a_cvat_mask_and_read_back_exactly(tmp_path):
    image(tmp_path / "src" / "street.jpg")
    mask = np.zeros((30, 40), np.uint8)
    mask[3:20, 4:30] = 1
    mask[8:12, 10:15] = 0
    cvat_file(tmp_path / "a", '<polygon label="car" points="1,1;5,1;5,5"/>')
    ds = read_cvat(tmp_path / "a")
    ds.annotations[0] = ds.annotations[0].with_mask(polygons=mask_to_polygons(mask))
    write_dataset(ds, tmp_path / "out", "cvat", image_root=tmp_path / "a" / "images")
    assert "<mask " in (tmp_path / "out" / "annotations.xml").read_text()
    [back] = read_cvat(tmp_path / "out").annotations
    assert back.rle == mask_to_rle(mask)
    assert (tmp_path / "out" / "images" / "street.jpg").is_file()


@pytest.mark.shared_data
def test_the_real_cvat_task_dump(shared):
    report = Report()
    loaded = read_dataset(shared / "fixtures/datumaro/cvat_dataset/for_images/export_task/train.xml", report=report)
    ds = loaded.dataset
    assert loaded.format == "cvat"
    assert [c.name for c in ds.categories] == ["label1", "label2", UNLABELLED]
    assert report.count(NO_LABEL) == 2
    box = ds.annotations[0]
    assert box.attributes == {"occluded": True, "z_order": 1, "a1": True, "a2": "v3", "a3": "0003", "a4": 2.4}
    assert [a.shape for a in ds.annotations] == [Shape.REGION, Shape.POLYLINE, Shape.REGION, Shape.POINTS]


@pytest.mark.shared_data
def test_the_real_cvat_project_dump_finds_images_under_their_subsets(shared):
    src = shared / "fixtures/datumaro/cvat_dataset/for_images/export_project"
    loaded = read_dataset(src)
    names = [im.file_name for im in loaded.dataset.images]
    assert names == ["Test/img0.jpg", "Test/img1.jpg", "Train/img0.jpg", "Train/img1.jpg",
                     "Validation/img0.jpg", "Validation/img1.jpg"]
    assert all((loaded.image_root / n).is_file() for n in names)


def test_cvat_writes_back_what_it_read(tmp_path):
    src = cvat_file(tmp_path / "a", """
    <box label="car" occluded="0" xtl="1" ytl="2" xbr="20" ybr="12"><attribute name="doors">2</attribute></box>
    <polyline label="road" points="0,29;39,29"/>
    <mask label="road" rle="1, 2, 1, 4, 4" left="10" top="5" width="4" height="3" z_order="2"/>""")
    first = read_dataset(src.parent).dataset
    write_dataset(first, tmp_path / "b", "cvat", image_root=tmp_path / "a" / "images")
    second = read_dataset(tmp_path / "b").dataset
    assert [c.name for c in second.categories] == ["car", "road", "unused"]
    for a, b in zip(first.annotations, second.annotations, strict=True):
        assert (a.shape, a.box, a.points, a.rle, a.polygons, a.attributes) == \
               (b.shape, b.box, b.points, b.rle, b.polygons, b.attributes)


def test_lines_and_points_are_dropped_for_coco_with_one_line_each(tmp_path, capsys):
    src = cvat_file(tmp_path, """<polyline label="road" points="0,29;39,29"/><polyline label="road" points="0,1;3,1"/>
    <points label="road" points="3,3"/><box label="car" xtl="1" ytl="2" xbr="20" ybr="12"/>""")
    assert main(["convert", str(src), "--to", "coco", "-o", str(tmp_path / "c.json")]) == 0
    out = capsys.readouterr().out
    assert "note: dropped 2 polylines: COCO has no polylines" in out
    assert "note: dropped 1 point sets: COCO has no point sets" in out
    assert main(["convert", str(src), "--to", "voc", "-o", str(tmp_path / "v"), "--strict"]) == 2
    assert "dropped 2 polylines: VOC has no polylines (refused by --strict)" in capsys.readouterr().err
    assert not (tmp_path / "v").exists()


def test_detection_says_cvat(tmp_path):
    src = cvat_file(tmp_path, "")
    assert detect_format(src) == ("cvat", "CVAT 1.1 XML") and detect_format(tmp_path) == ("cvat", "CVAT 1.1 XML")


@pytest.mark.parametrize("shapes, place, message", [
    ('<box label="car" xtl="1" ytl="2" xbr="x" ybr="12"/>', "image[0].box[0]", "`xbr` is not a number: 'x'"),
    ('<polygon label="car" points="1,2;3"/>', "image[0].polygon[0].points", "expected `x,y` pairs, got '3'"),
    ('<points label="car" points="1,2;300,4"/>', "image[0].points[0]", "point (300, 4) lies outside the 40x30"),
    ('<mask label="car" rle="1, 2" left="0" top="0" width="4" height="3"/>', "image[0].mask[0].rle",
     "`rle` covers 3 pixels, not width x height = 12"),
    ('<box label="car" xtl="1" ytl="2" xbr="20" ybr="12" z_order="top"/>', "image[0].box[0]",
     "`z_order` is not an integer"),
])
def test_bad_shapes_name_the_file_and_the_element(tmp_path, shapes, place, message):
    path = cvat_file(tmp_path, shapes)
    with pytest.raises(UserError) as err:
        read_cvat(path)
    assert (err.value.file, err.value.place) == (str(path), place) and message in err.value.message


def test_malformed_xml_names_the_line_and_column(tmp_path):
    path = cvat_file(tmp_path, '<box label="car" xtl="1"')
    with pytest.raises(UserError) as err:
        read_dataset(path, "cvat")
    assert err.value.file == str(path) and err.value.place == "line 14 column 3"


def test_lines_and_points_live_in_a_project_and_come_back_out(tmp_path):
    src = cvat_file(tmp_path / "a", """<polyline label="road" points="0,29;39,29"/><points label="road" points="3,3"/>
    <box label="car" xtl="1" ytl="2" xbr="20" ybr="12"/>""")
    project = tmp_path / "p.sqlite"
    assert main(["import", str(src), "--project", str(project)]) == 0
    assert main(["import", str(src), "--project", str(project)]) == 0  # twice: nothing doubles
    assert main(["convert", str(project), "--to", "cvat", "-o", str(tmp_path / "out")]) == 0
    back = read_cvat(tmp_path / "out")
    assert [(a.shape, a.points) for a in back.annotations] == [
        (Shape.POLYLINE, [0, 29, 39, 29]), (Shape.POINTS, [3, 3]), (Shape.REGION, None)]


def test_an_empty_file_is_one_clear_error(tmp_path):
    (tmp_path / "annotations.xml").write_text("")
    with pytest.raises(UserError) as err:
        read_dataset(tmp_path / "annotations.xml", "cvat")
    assert err.value.file == str(tmp_path / "annotations.xml") and err.value.place == "line 1 column 1"
    assert err.value.message.startswith("malformed XML: no element found")
