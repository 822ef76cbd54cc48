"""ExtremeNet's grouping finds exactly the groups the brute force over all K^4 combinations finds."""
import numpy as np
import pytest

from detectors.extreme_grouping import Peaks, group_extremes
from tests.extreme_reference import brute_force_groups


def random_peaks(rng, k, size, low_scores=False) -> Peaks:
    scores = rng.random(k) ** (4 if low_scores else 1)
    return Peaks(rng.integers(0, size, k), rng.integers(0, size, k), scores)


def as_dict(groups):
    return {(int(t), int(l), int(b), int(r)): float(s) for t, l, b, r, s in
            zip(groups.top, groups.left, groups.bottom, groups.right, groups.scores, strict=True)}


@pytest.mark.parametrize("seed", range(40))
def test_the_groups_are_the_brute_forces_on_random_heat_maps(seed):
    rng = np.random.default_rng(seed)
    size = int(rng.integers(4, 40))  # small maps: many ties, shared rows and columns
    k = int(rng.integers(1, 16))
    peaks = [random_peaks(rng, k, size, low_scores=seed % 2 == 1) for _ in range(4)]
    centre = rng.random((size, size)) ** 2
    found, expected = as_dict(group_extremes(*peaks, centre)), brute_force_groups(*peaks, centre)
    assert found.keys() == expected.keys()
    assert all(found[key] == pytest.approx(expected[key]) for key in expected)


def test_forty_peaks_per_map_as_the_paper_decodes_them():
    rng = np.random.default_rng(40)
    peaks = [random_peaks(rng, 40, 128) for _ in range(4)]
    centre = rng.random((128, 128))
    found = as_dict(group_extremes(*peaks, centre))
    assert found.keys() == brute_force_groups(*peaks, centre).keys() and len(found) > 100


def test_an_object_is_grouped_from_its_own_four_points_only():
    # one object: top (5, 1), left (1, 4), bottom (6, 9), right (9, 5); a second top lies outside its sides
    top = Peaks(np.array([5, 12]), np.array([1, 0]), np.array([0.9, 0.9]))
    left = Peaks(np.array([1]), np.array([4]), np.array([0.8]))
    bottom = Peaks(np.array([6]), np.array([9]), np.array([0.7]))
    right = Peaks(np.array([9]), np.array([5]), np.array([0.6]))
    centre = np.zeros((16, 16))
    centre[5, 5] = 0.5  # ((1 + 9) // 2, (1 + 9) // 2)
    groups = group_extremes(top, left, bottom, right, centre)
    assert as_dict(groups) == {(0, 0, 0, 0): pytest.approx((0.9 + 0.8 + 0.7 + 0.6 + 2 * 0.5) / 6)}
    centre[5, 5] = 0.05  # a centre below the threshold rejects it
    assert len(group_extremes(top, left, bottom, right, centre)) == 0
