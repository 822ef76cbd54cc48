"""DEXTR: the official checkpoint layout loads (built here, key for key), the input is the paper's, the
loss is balanced, and the decoded mask stays inside the clicks' box."""
import math

import numpy as np
import pytest
import torch

from converters import ExtremePoints, UserError
from detectors.checkpoints import save_checkpoint
from detectors.dextr import (
    LIGHT,
    OFFICIAL,
    RELAX,
    THRESHOLD,
    DextrNet,
    balanced_bce,
    click_heatmap,
    crop_box,
    crop_input,
    dextr_net,
    paste_probability,
)
from detectors.kinds.dextr import DEXTR
from detectors.mask_backends import masks_from_extremes

CLICKS = ExtremePoints(top=(60.5, 20), left=(30, 70.5), bottom=(55.5, 120), right=(110, 80.5))


class Payload:
    """Stands for code a stranger's pickle could carry."""


@pytest.fixture(scope="module")
def official_state():
    """A state dict laid out as dextr_pascal-sbd.pth is: DataParallel's `module.` prefix, and no
    `num_batches_tracked` (saved by an old PyTorch)."""
    torch.manual_seed(0)
    state = DextrNet(101).state_dict()
    return {f"module.{k}": v.clone() for k, v in state.items() if not k.endswith("num_batches_tracked")}


def test_the_official_layout_is_the_one_the_model_has(official_state):
    shapes = {k.removeprefix("module."): tuple(v.shape) for k, v in official_state.items()}
    assert shapes["conv1.weight"] == (64, 4, 7, 7)
    assert shapes["layer3.0.downsample.0.weight"] == (1024, 512, 1, 1)
    assert shapes["layer4.2.conv3.weight"] == (2048, 512, 1, 1)
    for stage in range(4):
        assert shapes[f"layer5.stages.{stage}.1.weight"] == (512, 2048, 1, 1)
        assert f"layer5.stages.{stage}.2.running_var" in shapes
    assert shapes["layer5.bottleneck.0.weight"] == (512, 4096, 1, 1)
    assert shapes["layer5.bottleneck.1.weight"] == (512,)
    assert shapes["layer5.final.weight"] == (1, 512, 1, 1) and shapes["layer5.final.bias"] == (1,)
    assert sum(1 for k in shapes if k.startswith("layer3.")) == 23 * 15 + 5  # ResNet-101's 23 blocks


def test_an_official_checkpoint_loads_with_weights_only(official_state, tmp_path):
    path = tmp_path / "dextr_pascal-sbd.pth"
    torch.save(official_state, path)
    predictor = DEXTR.load(path)
    loaded = predictor.model.state_dict()
    assert predictor.crop == OFFICIAL["crop"]
    assert torch.equal(loaded["layer5.final.weight"], official_state["module.layer5.final.weight"])
    assert torch.equal(loaded["layer2.3.bn2.running_mean"], official_state["module.layer2.3.bn2.running_mean"])


@pytest.mark.parametrize("change, expected", [
    (lambda s: s.pop("module.layer5.final.bias"), "missing: layer5.final.bias"),
    (lambda s: s.update({"module.layer6.weight": torch.zeros(1)}), "unexpected: layer6.weight"),
    (lambda s: s.update({"module.conv1.weight": torch.zeros(64, 3, 7, 7)}),
     "wrong shape: conv1.weight is (64, 3, 7, 7), the model needs (64, 4, 7, 7)"),
])
def test_a_checkpoint_that_does_not_fit_is_refused_naming_the_key(official_state, tmp_path, change, expected):
    state = dict(official_state)
    change(state)
    path = tmp_path / "bad.pth"
    torch.save(state, path)
    with pytest.raises(UserError, match=expected.replace("(", r"\(").replace(")", r"\)")) as e:
        DEXTR.load(path)
    assert str(path) in str(e.value)


def test_a_file_that_is_not_a_plain_state_dict_is_refused_without_unpickling_it(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"weights": torch.ones(3), "payload": Payload()}, path)  # unpickling would run Payload's code
    with pytest.raises(UserError, match="loads safely"):
        DEXTR.load(path)
    with pytest.raises(UserError, match="no such weights file"):
        DEXTR.load(tmp_path / "absent.pth")


def test_our_light_checkpoint_round_trips_through_safetensors(tmp_path):
    torch.manual_seed(1)
    model = dextr_net(LIGHT)
    save_checkpoint(tmp_path / "run", LIGHT, model)
    predictor = DEXTR.load(tmp_path / "run")
    assert predictor.crop == LIGHT["crop"]
    for key, value in model.state_dict().items():
        assert torch.equal(predictor.model.state_dict()[key], value), key


def test_the_crop_is_the_points_box_enlarged_by_the_relax_margin():
    assert crop_box(CLICKS) == (30 - RELAX, 20 - RELAX, 110 + RELAX, 120 + RELAX)


def test_the_heat_map_peaks_at_each_click_with_its_half_maximum_at_half_sigma():
    points = np.array([[10.5, 20.5], [40.5, 30.5]])  # pixel centres of (10, 20) and (40, 30)
    heat = click_heatmap(points, 64, sigma=10)
    assert heat[20, 10] == pytest.approx(255) and heat[30, 40] == pytest.approx(255)
    assert heat[20, 15] == pytest.approx(127.5, rel=1e-4)  # 5 px = sigma / 2 away: half the maximum
    assert heat.max() == pytest.approx(255) and heat[60, 60] < 1e-3


def test_the_network_input_is_rgb_in_0_255_and_the_clicks_heat_map():
    image = np.full((150, 160, 3), 200, np.uint8)
    x = crop_input(image, CLICKS, 256)
    assert x.shape == (256, 256, 4) and x.dtype == np.float32
    scale = 256 / (110 - 30 + 2 * RELAX)  # the crop is square here: 180 x 200 px -> 256 x 256
    assert 199 <= x[128, 128, 0] <= 201  # inside the image: its colour, not normalised
    assert x[0, 0, :3].max() == 0  # the crop reaches outside the image there: zero padding
    top = ((CLICKS.top[0] - (30 - RELAX)) * scale, (CLICKS.top[1] - (20 - RELAX)) * 256 / 200)
    peak = np.unravel_index(np.argmax(x[:, :, 3] * (np.arange(256)[:, None] < 100)), (256, 256))
    assert abs(peak[1] + 0.5 - top[0]) <= 1 and abs(peak[0] + 0.5 - top[1]) <= 1


def test_the_balanced_loss_weighs_the_rare_class_by_the_common_ones_share():
    logits = torch.zeros(1, 1, 2, 2)
    target = torch.tensor([[[[1.0, 0.0], [0.0, 0.0]]]])
    # every pixel costs ln 2 at logit 0; the positive weighs 3/4, each negative 1/4; mean over 4 pixels
    assert balanced_bce(logits, target).item() == pytest.approx((0.75 + 3 * 0.25) * math.log(2) / 4)
    confident = torch.tensor([[[[9.0, -9.0], [-9.0, -9.0]]]])
    assert balanced_bce(confident, target).item() < 1e-3


def test_a_certain_crop_decodes_to_exactly_the_points_box_and_never_beyond():
    mask = paste_probability(np.ones((64, 64)), CLICKS, 150, 160) > THRESHOLD
    rows, cols = np.nonzero(mask)
    assert (cols.min(), rows.min(), cols.max() + 1, rows.max() + 1) == (30, 20, 110, 120)
    assert not paste_probability(np.zeros((64, 64)), CLICKS, 150, 160).any()


def test_the_predictor_batches_objects_and_the_empty_answer_falls_back_to_the_octagon():
    torch.manual_seed(0)
    model = dextr_net(LIGHT)
    with torch.no_grad():
        model.layer5.final.bias.fill_(-20)  # a network sure that nothing is an object
    from detectors.dextr import DextrPredictor

    predictor = DextrPredictor(model, 64)
    image = np.zeros((150, 160, 3), np.uint8)
    other = ExtremePoints(top=(5.5, 2), left=(2, 5.5), bottom=(6.5, 12), right=(14, 7.5))
    assert [m.shape for m in predictor(image, [CLICKS, other])] == [(150, 160), (150, 160)]
    results = masks_from_extremes(image, [CLICKS, other], "dextr", predictor)
    assert [r.backend for r in results] == ["octagon", "octagon"]
    assert results[0].note == "dextr found no object: octagon used"
