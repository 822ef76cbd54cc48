"""A mask with a hole is written as a hole where the format can hold one, never as a cut from the
outline (which COCO viewers, labelme and the window would draw as a line across the object)."""
import json

import cv2
import numpy as np
import pytest

from converters import Annotation, Category, Dataset, ImageRecord
from converters.formats import read_dataset, write_dataset
from converters.masks import extreme_points_from_mask, has_bridge, mask_to_polygons, rle_to_mask
from converters.report import Report


@pytest.fixture
def ring(tmp_path):
    """A square with a square hole, stored as the window stores a made mask: traced polygons."""
    mask = np.zeros((60, 80), bool)
    mask[10:50, 10:70] = True
    mask[25:35, 30:50] = False
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((60, 80, 3), np.uint8))
    [polygon] = mask_to_polygons(mask)
    assert has_bridge(polygon)
    ann = Annotation(1, 1, 1, extreme_points_from_mask(mask).box, polygons=[polygon])
    return Dataset([ImageRecord(1, "a.png", 80, 60)], [Category(1, "washer")], [ann]), mask


def test_coco_writes_a_mask_with_a_hole_as_rle_and_reads_it_back_whole(ring, tmp_path):
    dataset, mask = ring
    write_dataset(dataset, tmp_path / "out.json", "coco", image_root=tmp_path)
    [written] = json.loads((tmp_path / "out.json").read_text())["annotations"]
    assert isinstance(written["segmentation"], dict) and written["iscrowd"] == 0
    [ann] = read_dataset(tmp_path / "out.json", images=tmp_path).dataset.annotations
    assert (rle_to_mask(ann.mask_rle(60, 80)).astype(bool) == mask).all()


def test_labelme_writes_a_mask_with_a_hole_as_a_mask_shape(ring, tmp_path):
    dataset, mask = ring
    write_dataset(dataset, tmp_path / "lm", "labelme", image_root=tmp_path)
    [file] = (tmp_path / "lm").glob("*.json")
    kinds = [s["shape_type"] for s in json.loads(file.read_text())["shapes"]]
    assert "mask" in kinds and "polygon" not in kinds
    [ann] = read_dataset(tmp_path / "lm").dataset.annotations
    assert (rle_to_mask(ann.mask_rle(60, 80)).astype(bool) == mask).all()


def test_yolo_writes_the_outline_of_a_mask_with_a_hole_and_says_the_hole_was_filled(ring, tmp_path):
    dataset, _ = ring
    report = Report()
    write_dataset(dataset, tmp_path / "yolo", "yolo", report=report, image_root=tmp_path, tolerance=0)
    [line] = next((tmp_path / "yolo").rglob("a.txt")).read_text().splitlines()
    values = [float(v) for v in line.split()[1:]]
    xs, ys = np.array(values[0::2]) * 80, np.array(values[1::2]) * 60
    assert not has_bridge(list(np.ravel(np.column_stack([xs, ys]))))
    assert sorted(set(np.round(xs))) == [10, 70] and sorted(set(np.round(ys))) == [10, 50]  # the outline alone
    assert any("holes filled" in line for line in report.lines())
