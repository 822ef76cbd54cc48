"""Training DEXTR: the loss falls on a tiny synthetic set, augmentation keeps mask and photo together,
ImageNet backbone files load, and the command writes a model the mask commands use."""
import json

import numpy as np
import pytest
import torch

from annotator.cli import main
from converters import UserError
from detectors.backbones import ResNet, load_imagenet
from detectors.dextr import LIGHT, DextrNet
from detectors.dextr_data import ObjectCrops, augment, synthetic_objects
from detectors.kinds.dextr import DEXTR
from detectors.train import Schedule, train
from tests.samples import blob, blob_photos, object_photo

TINY = {**LIGHT, "crop": 64}


def test_the_loss_falls_and_every_epoch_leaves_a_checkpoint(tmp_path):
    objects = synthetic_objects(8, seed=3, size=96)
    lines = []
    train(DEXTR, objects, tmp_path / "run", TINY, Schedule(epochs=8, batch=4, lr=3e-3), log=lines.append)
    history = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert [m["epoch"] for m in history] == list(range(1, 9)) and len(lines) == 8
    assert history[-1]["loss"] < 0.6 * history[0]["loss"]
    assert DEXTR.load(tmp_path / "run").crop == 64


def test_a_time_budget_ends_training_and_keeps_what_was_learned(tmp_path):
    metrics = train(DEXTR, synthetic_objects(4, size=96), tmp_path / "run", TINY, Schedule(minutes=0.05, batch=2),
                    log=print)
    assert metrics["seconds"] < 30 and (tmp_path / "run" / "model.safetensors").is_file()


def test_augmentation_moves_the_mask_with_the_photo():
    truth = blob(150, 200, (40, 30, 150, 110))
    photo = object_photo(truth)
    rng = np.random.default_rng(0)
    for _ in range(10):
        image, mask = augment(photo, truth, rng)
        inside, outside = image[mask], image[~mask & (image.sum(axis=2) > 0)]
        assert inside[:, 0].mean() > 140 and outside[:, 0].mean() < 110  # the object is the red one
        assert 0.5 < mask.sum() / truth.sum() < 1.7  # scaled by 0.75-1.25 in each direction


def test_a_training_item_is_the_networks_input_the_cut_mask_and_the_clicks_box():
    x, y, box = ObjectCrops(synthetic_objects(1, size=96), 64, train=False, inputs=5)[0]
    assert x.shape == (5, 64, 64) and y.shape == (1, 64, 64)
    assert x[3].max() == pytest.approx(255, rel=0.05) and not x[4].any()  # no correction points yet
    assert set(np.unique(y.numpy())) <= {0.0, 1.0}
    rows, cols = np.nonzero(y[0].numpy())
    bx, by, bw, bh = box.tolist()  # exact clicks: the box is the mask's extent, up to the resize
    assert abs(cols.min() - bx) <= 1 and abs(rows.min() - by) <= 1
    assert abs(cols.max() + 1 - (bx + bw)) <= 1 and abs(rows.max() + 1 - (by + bh)) <= 1


def test_an_imagenet_backbone_in_torchvisions_layout_loads_with_a_blank_click_channel(tmp_path):
    torch.manual_seed(0)
    imagenet = ResNet(18).state_dict()
    imagenet.update({"fc.weight": torch.zeros(1000, 512), "fc.bias": torch.zeros(1000)})
    path = tmp_path / "resnet18.pth"
    torch.save(imagenet, path)
    model = DextrNet(18, 16)
    load_imagenet(model, path)
    conv1 = model.state_dict()["conv1.weight"]
    assert torch.equal(conv1[:, :3], imagenet["conv1.weight"]) and not conv1[:, 3].any()
    assert torch.equal(model.state_dict()["layer4.1.bn2.running_var"], imagenet["layer4.1.bn2.running_var"])
    torch.save(ResNet(34).state_dict(), path)
    with pytest.raises(UserError, match="unexpected: layer1.2"):
        load_imagenet(DextrNet(18, 16), path)


def test_train_then_mask_with_the_trained_model_from_the_command_line(tmp_path, capsys):
    data = blob_photos(tmp_path)
    run = tmp_path / "run"
    assert main(["train", "--arch", "dextr", "--data", str(data), "--out", str(run), "--epochs", "2",
                 "--crop", "64", "--batch", "2", "--synthetic", "2", "--val", str(data)]) == 0
    said = capsys.readouterr().out
    assert "on 4 objects" in said and "validated on" in said and "epoch 2: loss" in said and "val_mean_iou" in said
    assert main(["eval-masks", str(data), "--method", "dextr", "--weights", str(run), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n"] == 2


def test_dextr_resumes_through_the_same_loop_as_the_detector(tmp_path):
    objects = synthetic_objects(4, seed=2, size=96)
    train(DEXTR, objects, tmp_path / "run", TINY, Schedule(epochs=1, batch=2), log=lambda line: None)
    lines = []
    train(DEXTR, objects, tmp_path / "run", TINY, Schedule(epochs=2, batch=2), resume=True, log=lines.append)
    history = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert lines[0].startswith("resuming after epoch 1")
    assert [m["epoch"] for m in history] == [1, 2] and [m["steps"] for m in history] == [2, 4]
    assert all({"epoch", "steps", "seconds", "loss"} <= m.keys() for m in history)


def test_an_option_of_another_model_kind_is_refused(tmp_path, capsys):
    data = blob_photos(tmp_path)
    assert main(["train", "--arch", "dextr", "--data", str(data), "--out", str(tmp_path / "run"),
                 "--img-size", "64"]) == 2
    assert "--img-size does not apply to --arch dextr" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
