"""VOC and YOLO readers and writers, format detection, loss reports and --strict."""
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annotator.cli import main
from converters import Annotation, Category, Dataset, ImageRecord, Report, UserError
from converters.formats import detect_format, read_dataset, write_dataset
from converters.geometry import Box
from converters.masks import mask_to_polygons, rle_to_mask
from converters.regions import DERIVED, derive_extremes, region
from converters.voc import read_voc, voc_colormap
from converters.yolo import ONE_OUTLINE, read_yolo
from tests.samples import image

VOC_XML = """<annotation>
  <filename>{filename}</filename>
  <size><width>40</width><height>30</height><depth>3</depth></size>
  <object><name>cat</name><pose>Left</pose><truncated>1</truncated><difficult>0</difficult>
    <bndbox><xmin>1</xmin><ymin>2</ymin><xmax>10</xmax><ymax>20</ymax></bndbox></object>
  <object><name>dog</name>
    <bndbox><xmin>11.5</xmin><ymin>3</ymin><xmax>40</xmax><ymax>30</ymax></bndbox></object>
</annotation>"""


@pytest.fixture
def voc(tmp_path):
    root = tmp_path / "voc"
    (root / "Annotations").mkdir(parents=True)
    (root / "Annotations" / "a.xml").write_text(VOC_XML.format(filename="A.PNG"))
    image(root / "JPEGImages" / "a.png")
    return root


def test_voc_boxes_are_1_based_inclusive_pixels(voc):
    ds = read_voc(voc)
    cat, dog = ds.annotations
    assert cat.box == Box(0, 1, 10, 19)  # pixels 1..10 are 10 pixels starting at 0
    assert dog.box == Box(10.5, 2, 29.5, 28)
    assert cat.attributes == {"truncated": 1, "difficult": 0, "pose": "Left"}
    assert ds.images[0].file_name == "a.png"  # found despite the case written in the XML


def test_voc_writes_back_exactly_what_it_read(voc, tmp_path):
    ds = read_voc(voc)
    write_dataset(ds, tmp_path / "out", "voc", image_root=voc / "JPEGImages")
    again = read_voc(tmp_path / "out")
    assert [a.box for a in again.annotations] == [a.box for a in ds.annotations]
    assert [a.attributes for a in again.annotations] == [a.attributes for a in ds.annotations]
    assert (tmp_path / "out" / "JPEGImages" / "a.png").is_file()


def test_voc_instance_masks_come_from_segmentation_object_pngs(voc):
    colours = voc_colormap()
    png = np.zeros((30, 40, 3), np.uint8)
    png[1:20, 0:10] = colours[1][::-1]  # instance 1 (the cat), BGR for OpenCV
    png[5:8, 3:6] = colours[255][::-1]  # VOC's void border: belongs to nobody
    (voc / "SegmentationObject").mkdir()
    cv2.imwrite(str(voc / "SegmentationObject" / "a.png"), png)
    cat, dog = read_dataset(voc).dataset.annotations
    assert rle_to_mask(cat.rle).sum() == 19 * 10 - 9 and cat.extreme.box == Box(0, 1, 10, 19)
    assert dog.rle is None


@pytest.mark.parametrize("xml, place, message", [
    ("<annotation><filename>a.png</filename", "line 1 column 28", "malformed XML: unclosed token"),
    (VOC_XML.replace("<xmin>1</xmin>", ""), "object[0].bndbox", "missing <xmin>"),
    (VOC_XML.replace("<xmin>1</xmin>", "<xmin>one</xmin>"), "object[0].bndbox.xmin", "not a number: 'one'"),
    (VOC_XML.replace("<xmax>40</xmax>", "<xmax>90</xmax>"), "object[1].bndbox", "outside the 40x30 image"),
    (VOC_XML.replace("<name>cat</name>", ""), "object[0]", "missing <name>"),
])
def test_bad_voc_files_name_the_file_and_the_place(voc, xml, place, message):
    path = voc / "Annotations" / "a.xml"
    path.write_text(xml.format(filename="a.png"))
    with pytest.raises(UserError) as err:
        read_voc(voc)
    assert err.value.file == str(path) and err.value.place == place and message in err.value.message


@pytest.fixture
def yolo(tmp_path):
    root = tmp_path / "yolo"
    image(root / "images" / "train" / "a.jpg")
    image(root / "images" / "val" / "b.jpg")
    (root / "labels" / "train").mkdir(parents=True)
    (root / "labels" / "train" / "a.txt").write_text("0 0.5 0.5 0.25 0.5\n1 0.1 0.1 0.3 0.1 0.3 0.4 0.1 0.4\n")
    (root / "data.yaml").write_text("path: .\ntrain: /elsewhere/on/their/machine/images/train\n"
                                    "val: images/val\nnames: {0: cat, 1: dog}\n")
    return root


def test_yolo_reads_mixed_box_and_polygon_lines_and_absolute_split_paths(yolo):
    report = Report()
    ds = read_dataset(yolo, report=report).dataset
    box, poly = ds.annotations
    assert box.box == Box(15, 7.5, 10, 15) and box.extreme is None
    assert poly.polygons == [pytest.approx([4, 3, 12, 3, 12, 12, 4, 12])]
    assert poly.extreme.box.to_list() == pytest.approx([4, 3, 8, 9])
    assert [c.name for c in ds.categories] == ["cat", "dog"]
    assert [im.attributes["subset"] for im in ds.images] == ["train", "val"]
    assert report.lines() == ["1 split paths in the data file did not exist as written: found them under its folder",
                              DERIVED.format(n=1)]


@pytest.mark.parametrize("line, message", [
    ("7 0.5 0.5 0.1 0.1", "class id 7 is not among the 2 names"),
    ("0 0.5 0.5 0.1", "3 numbers after the class id"),
    ("0 0.5 x 0.1 0.1", "expected a class id and numbers"),
    ("0 0.95 0.5 0.3 0.1", "coordinates outside the image"),
])
def test_bad_yolo_lines_name_the_file_and_the_line(yolo, line, message):
    label = yolo / "labels" / "train" / "a.txt"
    label.write_text("0 0.5 0.5 0.25 0.5\n" + line + "\n")
    with pytest.raises(UserError) as err:
        read_yolo(yolo)
    assert err.value.file == str(label) and err.value.place == "line 2" and message in err.value.message


def test_detection_names_the_format_and_why(voc, yolo, tmp_path):
    coco = tmp_path / "c.json"
    coco.write_text(json.dumps({"images": [], "annotations": [], "categories": []}))
    assert detect_format(voc) == ("voc", "found VOC XML files")
    assert detect_format(yolo) == ("yolo", "found data.yaml")
    assert detect_format(coco) == ("coco", "a JSON file")
    with pytest.raises(UserError, match="cannot tell the format: name it with --from"):
        detect_format(tmp_path / "voc" / "JPEGImages")


def a_masked_dataset() -> Dataset:
    mask = np.zeros((30, 40), np.uint8)
    mask[5:25, 5:35] = 1
    mask[10:15, 10:15] = 0  # a hole
    return Dataset(images=[ImageRecord(1, "a.png", 40, 30)], categories=[Category(1, "cat")],
                   annotations=[Annotation(1, 1, 1, Box(5, 5, 30, 20), polygons=mask_to_polygons(mask))])


def test_what_a_format_cannot_hold_is_reported_once_per_kind(tmp_path):
    report = Report()
    write_dataset(a_masked_dataset(), tmp_path / "voc", "voc", report)
    write_dataset(a_masked_dataset(), tmp_path / "yolo", "yolo", report)
    assert report.lines() == ["dropped the masks of 1 objects: VOC holds boxes only", ONE_OUTLINE.format(n=1)]


def test_strict_refuses_the_loss_and_writes_nothing(tmp_path):
    with pytest.raises(UserError, match=r"dropped the masks of 1 objects: VOC holds boxes only \(refused"):
        write_dataset(a_masked_dataset(), tmp_path / "voc", "voc", Report(strict=True))
    assert list(tmp_path.iterdir()) == []


def test_an_existing_folder_that_is_not_an_export_is_never_replaced(tmp_path, voc):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("precious")
    with pytest.raises(UserError, match="exists and is not an earlier export"):
        write_dataset(read_voc(voc), tmp_path / "mine", "yolo")
    assert (tmp_path / "mine" / "thesis.tex").read_text() == "precious"
    write_dataset(read_voc(voc), tmp_path / "export", "yolo")
    write_dataset(read_voc(voc), tmp_path / "export", "yolo")  # an earlier export is replaced whole


def test_convert_command_detects_the_source_and_reports(voc, tmp_path, capsys):
    assert main(["convert", str(voc), "--to", "yolo", "-o", str(tmp_path / "y")]) == 0
    out = capsys.readouterr().out
    assert f"reading {voc} as voc (found VOC XML files)" in out
    assert "note: dropped the attributes of 1 objects: YOLO has no attributes" in out
    assert main(["convert", str(voc), "--to", "yolo", "-o", str(tmp_path / "z"), "--strict"]) == 2
    assert not (tmp_path / "z").exists()


# -- every format pair, on random datasets ------------------------------------------------------
sizes = st.tuples(st.integers(8, 64), st.integers(8, 64))


@st.composite
def datasets(draw):
    n_cats = draw(st.integers(1, 3))
    images, anns = [], []
    for i, (w, h) in enumerate(draw(st.lists(sizes, min_size=1, max_size=3)), 1):
        images.append(ImageRecord(i, f"img{i}.png", w, h))
        for _ in range(draw(st.integers(0, 4))):
            x0, y0 = draw(st.integers(0, w - 2)), draw(st.integers(0, h - 2))
            x1, y1 = draw(st.integers(x0 + 1, w)), draw(st.integers(y0 + 1, h))
            anns.append(Annotation(len(anns) + 1, i, draw(st.integers(1, n_cats)), Box(x0, y0, x1 - x0, y1 - y0)))
    cats = [Category(c, f"class {c}") for c in range(1, n_cats + 1)]
    return Dataset(images=images, categories=cats, annotations=anns)


FORMATS = ["coco", "voc", "yolo", "labelme", "cvat"]


def through(ds: Dataset, first: str, second: str, tmp: Path) -> Dataset:
    """`ds` written as `first`, read back, written as `second` and read back, its images on disk."""
    for im in ds.images:
        image(tmp / "images" / im.file_name, im.width, im.height)
    out1 = tmp / ("one.json" if first == "coco" else "one")
    write_dataset(ds, out1, first, image_root=tmp / "images")
    loaded = read_dataset(out1, None, tmp / "images" if first == "coco" else None)
    out2 = tmp / ("two.json" if second == "coco" else "two")
    write_dataset(loaded.dataset, out2, second, image_root=loaded.image_root)
    return read_dataset(out2, None, tmp / "images" if second == "coco" else None).dataset


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(datasets(), st.sampled_from(FORMATS), st.sampled_from(FORMATS))
def test_random_datasets_survive_every_format_pair(tmp_path_factory, ds, first, second):
    back = through(ds, first, second, tmp_path_factory.mktemp("pair"))

    def boxes(d):
        names = {c.id: c.name for c in d.categories}
        files = {im.id: Path(im.file_name).name for im in d.images}
        return sorted((files[a.image_id], names[a.category_id], *np.round(a.box.to_list(), 9)) for a in d.annotations)

    assert boxes(back) == boxes(ds)
    assert sorted(Path(im.file_name).name for im in back.images) == sorted(im.file_name for im in ds.images)


def test_a_darknet_data_file_in_a_wrong_encoding_is_one_clear_error(tmp_path):
    data = tmp_path / "obj.data"
    data.write_bytes("classes = 1\nnames = caf\xe9.names\n".encode("latin-1"))
    with pytest.raises(UserError) as err:
        read_dataset(tmp_path)
    assert err.value.file == str(data) and err.value.message == "not UTF-8 text"
    assert err.value.place == "offset 23"  # the bytes before the é: "classes = 1\n" (12) + "names = caf" (11)


def test_a_folder_holding_one_coco_file_is_read_as_coco(tmp_path):
    (tmp_path / "export").mkdir()
    (tmp_path / "export" / "_annotations.coco.json").write_text(
        '\ufeff {"images": [], "annotations": [], "categories": [{"id": 0, "name": "x"}]}', encoding="utf-8")
    assert detect_format(tmp_path / "export") == ("coco", "found the COCO file _annotations.coco.json")
    loaded = read_dataset(tmp_path / "export")
    assert loaded.format == "coco" and [c.name for c in loaded.dataset.categories] == ["x"]


@st.composite
def masked_datasets(draw):
    """Images with objects whose masks are unions of rectangles, some with holes, some in parts."""
    images, anns = [], []
    for i, (w, h) in enumerate(draw(st.lists(sizes, min_size=1, max_size=2)), 1):
        images.append(ImageRecord(i, f"img{i}.png", w, h))
        for _ in range(draw(st.integers(1, 3))):
            mask = np.zeros((h, w), np.uint8)
            for _ in range(draw(st.integers(1, 3))):
                x0, y0 = draw(st.integers(0, w - 2)), draw(st.integers(0, h - 2))
                mask[y0:draw(st.integers(y0 + 1, h)), x0:draw(st.integers(x0 + 1, w))] = 1
            if draw(st.booleans()):
                y, x = draw(st.integers(0, h - 1)), draw(st.integers(0, w - 1))
                mask[y, x] = 0
            if not mask.any():
                continue
            polygons = mask_to_polygons(mask)
            anns.append(region(len(anns) + 1, i, 1, polygons=polygons))
    ds = Dataset(images=images, categories=[Category(1, "blob")], annotations=anns)
    derive_extremes(ds)
    return ds


MASK_FORMATS = ["coco", "labelme", "cvat"]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(masked_datasets(), st.sampled_from(MASK_FORMATS), st.sampled_from(MASK_FORMATS))
def test_masks_keep_every_pixel_and_extreme_points_survive_coco_and_labelme(tmp_path_factory, ds, first, second):
    back = through(ds, first, second, tmp_path_factory.mktemp("masks"))
    sizes_by_id = {im.id: (im.height, im.width) for im in ds.images}
    assert len(back.annotations) == len(ds.annotations)
    for a, b in zip(ds.annotations, back.annotations, strict=True):
        h, w = sizes_by_id[a.image_id]
        assert (rle_to_mask(b.mask_rle(h, w)) == rle_to_mask(a.mask_rle(h, w))).all()
        if "cvat" not in (first, second):
            assert b.extreme == a.extreme and b.box == a.box


def test_extreme_points_are_derived_only_for_targets_that_hold_them(yolo, tmp_path, capsys):
    assert main(["convert", str(yolo), "--to", "cvat", "-o", str(tmp_path / "cvat")]) == 0
    assert "derived from their masks" not in capsys.readouterr().out
    assert main(["convert", str(yolo), "--to", "coco", "-o", str(tmp_path / "c.json")]) == 0
    assert f"note: {DERIVED.format(n=1)}" in capsys.readouterr().out
    assert "extreme_points" in (tmp_path / "c.json").read_text()
