"""Training from the window, in its own process, driven by real key and mouse events: a tiny run on
synthetic photos, its curves, the Models panel, pre-labelling with the new model, Stop and Resume, and
the person's labels untouched by all of it."""
import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QDialogButtonBox, QInputDialog, QLabel, QMessageBox

from annotator import runs
from annotator.gui import window as window_module
from annotator.runs import runs_folder
from annotator.store import Project
from converters import ImageStatus
from converters.formats import read_dataset
from detectors.kinds.detector import DEFAULT_AUGMENT
from tests.samples import blob_photos

TRAINING_S = 120_000  # the process starts torch (seconds) and trains a few epochs of a 512 px detector


@pytest.fixture
def window(qtbot, tmp_path):
    """Five photos of a blob: four labelled and marked done, the fifth still to do."""
    gt = blob_photos(tmp_path, 5)
    loaded = read_dataset(gt, "coco", tmp_path, extremes=True)
    project = Project.create(tmp_path / "p.sqlite", tmp_path)
    project.import_dataset(loaded.dataset, tmp_path)
    fifth = project.images()[4].id
    for image in project.images():
        if image.id != fifth:
            project.set_status(image.id, ImageStatus.DONE)
    for label in project.annotations(fifth):
        project.delete_annotation(label.id)
    w = window_module.MainWindow(project)
    w.backend_box.setCurrentText("octagon")
    qtbot.addWidget(w)
    w.resize(1100, 750)
    w.show()
    w.activateWindow()
    assert QTest.qWaitForWindowActive(w)
    yield w
    w.close()
    project.close()


def labels(project):
    return [(a.id, a.image_id, a.box, a.polygons) for image in project.images() for a in project.annotations(image.id)]


def ask_to_train(window, qtbot, minutes):
    QTest.keyClick(window, Qt.Key_T, Qt.ControlModifier)
    dialog = window.trainer.train_dialog
    qtbot.waitUntil(dialog.isVisible)
    dialog.kind.setCurrentText("sapd")
    dialog.minutes.setValue(minutes)
    QTest.mouseClick(dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.Ok), Qt.LeftButton)
    qtbot.waitUntil(window.training.running, timeout=5000)


def test_a_detector_trained_from_the_window_pre_labels_the_images_not_done(window, qtbot, monkeypatch):
    monkeypatch.setattr(runs, "USEFUL_AP50", -1.0)  # this tiny run counts as useful: the offer is what is tested
    before = labels(window.project)
    ask_to_train(window, qtbot, minutes=0.05)
    assert window.trainer.bar.isVisible()
    with qtbot.waitSignal(window.training.ended, timeout=TRAINING_S):
        pass
    assert window.training.outcome == "finished", window.training.outcome
    [run] = list(runs_folder(window.project.path).iterdir())
    assert {"model.safetensors", "config.json", "metrics.json", "metrics.png", "request.json"} <= {
        p.name for p in run.iterdir()}
    trained_on = json.loads((run / "request.json").read_text())["trained_on"]
    assert trained_on["images"] == 3 and trained_on["held_out"] == 1  # a fifth of the four done ones
    history = json.loads((run / "metrics.json").read_text())
    assert window.training.history == history and "val_ap50" in history[-1]
    assert not window.trainer.panel.chart.pixmap().isNull()  # the curves are shown
    assert window.models.count() == 1 and "sapd" in window.models.item(0).text()
    assert labels(window.project) == before

    offer = window.trainer.offer  # the window offers to pre-label with the new model, saying how well it did
    assert offer.isVisible() and "Pre-label the 1 images" in offer.text() and "held out it scored AP50" in offer.text()
    monkeypatch.setattr(QInputDialog, "getDouble", lambda *a, **k: (0.0, True))  # every detection, for the test
    QTest.mouseClick(offer.button(QMessageBox.Yes), Qt.LeftButton)
    qtbot.waitUntil(lambda: not window.stop_prelabel.isEnabled(), timeout=60000)
    fifth = window.project.images()[4].id
    assert window.settings.detector == str(run)
    assert window.project.suggestions(fifth)  # the image still to do got suggestions
    assert all(not window.project.suggestions(im.id) for im in window.project.images()[:4])  # done ones: none
    assert labels(window.project) == before  # a person's labels are never touched


def test_stop_keeps_the_last_epoch_and_resume_goes_on_from_it(window, qtbot):
    before = labels(window.project)
    assert not window.stop_training.isEnabled()  # nothing to stop yet
    ask_to_train(window, qtbot, minutes=5)
    qtbot.waitUntil(lambda: len(window.training.history) >= 1, timeout=TRAINING_S)
    assert window.trainer.panel.stop_button.isEnabled() and window.stop_training.isEnabled()
    with qtbot.waitSignal(window.training.ended, timeout=30000):
        QTest.mouseClick(window.trainer.panel.stop_button, Qt.LeftButton)
    assert window.training.outcome == "stopped"
    run = window.training.run
    kept = json.loads((run / "metrics.json").read_text())
    assert len(kept) >= 1 and (run / "model.safetensors").is_file()
    assert window.trainer.panel.resume_button.isEnabled() and not window.stop_training.isEnabled()

    QTest.mouseClick(window.trainer.panel.resume_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: len(window.training.history) >= 1, timeout=TRAINING_S)
    with qtbot.waitSignal(window.training.ended, timeout=30000):
        window.training.stop()
    resumed = json.loads((run / "metrics.json").read_text())
    assert resumed[:len(kept)] == kept and resumed[len(kept)]["epoch"] == kept[-1]["epoch"] + 1
    assert resumed[-1]["seconds"] > kept[-1]["seconds"]  # the clock went on from where it stopped
    assert labels(window.project) == before


def test_a_model_too_weak_to_help_is_not_offered_but_may_be_chosen_in_the_models_panel(window, qtbot, monkeypatch):
    monkeypatch.setattr(runs, "USEFUL_AP50", 1.01)  # no model is good enough
    ask_to_train(window, qtbot, minutes=0.05)
    with qtbot.waitSignal(window.training.ended, timeout=TRAINING_S):
        pass
    told = window.trainer.offer
    assert told.isVisible() and told.button(QMessageBox.Yes) is None
    assert "not good enough to pre-label with yet" in told.text() and "mark more images done" in told.text()
    QTest.mouseClick(told.button(QMessageBox.Ok), Qt.LeftButton)
    assert not window.background.prelabeller.running() and window.settings.detector == ""
    window.docks["Models"].raise_()  # its tab, beside Training's
    qtbot.waitUntil(window.models.isVisible)
    item = window.models.item(0)
    rect = window.models.visualItemRect(item)
    QTest.mouseClick(window.models.viewport(), Qt.LeftButton, Qt.NoModifier, rect.center())
    QTest.mouseDClick(window.models.viewport(), Qt.LeftButton, Qt.NoModifier, rect.center())
    assert window.settings.detector == str(window.training.run)
    assert window.models.item(0).text().startswith("\u2713")
    again = window_module.MainWindow(window.project)  # the project opened again: its last run is still shown
    qtbot.addWidget(again)
    assert window.training.run.name in again.trainer.panel.title.text()
    assert again.trainer.panel.resume_button.isEnabled() and not again.trainer.panel.chart.pixmap().isNull()
    QTest.mouseClick(again.trainer.panel.chart, Qt.LeftButton)  # the curves at the size they were drawn
    qtbot.waitUntil(lambda: again.trainer.panel.full is not None and again.trainer.panel.full.isVisible())
    shown = again.trainer.panel.full.findChild(QLabel).pixmap()
    drawn = QPixmap(str(window.training.run / "metrics.png"))
    assert shown.size() == drawn.size() and drawn.width() > again.trainer.panel.chart.pixmap().width()


def test_training_with_fewer_than_two_images_done_is_refused_at_once(qtbot, tmp_path):
    blob_photos(tmp_path, 1)
    project = Project.create(tmp_path / "p.sqlite", tmp_path)
    project.add_images([("0.png", 160, 120)])
    w = window_module.MainWindow(project)
    qtbot.addWidget(w)
    w.show()
    w.activateWindow()
    assert QTest.qWaitForWindowActive(w)
    QTest.keyClick(w, Qt.Key_T, Qt.ControlModifier)
    assert "at least 2 images marked done" in w.statusBar().currentMessage() and not w.training.running()
    w.close()
    project.close()


def test_a_mask_network_trained_from_the_window_becomes_the_mask_backend_if_the_person_agrees(window, qtbot):
    QTest.keyClick(window, Qt.Key_T, Qt.ControlModifier | Qt.ShiftModifier)
    dialog = window.trainer.train_dialog
    qtbot.waitUntil(dialog.isVisible)
    assert [dialog.kind.itemText(k) for k in range(dialog.kind.count())] == ["dextr"]
    dialog.minutes.setValue(0.05)
    QTest.mouseClick(dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.Ok), Qt.LeftButton)
    with qtbot.waitSignal(window.training.ended, timeout=TRAINING_S):
        pass
    assert window.training.outcome == "finished", window.training.outcome
    assert "val_mean_iou" in window.training.history[-1]
    assert "mask network" in window.trainer.offer.text()
    QTest.mouseClick(window.trainer.offer.button(QMessageBox.Yes), Qt.LeftButton)
    assert window.backend_box.currentText() == "dextr"
    assert window.settings.weights["dextr"] == str(window.training.run)


def test_the_train_dialog_offers_a_kinds_word_choices_and_the_run_gets_them(window, qtbot, tmp_path):
    QTest.keyClick(window, Qt.Key_T, Qt.ControlModifier)
    dialog = window.trainer.train_dialog
    qtbot.waitUntil(dialog.isVisible)
    dialog.kind.setCurrentText("sapd")
    rows = dialog.layout().rowCount()
    assert list(dialog.choices) == ["augment"]  # every detector's
    dialog.kind.setCurrentText("retinanet")
    anchors = dialog.choices["anchor_mode"]
    assert [anchors.itemText(k) for k in range(anchors.count())] == ["default", "kmeans", "learned", "meta"]
    assert anchors.currentText() == "default" and dialog.layout().rowCount() == rows + 1
    assert dialog.layout().labelForField(anchors).text() == "Anchors"
    anchors.setCurrentText("learned")
    request = dialog.request(window.project.path, tmp_path / "run")
    assert request.kind == "retinanet" and request.options == {"augment": DEFAULT_AUGMENT, "anchor_mode": "learned"}
    dialog.kind.setCurrentText("extremenet")
    assert list(dialog.choices) == ["augment", "box_points"] and dialog.layout().rowCount() == rows + 1
    assert dialog.choices["box_points"].currentText() == "midpoints"  # ADR 13
    dialog.reject()
