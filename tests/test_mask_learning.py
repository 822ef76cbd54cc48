"""The mask network learning from the person's labels: what it learns from, what it is judged on, when a
run is due, and the window starting one after new objects and switching only for a network that did
better than GrabCut on the newest masks."""
import dataclasses
import json
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from annotator import mask_learning
from annotator.gui import trainer as trainer_module
from annotator.mask_learning import BACKEND, LEARN_EVERY, MARGIN, due_learning, judged, learning_request
from annotator.masking import MASK_METHOD
from annotator.runs import Run, read_run, runs_folder
from annotator.store import Project
from annotator.training import TRAINED_ON, masks_to_learn_from, newest_held_back, run_training
from converters.formats import read_dataset
from tests.samples import blob_photos
from tests.test_window_job import show


def blob_project(folder: Path, count: int) -> Project:
    gt = blob_photos(folder, count)
    loaded = read_dataset(gt, "coco", folder, extremes=True)
    project = Project.create(folder / "p.sqlite", folder)
    project.import_dataset(loaded.dataset, folder)
    return project


def test_the_newest_labels_are_held_back_to_judge_the_network(tmp_path):
    with blob_project(tmp_path, 8) as project:
        dataset = project.to_dataset()
    learn, newest = newest_held_back(dataset, 0.25)
    ids = sorted(a.id for a in dataset.annotations)
    assert sorted(a.id for a in newest.annotations) == ids[-2:]
    assert sorted(a.id for a in learn.annotations) == ids[:-2]
    assert {im.id for im in newest.images} == {a.image_id for a in newest.annotations}


def test_a_mask_still_waiting_for_its_backend_is_not_learnt_from(tmp_path):
    with blob_project(tmp_path, 3) as project:
        first = project.annotations(project.images()[0].id)[0]
        project.update_annotation(dataclasses.replace(first, attributes={MASK_METHOD: "octagon"}))
    dataset, _root = masks_to_learn_from(tmp_path / "p.sqlite", say=lambda line: None)
    assert first.id not in {a.id for a in dataset.annotations} and len(dataset.annotations) == 2


def learning_run(folder: Path, learnt_from: int, steered_iou: float = 0.9, grabcut_iou: float = 0.9,
                 model: bool = True) -> Path:
    """A learning run's directory as training leaves it."""
    folder.mkdir(parents=True)
    (folder / "request.json").write_text(json.dumps({"kind": "dextr", "learning": True,
                                                     TRAINED_ON: {"images": 3, "held_out": 1, "objects": learnt_from}}))
    (folder / "config.json").write_text(json.dumps({"arch": "dextr", "epoch": 1}))
    (folder / "metrics.json").write_text(json.dumps([{"epoch": 1, "val_mean_iou": 0.9, "val_steered_iou": steered_iou,
                                                      "val_grabcut_iou": grabcut_iou}]))
    if model:
        (folder / "model.safetensors").write_bytes(b"")
    return folder


def test_a_learning_run_is_due_after_enough_new_masks_from_the_last_model(tmp_path):
    project = tmp_path / "p.sqlite"
    assert due_learning(project, [], LEARN_EVERY - 1) is None
    first = due_learning(project, [], LEARN_EVERY)
    assert first is not None and first.learning and first.init is None and first.kind == "dextr"
    assert first.out.parent == runs_folder(project)
    last = read_run(learning_run(tmp_path / "old", learnt_from=30))
    assert due_learning(project, [last], 30 + LEARN_EVERY - 1) is None
    again = due_learning(project, [last], 30 + LEARN_EVERY)
    assert again is not None and again.init == last.path  # from the last model it learnt


def test_the_network_steers_grabcut_only_when_that_did_better_on_the_newest_masks(tmp_path):
    better = judged(read_run(learning_run(tmp_path / "a", 40, steered_iou=0.95, grabcut_iou=0.93)))
    assert better.use and "0.950 against GrabCut's 0.930" in better.text
    level = judged(read_run(learning_run(tmp_path / "b", 40, steered_iou=0.93 + MARGIN / 2, grabcut_iou=0.93)))
    assert not level.use and "GrabCut stays" in level.text
    assert not judged(Run(tmp_path / "c", kind="dextr", learnt_from=40)).use  # no scores, no switch


def test_a_learning_run_scores_the_network_and_grabcut_on_the_newest_masks(tmp_path):
    blob_project(tmp_path, 8).close()
    request = dataclasses.replace(learning_request(tmp_path / "p.sqlite", tmp_path / "run", None),
                                  minutes=None, epochs=1, batch=2, options={"crop": 64})
    lines = []
    metrics = run_training(request, say=lines.append)
    assert {"val_mean_iou", "val_steered_iou", "val_grabcut_iou"} <= metrics.keys()
    assert metrics["val_grabcut_iou"] > 0.8 and 0 <= metrics["val_steered_iou"] <= 1
    run = read_run(tmp_path / "run")
    assert run.learnt_from == 8 and run.scores["grabcut_iou"] == metrics["val_grabcut_iou"]
    assert any("learning from the 8 objects with a mask" in line for line in lines)


@pytest.fixture
def learning_window(qtbot, tmp_path, monkeypatch):
    """A window on six labelled blob photos with GrabCut making the masks, and learning due after three
    new objects, for a run of a second or two."""
    monkeypatch.setattr(mask_learning, "FIRST_AT", 3)
    monkeypatch.setattr(mask_learning, "LEARN_EVERY", 3)
    monkeypatch.setattr(mask_learning, "LEARN_MINUTES", 0.02)
    monkeypatch.setattr(trainer_module, "LEARN_CHECK_MS", 50)
    project = blob_project(tmp_path, 6)
    w = show(qtbot, project)
    w.backend_box.setCurrentText("grabcut")
    yield w
    w.training.stop()
    w.training.process.waitForFinished(10000)
    w.close()
    project.close()


def test_the_window_learns_after_new_objects_and_keeps_grabcut_for_a_network_that_did_not_beat_it(
        learning_window, qtbot):
    w = learning_window
    qtbot.wait(200)
    assert not w.training.running()  # six masks, none new
    click_new_object(w)
    qtbot.waitUntil(w.training.running, timeout=5000)
    assert "learning masks from your labels" in w.trainer.panel.title.text()
    qtbot.waitUntil(lambda: not w.training.running(), timeout=180_000)
    qtbot.waitUntil(lambda: "GrabCut" in w.statusBar().currentMessage(), timeout=5000)
    run = read_run(w.training.run)
    assert run.learnt_from == 7 and run.has_model
    said = w.statusBar().currentMessage()
    if run.scores["steered_iou"] >= run.scores["grabcut_iou"] + MARGIN:  # a second of training: not expected
        assert w.settings.mask_method == BACKEND and "masks now come from" in said
    else:
        assert w.settings.mask_method == "grabcut" and "GrabCut stays the mask backend" in said
    assert any(r.path == run.path for r in w.models.runs)


def test_a_learnt_network_that_beat_grabcut_makes_the_masks_and_the_window_says_why(learning_window, qtbot):
    w = learning_window
    run = learning_run(runs_folder(w.project.path) / "dextr-learnt", 30, steered_iou=0.96, grabcut_iou=0.93)
    w.training.run, w.training.outcome = run, "finished"
    w.training.ended.emit()
    assert w.settings.mask_method == BACKEND and w.settings.weights[BACKEND] == str(run)
    assert w.backend_box.currentText() == BACKEND
    assert "0.960 against GrabCut's 0.930" in w.statusBar().currentMessage()
    worse = learning_run(runs_folder(w.project.path) / "dextr-next", 33, steered_iou=0.90, grabcut_iou=0.93)
    w.training.run = worse
    w.training.ended.emit()
    assert w.settings.mask_method == "grabcut"  # the newest learnt network did worse: back to GrabCut


def click_new_object(w):
    """Category 1's key, then four clicks right of the blob: a new object."""
    QTest.keyClick(w, Qt.Key_1)
    for x, y in ((130, 30), (112, 60), (130, 95), (150, 60)):
        QTest.mouseClick(w.canvas.viewport(), Qt.LeftButton, Qt.NoModifier, w.canvas.mapFromScene(x, y))
    assert len(w.project.annotations(w.session.image_id)) == 2


def test_learning_is_off_once_the_person_unticks_it(learning_window, qtbot):
    w = learning_window
    w.trainer.learn_action.trigger()
    assert not w.trainer.learn_action.isChecked() and not w.settings.learn_masks
    click_new_object(w)
    qtbot.wait(500)
    assert not w.training.running()


def test_the_window_does_not_learn_over_a_mask_model_the_person_chose(learning_window, qtbot, tmp_path):
    w = learning_window
    own = learning_run(tmp_path / "their-model", 0)
    (own / "request.json").unlink()  # trained by `annotator train`, not by the window's learning
    w.settings.weights["dextr"] = str(own)
    w.backend_box.setCurrentText("dextr")
    w.backend_box.setCurrentText("octagon")  # their model chosen, then the instant octagon while they look
    w.backend_box.setCurrentText("dextr")
    click_new_object(w)
    qtbot.wait(500)
    assert not w.training.running()


def test_a_learnt_run_chosen_in_the_models_panel_steers_grabcut(learning_window, qtbot):
    w = learning_window
    run = learning_run(runs_folder(w.project.path) / "dextr-learnt", 30)
    w.trainer.show_runs()
    w.docks["Models"].raise_()  # its tab, beside Training's
    qtbot.waitUntil(w.models.isVisible)
    [row] = [k for k in range(w.models.count()) if w.models.runs[k].path == run]
    at = w.models.visualItemRect(w.models.item(row)).center()
    QTest.mouseClick(w.models.viewport(), Qt.LeftButton, Qt.NoModifier, at)
    QTest.mouseDClick(w.models.viewport(), Qt.LeftButton, Qt.NoModifier, at)
    assert w.settings.mask_method == BACKEND and w.settings.weights[BACKEND] == str(run)


def test_the_models_panel_says_a_learning_run_learnt_from_masks(tmp_path):
    run = read_run(learning_run(tmp_path / "dextr-learnt", 48, steered_iou=0.95, grabcut_iou=0.93))
    described = run.described()
    assert described.startswith("dextr (learning)") and "48 of your masks (the newest quarter held out)" in described
    assert "steered_iou 0.950" in described and "grabcut_iou 0.930" in described
