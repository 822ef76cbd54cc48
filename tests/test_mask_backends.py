import itertools

import cv2
import numpy as np
import pytest

from converters import ExtremePoints
from converters.masks import extreme_points_from_mask, mask_iou
from detectors.mask_backends import MIN_SIDE, STEERED, mask_from_extremes, masks_from_extremes, octagon_mask, steering
from detectors.mask_backends.boundary import cheapest_monotone_path, path_between
from detectors.mask_backends.simulate import simulated_clicks
from tests.samples import blob, object_photo


def brute_force_cost(cost: np.ndarray) -> float:
    """Every monotone path from the top-left to the bottom-right, by recursion over moves."""
    rows, cols = cost.shape

    def best(i: int, j: int) -> float:
        if (i, j) == (rows - 1, cols - 1):
            return cost[i, j]
        options = [best(i + di, j + dj) for di, dj in ((0, 1), (1, 0), (1, 1)) if i + di < rows and j + dj < cols]
        return cost[i, j] + min(options)

    return best(0, 0)


@pytest.mark.parametrize("seed", range(20))
def test_the_monotone_path_is_the_cheapest_one(seed):
    rng = np.random.default_rng(seed)
    cost = rng.random((rng.integers(1, 6), rng.integers(1, 6)))
    path = cheapest_monotone_path(cost)
    assert tuple(path[0]) == (0, 0) and tuple(path[-1]) == (cost.shape[0] - 1, cost.shape[1] - 1)
    steps = np.diff(path, axis=0)
    assert ((steps >= 0) & (steps <= 1)).all() and (steps.sum(axis=1) >= 1).all()
    assert cost[path[:, 0], path[:, 1]].sum() == pytest.approx(brute_force_cost(cost))


def test_a_path_follows_a_cheap_edge_between_two_clicks():
    cost = np.ones((30, 30))
    cost[5, 5:25] = 0.01  # an edge along the top, then down the right side
    cost[5:25, 24] = 0.01
    path = path_between(cost, (25, 24), (5, 5))  # from below-right up to the top-left: flipped both ways
    assert tuple(path[0]) == (25, 24) and tuple(path[-1]) == (5, 5)
    assert cost[path[:, 0], path[:, 1]].max() == 1  # the single first pixel only
    assert np.count_nonzero(cost[path[:, 0], path[:, 1]] == 1) == 1


@pytest.mark.parametrize("box", [(40, 30, 150, 110), (0, 0, 90, 70), (120, 90, 200, 150)])
def test_grabcut_recovers_a_non_convex_object_better_than_the_octagon(box):
    truth = blob(150, 200, box)  # the second and third touch the image's borders
    photo = object_photo(truth)
    clicks = extreme_points_from_mask(truth)
    result = mask_from_extremes(photo, clicks, "grabcut")
    assert result.backend == "grabcut" and not result.note
    assert mask_iou(result.mask, truth) > 0.95
    assert mask_iou(result.mask, truth) > mask_iou(octagon_mask(150, 200, clicks), truth)


def test_the_same_clicks_give_the_same_mask_whatever_was_cut_before():
    truth = blob(200, 260, (30, 30, 200, 170))
    photo = object_photo(truth)
    noisy = np.clip(photo + np.random.default_rng(1).normal(0, 40, photo.shape), 0, 255).astype(np.uint8)
    clicks, other = extreme_points_from_mask(truth), extreme_points_from_mask(blob(200, 260, (100, 60, 250, 190)))
    first = mask_from_extremes(noisy, clicks, "grabcut").mask
    for _ in range(3):
        mask_from_extremes(noisy, other, "grabcut")  # another object's cut in between
        assert np.array_equal(mask_from_extremes(noisy, clicks, "grabcut").mask, first)


def test_the_octagon_method_rasterises_extremenets_octagon():
    clicks = ExtremePoints(top=(50, 10), left=(10, 40), bottom=(30, 90), right=(90, 60))
    mask = mask_from_extremes(np.zeros((100, 100, 3), np.uint8), clicks).mask
    assert mask[40, 50] and not mask[12, 12]  # inside; the box corner is cut off
    rows, cols = np.nonzero(mask)
    assert (cols.min(), rows.min(), cols.max() + 1, rows.max() + 1) == (10, 10, 90, 90)


def test_objects_smaller_than_the_minimum_side_get_the_octagon_and_say_so():
    truth = np.zeros((50, 50), bool)
    truth[20:23, 20:30] = True  # 3 px high
    [result] = masks_from_extremes(object_photo(truth), [extreme_points_from_mask(truth)], "grabcut")
    assert result.backend == "octagon" and f"{MIN_SIDE} px" in result.note
    assert result.mask.any()


def test_a_backend_that_finds_nothing_falls_back_to_the_octagon():
    truth = blob(80, 80, (10, 10, 70, 70))
    nothing = lambda image, extremes, corrections: [np.zeros(image.shape[:2], bool) for _ in extremes]  # noqa: E731
    [result] = masks_from_extremes(object_photo(truth), [extreme_points_from_mask(truth)], "dextr", nothing)
    assert result.backend == "octagon" and result.note == "dextr found no object: octagon used"
    assert mask_iou(result.mask, truth) > 0.7


def test_an_object_filling_the_whole_image_has_no_background_margin_and_still_gets_its_mask():
    photo = object_photo(np.ones((40, 60), bool))
    clicks = ExtremePoints(top=(30, 0), left=(0, 20), bottom=(30, 40), right=(60, 20))
    result = mask_from_extremes(photo, clicks, "grabcut")
    assert result.mask.shape == (40, 60) and result.mask.mean() > 0.9


def test_many_objects_on_one_image_come_back_in_order():
    truth = [blob(120, 240, (10, 10, 100, 100)), blob(120, 240, (130, 20, 230, 110))]
    photo = object_photo(truth[0] | truth[1])
    results = masks_from_extremes(photo, [extreme_points_from_mask(t) for t in truth], "grabcut")
    assert [mask_iou(r.mask, t) > 0.85 for r, t in zip(results, truth, strict=True)] == [True, True]


def test_dextr_needs_its_network_and_unknown_methods_are_named():
    clicks = ExtremePoints(top=(5, 0), left=(0, 5), bottom=(5, 10), right=(10, 5))
    with pytest.raises(ValueError, match="'dextr' needs its weights: a model directory"):
        mask_from_extremes(np.zeros((20, 20, 3), np.uint8), clicks, "dextr")
    with pytest.raises(ValueError, match="unknown mask backend 'magic'"):
        mask_from_extremes(np.zeros((20, 20, 3), np.uint8), clicks, "magic")


def test_simulated_clicks_are_exact_without_jitter_and_near_object_pixels_with_it():
    truth = blob(100, 100, (20, 10, 80, 90))
    exact = simulated_clicks(truth)
    assert exact == extreme_points_from_mask(truth)
    rng = np.random.default_rng(1)
    for _ in range(20):
        jittered = simulated_clicks(truth, jitter=5, rng=rng)
        for role, point in jittered.as_dict().items():
            x, y = point
            assert truth[int(y), int(x)], role  # on the object
        # each click is one of the object pixels within 5 px of some true extreme
        for point in jittered.as_dict().values():
            assert min(np.hypot(point[0] - q[0], point[1] - q[1]) for q in exact.as_dict().values()) <= 5
    assert simulated_clicks(np.zeros((10, 10), bool)) is None


def test_jittered_clicks_differ_between_draws():
    truth = blob(100, 100, (20, 10, 80, 90))
    rng = np.random.default_rng(0)
    draws = {simulated_clicks(truth, jitter=5, rng=rng).top for _ in range(10)}
    assert len(draws) > 1
    assert all(a != b for a, b in itertools.pairwise(sorted(draws)))


@pytest.mark.parametrize("angle", [0, 20])
def test_grabcut_puts_no_spike_outside_a_straight_sided_object_at_its_clicks(angle):
    """Near a turned rectangle's corners (its extreme points) the mask spills little more than its
    soft edge does anywhere: whole discs at the clicks spilled 57-70 px within 15 px of each."""
    truth = np.zeros((240, 320), np.uint8)
    corners = cv2.boxPoints(((160, 120), (180, 110), angle))
    cv2.fillPoly(truth, [np.round(corners).astype(np.int32)], 1)
    truth = truth.astype(bool)
    clicks = extreme_points_from_mask(truth)
    mask = mask_from_extremes(object_photo(truth, seed=angle), clicks, "grabcut").mask
    spill = mask & ~truth
    rows, cols = np.mgrid[:240, :320]
    for x, y in (clicks.top, clicks.left, clicks.bottom, clicks.right):
        near = (rows - y) ** 2 + (cols - x) ** 2 <= 15 ** 2
        assert spill[near].sum() <= 40, (x, y, spill[near].sum())


def test_a_network_s_chances_steer_grabcut_to_the_object_it_means():
    first = np.zeros((100, 120), bool)
    first[20:80, 10:60] = True
    both = first.copy()
    both[30:70, 60:110] = True  # a second square of the same colour touching it: one object for the clicks
    photo = object_photo(both)
    clicks = extreme_points_from_mask(both)

    class Network:  # what a DEXTR predictor gives: per object, its chance of object per pixel
        def probabilities(self, image, extremes, corrections):
            return [np.where(first, 0.998, 0.002).astype(np.float32) for _ in extremes]

    alone = mask_from_extremes(photo, clicks, "grabcut").mask
    steered = mask_from_extremes(photo, clicks, STEERED, steering(Network())).mask
    assert mask_iou(alone, both) > 0.9  # the clicks alone say both squares
    assert mask_iou(steered, first) > 0.9 and not steered[50, 90]


def test_a_steered_mask_is_what_two_of_the_three_opinions_say(monkeypatch):
    """Steered GrabCut, GrabCut from the clicks and the network each own a column; pairs own the rest."""
    import detectors.mask_backends as backends

    led, own, chances = (np.zeros((4, 8), bool) for _ in range(3))
    led[:, [0, 4, 5, 7]] = True
    own[:, [1, 4, 6, 7]] = True
    chances = np.zeros((4, 8), np.float32)
    chances[:, [2, 5, 6, 7]] = 0.9
    monkeypatch.setattr(backends, "grabcut_mask", lambda image, e, c, prior=None: led if prior is not None else own)

    class Network:
        def probabilities(self, image, extremes, corrections):
            return [chances for _ in extremes]

    [mask] = steering(Network())(np.zeros((4, 8, 3), np.uint8), [None], [()])
    assert mask[0].tolist() == [False, False, False, False, True, True, True, True]
