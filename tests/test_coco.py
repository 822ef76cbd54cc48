import json

import numpy as np
import pytest
from pycocotools.coco import COCO

from converters import (
    Annotation,
    Category,
    Dataset,
    ExtremePoints,
    ImageRecord,
    Report,
    UserError,
    read_coco,
    write_coco,
)
from converters.coco import BOX_ONLY, CROWD
from converters.formats import read_dataset
from converters.masks import rle_to_mask
from converters.regions import DERIVED
from tests.samples import tricky_coco, write_json


@pytest.fixture
def tricky(tmp_path):
    return write_json(tmp_path / "in.json", tricky_coco())


def test_reader_accepts_ids_from_zero_category_zero_rle_crowd_and_empty_segmentations(tricky):
    report = Report()
    ds = read_dataset(tricky, report=report).dataset
    assert [c.name for c in ds.categories] == ["things", "cat"]
    assert [im.id for im in ds.images] == [0, 5]
    rle_ann, crowd, box_only, poly = ds.annotations
    assert rle_ann.rle is not None and rle_ann.extreme.box.to_list() == [4, 3, 8, 6]
    assert crowd.iscrowd and crowd.extreme is None
    assert rle_to_mask(crowd.rle)[10:18, 0:25].all() and rle_to_mask(crowd.rle).sum() == 200
    assert box_only.extreme is None and not box_only.has_mask and box_only.box.to_list() == [1.5, 2.25, 10, 5]
    assert poly.polygons == [[10.2, 5.1, 19.8, 5.1, 19.8, 14.8, 10.2, 14.8]]
    assert report.count(BOX_ONLY) == 1 and report.count(CROWD) == 1 and report.count(DERIVED) == 2
    assert "1 box-only annotations: a box is not four extreme points" in "\n".join(report.lines())


def test_unknown_fields_are_kept_as_attributes(tricky):
    ds = read_dataset(tricky).dataset
    assert ds.annotations[2].attributes == {"colour": "black", "occluded": True}
    assert ds.images[0].attributes == {"license": 3}


def test_imported_boxes_stay_as_the_file_gave_them(tricky):
    poly = read_dataset(tricky).dataset.annotations[3]
    assert poly.box.to_list() == [10.2, 5.1, 9.6, 9.7]
    assert poly.extreme.box.to_list() == pytest.approx([10.2, 5.1, 9.6, 9.7])


def test_writer_follows_the_conventions(tmp_path, tricky):
    out = tmp_path / "out.json"
    write_coco(read_dataset(tricky).dataset, out)
    data = json.loads(out.read_text())
    assert [im["id"] for im in data["images"]] == [1, 2]
    assert [c["id"] for c in data["categories"]] == [1, 2]
    assert [a["id"] for a in data["annotations"]] == [1, 2, 3, 4]
    assert data["images"][1]["file_name"] == "sub/b.png"
    assert data["info"] == {"description": "made in a test"} and data["licenses"] == [{"id": 3, "name": "CC0"}]
    first, crowd, box_only, poly = data["annotations"]
    assert first["category_id"] == 2 and first["image_id"] == 1
    assert isinstance(first["segmentation"], list)  # RLE in, polygons out by default
    assert first["area"] == 48 and first["iscrowd"] == 0
    assert first["extreme_points"] == [[8.0, 3.0], [4.0, 6.0], [8.0, 9.0], [12.0, 6.0]]
    assert crowd["iscrowd"] == 1 and isinstance(crowd["segmentation"]["counts"], str)
    assert box_only["segmentation"] == [] and box_only["area"] == 50 and "extreme_points" not in box_only
    assert poly["bbox"] == [10.2, 5.1, 9.6, 9.7]
    COCO(str(out))  # pycocotools loads it


def test_rle_option_writes_every_mask_as_rle(tmp_path, tricky):
    out = tmp_path / "out.json"
    write_coco(read_dataset(tricky).dataset, out, rle=True)
    anns = json.loads(out.read_text())["annotations"]
    assert [isinstance(a["segmentation"], dict) for a in anns] == [True, True, False, True]
    coco = COCO(str(out))
    assert coco.annToMask(coco.anns[1]).sum() == 48


def test_new_labels_get_bbox_from_extreme_points_and_area_from_the_mask(tmp_path):
    ep = ExtremePoints(top=(5, 2), left=(1, 6), bottom=(6, 11), right=(12, 5))
    ann = Annotation.from_extreme(1, 1, 1, ep)
    ann = ann.with_mask(polygons=[ep.octagon()])
    ds = Dataset(images=[ImageRecord(1, "x.jpg", 20, 20)], categories=[Category(1, "a")], annotations=[ann])
    out = tmp_path / "o.json"
    write_coco(ds, out)
    (a,) = json.loads(out.read_text())["annotations"]
    assert a["bbox"] == [1, 2, 11, 9]
    coco = COCO(str(out))
    assert a["area"] == coco.annToMask(coco.anns[1]).sum() < 11 * 9


def test_written_extreme_points_are_read_back_unchanged(tmp_path):
    ep = ExtremePoints(top=(5.25, 2), left=(1, 6.5), bottom=(6, 11), right=(12, 5))
    ds = Dataset(images=[ImageRecord(1, "x.jpg", 20, 20)], categories=[Category(1, "a")],
                 annotations=[Annotation.from_extreme(1, 1, 1, ep)])
    write_coco(ds, tmp_path / "o.json")
    assert read_coco(tmp_path / "o.json").annotations[0].extreme == ep


@pytest.mark.parametrize("mutate, place, message", [
    (lambda d: d.pop("images"), "top level", "missing the `images` list"),
    (lambda d: d["annotations"][1].update(category_id=99), "annotations[1].category_id", "category_id 99 is not"),
    (lambda d: d["annotations"][2].update(image_id=42), "annotations[2].image_id", "image_id 42 is not"),
    (lambda d: d["annotations"][3].update(bbox=[1, 2, 3]), "annotations[3].bbox", "expected [x, y, width, height]"),
    (lambda d: d["annotations"][3].update(segmentation=[[1, 2, 3]]), "annotations[3].segmentation[0]", "odd number"),
    (lambda d: d["annotations"][0].update(segmentation={"size": [5, 5], "counts": "0"}),
     "annotations[0].segmentation", "differs from the image's [20, 30]"),
    (lambda d: d["annotations"][3].update(extreme_points=[[5, 50], [0, 5], [5, 10], [10, 5]]),
     "annotations[3].extreme_points", "the top point (5, 50) lies below the bottom point"),
    (lambda d: d["images"][1].update(id=0), "images[1].id", "duplicate id 0"),
    (lambda d: d["images"][0].pop("width"), "images[0]", "missing `width`"),
    (lambda d: d["categories"][0].update(name=3), "categories[0].name", "expected str, got 3"),
])
def test_bad_files_name_the_file_and_the_place(tmp_path, mutate, place, message):
    data = tricky_coco()
    mutate(data)
    path = write_json(tmp_path / "bad.json", data)
    with pytest.raises(UserError) as err:
        read_coco(path)
    assert err.value.file == str(path) and err.value.place == place
    assert message in err.value.message


@pytest.mark.parametrize("content, place, message", [
    (b"", None, "the file is empty"),
    (b'{"images": [}', "line 1 column 13", "invalid JSON"),
    (b'{"images": []}\n\xff\xfe', "offset 15", "not UTF-8 text"),
    (b"[1, 2]", "top level", "expected a JSON object"),
])
def test_broken_json_is_one_clear_error(tmp_path, content, place, message):
    path = tmp_path / "broken.json"
    path.write_bytes(content)
    with pytest.raises(UserError) as err:
        read_coco(path)
    assert err.value.place == place and message in err.value.message
    assert str(err.value).startswith(str(path))


def test_a_byte_order_mark_and_python_written_nan_scores_are_read(tmp_path):
    """Windows tools start UTF-8 with a BOM; Python's json writes NaN for a missing score."""
    data = tricky_coco()
    data["annotations"][0]["score"] = float("nan")
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(data).encode())
    ds = read_coco(path)
    assert len(ds.annotations) == len(tricky_coco()["annotations"]) and ds.annotations[0].score is None


def test_missing_sizes_are_read_from_the_image_files(tmp_path):
    import cv2
    (tmp_path / "img").mkdir()
    cv2.imwrite(str(tmp_path / "img" / "a.png"), np.zeros((13, 17, 3), np.uint8))
    data = {"images": [{"id": 1, "file_name": "a.png"}], "categories": [], "annotations": []}
    ds = read_coco(write_json(tmp_path / "d.json", data), images_dir=tmp_path / "img")
    assert (ds.images[0].width, ds.images[0].height) == (17, 13)


def test_a_failed_write_leaves_the_old_file_whole(tmp_path, tricky, monkeypatch):
    out = tmp_path / "out.json"
    out.write_text("previous export")
    ds = read_dataset(tricky).dataset
    ds.annotations.append(Annotation(99, 12345, 7, ds.annotations[0].box))  # an image that does not exist

    with pytest.raises(KeyError):
        write_coco(ds, out)
    assert out.read_text() == "previous export"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.json", "out.json"]  # no temp file left
