"""core.geometry: point in polygon against geometry worked by hand and against matplotlib's
Path (an independent implementation, used only here); centroids and areas against the
shoelace formula worked by hand."""

import numpy as np
import pytest
from matplotlib.path import Path

from hotspot_policing.core.geometry import line_lengths_and_centroids, points_in_polygons, polygon_areas_and_centroids


def flat(polygons):
    """[[ring, ...], ...] -> the flat arrays the functions take (one part per polygon)."""
    rings = [np.asarray(r, dtype=float) for polygon in polygons for r in polygon]
    owner = np.array([i for i, polygon in enumerate(polygons) for _ in polygon])
    return np.concatenate(rings), np.array([len(r) for r in rings]), owner


def inside(x, y, polygons):
    return points_in_polygons(x, y, *flat(polygons), n=len(polygons))


SQUARE = [np.array([[0, 0], [100, 0], [100, 100], [0, 100], [0, 0]], dtype=float)]
L_SHAPE = [np.array([[200, 0], [300, 0], [300, 50], [250, 50], [250, 100], [200, 100], [200, 0]], dtype=float)]
WITH_HOLE = [
    np.array([[400, 0], [500, 0], [500, 100], [400, 100], [400, 0]], dtype=float),
    np.array([[430, 30], [470, 30], [470, 70], [430, 70], [430, 30]], dtype=float),
]


def test_points_in_polygons_match_geometry_by_hand():
    rng = np.random.default_rng(2)
    x, y = rng.uniform(-20, 520, 20000), rng.uniform(-20, 120, 20000)
    found = inside(x, y, [SQUARE, L_SHAPE, WITH_HOLE])
    expected = np.full(len(x), -1)
    expected[(x >= 0) & (x <= 100) & (y >= 0) & (y <= 100)] = 0
    expected[((x >= 200) & (x <= 300) & (y >= 0) & (y <= 50)) | ((x >= 200) & (x <= 250) & (y >= 0) & (y <= 100))] = 1
    hole = (x > 430) & (x < 470) & (y > 30) & (y < 70)
    expected[(x >= 400) & (x <= 500) & (y >= 0) & (y <= 100) & ~hole] = 2
    np.testing.assert_array_equal(found, expected)


def test_points_exactly_on_the_boundary_are_inside():
    x = np.array([0.0, 100.0, 50.0, 250.0, 275.0, 100.0000001])
    y = np.array([50.0, 100.0, 0.0, 75.0, 50.0, 50.0])
    assert inside(x, y, [SQUARE, L_SHAPE]).tolist() == [0, 0, 0, 1, 1, -1]


def test_many_random_polygons_agree_with_matplotlib_path():
    rng = np.random.default_rng(7)
    polygons = []
    for _ in range(300):  # star-shaped polygons of 3-40 vertices, overlapping each other
        k = int(rng.integers(3, 40))
        angles = np.sort(rng.uniform(0, 2 * np.pi, k))
        radii = rng.uniform(5, 60, k)
        centre = rng.uniform(0, 1000, 2)
        ring = centre + np.column_stack([radii * np.cos(angles), radii * np.sin(angles)])
        polygons.append([np.vstack([ring, ring[:1]])])
    x, y = rng.uniform(-50, 1050, 100_000), rng.uniform(-50, 1050, 100_000)
    found = inside(x, y, polygons)
    expected = np.full(len(x), -1)
    for index in range(len(polygons) - 1, -1, -1):  # the lowest index wins
        expected[Path(polygons[index][0]).contains_points(np.column_stack([x, y]))] = index
    assert (found == expected).mean() > 0.9999  # random points on an edge are the only possible differences


def test_a_polygon_with_thousands_of_vertices():
    theta = np.linspace(0, 2 * np.pi, 20001)
    circle = np.column_stack([500 + 400 * np.cos(theta), 500 + 400 * np.sin(theta)])
    circle[-1] = circle[0]
    rng = np.random.default_rng(8)
    x, y = rng.uniform(0, 1000, 200_000), rng.uniform(0, 1000, 200_000)
    found = inside(x, y, [[circle]])
    np.testing.assert_array_equal(found == 0, Path(circle).contains_points(np.column_stack([x, y])))


def test_multipolygon_parts_belong_to_one_feature():
    vertices, sizes, owner = flat([SQUARE + L_SHAPE, WITH_HOLE])
    found = points_in_polygons(np.array([50.0, 210.0, 450.0, 405.0]), np.array([50.0, 90.0, 50.0, 5.0]), vertices, sizes, owner)
    assert found.tolist() == [0, 0, -1, 1]


def test_areas_and_centroids_by_hand():
    # square 100 x 100 with a 40 x 40 hole: area 10000 - 1600; the hole is centred, so is the centroid
    vertices, sizes, _ = flat([WITH_HOLE, L_SHAPE])
    ring_part = np.array([0, 0, 1])  # the hole is the second ring of part 0
    area, centre = polygon_areas_and_centroids(vertices, sizes, ring_part, np.array([0, 1]), 2)
    assert area.tolist() == pytest.approx([8400.0, 7500.0])
    # L: 100 x 50 box (centroid 250, 25) plus 50 x 50 box (225, 75): (5000*250 + 2500*225) / 7500
    assert centre[0] == pytest.approx([450.0, 50.0])
    assert centre[1] == pytest.approx([(5000 * 250 + 2500 * 225) / 7500, (5000 * 25 + 2500 * 75) / 7500])


def test_hole_orientation_does_not_matter():
    vertices, sizes, _ = flat([[WITH_HOLE[0], WITH_HOLE[1][::-1]]])
    area, centre = polygon_areas_and_centroids(vertices, sizes, np.array([0, 0]), np.array([0]), 1)
    assert area[0] == pytest.approx(8400.0) and centre[0] == pytest.approx([450.0, 50.0])


def test_line_lengths_and_centroids_by_hand():
    vertices = np.array([[0.0, 0.0], [10.0, 0.0], [10.0, 30.0], [100.0, 100.0], [100.0, 100.0]])
    length, centre = line_lengths_and_centroids(vertices, np.array([3, 2]), np.array([0, 1]), 2)
    assert length.tolist() == pytest.approx([40.0, 0.0])
    assert centre[0] == pytest.approx([(10 * 5 + 30 * 10) / 40, (10 * 0 + 30 * 15) / 40])
    assert centre[1] == pytest.approx([100.0, 100.0])  # no length: the vertices' mean


def test_far_points_are_those_outside_ten_times_where_nine_in_ten_lie():
    from hotspot_policing.core.geometry import far_from_the_rest

    rng = np.random.default_rng(1)
    x, y = rng.normal(0, 1000, 500), rng.normal(0, 1000, 500)
    x[:2] += [1e6, -2e6]  # geocoded into another country
    reach = np.sort(np.hypot(x - np.median(x), y - np.median(y)))[449]  # 9 in 10 lie within this
    x[2] = np.median(x) + 10.5 * reach  # just beyond ten times that
    x[3] = np.median(x) + 9.5 * reach  # just within
    y[2:4] = np.median(y)
    found = far_from_the_rest(x, y)
    assert found[:3].all() and not found[3:].any()
    assert not far_from_the_rest(x[4:], y[4:]).any()  # a city alone has none
    assert not far_from_the_rest(x[:5], y[:5]).any()  # too few to judge
