import math
from itertools import permutations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from converters import ExtremePoints, UserError
from converters.geometry import Box
from converters.masks import extreme_points_from_mask, polygons_to_mask

TOP, LEFT, BOTTOM, RIGHT = (50.0, 10.0), (12.0, 40.0), (47.0, 90.0), (88.0, 55.0)


@pytest.mark.parametrize("order", list(permutations([TOP, LEFT, BOTTOM, RIGHT])))
def test_four_clicks_in_any_order_get_their_roles(order):
    ep = ExtremePoints.from_clicks(order)
    assert (ep.top, ep.left, ep.bottom, ep.right) == (TOP, LEFT, BOTTOM, RIGHT)


def test_box_passes_exactly_through_the_extreme_points():
    box = ExtremePoints(TOP, LEFT, BOTTOM, RIGHT).box
    assert box == Box(12.0, 10.0, 76.0, 80.0)


def test_corner_clicks_of_an_upright_rectangle_are_accepted():
    ep = ExtremePoints.from_clicks([(0, 0), (10, 0), (0, 5), (10, 5)])
    assert ep.box == Box(0, 0, 10, 5)


@pytest.mark.parametrize("clicks, message", [
    ([TOP, LEFT, BOTTOM], "expected 4 extreme points, got 3"),
    ([TOP, LEFT, BOTTOM, RIGHT, (1, 1)], "expected 4 extreme points, got 5"),
    ([TOP, LEFT, (math.nan, 3.0), RIGHT], "click 3 (nan, 3.0) is not two finite numbers"),
    ([(5, 1), (5, 2), (5, 3), (5, 4)], "zero width: all lie on x = 5"),
    ([(1, 7), (2, 7), (3, 7), (4, 7)], "zero height: all lie on y = 7"),
    ([(0, 0), (5, 5), (6, 6), (7, 7)], "point (0, 0) is both the top-most and the left-most click"),
])
def test_bad_clicks_are_refused_with_a_message_saying_what_is_wrong(clicks, message):
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ExtremePoints.from_clicks(clicks)


def test_a_top_point_below_the_bottom_point_is_a_contradiction():
    with pytest.raises(UserError, match=r"the top point \(50, 95\) lies below the bottom point \(47, 90\)"):
        ExtremePoints((50, 95), LEFT, BOTTOM, RIGHT)


def test_a_right_point_left_of_the_left_point_is_a_contradiction():
    with pytest.raises(UserError, match="the left point .* lies right of the right point"):
        ExtremePoints(TOP, (90, 40), BOTTOM, RIGHT)


def test_clicks_just_outside_the_image_are_clamped_onto_it():
    ep = ExtremePoints.from_clicks([(50, -1.5), (-0.5, 40), (47, 101), (88, 55)], image_size=(100, 100))
    assert ep.top == (50, 0) and ep.left == (0, 40) and ep.bottom == (47, 100)


def test_clicks_far_outside_the_image_are_refused():
    with pytest.raises(UserError, match=r"point \(130, 55\) lies outside the 100x100 image"):
        ExtremePoints.from_clicks([TOP, LEFT, BOTTOM, (130, 55)], image_size=(100, 100))


def test_octagon_extends_each_point_by_an_eighth_of_its_side_and_clips_at_corners():
    ep = ExtremePoints(top=(2, 0), left=(0, 40), bottom=(50, 80), right=(80, 79))
    assert ep.octagon() == [12, 0, 0, 0, 0, 30, 0, 50, 40, 80, 60, 80, 80, 80, 80, 69]


def test_coco_field_round_trips_in_top_left_bottom_right_order():
    ep = ExtremePoints(TOP, LEFT, BOTTOM, RIGHT)
    assert ep.to_coco() == [list(TOP), list(LEFT), list(BOTTOM), list(RIGHT)]
    assert ExtremePoints.from_coco(ep.to_coco()) == ep
    assert ExtremePoints.from_coco([v for p in ep.to_coco() for v in p]) == ep


coordinate = st.floats(min_value=0, max_value=1000, allow_nan=False)


@st.composite
def extreme_clicks(draw):
    """Four points that can be the extremes of one object: distinct roles by construction."""
    x0 = draw(coordinate)
    x1 = draw(coordinate.filter(lambda v: v > x0 + 1e-3))
    y0 = draw(coordinate)
    y1 = draw(coordinate.filter(lambda v: v > y0 + 1e-3))
    top = (draw(st.floats(x0, x1)), y0)
    bottom = (draw(st.floats(x0, x1)), y1)
    left = (x0, draw(st.floats(y0, y1)))
    right = (x1, draw(st.floats(y0, y1)))
    return top, left, bottom, right


@given(extreme_clicks(), st.permutations(range(4)))
def test_random_clicks_give_the_box_of_their_extremes_whatever_the_order(points, order):
    ep = ExtremePoints.from_clicks([points[i] for i in order])
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    assert ep.box == Box(min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))
    assert ExtremePoints.from_clicks(ep.as_dict().values()).box == ep.box


@st.composite
def octagon_clicks(draw):
    """Extreme points in the middle half of their sides, on a box at least 16 px each way."""
    x0, y0 = draw(st.integers(0, 300)), draw(st.integers(0, 300))
    w, h = draw(st.integers(16, 300)), draw(st.integers(16, 300))
    f = st.floats(0.25, 0.75)
    return ((x0 + draw(f) * w, y0), (x0, y0 + draw(f) * h), (x0 + draw(f) * w, y0 + h), (x0 + w, y0 + draw(f) * h))


@given(octagon_clicks())
def test_extreme_points_of_a_rasterised_octagon_are_near_the_clicks(points):
    ep = ExtremePoints(*points)
    h, w = int(math.ceil(ep.box.y + ep.box.h)) + 2, int(math.ceil(ep.box.x + ep.box.w)) + 2
    mask = polygons_to_mask([ep.octagon()], h, w)
    back = extreme_points_from_mask(mask)
    assert back is not None
    for role, (x, y) in ep.as_dict().items():
        bx, by = back.as_dict()[role]
        along = abs(bx - x) if role in ("top", "bottom") else abs(by - y)
        across = abs(by - y) if role in ("top", "bottom") else abs(bx - x)
        side = ep.box.w if role in ("top", "bottom") else ep.box.h
        assert across <= 1.0, (role, (x, y), (bx, by))
        assert along <= side / 8 + 1.0, (role, (x, y), (bx, by))
    assert np.isclose(back.box.w, ep.box.w, atol=2) and np.isclose(back.box.h, ep.box.h, atol=2)
