import numpy as np
import pycocotools.mask as mask_utils
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from converters import ExtremePoints, UserError
from converters.masks import (
    EXTREME_BAND,
    compress_rle,
    extreme_points_from_mask,
    extreme_points_from_polygons,
    extreme_points_of_many,
    has_bridge,
    mask_to_polygons,
    mask_to_rle,
    polygon_areas,
    polygons_to_mask,
    polygons_to_rle,
    rle_area,
    rle_to_mask,
)


def ring_with_island() -> np.ndarray:
    """A square with a hole, an island inside the hole, and a second part."""
    m = np.zeros((30, 40), np.uint8)
    m[2:20, 2:20] = 1
    m[6:16, 6:16] = 0
    m[9:12, 9:12] = 1
    m[22:28, 30:38] = 1
    return m


def test_holes_islands_and_parts_survive_mask_to_polygons_to_mask():
    m = ring_with_island()
    polygons = mask_to_polygons(m)
    assert len(polygons) == 3  # the ring (its hole bridged in), the island, the second part
    assert np.array_equal(polygons_to_mask(polygons, 30, 40), m)


def test_a_part_without_holes_is_its_outline_in_pixel_corner_coordinates():
    m = np.zeros((10, 10), np.uint8)
    m[2:5, 3:7] = 1
    (poly,) = mask_to_polygons(m)
    corners = {tuple(p) for p in np.reshape(poly, (-1, 2))}
    assert corners == {(3, 2), (7, 2), (7, 5), (3, 5)}


def test_an_empty_mask_has_no_polygons_and_no_extreme_points():
    m = np.zeros((5, 5), np.uint8)
    assert mask_to_polygons(m) == []
    assert extreme_points_from_mask(m) is None


masks = arrays(np.uint8, st.tuples(st.integers(1, 24), st.integers(1, 24)), elements=st.integers(0, 1))


@settings(max_examples=300, deadline=None)
@given(masks)
def test_random_masks_round_trip_through_polygons_exactly(m):
    assert np.array_equal(polygons_to_mask(mask_to_polygons(m), *m.shape), m)


@settings(max_examples=100, deadline=None)
@given(masks)
def test_random_masks_round_trip_through_rle_exactly(m):
    rle = mask_to_rle(m)
    assert isinstance(rle["counts"], str)
    assert np.array_equal(rle_to_mask(rle), m)
    assert rle_area(rle) == m.sum()


@st.composite
def blobs(draw):
    """Masks made of a few filled rectangles with rectangular holes cut out: several parts, real holes."""
    h, w = draw(st.integers(20, 60)), draw(st.integers(20, 60))
    m = np.zeros((h, w), np.uint8)
    for value in [1] * draw(st.integers(1, 4)) + [0] * draw(st.integers(0, 4)):
        y0, x0 = draw(st.integers(0, h - 2)), draw(st.integers(0, w - 2))
        y1, x1 = draw(st.integers(y0 + 1, h)), draw(st.integers(x0 + 1, w))
        m[y0:y1, x0:x1] = value
    return m


@settings(max_examples=150, deadline=None)
@given(blobs())
def test_masks_with_holes_and_parts_round_trip_through_polygons_and_rle(m):
    polygons = mask_to_polygons(m)
    rle = polygons_to_rle(polygons, *m.shape)
    assert np.array_equal(rle_to_mask(rle), m)
    if m.any():
        assert extreme_points_from_polygons(polygons).box == extreme_points_from_mask(m).box


def test_uncompressed_rle_is_compressed_losslessly():
    m = ring_with_island()
    fortran = np.asfortranarray(m).ravel(order="F")
    change = np.flatnonzero(np.diff(np.concatenate([[0], fortran, [2]])))  # run boundaries, starting with 0s
    counts = np.diff(np.concatenate([[0], change])).tolist()
    counts = counts[:-1] + [len(fortran) - sum(counts[:-1])]
    rle = compress_rle({"size": [30, 40], "counts": counts})
    assert np.array_equal(rle_to_mask(rle), m)
    assert rle == mask_to_rle(m)


def test_uncompressed_rle_with_wrong_total_is_refused():
    with pytest.raises(UserError, match="add up to 3, not height x width = 50"):
        compress_rle({"size": [5, 10], "counts": [1, 2]})


def test_rle_matches_pycocotools_encoding():
    m = ring_with_island()
    ours = mask_to_rle(m)
    theirs = mask_utils.encode(np.asfortranarray(m))
    assert ours["counts"].encode() == theirs["counts"]


def test_extreme_points_from_a_mask_follow_the_2_percent_band_rule():
    m = np.zeros((120, 120), np.uint8)
    m[10:110, 20:100] = 1          # a 80 x 100 box: the bands are 2 rows and 1.6 columns deep
    m[10, 20:30] = 0               # the top row covers columns 30..99
    m[11, 20:25] = 0               # rows 11 and 12 lie within 2 rows of the top, so they count
    m[12, 20:22] = 0               # and reach further left: 22..99
    ep = extreme_points_from_mask(m)
    assert ep.top == ((22 + 100) / 2, 10)
    assert ep.left == (20, (13 + 110) / 2)   # rows 10..12 reach neither column 20 nor 21
    assert ep.bottom == ((20 + 100) / 2, 110)
    assert ep.right == (100, (10 + 110) / 2)
    assert ep.box.to_list() == [20, 10, 80, 100]


def test_extreme_points_from_polygons_use_vertices_within_the_band():
    square_with_notch = [0, 10, 40, 0, 60, 0.5, 100, 10, 100, 90, 50, 100, 0, 90]
    ep = extreme_points_from_polygons([square_with_notch])
    assert ep == ExtremePoints(top=(50, 0), left=(0, 50), bottom=(50, 100), right=(100, 50))


def test_degenerate_polygons_give_no_extreme_points_and_no_mask():
    assert extreme_points_from_polygons([[0, 0, 10, 0, 20, 0]]) is None
    assert extreme_points_from_polygons([[0, 0, 10, 10]]) is None  # two vertices are not a polygon
    assert polygons_to_mask([[0, 0, 10, 10]], 5, 5).sum() == 0


def test_a_traced_hole_is_a_bridge_and_a_closing_vertex_is_not():
    mask = np.zeros((10, 10), np.uint8)
    mask[1:9, 1:9] = 1
    assert not has_bridge(mask_to_polygons(mask)[0])
    mask[4:6, 4:6] = 0
    assert has_bridge(mask_to_polygons(mask)[0])
    assert not has_bridge([0, 0, 4, 0, 4, 4, 0, 0])  # closed by repeating the first vertex at the end
    assert not has_bridge([0, 0, 0, 3, 3, 3, 3, 0])  # the first x again, but not the first vertex


@settings(max_examples=30, deadline=None)
@given(st.lists(st.lists(st.floats(0, 40), min_size=6, max_size=16).filter(lambda p: len(p) % 2 == 0),
                min_size=1, max_size=5))
def test_areas_rasterised_together_equal_each_one_alone(polygons):
    assert polygon_areas(polygons, 30, 40) == [rle_area(polygons_to_rle([p], 30, 40)) for p in polygons]


def test_areas_of_more_polygons_than_a_uint8_counts():
    squares = [[i % 30, 0, i % 30 + 10, 0, i % 30 + 10, 10, i % 30, 10] for i in range(600)]
    assert polygon_areas(squares, 30, 40) == [100.0] * 600


def one_object_at_a_time(polygons: list[list[float]]) -> ExtremePoints | None:
    """ExtremeNet's rule written plainly: within 2 % of each side, the middle of the vertices there."""
    vertices = [(p[k], p[k + 1]) for p in polygons if len(p) >= 6 and len(p) % 2 == 0 for k in range(0, len(p), 2)]
    if not vertices:
        return None
    xs, ys = [x for x, _ in vertices], [y for _, y in vertices]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    if x0 == x1 or y0 == y1:
        return None

    def mid(values: list[float]) -> float:
        return (min(values) + max(values)) / 2
    return ExtremePoints(top=(mid([x for x, y in vertices if y <= y0 + EXTREME_BAND * (y1 - y0)]), y0),
                         left=(x0, mid([y for x, y in vertices if x <= x0 + EXTREME_BAND * (x1 - x0)])),
                         bottom=(mid([x for x, y in vertices if y >= y1 - EXTREME_BAND * (y1 - y0)]), y1),
                         right=(x1, mid([y for x, y in vertices if x >= x1 - EXTREME_BAND * (x1 - x0)])))


coordinate = st.one_of(st.integers(-5, 50), st.floats(-5, 50, allow_nan=False).map(lambda v: round(v, 2)))
polygon = st.lists(coordinate, min_size=0, max_size=14)


@given(st.lists(st.lists(polygon, max_size=3), max_size=8))
@settings(max_examples=300, deadline=None)
def test_all_objects_at_once_give_each_objects_points_as_one_at_a_time(objects):
    assert extreme_points_of_many(objects) == [one_object_at_a_time(polygons) for polygons in objects]


def test_a_traced_polygons_holes_come_apart_from_its_outline_without_the_bridges():
    import shapely

    from converters.masks import has_bridge, mask_to_polygons, rings

    mask = np.zeros((60, 60), bool)
    mask[5:55, 5:55] = True
    mask[20:30, 20:30] = False
    mask[40:45, 10:15] = False
    [traced] = mask_to_polygons(mask)
    assert has_bridge(traced)
    parts = rings(traced)
    areas = sorted(shapely.Polygon(np.reshape(ring, (-1, 2))).area for ring in parts)
    assert areas == [25.0, 100.0, 2500.0]  # the two holes and the outline, each a ring of its own
    assert rings([0, 0, 4, 0, 4, 4]) == [[0, 0, 4, 0, 4, 4]]  # no hole: as it was
