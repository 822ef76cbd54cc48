"""SAPD: anchor points, target assignment on hand-made boxes, extreme points through the head's
fractions, decoding, and the loss falling on a tiny synthetic set."""
import numpy as np
import pytest
import torch

from detectors.detections import Detections, GroundTruth
from detectors.predictor import Predictor
from detectors.sapd import (
    EPSILON,
    SAPD,
    LevelOutputs,
    Z,
    anchor_points,
    decode,
    extreme_fractions,
    extremes_from_fractions,
    level_targets,
    sapd_loss,
)


def test_anchor_points_sit_at_the_centres_of_the_stride_cells():
    points = anchor_points(2, 3, 8)
    assert points.tolist() == [[4, 4], [12, 4], [20, 4], [4, 12], [12, 12], [20, 12]]


def test_positives_are_the_points_inside_the_shrunk_box_with_soft_weights():
    points = anchor_points(10, 10, 8)  # centres 4, 12, ..., 76
    box = torch.tensor([[0.0, 0.0, 80.0, 80.0]])  # shrunk box: 40 +/- 8 (EPSILON = 0.2)
    assert EPSILON == 0.2
    t = level_targets(points, 8, box, torch.tensor([1.0]))
    positive = (t.instance >= 0).nonzero().squeeze(1)
    assert points[positive].tolist() == [[36, 36], [44, 36], [36, 44], [44, 44]]
    # at (36, 36): left = top = 36, right = bottom = 44
    assert t.weight[positive[0]].item() == pytest.approx((36 * 36) / (44 * 44))
    assert t.distances[positive[0]].tolist() == pytest.approx([36 / (Z * 8), 36 / (Z * 8), 44 / (Z * 8), 44 / (Z * 8)])
    assert (t.weight[t.instance < 0] == 1).all()


def test_a_point_in_two_shrunk_boxes_learns_the_smaller_and_unused_levels_have_no_positives():
    points = anchor_points(10, 10, 8)
    boxes = torch.tensor([[0.0, 0.0, 80.0, 80.0], [26.0, 26.0, 46.0, 46.0]])  # shrunk: 40 +/- 8, 36 +/- 2
    t = level_targets(points, 8, boxes, torch.tensor([1.0, 1.0]))
    at = {tuple(p): i for p, i in zip(points.tolist(), t.instance.tolist(), strict=True)}
    assert at[(36.0, 36.0)] == 1 and at[(44.0, 44.0)] == 0
    half = level_targets(points, 8, boxes, torch.tensor([0.5, 0.0]))
    assert set(half.instance.tolist()) == {-1, 0}
    assert half.weight[half.instance == 0].max().item() <= 0.5


def test_extreme_points_go_through_fractions_and_back():
    boxes = torch.tensor([[10.0, 20.0, 50.0, 100.0]])
    extremes = torch.tensor([[[30.0, 20.0], [10.0, 60.0], [22.0, 100.0], [50.0, 41.0]]])
    fractions = extreme_fractions(boxes, extremes)
    assert fractions[0].tolist() == pytest.approx([0.5, 0.5, 0.3, 0.2625])
    assert torch.allclose(extremes_from_fractions(boxes, fractions), extremes)


def test_decoding_reads_back_a_box_and_its_extreme_points_from_one_confident_point():
    levels = []
    for size in (8, 4, 2, 1, 1):
        levels.append(LevelOutputs(torch.full((1, 2, size, size), -10.0), torch.zeros(1, 4, size, size),
                                   torch.zeros(1, 4, size, size)))
    p3 = levels[0]
    p3.cls[0, 1, 3, 2] = 5.0  # class 1 at the point (20, 28) of stride 8
    p3.distances[0, :, 3, 2] = torch.tensor([10.0, 8.0, 6.0, 12.0]) / (Z * 8)
    p3.extremes[0, :, 3, 2] = torch.logit(torch.tensor([0.25, 0.5, 0.75, 0.1]))
    [found] = decode(levels)
    assert found.labels.tolist() == [1]
    assert found.scores.item() == pytest.approx(torch.sigmoid(torch.tensor(5.0)).item())
    assert found.boxes.tolist() == [pytest.approx([10.0, 20.0, 26.0, 40.0])]
    assert found.extremes[0].tolist() == [pytest.approx([14.0, 20.0]), pytest.approx([10.0, 30.0]),
                                          pytest.approx([22.0, 40.0]), pytest.approx([26.0, 22.0])]


def squares(seed: int, n: int = 4, size: int = 128):
    """Images with one bright square each, of class 0 (small) or 1 (large)."""
    g = torch.Generator().manual_seed(seed)
    images, targets = torch.rand(n, 3, size, size, generator=g) * 0.2, []
    for k in range(n):
        side = 24 if k % 2 == 0 else 56
        x, y = torch.randint(0, size - side, (2,), generator=g).tolist()
        images[k, :, y:y + side, x:x + side] = 1.0
        box = torch.tensor([[x, y, x + side, y + side]], dtype=torch.float32)
        extremes = torch.tensor([[[x + side / 2, y], [x, y + side / 2], [x + side / 2, y + side],
                                  [x + side, y + side / 2]]])
        targets.append(GroundTruth(box, torch.tensor([k % 2]), extremes))
    return images, targets


@pytest.mark.parametrize("soft_selection", [False, True])
def test_the_loss_falls_on_a_tiny_synthetic_set(soft_selection):
    torch.manual_seed(0)
    model = SAPD(num_classes=2, depth=18, channels=64)
    images, targets = squares(0)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    totals = []
    for _ in range(12):
        outputs, features = model(images)
        losses = sapd_loss(outputs, features, targets, model.selection, soft_selection)
        total = sum(losses.values())
        optimiser.zero_grad()
        total.backward()
        optimiser.step()
        totals.append(total.item())
    assert set(losses) == {"cls", "box", "extreme", "select"}
    assert totals[-1] < 0.7 * totals[0]


def test_the_detectors_backbone_takes_a_torchvision_imagenet_file_and_refuses_a_wrong_one(tmp_path):
    from converters import UserError
    from detectors.backbones import ResNet, load_imagenet

    torch.manual_seed(0)
    imagenet = ResNet(50).state_dict()
    imagenet.update({"fc.weight": torch.zeros(1000, 2048), "fc.bias": torch.zeros(1000)})
    torch.save(imagenet, tmp_path / "resnet50.pth")
    model = SAPD(num_classes=3, depth=50)
    load_imagenet(model.backbone, tmp_path / "resnet50.pth")
    assert torch.equal(model.backbone.state_dict()["layer3.5.conv2.weight"], imagenet["layer3.5.conv2.weight"])
    with pytest.raises(UserError, match="does not fit the model: unexpected: layer1.0.conv3.weight"):
        load_imagenet(SAPD(num_classes=3, depth=18).backbone, tmp_path / "resnet50.pth")


def test_imagenet_weights_already_on_disk_are_used_and_a_download_that_fails_its_checksum_is_refused(tmp_path):
    from converters import UserError
    from detectors.pretrained import FILES, imagenet_weights

    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / FILES[18]).write_bytes(b"fetched before")
    assert imagenet_weights(18, kept, base_url="file:///nowhere/") == kept / FILES[18]
    server = tmp_path / "server"
    server.mkdir()
    (server / FILES[34]).write_bytes(b"not the real weights")
    with pytest.raises(UserError, match="could not download .*resnet34-b627a593.pth .*invalid hash value"):
        imagenet_weights(34, tmp_path / "cache", base_url=server.as_uri() + "/")
    assert list((tmp_path / "cache").iterdir()) == []  # nothing half-fetched is kept


def test_a_pretrained_backbone_keeps_its_batch_norm_statistics_while_a_head_learns_its_own():
    from detectors.backbones import ResNet
    from detectors.dextr import DextrNet

    backbone = ResNet(18, freeze_bn=True).train()
    assert backbone.training and not backbone.bn1.training and not backbone.layer4[1].bn2.training
    dextr = DextrNet(18, 16, freeze_bn=True).train()
    head_norms = [m for m in dextr.layer5.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert not dextr.layer1[0].bn1.training and head_norms and all(m.training for m in head_norms)
    assert ResNet(18).train().bn1.training


def test_detections_on_a_shrunk_decode_are_given_in_the_original_photos_pixels():
    found = Detections(torch.tensor([[10.0, 20.0, 30.0, 40.0]]), torch.tensor([0.9]), torch.tensor([0]),
                       torch.tensor([[[20.0, 20.0], [10.0, 30.0], [20.0, 40.0], [30.0, 30.0]]]))
    predictor = Predictor(torch.nn.Identity(), ["thing"], 64, lambda outputs, threshold: [found], amp=False)
    full = predictor(np.zeros((96, 128, 3), np.uint8))
    half = predictor(np.zeros((48, 64, 3), np.uint8), original=(128, 96))
    assert torch.allclose(full.boxes, half.boxes) and torch.allclose(full.extremes, half.extremes)
    assert full.boxes.tolist() == [[20.0, 40.0, 60.0, 80.0]]  # 128 px seen at 64: twice the network's pixels


def test_a_16_px_object_has_a_positive_anchor_point_wherever_it_lies():
    """Its shrunk box is 3.2 px wide: at stride 8, 78% of placements held no anchor point before."""
    points = anchor_points(8, 8, 8)
    for dx in np.arange(0, 8, 0.5).tolist():
        for dy in np.arange(0, 8, 0.75).tolist():
            box = torch.tensor([[20.0 + dx, 20.0 + dy, 36.0 + dx, 36.0 + dy]])
            t = level_targets(points, 8, box, torch.tensor([1.0]))
            positive = t.instance >= 0
            assert positive.sum() >= 1
            assert (t.distances[positive] > 0).all()  # the point lies inside the box: a real box target


def test_soft_selection_takes_the_levels_of_least_loss_weighted_by_the_selection_net():
    """The paper: "each instance to top-k feature levels with k minimal instance-dependent losses", the
    anchor weights times the net's level weights; not the net's own top levels."""
    from detectors.sapd import TOP_LEVELS, levels_of

    loss = torch.tensor([[0.1, 0.2, 5.0, 6.0, 0.3]])
    logits = torch.tensor([[0.0, 0.0, 3.0, 3.0, 3.0]])  # the net prefers levels 2-4
    weights = levels_of(loss, logits, soft_selection=True)
    p = logits.softmax(dim=1)[0].tolist()
    assert TOP_LEVELS == 3
    assert weights[0].tolist() == pytest.approx([p[0], p[1], 0, 0, p[4]])
    assert levels_of(loss, logits, soft_selection=False)[0].tolist() == [1, 0, 0, 0, 0]
    no_point = torch.tensor([[0.1, float("inf"), float("inf"), float("inf"), float("inf")]])
    assert levels_of(no_point, logits, True)[0, 1:].tolist() == [0, 0, 0, 0]  # nothing where it has no positive


def test_a_box_only_object_adds_nothing_to_the_extreme_loss_but_trains_its_box():
    torch.manual_seed(0)
    model = SAPD(num_classes=2, depth=18, channels=32)
    images, targets = squares(0, n=2)
    outputs, features = model(images)
    box_only = [GroundTruth(t.boxes, t.labels, t.extremes, torch.zeros(len(t.boxes), dtype=torch.bool))
                for t in targets]
    losses = sapd_loss(outputs, features, box_only, model.selection, soft_selection=False)
    assert losses["extreme"].item() == 0 and losses["box"].item() > 0
    garbage = [GroundTruth(t.boxes, t.labels, t.extremes * 0, t.known) for t in box_only]  # where its points would be
    again = sapd_loss(outputs, features, garbage, model.selection, soft_selection=False)
    assert again["extreme"].item() == 0 and again["box"].item() == pytest.approx(losses["box"].item())
    assert sapd_loss(outputs, features, targets, model.selection, False)["extreme"].item() > 0


def test_decoded_boxes_are_clipped_to_the_input_before_nms():
    levels = [LevelOutputs(torch.full((1, 1, size, size), -10.0), torch.zeros(1, 4, size, size),
                           torch.zeros(1, 4, size, size)) for size in (8, 4, 2, 1, 1)]
    p3 = levels[0]
    p3.cls[0, 0, 0, 0] = 5.0  # the point (4, 4), its box reaching 20 px out of the 64 px input
    p3.distances[0, :, 0, 0] = torch.tensor([24.0, 24.0, 10.0, 10.0]) / (Z * 8)
    [found] = decode(levels)
    assert found.boxes.tolist() == [pytest.approx([0.0, 0.0, 14.0, 14.0])]
