"""DEXTR with correction points: foreground points join the clicks' heat map, background points get a
5th input; training draws points where the network is wrong now; the paper's 4-input checkpoints still
load, run, start a 5-input model, and obey corrections through the mask."""
from pathlib import Path

import numpy as np
import pytest
import torch

from annotator.cli import main
from converters import Box, Correction, ExtremePoints
from detectors import checkpoints
from detectors.backbones import widened_inputs
from detectors.checkpoints import load_matching, read_foreign_state_dict, save_checkpoint
from detectors.dextr import LIGHT, RELAX, WITH_BACKGROUND, DextrPredictor, crop_input, dextr_net
from detectors.kinds.dextr import DEXTR, with_corrections
from detectors.mask_backends import masks_from_extremes
from detectors.mask_backends.simulate import error_regions, sampled_corrections
from tests.samples import blob_photos

CLICKS = ExtremePoints(top=(60.5, 20), left=(30, 70.5), bottom=(55.5, 120), right=(110, 80.5))
PAPERS = {**LIGHT, "inputs": 4}
HERE, THERE = Correction(50.5, 40.5, True), Correction(90.5, 100.5, False)


def peak(channel: np.ndarray) -> tuple[int, int]:
    row, col = np.unravel_index(int(np.argmax(channel)), channel.shape)
    return int(col), int(row)


def in_crop(point: Correction, size: int = 180) -> tuple[int, int]:
    """A point's pixel in crop_input's crop of CLICKS at `size` (180 x 200 px, squeezed to size x size)."""
    return int((point.x - (30 - RELAX)) * size / 180), int((point.y - (20 - RELAX)) * size / 200)


def test_a_foreground_point_joins_the_clicks_and_a_background_point_gets_the_fifth_input():
    image = np.full((150, 160, 3), 90, np.uint8)
    plain = crop_input(image, CLICKS, 180, inputs=WITH_BACKGROUND)
    x = crop_input(image, CLICKS, 180, [HERE, THERE], WITH_BACKGROUND)
    assert x.shape == (180, 180, 5) and not plain[:, :, 4].any()
    added = x[:, :, 3] - plain[:, :, 3]
    assert np.abs(np.subtract(peak(added), in_crop(HERE))).max() <= 1
    assert np.abs(np.subtract(peak(x[:, :, 4]), in_crop(THERE))).max() <= 1
    assert x[:, :, 4].max() == pytest.approx(255, rel=0.02)


def test_the_papers_four_inputs_take_the_foreground_point_and_leave_the_background_one_to_the_mask():
    image = np.full((150, 160, 3), 90, np.uint8)
    x = crop_input(image, CLICKS, 180, [HERE, THERE])
    assert x.shape == (180, 180, 4)
    assert np.abs(np.subtract(peak(x[:, :, 3] - crop_input(image, CLICKS, 180)[:, :, 3]), in_crop(HERE))).max() <= 1


def test_a_four_input_network_still_loads_runs_and_its_mask_obeys_both_kinds_of_point(tmp_path):
    torch.manual_seed(0)
    model = dextr_net(PAPERS)
    with torch.no_grad():
        model.layer5.final.bias.fill_(20)  # sure that the whole box is the object
    save_checkpoint(tmp_path / "run", PAPERS, model)
    predictor = DEXTR.load(tmp_path / "run")
    assert predictor.inputs == 4
    inside = Correction(40.5, 30.5, True)
    image = np.zeros((150, 160, 3), np.uint8)
    [result] = masks_from_extremes(image, [CLICKS], "dextr", predictor, [[inside, THERE]])
    assert result.backend == "dextr" and result.mask[30, 40] and not result.mask[100, 90]


def test_training_points_lie_in_error_regions_of_the_right_kind_one_region_each():
    truth = np.zeros((60, 80), bool)
    truth[10:50, 10:60] = True
    made = truth.copy()
    made[15:25, 15:25] = False  # a miss
    made[40:48, 30:55] = False  # another, larger
    made[10:50, 60:70] = True  # a spill
    box = Box(5, 5, 70, 50)
    rng = np.random.default_rng(0)
    regions = sorted((r.area, r.foreground) for r in error_regions(made, truth, box))
    assert regions == [(100, True), (200, True), (400, False)]
    for _ in range(20):
        points = sampled_corrections(made, truth, box, 2, rng)
        assert len(points) == 2
        for p in points:
            row, col = int(p.y), int(p.x)
            assert truth[row, col] != made[row, col] and p.foreground == truth[row, col]
        assert len({(truth[int(p.y), int(p.x)], int(p.x) >= 60, int(p.y) >= 40) for p in points}) == 2
    assert len(sampled_corrections(made, truth, box, 5, rng)) == 3  # no more points than regions
    assert sampled_corrections(truth, truth, box, 3, rng) == []


@pytest.mark.parametrize("bias, channel, foreground", [(-20.0, 3, True), (20.0, 4, False)])
def test_training_adds_points_where_the_network_is_wrong_now(bias, channel, foreground):
    """A network that finds nothing is corrected with foreground points only; one that takes the whole
    crop, with background points only, outside the object."""
    torch.manual_seed(0)
    model = dextr_net({**LIGHT, "crop": 64})
    with torch.no_grad():
        model.layer5.final.bias.fill_(bias)
    truth = torch.zeros(4, 1, 64, 64)
    truth[:, :, 16:48, 20:44] = 1
    x = torch.zeros(4, 5, 64, 64)
    boxes = torch.tensor([[10.0, 10.0, 44.0, 44.0]] * 4)
    changed = with_corrections(model, x, truth, boxes, np.random.default_rng(1)) - x
    other = 7 - channel  # 3 <-> 4
    assert changed[:, channel].amax(dim=(1, 2)).gt(200).any() and not changed[:, other].any()
    for k in range(4):
        if changed[k, channel].max() > 200:
            row, col = np.unravel_index(int(changed[k, channel].argmax()), (64, 64))
            assert bool(truth[k, 0, row, col]) is foreground


def test_the_papers_checkpoint_starts_a_five_input_model_computing_what_it_did(tmp_path):
    torch.manual_seed(0)
    papers = dextr_net(PAPERS).eval()
    torch.save({f"module.{k}": v for k, v in papers.state_dict().items()}, tmp_path / "dextr_light.pth")
    ours = dextr_net(LIGHT).eval()
    load_matching(ours, widened_inputs(read_foreign_state_dict(tmp_path / "dextr_light.pth"), ours), "test")
    x = torch.rand(1, 4, 64, 64) * 255
    with torch.no_grad():
        assert torch.allclose(ours(torch.cat([x, torch.rand(1, 1, 64, 64) * 255], dim=1)), papers(x), atol=1e-4)


def test_training_from_a_checkpoint_on_the_command_line_reads_its_weights_once(tmp_path, capsys, monkeypatch):
    torch.manual_seed(0)
    save_checkpoint(tmp_path / "start", {**PAPERS, "crop": 64}, dextr_net(PAPERS))
    data = blob_photos(tmp_path)
    read = []
    load_file = checkpoints.load_file

    def counted(path, *args, **kwargs):
        read.append(Path(path))
        return load_file(path, *args, **kwargs)
    monkeypatch.setattr(checkpoints, "load_file", counted)
    assert main(["train", "--arch", "dextr", "--data", str(data), "--images", str(tmp_path), "--out",
                 str(tmp_path / "run"), "--init", str(tmp_path / "start"), "--epochs", "1", "--batch", "2"]) == 0
    assert "on 2 objects (crop 64, 5 inputs)" in capsys.readouterr().out
    assert [p.parent for p in read] == [tmp_path / "start"]
    trained = DEXTR.load(tmp_path / "run")
    assert isinstance(trained, DextrPredictor) and trained.inputs == 5 and trained.crop == 64
