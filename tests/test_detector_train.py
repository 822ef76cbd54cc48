"""Training the detectors (every detector kind through the same tests): samples keep boxes and extreme
points on the object through flips and scaling, a checkpoint follows every epoch, a killed run resumes
on the same schedule, and a trained run evaluates and pre-labels from the command line."""
import json

import cv2
import numpy as np
import pytest

from detectors.augment import Piece, flip
from detectors.detection_data import DetectionSamples, Photo
from detectors.kinds import KINDS, Role
from detectors.kinds.sapd import SAPD_KIND
from detectors.train import RESUME_STATE, Schedule, train
from tests.samples import write_json


def photos(tmp_path, n: int = 4) -> list[Photo]:
    rng = np.random.default_rng(0)
    out = []
    for k in range(n):
        image = rng.integers(0, 60, (96, 128, 3), dtype=np.uint8)
        x, y, side = int(rng.integers(0, 60)), int(rng.integers(0, 40)), 32 + 8 * (k % 2)
        image[y:y + side, x:x + side] = 230
        cv2.imwrite(str(tmp_path / f"{k}.png"), image)
        box = np.array([[x, y, x + side, y + side]], np.float32)
        extremes = np.array([[[x + 5, y], [x, y + 7], [x + 9, y + side], [x + side, y + 3]]], np.float32)
        out.append(Photo(tmp_path / f"{k}.png", box, np.array([k % 2]), extremes))
    return out


#: Each detector kind, with a small config for the photos above.
DETECTORS = [pytest.param(kind, {"depth": 18, "img_size": 64, "classes": ["small", "large"],
                                 **({"channels": 32} if "channels" in kind.keys else {})}, id=name)
             for name, kind in KINDS.items() if kind.role is Role.DETECTOR]


def labelled_photos(tmp_path, n: int = 8):
    """`photos` and a COCO file of their boxes beside them."""
    data = photos(tmp_path, n)
    coco = {"images": [{"id": k, "file_name": p.path.name, "width": 128, "height": 96} for k, p in enumerate(data)],
            "categories": [{"id": 1, "name": "small"}, {"id": 2, "name": "large"}],
            "annotations": [{"id": k + 1, "image_id": k, "category_id": int(p.labels[0]) + 1, "iscrowd": 0,
                             "bbox": [float(p.boxes[0, 0]), float(p.boxes[0, 1]),
                                      float(p.boxes[0, 2] - p.boxes[0, 0]), float(p.boxes[0, 3] - p.boxes[0, 1])]}
                            for k, p in enumerate(data)]}
    return write_json(tmp_path / "labels.json", coco)


def test_a_flip_mirrors_boxes_and_swaps_the_left_and_right_points():
    image = np.zeros((10, 100, 3), np.uint8)
    boxes = np.array([[10.0, 2, 30, 8]], np.float32)
    extremes = np.array([[[15, 2], [10, 5], [20, 8], [30, 4]]], np.float32)
    flipped = flip(Piece(image, boxes, np.array([0]), extremes, np.array([True])))
    assert flipped.boxes.tolist() == [[70, 2, 90, 8]]
    assert flipped.extremes.tolist() == [[[85, 2], [70, 4], [80, 8], [90, 5]]]  # the old right point is the new left


def test_a_sample_is_the_normalised_square_and_its_objects_scaled_with_it(tmp_path):
    [photo] = photos(tmp_path, 1)
    image, target = DetectionSamples([photo], 64, train=False)[0]
    assert image.shape == (3, 64, 64)
    assert target.boxes.tolist() == [pytest.approx((photo.boxes[0] * 0.5).tolist())]
    assert image[:, 60:, :].abs().sum() == 0  # below the photo (96 x 128 -> 48 x 64): padding
    for _ in range(5):
        _, jittered = DetectionSamples([photo], 64)[0]
        b, e = jittered.boxes[0], jittered.extremes[0]
        assert (e[:, 0] >= b[0] - 1e-4).all() and (e[:, 0] <= b[2] + 1e-4).all()


def test_the_schedule_warms_up_then_drops_by_ten_twice():
    assert SAPD_KIND.rate(0.0) == pytest.approx(0.1)
    assert SAPD_KIND.rate(0.5) == pytest.approx(1)
    assert SAPD_KIND.rate(0.8) == pytest.approx(0.1)
    assert SAPD_KIND.rate(0.95) == pytest.approx(0.01)


@pytest.mark.parametrize("kind, config", DETECTORS)
def test_every_epoch_leaves_a_checkpoint_and_a_resumed_run_goes_on_from_it(tmp_path, kind, config):
    data = photos(tmp_path)
    out = tmp_path / "run"
    train(kind, data, out, config, Schedule(epochs=2, batch=2), log=lambda line: None)
    history = json.loads((out / "metrics.json").read_text())
    assert [m["epoch"] for m in history] == [1, 2] and history[-1]["steps"] == 4
    assert json.loads((out / "config.json").read_text())["classes"] == ["small", "large"]
    assert (out / "model.safetensors").is_file() and (out / RESUME_STATE).is_file()
    lines = []
    train(kind, data, out, config, Schedule(epochs=3, batch=2), resume=True, log=lines.append)
    assert lines[0].startswith("resuming after epoch 2")
    history = json.loads((out / "metrics.json").read_text())
    assert [m["epoch"] for m in history] == [1, 2, 3] and history[-1]["steps"] == 6


@pytest.mark.parametrize("arch", [p.id for p in DETECTORS])
def test_train_then_eval_from_the_command_line(tmp_path, capsys, arch):
    from annotator.cli import main
    labels = labelled_photos(tmp_path, 4)
    run = tmp_path / "run"
    assert main(["train", "--arch", arch, "--data", str(labels), "--out", str(run), "--epochs", "1",
                 "--img-size", "64", "--batch", "2", "--val", str(labels)]) == 0
    assert "on 4 images, 2 classes" in capsys.readouterr().out
    [epoch] = json.loads((run / "metrics.json").read_text())
    assert 0 <= epoch["val_ap50"] <= 1 and "val_ap" in epoch and "val_ap75" in epoch
    assert main(["eval", "--model", str(run), "--data", str(labels), "--json"]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert {"ap", "ap50", "ap75", "images", "ms_per_image", "extreme_error"} <= set(scores) and scores["images"] == 4
    assert 0 <= scores["ap50"] <= 1


def test_eval_refuses_a_model_that_is_not_a_detector(tmp_path, capsys):
    from annotator.cli import main
    from detectors.checkpoints import save_checkpoint
    from detectors.dextr import LIGHT, dextr_net

    save_checkpoint(tmp_path / "masks", LIGHT, dextr_net(LIGHT))
    assert main(["eval", "--model", str(tmp_path / "masks"), "--data", str(tmp_path / "x.json")]) == 2
    assert "holds a 'dextr' model (a DEXTR mask network), not a detector" in capsys.readouterr().err


def test_prelabel_adds_suggestions_beside_a_persons_labels_and_resumes(tmp_path, capsys):
    """With SAPD, which suggests after one epoch (ExtremeNet's maps are still below its 0.1 floor then);
    the predictor is the same for every detector."""
    from annotator.cli import main
    from annotator.store import Project
    from converters import Annotation, ExtremePoints, Source

    data = photos(tmp_path)
    run = tmp_path / "run"
    train(SAPD_KIND, data, run, {"depth": 18, "img_size": 64, "channels": 32, "classes": ["small", "large"]},
          Schedule(epochs=1, batch=2), log=lambda line: None)
    path = tmp_path / "p.sqlite"
    with Project.create(path, tmp_path) as project:
        project.add_images([(p.path.name, 128, 96) for p in data])
        small = project.add_category("small")
        mine = project.add_annotation(Annotation.from_extreme(
            0, 1, small.id, ExtremePoints((20, 10), (10, 20), (20, 30), (30, 20))))
    assert main(["prelabel", str(path), "--model", str(run), "--min-score", "0"]) == 0
    said = capsys.readouterr().out
    assert "pre-labelled 4 images at a minimum score of 0.00" in said
    with Project.open(path) as project:
        assert project.annotations(1) == [mine]  # the person's label, untouched
        suggested = [s for im in project.images() for s in project.suggestions(im.id)]
        assert suggested and all(s.source is Source.MODEL and s.extreme is not None for s in suggested)
        assert {c.name for c in project.categories()} == {"small", "large"}
        count = len(suggested)
    assert main(["prelabel", str(path), "--model", str(run), "--min-score", "0"]) == 0
    assert "pre-labelled 0 images at a minimum score of 0.00: 0 suggestions; 4 images pre-labelled before at this " \
        "score or lower skipped" in capsys.readouterr().out
    with Project.open(path) as project:
        assert sum(len(project.suggestions(im.id)) for im in project.images()) == count


def test_a_project_trains_the_detector_on_its_images_marked_done(tmp_path, capsys):
    from annotator.cli import main
    from annotator.store import Project
    from converters import Annotation, ExtremePoints, ImageStatus

    data = photos(tmp_path)
    path = tmp_path / "p.sqlite"
    with Project.create(path, tmp_path) as project:
        project.add_images([(p.path.name, 128, 96) for p in data])
        small = project.add_category("small")
    args = ["train", "--arch", "sapd", "--data", str(path), "--out", str(tmp_path / "run"), "--epochs", "1",
            "--img-size", "64", "--batch", "2"]
    assert main(args) == 2
    assert "has no images marked done to train on" in capsys.readouterr().err
    with Project.open(path) as project:
        for image_id, p in ((1, data[0]), (2, data[1])):
            (top, left, bottom, right) = (tuple(map(float, point)) for point in p.extremes[0])
            project.add_annotation(Annotation.from_extreme(0, image_id, small.id,
                                                           ExtremePoints(top, left, bottom, right)))
            project.set_status(image_id, ImageStatus.DONE)
    assert main(args) == 0
    said = capsys.readouterr().out
    assert "training on the 2 images marked done of 4" in said and "on 2 images, 1 classes" in said


@pytest.mark.parametrize("damage, message", [
    (lambda run: (run / "config.json").unlink(), "is not a model directory: no config.json"),
    (lambda run: (run / "model.safetensors").write_bytes((run / "model.safetensors").read_bytes()[:5000]),
     "model.safetensors: cannot be read"),
    (lambda run: (run / "config.json").write_text(json.dumps({**json.loads((run / "config.json").read_text()),
                                                               "channels": 64})),
     "does not fit the model: wrong shape: fpn."),
    (lambda run: (run / "config.json").write_text("{ not json"), "config.json: is not valid JSON"),
])
def test_a_damaged_or_mismatched_detector_is_refused_with_the_file_and_the_reason(tmp_path, capsys, damage, message):
    from annotator.cli import main
    from annotator.store import Project
    from detectors.checkpoints import save_checkpoint
    from detectors.sapd import SAPD

    run = tmp_path / "run"
    save_checkpoint(run, {"arch": "sapd", "classes": ["a", "b"], "depth": 18, "img_size": 64, "channels": 32},
                    SAPD(2, 18, 32))
    damage(run)
    cv2.imwrite(str(tmp_path / "one.png"), np.zeros((32, 32, 3), np.uint8))
    with Project.create(tmp_path / "p.sqlite", tmp_path) as project:
        project.add_images([("one.png", 32, 32)])
    assert main(["prelabel", str(tmp_path / "p.sqlite"), "--model", str(run)]) == 2
    error = capsys.readouterr().err
    assert message in error and str(run) in error and len(error.strip().splitlines()) == 1
    with Project.open(tmp_path / "p.sqlite") as project:
        assert project.suggestions(1) == []
