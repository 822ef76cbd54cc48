"""COCO results files (detections with scores) come in as pending suggestions, never as labels."""
import json

import numpy as np
import pytest

from annotator.cli import main
from annotator.store import Project
from converters import Category, Dataset, ImageRecord, Report, Review, Source, UserError
from converters.coco import read_coco, read_coco_results
from converters.formats import read_dataset
from converters.masks import mask_to_rle
from converters.regions import DERIVED
from tests.conftest import SHARED
from tests.samples import tricky_coco, write_json


@pytest.fixture
def files(tmp_path):
    gt = write_json(tmp_path / "gt.json", tricky_coco())
    m = np.zeros((20, 30), np.uint8)
    m[2:6, 3:9] = 1
    results = write_json(tmp_path / "results.json", [
        {"image_id": 0, "category_id": 7, "bbox": [1, 2, 3, 4], "score": 0.9},
        {"image_id": 5, "category_id": 0, "segmentation": mask_to_rle(m), "score": 0.4},
    ])
    (tmp_path / "images").mkdir()
    return gt, results, tmp_path


def test_detections_read_as_pending_suggestions_with_their_scores(files):
    gt, results, _ = files
    report = Report()
    ds = read_dataset(results, "coco-results", report=report, gt=gt).dataset
    boxed, masked = ds.annotations
    assert [a.review for a in ds.annotations] == [Review.PENDING] * 2
    assert [a.source for a in ds.annotations] == [Source.MODEL] * 2 and [a.score for a in ds.annotations] == [0.9, 0.4]
    assert boxed.box.to_list() == [1, 2, 3, 4]
    assert masked.box.to_list() == [3, 2, 6, 4] and masked.extreme.box.to_list() == [3, 2, 6, 4]
    assert report.lines() == ["2 detections read as pending model suggestions", DERIVED.format(n=1)]


def test_import_puts_detections_beside_the_labels_not_over_them(files, capsys):
    gt, results, tmp = files
    project = tmp / "p.sqlite"
    assert main(["import", str(gt), "--images", str(tmp / "images"), "--project", str(project)]) == 0
    assert main(["import", str(results), "--gt", str(gt), "--images", str(tmp / "images"),
                 "--project", str(project)]) == 0
    out = capsys.readouterr().out
    assert "as coco-results (a JSON list of detections)" in out
    assert "imported 0 annotations and 2 pending suggestions" in out
    with Project.open(project) as p:
        first = p.images()[0].id
        assert len(p.annotations(first)) == 2  # the imported labels, untouched
        assert [s.score for s in p.suggestions(first)] == [0.9]
        assert p.stats()["pending_suggestions"] == 2


@pytest.mark.parametrize("results, place, message", [
    ({"not": "a list"}, "top level", "expected a JSON list of detections"),
    ([{"image_id": 99, "category_id": 7, "bbox": [1, 2, 3, 4], "score": 1}], "[0].image_id", "image_id 99"),
    ([{"image_id": 0, "category_id": 7, "bbox": [1, 2, 3, 4]}], "[0]", "missing `score`"),
    ([{"image_id": 0, "category_id": 7, "score": 0.5}], "[0]", "needs `bbox` or an RLE `segmentation`"),
])
def test_bad_results_name_the_file_and_the_detection(files, results, place, message):
    gt, _, tmp = files
    path = write_json(tmp / "bad.json", results)
    with pytest.raises(UserError) as err:
        read_coco_results(path, read_coco(gt))
    assert err.value.file == str(path) and err.value.place == place and message in err.value.message


def test_a_results_file_without_its_ground_truth_is_refused(files, capsys):
    _, results, tmp = files
    assert main(["import", str(results), "--project", str(tmp / "p.sqlite")]) == 2
    assert "name the COCO file its ids refer to with --gt" in capsys.readouterr().err
    assert not (tmp / "p.sqlite").exists()


@pytest.mark.shared_data
@pytest.mark.parametrize("name", ["instances_val2014_fakebbox100_results.json",
                                  "instances_val2014_fakesegm100_results.json"])
def test_cocoapi_results_files_read_whole(name):
    path = SHARED / "fixtures/cocoapi/results" / name
    detections = json.loads(path.read_text())
    gt = Dataset(images=[ImageRecord(i, f"{i}.jpg", 640, 640) for i in {d["image_id"] for d in detections}],
                 categories=[Category(c, str(c)) for c in {d["category_id"] for d in detections}])
    if "segm" in name:  # masks carry their image's size; the made-up ground truth must agree
        sizes = {d["image_id"]: d["segmentation"]["size"] for d in detections}
        gt.images = [ImageRecord(i, f"{i}.jpg", w, h) for i, (h, w) in sizes.items()]
    ds = read_coco_results(path, gt)
    assert len(ds.annotations) == len(detections) == 734
    assert [a.score for a in ds.annotations] == [d["score"] for d in detections]
