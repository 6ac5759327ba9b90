"""core.tessellation and core.optimized against brute force and reference values."""

import numpy as np
import pytest

from hotspot_policing.core import optimized, tessellation, weights

from .test_core_local_stats import columbus  # noqa: F401 - fixture


@pytest.mark.parametrize("grid", [tessellation.SquareGrid(37.0, -11.0, 5.0), tessellation.HexagonGrid(37.0, -11.0, 5.0)])
def test_each_point_falls_in_the_cell_with_the_nearest_centre(grid):
    rng = np.random.default_rng(2)
    x, y = rng.uniform(0, 500, 5000), rng.uniform(0, 400, 5000)
    a, b = grid.keys(x, y)
    cx, cy = grid.centres(a, b)
    all_a, all_b = grid.covering(-50, -50, 550, 450)
    ax, ay = grid.centres(all_a, all_b)
    if isinstance(grid, tessellation.HexagonGrid):
        # hexagons tile the plane by nearest centre (Voronoi cells of their centres)
        nearest = np.hypot(x[:, None] - ax, y[:, None] - ay).min(axis=1)
        np.testing.assert_allclose(np.hypot(x - cx, y - cy), nearest, atol=1e-9)
    else:
        assert (np.abs(x - cx) <= 18.5 + 1e-9).all() and (np.abs(y - cy) <= 18.5 + 1e-9).all()


def test_hexagon_geometry():
    grid = tessellation.HexagonGrid(100.0, 0.0, 0.0)
    ring = grid.rings(np.array([0.0]), np.array([0.0]))[0]
    assert np.ptp(ring[:, 1]) == pytest.approx(100.0)  # height = cell size (flat to flat)
    assert np.ptp(ring[:, 0]) == pytest.approx(200.0 / np.sqrt(3))  # width = 2 size / sqrt 3
    # neighbouring centres are one cell size apart
    cx, cy = grid.centres(np.array([0, 1, 0, 1]), np.array([0, 0, 1, -1]))
    np.testing.assert_allclose(np.hypot(cx[1:] - cx[0], cy[1:] - cy[0]), 100.0)


def test_covering_reaches_every_cell_of_the_rectangle():
    for grid in (tessellation.SquareGrid(10.0, 0.0, 0.0), tessellation.HexagonGrid(10.0, 0.0, 0.0)):
        rng = np.random.default_rng(1)
        x, y = rng.uniform(3, 97, 2000), rng.uniform(-20, 45, 2000)
        keys = set(zip(*grid.keys(x, y)))
        assert keys <= set(zip(*grid.covering(3, -20, 97, 45)))


def test_count_by_cell_matches_a_histogram():
    rng = np.random.default_rng(3)
    x, y = rng.uniform(0, 100, 3000), rng.uniform(0, 50, 3000)
    w = rng.uniform(1, 2, 3000)
    grid = tessellation.SquareGrid(10.0, 0.0, 0.0)
    a, b, counts, sums = tessellation.count_by_cell(*grid.keys(x, y), w)
    histogram, _, _ = np.histogram2d(x, y, bins=[np.arange(0, 101, 10), np.arange(0, 51, 10)])
    weighted, _, _ = np.histogram2d(x, y, bins=[np.arange(0, 101, 10), np.arange(0, 51, 10)], weights=w)
    np.testing.assert_array_equal(counts, histogram[a, b])
    np.testing.assert_allclose(sums, weighted[a, b])


def test_global_moran_reproduces_columbus(columbus):  # noqa: F811
    reference = columbus["reference"]["columbus_global_moran_queen_R"]
    index, z = optimized.global_moran(columbus["crime"], weights.row_standardised(columbus["queen"]))
    assert index == pytest.approx(reference["I"], abs=1e-12)
    assert z == pytest.approx(reference["z_norm"], abs=1e-9)


def test_automatic_distance_finds_the_scale_of_a_clustered_pattern():
    # Gaussian clusters (sd 150 m) plus noise on a 50 m lattice: autocorrelation peaks at
    # about twice the clusters' standard deviation.
    gx, gy = np.meshgrid(np.arange(0, 3000, 50.0), np.arange(0, 3000, 50.0))
    x, y = gx.ravel(), gy.ravel()
    values = np.zeros(len(x))
    for cx, cy in [(500, 500), (2000, 900), (1200, 2300), (2500, 2500)]:
        values += 10 * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * 150.0**2))
    values += np.random.default_rng(0).normal(0, 0.5, len(x))
    distance, how, scores = optimized.automatic_distance(x, y, values, 50.0)
    assert how == "first peak of spatial autocorrelation"
    assert scores[-2] > scores[-3] and scores[-2] > scores[-1]  # it stopped at the first peak
    assert 200 <= distance <= 400


def test_automatic_distance_falls_back_to_k_nearest():
    rng = np.random.default_rng(0)
    x, y = rng.uniform(0, 1000, 200), rng.uniform(0, 1000, 200)
    values = np.arange(200.0)  # a gradient: autocorrelation grows with distance, no peak
    order = np.argsort(x)
    values[order] = np.arange(200.0)
    distance, how, _ = optimized.automatic_distance(x, y, values, 10.0)
    assert "nearest neighbour" in how
    d = np.hypot(x[:, None] - x, y[:, None] - y)
    assert distance == pytest.approx(np.sort(d, axis=1)[:, 10].mean())  # k = 5 % of 200 = 10
