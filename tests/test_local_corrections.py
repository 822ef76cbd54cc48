"""A correction point changes the person's mask only near itself, and only the way it says."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from converters import Correction
from detectors.mask_backends.corrections import corrected


def square(size=100, x0=20, y0=20, x1=80, y1=80):
    mask = np.zeros((size, size), bool)
    mask[y0:y1, x0:x1] = True
    return mask


def test_a_foreground_point_adds_the_missed_part_that_holds_it_and_nothing_far_away():
    before = square(x1=60)  # the mask missed the right part of the square
    remade = square(x1=95)  # the backend's answer spills past the object at the right and elsewhere
    remade[0:10, 0:10] = True
    after = corrected(before, remade, [Correction(70.5, 50.5, True)])
    assert (after >= before).all() and after[50, 70]
    assert not after[5, 5]  # a spill far from the point is not taken
    assert not after[50, 90]  # nor past the reach: the point lay 10 px from the edge


def test_a_background_point_removes_the_spill_around_it_and_the_backend_s_cuts_far_away_stay_out():
    before = square()
    before[40:60, 80:95] = True  # a spill to the right of the object
    remade = square()
    remade[30:40, 20:40] = False  # the backend's answer also cut into the body, far from the point
    after = corrected(before, remade, [Correction(88.5, 50.5, False)])
    assert not after[40:60, 87:95].any() and after[40:60, 80:95].sum() < 0.1 * 300  # most of the spill
    assert after[20:80, 20:80].all()  # the body, cut far away in the backend's answer, stays whole


def test_points_the_mask_already_obeys_change_nothing():
    before = square()
    remade = square(x1=50)
    points = [Correction(30.5, 30.5, True), Correction(90.5, 90.5, False)]
    assert (corrected(before, remade, points) == before).all()


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**31 - 1), st.booleans())
def test_a_point_only_adds_or_only_takes_away_and_always_holds(seed, foreground):
    rng = np.random.default_rng(seed)
    before, remade = rng.random((2, 40, 40)) < rng.uniform(0.2, 0.8, size=(2, 1, 1))
    x, y = rng.integers(0, 40, size=2)
    after = corrected(before, remade, [Correction(x + 0.5, y + 0.5, foreground)])
    if foreground:
        assert (after >= before).all() and after[y, x]
    else:
        assert (after <= before).all() and not after[y, x]


def test_a_backend_that_finds_nothing_after_a_point_leaves_the_mask_on_screen_and_corrects_it():
    from converters.masks import extreme_points_from_mask
    from detectors.mask_backends import masks_from_extremes

    before = square()
    clicks = extreme_points_from_mask(before)
    def nothing(image, extremes, corrections):
        return [np.zeros((100, 100), bool) for _ in extremes]
    [result] = masks_from_extremes(np.zeros((100, 100, 3), np.uint8), [clicks], "dextr", nothing,
                                   [[Correction(25.5, 50.5, False)]], [before])
    assert result.backend == "dextr" and not result.mask[50, 25]
    assert result.mask.sum() > 0.9 * before.sum()  # not the octagon, not empty: the person's mask less a part


def test_on_a_band_a_pixel_wide_a_background_point_takes_only_its_pixel_and_a_foreground_one_its_neighbours():
    before = square()
    before[20:80, 80] = True  # a spill one pixel wide along the right side
    remade = square()
    remade[20:80, 79] = False  # the backend's edge, a pixel inside the object's all along
    after = corrected(before, remade, [Correction(80.5, 50.5, False)])
    assert (before ^ after).sum() == 1 and not after[50, 80]  # not a strip along the edge (half right, measured)
    missed = square(x1=79)  # the mask missed the object's last column
    grown = corrected(missed, square(x1=82), [Correction(79.5, 50.5, True)])
    assert 1 <= (grown ^ missed).sum() <= 3 and grown[50, 79] and not grown[50, 80:].any()
