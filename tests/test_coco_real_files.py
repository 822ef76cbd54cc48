"""COCO files written by real tools (../shared/fixtures) read, and written back loadable by pycocotools."""
import json

import numpy as np
import pytest
from pycocotools.coco import COCO

from converters import Report, read_coco, write_coco
from converters.coco import BOX_ONLY, CROWD
from converters.formats import read_dataset
from converters.masks import rle_to_mask
from converters.regions import DERIVED
from tests.conftest import SHARED

pytestmark = pytest.mark.shared_data
FIXTURES = SHARED / "fixtures"


def test_roboflow_export_with_category_zero_and_empty_segmentations():
    report = Report()
    ds = read_dataset(FIXTURES / "roboflow/sharks-tiny-coco/train/_annotations.coco.json", report=report).dataset
    assert [c.id for c in ds.categories][0] == 0 and ds.categories[0].name == "sharks"
    assert report.count(BOX_ONLY) == sum(1 for a in ds.annotations if not a.has_mask) > 0
    assert report.count(DERIVED) == sum(1 for a in ds.annotations if a.has_mask)


def test_datumaro_uncompressed_crowd_rle_and_custom_attributes(tmp_path):
    report = Report()
    ds = read_coco(FIXTURES / "datumaro/coco_dataset/coco_instances/annotations/instances_val.json", report=report)
    polygon, crowd = ds.annotations
    assert polygon.attributes == {"x": 1, "y": "hello"}
    assert crowd.iscrowd and report.count(CROWD) == 1
    assert rle_to_mask(crowd.rle).sum() == 20
    out = tmp_path / "out.json"
    write_coco(ds, out)
    coco = COCO(str(out))
    assert coco.annToMask(coco.anns[2]).sum() == 20 and coco.anns[2]["iscrowd"] == 1
    assert coco.anns[1]["attributes"] == {"x": 1, "y": "hello"}


def test_pycococreator_masks_match_the_png_masks_they_came_from(tmp_path):
    import cv2
    root = FIXTURES / "pycococreator/example_data"
    ds = read_coco(root / "annotations/coco_example.json")
    out = tmp_path / "out.json"
    write_coco(ds, out, rle=True)
    written = COCO(str(out))
    source = COCO(str(root / "annotations/coco_example.json"))
    for ann_id in source.anns:
        assert np.array_equal(written.annToMask(written.anns[ann_id]), source.annToMask(source.anns[ann_id]))
    crowd_png = cv2.imread(str(root / "annotations/100_crowd_1.png"), cv2.IMREAD_GRAYSCALE) > 0
    crowd = next(a for a in written.anns.values() if a["iscrowd"])
    assert np.array_equal(written.annToMask(crowd).astype(bool), crowd_png)
    assert json.loads(out.read_text())["info"]["contributor"] == "waspinator"
