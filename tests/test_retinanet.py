"""RetinaNet's anchors, matching, box offsets and decoding on hand-made cases, and its anchors chosen
by k-means on the training boxes."""
import json

import numpy as np
import pytest
import torch

from annotator.cli import main
from detectors.kinds.retinanet import DEFAULT_ANCHORS, RETINANET
from detectors.retinanet import (
    IGNORED,
    NEGATIVE,
    LevelOutputs,
    RetinaOutputs,
    decode,
    decode_boxes,
    encode,
    level_anchors,
    match,
)
from tests.test_detector_train import labelled_photos


def test_anchors_sit_on_every_location_centred_in_its_cell():
    anchors = level_anchors(2, 3, 8, torch.tensor([[8.0, 8.0], [16.0, 4.0]]))
    assert anchors.shape == (2 * 3 * 2, 4)
    assert anchors[0].tolist() == [0, 0, 8, 8]  # the first location's first shape, centred at (4, 4)
    assert anchors[1].tolist() == [-4, 2, 12, 6]  # its second shape
    assert anchors[2].tolist() == [8, 0, 16, 8]  # the next location to the right


def test_matching_gives_foreground_ignored_and_background_by_iou():
    box = torch.tensor([[0.0, 0.0, 10.0, 10.0]])
    anchors = torch.tensor([[0.0, 0.0, 10.0, 10.0],  # IoU 1: foreground
                            [0.0, 0.0, 10.0, 15.0],  # 100 / 150 = 0.67: foreground
                            [0.0, 0.0, 10.0, 22.0],  # 100 / 220 = 0.45: ignored
                            [0.0, 0.0, 10.0, 40.0],  # 0.25: background
                            [50.0, 50.0, 60.0, 60.0]])  # no overlap: background
    assert match(anchors, box).tolist() == [0, 0, IGNORED, NEGATIVE, NEGATIVE]


def test_a_box_keeps_its_best_anchor_even_below_the_foreground_iou():
    box = torch.tensor([[0.0, 0.0, 10.0, 10.0]])
    anchors = torch.tensor([[0.0, 0.0, 10.0, 30.0], [0.0, 0.0, 10.0, 40.0]])  # IoU 0.33 and 0.25
    assert match(anchors, box).tolist() == [0, NEGATIVE]
    assert match(anchors, torch.zeros(0, 4)).tolist() == [NEGATIVE, NEGATIVE]


def test_offsets_encode_and_decode_back_to_the_box():
    anchors = torch.tensor([[0.0, 0.0, 10.0, 10.0], [20.0, 20.0, 60.0, 40.0]])
    boxes = torch.tensor([[2.0, 1.0, 14.0, 9.0], [10.0, 25.0, 70.0, 45.0]])
    deltas = encode(anchors, boxes)
    assert deltas[0].tolist() == pytest.approx([0.3, 0.0, np.log(1.2), np.log(0.8)])
    assert torch.allclose(decode_boxes(anchors, deltas), boxes, atol=1e-5)


def test_decoding_finds_the_anchor_that_fires_with_its_box_and_extreme_points():
    shapes = torch.tensor([[[16.0, 16.0]]] * 5)  # one anchor per location on each level
    levels = [LevelOutputs(torch.full((1, 2, s, s), -10.0), torch.zeros(1, 4, s, s), torch.zeros(1, 4, s, s))
              for s in (8, 4, 2, 1, 1)]
    levels[0].cls[0, 1, 2, 3] = 10.0  # class 1 at the P3 cell (row 2, column 3): anchor centre (28, 20)
    levels[0].deltas[0, :, 2, 3] = torch.tensor([0.25, 0.0, np.log(2.0), 0.0])  # 4 px right, twice as wide
    [found] = decode(RetinaOutputs(levels, shapes), score_threshold=0.5)
    assert found.labels.tolist() == [1] and found.scores[0] > 0.99
    assert found.boxes[0].tolist() == pytest.approx([16.0, 12.0, 48.0, 28.0])
    assert found.extremes[0, 0].tolist() == pytest.approx([32.0, 12.0])  # fractions 0.5: the top side's middle


def test_kmeans_anchors_fit_the_training_boxes_and_go_into_the_config(tmp_path, capsys):
    labels = labelled_photos(tmp_path, 4)
    data = json.loads(labels.read_text())
    for k in range(50):  # more distinct sizes than the 45 anchors need: one image crowded with boxes
        data["annotations"].append({"id": 100 + k, "image_id": 0, "category_id": 1, "iscrowd": 0,
                                    "bbox": [1, 1, 3 + k, 2 + 2 * k]})
    labels.write_text(json.dumps(data))
    run = tmp_path / "run"
    assert main(["train", "--arch", "retinanet", "--data", str(labels), "--out", str(run), "--epochs", "1",
                 "--img-size", "64", "--batch", "2", "--channels", "16", "--anchors", "kmeans"]) == 0
    config = json.loads((run / "config.json").read_text())
    anchors = np.array(config["anchors"])
    assert config["anchor_mode"] == "kmeans" and anchors.shape == (5, 9, 2)
    assert anchors.tolist() != DEFAULT_ANCHORS
    areas = anchors.prod(axis=2)
    assert areas[0].max() <= areas[4].min()  # the smallest on P3, the largest on P7
    predictor = RETINANET.load(run)
    assert np.allclose(predictor.model.shapes.numpy(), anchors)  # the model predicts with them


def test_kmeans_anchors_need_enough_distinct_boxes(tmp_path, capsys):
    labels = labelled_photos(tmp_path, 4)
    assert main(["train", "--arch", "retinanet", "--data", str(labels), "--out", str(tmp_path / "run"),
                 "--epochs", "1", "--img-size", "64", "--anchors", "kmeans"]) == 2
    assert "--anchors kmeans: 45 anchors need at least 45 distinct box sizes" in capsys.readouterr().err


def test_learned_anchors_move_toward_the_shapes_of_the_boxes(tmp_path):
    from detectors.retinanet import clustering_loss, temperature_at
    from detectors.train import Schedule, train
    from tests.test_detector_train import photos

    data = photos(tmp_path)  # squares of 32 and 40 px in 128 x 96 images
    config = {"depth": 18, "img_size": 64, "classes": ["small", "large"], "channels": 16, "anchor_mode": "learned"}
    config = RETINANET.completed({"arch": "retinanet", **config}, None)
    out = tmp_path / "run"
    train(RETINANET, data, out, config, Schedule(epochs=6, batch=2, lr=0.01), log=lambda line: None)
    learned = np.array(json.loads((out / "config.json").read_text())["anchors"])
    sides = np.log([[16.0, 16.0], [20.0, 20.0]])  # the squares at 64 px (half of 128)

    def nearest(anchors):  # each box shape's log distance to its nearest anchor
        return np.abs(np.log(anchors.reshape(-1, 2))[None] - sides[:, None]).sum(axis=2).min(axis=1)
    assert (nearest(learned) < nearest(np.array(DEFAULT_ANCHORS))).all()
    assert RETINANET.load(out).model.shapes.detach().numpy() == pytest.approx(learned, abs=0.01)
    boxes = torch.tensor([[0.0, 0.0, 16.0, 16.0]])
    shapes = torch.tensor([[[16.0, 16.0], [64.0, 64.0]]])
    assert clustering_loss(boxes, shapes, temperature_at(1.0)) < 1e-3  # cold: only the nearest, at distance 0
    far = 2 * np.log(4.0) ** 2  # the far anchor's squared log distance
    warm = clustering_loss(boxes, shapes, temperature_at(0.0))  # T = 1: the far anchor is pulled too
    assert float(warm) == pytest.approx(far * np.exp(-far) / (1 + np.exp(-far)), rel=1e-4)


def test_the_metaanchor_generator_gives_the_base_weights_for_the_standard_anchor():
    from detectors.retinanet import AnchorFunction, priors_of

    layer = AnchorFunction(8, 3)
    torch.nn.init.normal_(layer.w2.weight)  # as if trained: other anchors get other weights
    weight, bias = layer.weights(torch.zeros(1, 2))
    assert torch.equal(weight, layer.weight) and torch.equal(bias, layer.bias)
    other, _ = layer.weights(torch.tensor([[0.5, -0.3]]))
    assert not torch.allclose(other, layer.weight)
    priors = priors_of(torch.tensor([[32.0, 32.0], [64.0, 16.0]]), 8).numpy()
    assert priors == pytest.approx(np.array([[0.0, 0.0], [np.log(2), np.log(0.5)]]))  # P3's standard: 32 px


def test_training_priors_stay_within_the_jitter_around_the_anchors():
    from detectors.retinanet import PRIOR_JITTER, jittered

    shapes = torch.full((5, 9, 2), 40.0)
    drawn = jittered(shapes, torch.Generator().manual_seed(0))
    ratio = (drawn / shapes).log()
    assert ratio.abs().max() <= PRIOR_JITTER and ratio.std() > 0.1


def meta_run(tmp_path, capsys):
    labels = labelled_photos(tmp_path, 4)
    run = tmp_path / "run"
    assert main(["train", "--arch", "retinanet", "--data", str(labels), "--out", str(run), "--epochs", "1",
                 "--img-size", "64", "--batch", "2", "--channels", "16", "--anchors", "meta"]) == 0
    capsys.readouterr()
    return labels, run


def test_a_metaanchor_model_runs_with_the_anchors_of_a_file(tmp_path, capsys):
    from annotator.anchors import written
    from detectors.kinds import load_detector

    labels, run = meta_run(tmp_path, capsys)
    levels = [np.array([[12.0 * 2 ** k, 10.0 * 2 ** k], [20.0 * 2 ** k, 30.0 * 2 ** k]]) for k in range(5)]
    anchors = tmp_path / "anchors.json"
    anchors.write_text(written(levels, "json", 64))
    predictor = load_detector(run, anchors=[level.tolist() for level in levels])
    assert predictor.model.shapes.numpy() == pytest.approx(np.array(levels), rel=1e-5)  # 2 per level, not 9
    assert main(["eval", "--model", str(run), "--data", str(labels), "--anchors", str(anchors), "--json"]) == 0
    assert 0 <= json.loads(capsys.readouterr().out)["ap50"] <= 1
    assert main(["eval", "--model", str(run), "--data", str(labels), "--anchors", "kmeans"]) == 2
    assert "would fit the anchors to the very boxes it scores" in capsys.readouterr().err  # the test set's labels
    three = tmp_path / "three.json"
    three.write_text(written(levels[:3], "json", 64))
    assert main(["eval", "--model", str(run), "--data", str(labels), "--anchors", str(three)]) == 2
    assert "RetinaNet has 5 levels (P3-P7), the anchors given have 3" in capsys.readouterr().err


def test_a_fixed_anchor_model_takes_only_as_many_anchors_per_level_as_it_has(tmp_path, capsys):
    from annotator.anchors import written

    labels = labelled_photos(tmp_path, 4)
    run = tmp_path / "run"
    assert main(["train", "--arch", "retinanet", "--data", str(labels), "--out", str(run), "--epochs", "1",
                 "--img-size", "64", "--batch", "2", "--channels", "16"]) == 0
    anchors = tmp_path / "anchors.json"
    anchors.write_text(written([np.array([[10.0, 10.0], [20.0, 20.0]])] * 5, "json", 64))
    assert main(["eval", "--model", str(run), "--data", str(labels), "--anchors", str(anchors)]) == 2
    assert "trained with 9 anchors per level and takes no other number" in capsys.readouterr().err
    nine = tmp_path / "nine.json"
    nine.write_text(written([np.array([[8.0 + k, 9.0 + k] for k in range(9)])] * 5, "json", 64))
    assert main(["eval", "--model", str(run), "--data", str(labels), "--anchors", str(nine), "--json"]) == 0
    sapd = tmp_path / "sapd"
    assert main(["train", "--arch", "sapd", "--data", str(labels), "--out", str(sapd), "--epochs", "1",
                 "--img-size", "64", "--batch", "2", "--channels", "16"]) == 0
    capsys.readouterr()
    assert main(["eval", "--model", str(sapd), "--data", str(labels), "--anchors", str(nine)]) == 2
    assert "--anchors is for retinanet models" in capsys.readouterr().err


def test_an_optimiser_step_on_the_generator_moves_the_weights_about_as_much_as_one_on_the_base():
    """Unscaled, W2's step moved every generated weight by ten times the base weights' step, and
    MetaAnchor's regression diverged within a minute on fruits_nuts."""
    from detectors.retinanet import AnchorFunction

    torch.manual_seed(0)
    layer = AnchorFunction(16, 4)
    priors = torch.tensor([[0.5, -0.3], [-0.4, 0.6]])
    before_base, (before, _) = layer.weight.detach().clone(), (w.detach().clone() for w in layer.weights(priors))
    optimiser = torch.optim.AdamW(layer.parameters(), lr=1e-3)
    layer(torch.randn(1, 16, 8, 8), priors).square().mean().backward()
    optimiser.step()
    moved = (layer.weights(priors)[0].detach() - before).abs().max()
    base_moved = (layer.weight.detach() - before_base).abs().max()
    assert moved < 2 * base_moved


def test_the_learned_anchor_shapes_train_at_their_own_rate_and_everything_else_at_the_runs():
    from detectors.retinanet import ANCHOR_RATE

    config = RETINANET.completed({**RETINANET.new_config(18), "classes": ["a"], "channels": 16,
                                  "anchor_mode": "learned"}, None)
    model = RETINANET.build(config)
    groups = RETINANET.parameter_groups(model)
    assert [factor for _, factor in groups] == [1.0, ANCHOR_RATE]
    assert groups[1][0] == [model.log_shapes]
    trainable = {id(p) for p in model.parameters() if p.requires_grad}
    assert sorted(id(p) for params, _ in groups for p in params) == sorted(trainable)
    fixed = RETINANET.build({**config, "anchor_mode": "default"})
    assert RETINANET.parameter_groups(fixed)[1][0] == []  # default anchors are no parameter


def test_each_level_has_its_own_size_norm_so_training_and_use_agree():
    """One batch norm shared by the five levels normalised each level's dw, dh by the levels' mixed
    statistics when used, not by the level's own as in training."""
    from detectors.retinanet import RetinaHead

    torch.manual_seed(0)
    head = RetinaHead(16, 1, 9, normalised_sizes=True)
    for norm in head.size_norm:
        norm.momentum = None  # a cumulative average: the running statistics become those of the passes below
    features = [torch.randn(2, 16, 16, 16) * (k + 1) + k for k in range(5)]  # levels unlike each other
    with torch.no_grad():
        for _ in range(3):
            trained = [head.train()(f, k) for k, f in enumerate(features)]
        used = [head.eval()(f, k) for k, f in enumerate(features)]
    assert len(head.size_norm) == 5
    for a, b in zip(trained, used, strict=True):
        assert torch.allclose(a.deltas, b.deltas, atol=0.02, rtol=0.02)


def test_the_clustering_loss_pulls_each_levels_anchors_only_toward_the_boxes_of_that_level():
    from detectors.retinanet import clustering_loss

    shapes = torch.tensor([[[10.0, 10.0]], [[100.0, 100.0]]], requires_grad=True)  # 2 levels, 1 anchor each
    boxes = torch.tensor([[0.0, 0.0, 14.0, 14.0]])  # fits the first level's anchor best
    clustering_loss(boxes, shapes, temperature=1.0).backward()
    assert shapes.grad[0].abs().sum() > 0 and shapes.grad[1].abs().sum() == 0


def test_the_regression_moves_anchor_shapes_through_dw_and_dh_only():
    from detectors.retinanet import encode

    shapes = torch.tensor([[20.0, 10.0]], requires_grad=True)
    anchors = torch.cat([torch.tensor([[50.0, 50.0]]) - shapes / 2, torch.tensor([[50.0, 50.0]]) + shapes / 2], dim=1)
    deltas = encode(anchors, torch.tensor([[45.0, 48.0, 75.0, 60.0]]))
    grad_xy = torch.autograd.grad(deltas[:, :2].sum(), shapes, retain_graph=True)[0]
    grad_wh = torch.autograd.grad(deltas[:, 2:].sum(), shapes)[0]
    assert grad_xy.abs().sum() == 0 and grad_wh.abs().sum() > 0


def test_the_clustering_warm_up_ends_half_way(tmp_path):
    from detectors.kinds.retinanet import RetinaStep
    from tests.test_detector_train import photos

    config = RETINANET.completed({**RETINANET.new_config(18), "classes": ["small", "large"], "channels": 16,
                                  "img_size": 64, "anchor_mode": "learned"}, None)
    model = RETINANET.build(config)
    data, collate = RETINANET.training_data(photos(tmp_path, 2), config)
    batch = RETINANET.to_device(collate([data[0], data[1]]), "cpu", torch.contiguous_format)
    step = RetinaStep(model)
    assert step(batch, share=0.1)["cluster"].item() > 0
    assert step(batch, share=0.6)["cluster"].item() == 0


def test_a_model_that_learned_its_anchors_takes_no_others(tmp_path, capsys):
    from annotator.anchors import written

    labels = labelled_photos(tmp_path, 4)
    run = tmp_path / "run"
    assert main(["train", "--arch", "retinanet", "--data", str(labels), "--out", str(run), "--epochs", "1",
                 "--img-size", "64", "--batch", "2", "--channels", "16", "--anchors", "learned"]) == 0
    nine = tmp_path / "nine.json"
    nine.write_text(written([np.array([[8.0 + k, 9.0 + k] for k in range(9)])] * 5, "json", 64))
    capsys.readouterr()
    assert main(["eval", "--model", str(run), "--data", str(labels), "--anchors", str(nine)]) == 2
    assert "learned its anchors with its weights" in capsys.readouterr().err
