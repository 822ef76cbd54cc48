"""ExtremeNet's heat maps: Gaussian targets, the CornerNet focal loss, edge aggregation and the peaks."""
import math

import pytest
import torch

from detectors.extreme_heatmaps import draw_gaussian, edge_aggregate, focal_loss, gaussian_radius, top_peaks


def test_the_radius_grows_with_the_box_and_shrinks_as_the_overlap_asked_for_grows():
    assert 0 < gaussian_radius(10, 10) < gaussian_radius(40, 40) < gaussian_radius(40, 80)
    assert gaussian_radius(40, 40, 0.9) < gaussian_radius(40, 40, 0.7)


def test_a_target_peaks_at_its_point_keeps_the_larger_of_two_and_is_cut_at_the_map_edge():
    heat = torch.zeros(8, 10)
    draw_gaussian(heat, 2, 3, 2)
    assert heat[3, 2] == 1 and heat[3, 1] == heat[3, 3] == heat[2, 2] == heat[4, 2] < 1
    assert heat[3, 5] == 0  # beyond the radius
    draw_gaussian(heat, 3, 3, 2)
    assert heat[3, 2] == 1 and heat[3, 3] == 1
    draw_gaussian(heat, 0, 0, 3)  # a corner: the part inside the map only
    assert heat[0, 0] == 1


def test_the_focal_loss_is_cornernets_on_a_small_case():
    logits = torch.zeros(1, 1, 2)
    target = torch.tensor([[[1.0, 0.5]]])
    # the peak: (1 - 0.5)^2 log 0.5; beside it: (1 - 0.5)^4 0.5^2 log 0.5; one peak
    expected = -(0.25 * math.log(0.5) + 0.0625 * 0.25 * math.log(0.5))
    assert focal_loss(logits, target).item() == pytest.approx(expected)


def test_the_focal_loss_is_small_for_a_right_map_and_pulls_a_wrong_one_towards_it():
    target = torch.zeros(1, 6, 6)
    draw_gaussian(target[0], 3, 2, 1)
    right = torch.where(target == 1, 8.0, -8.0)
    wrong = (-right).requires_grad_()
    assert focal_loss(right, target) < 0.01 < focal_loss(wrong, target)
    focal_loss(wrong, target).backward()
    assert wrong.grad[0, 2, 3] < 0 and wrong.grad[0, 0, 0] > 0  # up at the peak, down elsewhere


def test_edge_aggregation_adds_the_rising_runs_from_both_sides():
    row = torch.tensor([[1.0, 2.0, 3.0, 2.0, 1.0]])
    assert edge_aggregate(row, along=1)[0].tolist() == pytest.approx([1.0, 2.1, 3.6, 2.1, 1.0])
    column = row.T.contiguous()
    assert edge_aggregate(column, along=0)[:, 0].tolist() == pytest.approx([1.0, 2.1, 3.6, 2.1, 1.0])
    flat = torch.ones(1, 4)  # a flat edge: every cell gains the others
    assert edge_aggregate(flat, along=1)[0].tolist() == pytest.approx([1.3] * 4)


def test_the_peaks_are_local_maxima_highest_first_over_all_classes():
    heat = torch.zeros(2, 8, 8)
    heat[0, 2, 5], heat[0, 2, 6] = 0.9, 0.8  # the second is beside a higher one: not a peak
    heat[1, 6, 1] = 0.7
    scores, classes, ys, xs = top_peaks(heat, 2)
    assert scores.tolist() == pytest.approx([0.9, 0.7])
    assert classes.tolist() == [0, 1] and ys.tolist() == [2, 6] and xs.tolist() == [5, 1]


def test_edge_aggregation_is_the_reference_loop_on_random_maps():
    def reference_runs(cells: torch.Tensor) -> torch.Tensor:  # ExtremeNet's loop, along the first dimension
        total = cells.clone()
        for i in range(1, cells.shape[0]):
            total[i] += total[i - 1] * (cells[i] >= cells[i - 1])
        return total - cells

    torch.manual_seed(0)
    heat = torch.rand(3, 20, 30).round(decimals=1)  # ties too: a flat run goes on
    for along in (-1, -2):
        runs = reference_runs(heat.movedim(along, 0)).movedim(0, along)
        back = reference_runs(heat.flip(along).movedim(along, 0)).movedim(0, along).flip(along)
        assert torch.allclose(edge_aggregate(heat, along), heat + 0.1 * (runs + back), atol=1e-5)
