"""core.network: nearest-segment assignment equals a brute-force search over every edge."""

import numpy as np
import pytest

from hotspot_policing.core.network import junctions, nearest_segments, point_edge_distance


def polylines_to_edges(lines):
    edges, owner = [], []
    for index, line in enumerate(lines):
        line = np.asarray(line, dtype=float)
        for a, b in zip(line[:-1], line[1:]):
            edges.append([*a, *b])
            owner.append(index)
    return np.array(edges), np.array(owner)


def brute_force(px, py, edges, owner, tolerance):
    d, _ = point_edge_distance(px[:, None], py[:, None], *[edges[:, i][None, :] for i in range(4)])
    best = d.min(axis=1)
    # lowest segment index among the equidistant
    closest = d <= best[:, None] + 1e-9
    chosen = np.where(closest, owner[None, :], np.iinfo(np.int64).max).min(axis=1)
    return np.where(best <= tolerance, chosen, -1), best


def test_point_edge_distance_textbook():
    d, t = point_edge_distance(np.array([0.0, 5.0, 12.0]), np.array([3.0, 4.0, 0.0]), 0.0, 0.0, 10.0, 0.0)
    np.testing.assert_allclose(d, [3.0, 4.0, 2.0])
    np.testing.assert_allclose(t, [0.0, 0.5, 1.0])


def test_assignment_equals_brute_force_on_a_network_with_curves():
    rng = np.random.default_rng(4)
    lines = []
    for i in range(12):  # a grid of straight streets
        lines.append([(i * 100.0, 0.0), (i * 100.0, 1100.0)])
        lines.append([(0.0, i * 100.0), (1100.0, i * 100.0)])
    theta = np.linspace(0, np.pi, 40)  # a curved, multi-vertex street
    lines.append(np.column_stack([550 + 300 * np.cos(theta), 550 + 300 * np.sin(theta)]))
    lines.append(np.cumsum(rng.normal(0, 15, (60, 2)), axis=0) + 300)  # a wiggly lane
    edges, owner = polylines_to_edges(lines)
    px, py = rng.uniform(-50, 1150, 20000), rng.uniform(-50, 1150, 20000)
    for tolerance in (5.0, 30.0, 80.0):
        result = nearest_segments(px, py, edges, owner, tolerance)
        expected, best = brute_force(px, py, edges, owner, tolerance)
        np.testing.assert_array_equal(result.segment, expected)
        matched = expected >= 0
        np.testing.assert_allclose(result.distance[matched], best[matched], atol=1e-9)
        assert np.isinf(result.distance[~matched]).all()


def test_incidents_at_an_intersection_tie_and_go_to_the_lowest_segment():
    # four segments meeting at (0, 0); an incident exactly there and one on the diagonal
    lines = [[(0, 0), (100, 0)], [(0, 0), (0, 100)], [(0, 0), (-100, 0)], [(0, 0), (0, -100)]]
    edges, owner = polylines_to_edges(lines)
    result = nearest_segments(np.array([0.0, 3.0, 50.0]), np.array([0.0, 3.0, 2.0]), edges, owner, 10.0)
    assert result.segment.tolist() == [0, 0, 0]
    assert result.ties == 2  # (0, 0) and (3, 3) are equidistant from two or more segments
    np.testing.assert_allclose(result.distance, [0.0, 3.0, 2.0])


def test_junction_degrees():
    ends_x = np.array([0.0, 100.0, 0.0, 0.0, 0.2, 55.0])
    ends_y = np.array([0.0, 0.0, 0.0, 100.0, 0.1, 55.0])
    node, degree = junctions(ends_x, ends_y, 1.0)
    assert node[0] == node[2] == node[4]
    assert degree[node[0]] == 3 and degree[node[1]] == 1


@pytest.mark.parametrize("tolerance", [0.5, 1000.0])
def test_far_and_near_tolerances(tolerance):
    edges, owner = polylines_to_edges([[(0, 0), (10, 0)], [(0, 50), (10, 50)]])
    result = nearest_segments(np.array([5.0]), np.array([20.0]), edges, owner, tolerance)
    assert result.segment[0] == (-1 if tolerance < 20 else 0)
