"""What a training run keeps (request.json, metrics.png) and how the window lists runs, without training."""
import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from annotator.runs import list_runs, new_run, read_run, runs_folder
from annotator.training import TrainingRequest, held_back
from annotator.training_process import read_event
from converters import Annotation, Box, Category, Dataset, ImageRecord, UserError
from detectors.charts import Series, line_chart, run_curves, write_png


def test_a_request_comes_back_from_its_run_directory_as_it_was(tmp_path):
    request = TrainingRequest("sapd", tmp_path, data=tmp_path / "p.sqlite", minutes=2.5, depth=34,
                              backbone_weights=Path("imagenet"), options={"img_size": 256}, hold_out=0.2)
    request.saved({"images": 8, "held_out": 2, "samples": 8})
    assert TrainingRequest.of_run(tmp_path) == request
    assert json.loads((tmp_path / "request.json").read_text())["trained_on"]["images"] == 8


def test_a_damaged_request_is_refused_in_one_line(tmp_path):
    (tmp_path / "request.json").write_text('{"kind": "sapd", "out": "x", "no_such_field": 1}')
    with pytest.raises(UserError, match="request.json.*is not a training request"):
        TrainingRequest.of_run(tmp_path)
    with pytest.raises(UserError, match="no request.json"):
        TrainingRequest.of_run(tmp_path / "elsewhere")


def dataset(n):
    return Dataset(images=[ImageRecord(k, f"{k}.png", 10, 10) for k in range(1, n + 1)], categories=[Category(1, "a")],
                   annotations=[Annotation(k, k, 1, Box(1, 1, 2, 2)) for k in range(1, n + 1)])


def test_a_share_of_the_images_is_held_back_the_same_way_every_time():
    train, held = held_back(dataset(10), 0.2)
    assert len(held.images) == 2 and len(train.images) == 8
    assert {a.image_id for a in held.annotations} == {im.id for im in held.images}  # labels go with their image
    assert held_back(dataset(10), 0.2)[1] == held
    assert len(held_back(dataset(3), 0.1)[1].images) == 1  # at least one
    assert held_back(dataset(2), 0.5)[1].images == []  # too few to spare any


def test_the_runs_are_listed_newest_first_and_a_damaged_one_says_why(tmp_path):
    project = tmp_path / "p.sqlite"
    old = new_run(project, "sapd")
    (old / "config.json").write_text(json.dumps({"arch": "sapd"}))
    (old / "metrics.json").write_text(json.dumps([{"epoch": 1, "val_ap50": 0.25}, {"epoch": 2, "val_ap50": 0.5}]))
    (old / "model.safetensors").write_bytes(b"")
    TrainingRequest("sapd", old, data=project, hold_out=0.2).saved({"images": 8, "held_out": 2, "samples": 8})
    os.utime(old, (1e9, 1e9))  # trained long ago
    broken = new_run(project, "dextr")
    (broken / "metrics.json").write_text("{not json")
    assert broken != old and broken.parent == old.parent == runs_folder(project)
    runs = list_runs(project)
    assert [r.path for r in runs] == [broken, old]
    assert "metrics.json cannot be read" in runs[0].described()
    run = read_run(old)
    assert run.kind == "sapd" and run.epochs == 2 and run.scores == {"ap50": 0.5} and run.has_model
    assert run.described().splitlines()[1] == "8 images (+2 held out), 2 epochs, ap50 0.500"


def test_only_the_process_reports_are_read_as_events():
    assert read_event('{"progress": [3, 10]}') == {"progress": [3, 10]}
    assert read_event("UserWarning: something torch said") is None
    assert read_event('{"a": 1, "b": 2}') is None and read_event("[1, 2]") is None


def test_a_runs_curves_are_drawn_and_written_as_a_png(tmp_path):
    history = [{"epoch": 1, "loss": 3.0, "val_ap50": None}, {"epoch": 2, "loss": 2.0, "val_ap50": 0.4},
               {"epoch": 3, "loss": 1.5, "val_ap50": 0.6}]
    image = run_curves(history)
    assert image.shape[2] == 3 and image.shape[0] > image.shape[1] / 2  # loss above, scores below
    write_png(tmp_path / "metrics.png", image)
    assert (cv2.imread(str(tmp_path / "metrics.png")) == image).all()
    blank = line_chart([Series("x", [], [])], "empty", "epoch", "loss")
    assert blank.shape == (360, 560, 3)


def test_a_line_is_drawn_where_its_values_are():
    chart = line_chart([Series("up", [0, 1], [0.0, 1.0])], "t", "x", "y", size=(400, 300), y_range=(0.0, 1.0))
    drawn = np.argwhere((chart[:, :, 0] > 150) & (chart[:, :, 2] < 50))  # the first colour: blue-ish
    assert len(drawn) > 100
    top_right = drawn[drawn[:, 1] > 300]
    assert top_right[:, 0].mean() < 150  # the line rises to the right


def test_a_detector_runs_verdict_says_whether_to_pre_label_with_it_and_what_to_do_if_not(tmp_path):
    from annotator.runs import USEFUL_AP50, Run

    weak = Run(tmp_path, kind="sapd", images=11, held_out=3, scores={"ap50": USEFUL_AP50 - 0.01, "ap": 0.1})
    useful, why = weak.verdict()
    assert useful is False and "not good enough" in why and "trained on 11" in why and "ImageNet" in why
    good = Run(tmp_path, kind="sapd", images=11, held_out=3, scores={
        "ap50": 0.8, "ap": 0.5, "suggest_score": 0.42, "suggest_precision": 0.9, "suggest_recall": 0.75})
    useful, why = good.verdict()
    assert useful is True and why.startswith("On the 3 images held out it scored AP50 0.80")
    assert "from a score of 0.42 its suggestions found 75% of the objects, and 90% of them were right" in why
    assert Run(tmp_path, kind="sapd").verdict()[0] is None


def test_a_run_directory_writes_into_itself_whatever_its_request_says(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "request.json").write_text(json.dumps({"kind": "sapd", "out": str(tmp_path / "elsewhere"),
                                                  "data": str(tmp_path / "p.sqlite")}))
    assert TrainingRequest.of_run(run).out == run


def test_a_project_moved_with_its_runs_still_finds_its_data(tmp_path):
    before = tmp_path / "before"
    run = before / "p-runs" / "sapd-1"
    run.mkdir(parents=True)
    TrainingRequest("sapd", run, data=before / "p.sqlite", init=before / "p-runs" / "sapd-0",
                    backbone_weights=Path("imagenet")).saved()
    assert json.loads((run / "request.json").read_text())["data"] == "../../p.sqlite"  # no absolute path
    after = tmp_path / "after"
    before.rename(after)
    moved = TrainingRequest.of_run(after / "p-runs" / "sapd-1")
    assert moved.data.resolve() == (after / "p.sqlite").resolve()
    assert moved.init.resolve() == (after / "p-runs" / "sapd-0").resolve()
    assert moved.backbone_weights == Path("imagenet") and moved.out == after / "p-runs" / "sapd-1"
