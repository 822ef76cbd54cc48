"""The real photo dataset through import -> project -> export, judged by pycocotools."""
import contextlib
import io
import json

import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from annotator.cli import main
from tests.conftest import SHARED

pytestmark = pytest.mark.shared_data


@pytest.fixture(scope="module")
def round_trip(tmp_path_factory):
    src = SHARED / "data" / "fruits_nuts"
    tmp = tmp_path_factory.mktemp("fruits")
    project, out = tmp / "fruits.sqlite", tmp / "export.json"
    assert main(["import", "--from", "coco", str(src / "trainval.json"), "--images", str(src / "images"),
                 "--project", str(project)]) == 0
    assert main(["convert", str(project), "--to", "coco", "-o", str(out)]) == 0
    return json.loads((src / "trainval.json").read_text()), json.loads(out.read_text()), out


def _by_file(data):
    names = {im["id"]: im["file_name"] for im in data["images"]}
    cats = {c["id"]: c["name"] for c in data["categories"]}
    grouped = {}
    for a in data["annotations"]:
        grouped.setdefault(names[a["image_id"]], []).append((cats[a["category_id"]], a))
    return grouped


def test_every_polygon_is_identical_and_every_bbox_within_a_thousandth(round_trip):
    source, export, _ = round_trip
    src, out = _by_file(source), _by_file(export)
    assert sorted(src) == sorted(out) and len(export["annotations"]) == 165
    for name in src:
        assert len(src[name]) == len(out[name])
        for (cat_a, a), (cat_b, b) in zip(src[name], out[name], strict=True):
            assert cat_a == cat_b
            assert a["segmentation"] == b["segmentation"]
            assert b["bbox"] == pytest.approx(a["bbox"], abs=1e-3)
            assert len(b["extreme_points"]) == 4


def test_export_loads_in_pycocotools_and_scores_ap_1_against_the_source(round_trip, tmp_path):
    source, export, out = round_trip
    gt = COCO(str(SHARED / "data" / "fruits_nuts" / "trainval.json"))
    COCO(str(out))
    image_ids = {im["file_name"]: im["id"] for im in source["images"]}
    category_ids = {c["name"]: c["id"] for c in source["categories"]}
    names = {im["id"]: im["file_name"] for im in export["images"]}
    cats = {c["id"]: c["name"] for c in export["categories"]}
    results = [{"image_id": image_ids[names[a["image_id"]]], "category_id": category_ids[cats[a["category_id"]]],
                "bbox": a["bbox"], "segmentation": a["segmentation"], "score": 1.0} for a in export["annotations"]]
    for kind in ("bbox", "segm"):
        with contextlib.redirect_stdout(io.StringIO()):
            ev = COCOeval(gt, gt.loadRes(results), kind)
            ev.evaluate()
            ev.accumulate()
            ev.summarize()
        assert ev.stats[0] == pytest.approx(1.0), kind  # AP@[.5:.95]
