"""core.observed: point-in-polygon against a brute-force reference, and dwell times against
hand-computed ping tracks (enter, leave, gaps, two units at once, pings on the boundary)."""

import numpy as np
import pytest

from hotspot_policing.core.observed import points_in_polygons, presence

SQUARE = [np.array([[0, 0], [100, 0], [100, 100], [0, 100], [0, 0]], dtype=float)]
L_SHAPE = [np.array([[200, 0], [300, 0], [300, 50], [250, 50], [250, 100], [200, 100], [200, 0]], dtype=float)]
WITH_HOLE = [
    np.array([[400, 0], [500, 0], [500, 100], [400, 100], [400, 0]], dtype=float),
    np.array([[430, 30], [470, 30], [470, 70], [430, 70], [430, 30]], dtype=float),
]


def test_points_in_polygons_match_geometry_by_hand():
    rng = np.random.default_rng(2)
    x, y = rng.uniform(-20, 520, 20000), rng.uniform(-20, 120, 20000)
    found = points_in_polygons(x, y, [SQUARE, L_SHAPE, WITH_HOLE])
    expected = np.full(len(x), -1)
    expected[(x >= 0) & (x <= 100) & (y >= 0) & (y <= 100)] = 0
    expected[((x >= 200) & (x <= 300) & (y >= 0) & (y <= 50)) | ((x >= 200) & (x <= 250) & (y >= 0) & (y <= 100))] = 1
    hole = (x > 430) & (x < 470) & (y > 30) & (y < 70)
    expected[(x >= 400) & (x <= 500) & (y >= 0) & (y <= 100) & ~hole] = 2
    np.testing.assert_array_equal(found, expected)


def test_points_exactly_on_the_boundary_are_inside():
    x = np.array([0.0, 100.0, 50.0, 250.0, 275.0, 100.0000001])
    y = np.array([50.0, 100.0, 0.0, 75.0, 50.0, 50.0])
    assert points_in_polygons(x, y, [SQUARE, L_SHAPE]).tolist() == [0, 0, 0, 1, 1, -1]


def track(unit, start, end, step=30.0):
    times = np.arange(start, end + 1e-9, step)
    return np.full(len(times), unit), times


def test_dwell_times_by_hand():
    # unit 1: in hot spot 0 from 0 to 600 s (21 pings), out at 630-900, back 930-1230
    u1, t1 = track(1, 0, 1230)
    s1 = np.where((t1 <= 600) | (t1 >= 930), 0, -1)
    # unit 2: in hot spot 0 from 300 to 900 s, overlapping unit 1 from 300 to 600
    u2, t2 = track(2, 300, 900)
    s2 = np.zeros(len(t2), dtype=int)
    # unit 3: in hot spot 1 with a 10-minute GPS gap in the middle: 0-300 and 900-1200
    u3, t3 = np.full(22, 3), np.concatenate([np.arange(0, 301, 30.0), np.arange(900, 1201, 30.0)])
    s3 = np.ones(len(t3), dtype=int)
    unit = np.concatenate([u1, u2, u3])
    seconds = np.concatenate([t1, t2, t3])
    spot = np.concatenate([s1, s2, s3])
    shuffle = np.random.default_rng(0).permutation(len(unit))  # pings out of order are sorted
    result = presence(unit[shuffle], seconds[shuffle], spot[shuffle], 2, max_gap=120.0)
    # hot spot 0: unit 1 [0, 600] and [930, 1230], unit 2 [300, 900]; presence = [0, 900] U
    # [930, 1230] = 900 + 300 s = 20 min, 2 visits; officer minutes 10 + 5 + 10 = 25
    assert result.minutes[0] == pytest.approx(20.0) and result.visits[0] == 2
    assert result.officer_minutes[0] == pytest.approx(25.0)
    # hot spot 1: the 600 s gap breaks the stay into two episodes of 300 s each
    assert result.minutes[1] == pytest.approx(10.0) and result.visits[1] == 2
    # with a 15-minute allowed gap it is one episode of 1200 s
    longer = presence(unit, seconds, spot, 2, max_gap=900.0)
    assert longer.minutes[1] == pytest.approx(20.0) and longer.visits[1] == 1
    # visits shorter than a minimum do not count as visits
    strict = presence(unit, seconds, spot, 2, max_gap=120.0, min_visit=400.0)
    assert strict.visits.tolist() == [1, 0]
