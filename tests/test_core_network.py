"""core.network: nearest-segment assignment equals a brute-force search over every edge."""

import numpy as np
import pytest

from hotspot_policing.core.network import junctions, nearest_segments, point_edge_distance, segments_within


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


def split(parts, tolerance=1.0):
    from hotspot_policing.core.network import split_at_junctions

    parts = [np.asarray(p, dtype=float) for p in parts]
    return split_at_junctions(np.concatenate(parts), np.array([len(p) for p in parts]), tolerance)


def test_long_lines_crossing_without_shared_vertices_become_street_segments():
    # 5 avenues and 4 streets, each one straight line across the whole grid (no vertex at any
    # crossing): every avenue is cut by 4 streets into 5 faces, every street by 5 avenues into 6
    avenues = [[(x, -10.0), (x, 410.0)] for x in (0.0, 110.0, 190.0, 300.0, 420.0)]
    streets = [[(-20.0, y), (440.0, y)] for y in (0.0, 130.0, 250.0, 400.0)]
    segments = split(avenues + streets)
    assert len(segments) == 5 * 5 + 4 * 6
    total = sum(np.hypot(*np.diff(s, axis=0).T).sum() for s, _ in segments)
    assert total == pytest.approx(5 * 420 + 4 * 460)
    crossings = {(x, y) for x in (0.0, 110.0, 190.0, 300.0, 420.0) for y in (0.0, 130.0, 250.0, 400.0)}
    line_ends = {tuple(p) for line in avenues + streets for p in (line[0], line[-1])}
    for coordinates, _ in segments:
        for end in (tuple(coordinates[0]), tuple(coordinates[-1])):
            assert end in crossings | line_ends


def test_t_junction_gap_curves_and_dead_ends():
    theta = np.linspace(0, np.pi / 2, 20)
    curve = np.column_stack([300 + 100 * np.cos(theta), 100 * np.sin(theta)])  # from (400, 0) up and left
    parts = [
        [(0, 0), (400, 0)],  # a street
        [(100, 0.4), (100, 80)],  # ends 0.4 m short of it: a digitising gap
        [(200, 0), (200, -60), (230, -90)],  # touches it with an end, bends, dead-ends
        curve,  # a curved street starting at the street's end
    ]
    segments = split(parts)
    cuts = sorted(round(s[0][0]) for s, p in segments if p == 0)
    assert cuts == [0, 100, 200]  # the street is cut at the gap and at the touch
    gap_line = next(s for s, p in segments if p == 1)
    assert tuple(gap_line[0]) == (100.0, 0.0)  # the dangling end was moved onto the street
    bent = [s for s, p in segments if p == 2]
    assert len(bent) == 1 and len(bent[0]) == 3  # not cut at its own vertex
    assert len([s for s, p in segments if p == 3]) == 1 and len(next(s for s, p in segments if p == 3)) == 20


def test_lines_meeting_at_a_shared_vertex_are_cut_there():
    segments = split([[(0, 0), (50, 0), (100, 0)], [(50, -50), (50, 0), (50, 50)]])
    assert sorted((p, tuple(s[0]), tuple(s[-1])) for s, p in segments) == [
        (0, (0.0, 0.0), (50.0, 0.0)),
        (0, (50.0, 0.0), (100.0, 0.0)),
        (1, (50.0, -50.0), (50.0, 0.0)),
        (1, (50.0, 0.0), (50.0, 50.0)),
    ]


def test_self_overlapping_lines_are_found():
    from hotspot_policing.core.network import self_overlapping_parts

    parts = [
        np.array([[0, 0], [100, 0], [40, 0]]),  # runs back over itself (fold-back)
        np.array([[0, 50], [100, 50], [100, 80], [60, 80], [60, 50.3], [20, 50.3]]),  # comes back along its first edge
        np.array([[0, 100], [100, 100], [100, 200], [0, 200], [0, 100]]),  # a closed loop: fine
        np.array([[0, 300], [50, 300], [100, 310]]),  # a bend: fine
    ]
    flags = self_overlapping_parts(np.concatenate(parts), np.array([len(p) for p in parts]), 1.0)
    assert flags.tolist() == [True, True, False, False]


def floyd_warshall(node, lengths, nodes):
    """All junction-to-junction street distances, the textbook way (independent of scipy)."""
    distance = np.full((nodes, nodes), np.inf)
    np.fill_diagonal(distance, 0.0)
    for (a, b), length in zip(node, lengths):
        distance[a, b] = distance[b, a] = min(distance[a, b], length)
    for k in range(nodes):
        distance = np.minimum(distance, distance[:, k : k + 1] + distance[k : k + 1, :])
    return distance


@pytest.mark.parametrize("distance", [0.0, 60.0, 150.0, 1000.0])
def test_segments_within_a_walking_distance_equal_all_pairs_shortest_paths(distance):
    rng = np.random.default_rng(7)
    # a perturbed 9 x 9 street grid with some streets missing and a few parallel duplicates
    side = 9
    xy = np.array([(i * 100.0, j * 100.0) for i in range(side) for j in range(side)]) + rng.normal(0, 10, (side * side, 2))
    pairs = [(i * side + j, (i + 1) * side + j) for i in range(side - 1) for j in range(side)]
    pairs += [(i * side + j, i * side + j + 1) for i in range(side) for j in range(side - 1)]
    pairs = [p for p in pairs if rng.random() > 0.2] + [pairs[3], pairs[10]]
    node = np.array(pairs)
    lengths = np.hypot(*(xy[node[:, 0]] - xy[node[:, 1]]).T) * rng.uniform(1.0, 1.3, len(node))  # curved streets
    walk = floyd_warshall(node, lengths, len(xy))
    between_ends = np.min([walk[node[:, a]][:, node[:, b]] for a in (0, 1) for b in (0, 1)], axis=0)
    expected = between_ends <= distance
    np.fill_diagonal(expected, False)

    found = segments_within(node, lengths, xy, distance).toarray() > 0

    np.testing.assert_array_equal(found, expected)
    assert found.sum() > 0


def test_segments_within_tiles_equal_one_search_over_the_whole_network():
    """A thousand junctions, several tiles: the tiled search finds what shortest paths over the whole graph find."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import shortest_path
    from scipy.spatial import Delaunay

    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 3000, (1000, 2))
    triangles = Delaunay(xy).simplices
    node = np.unique(np.sort(np.concatenate([triangles[:, [0, 1]], triangles[:, [1, 2]], triangles[:, [0, 2]]]), axis=1), axis=0)
    lengths = np.hypot(*(xy[node[:, 0]] - xy[node[:, 1]]).T)
    walk = shortest_path(csr_matrix((lengths, (node[:, 0], node[:, 1])), shape=(1000, 1000)), directed=False)
    between_ends = np.min([walk[node[:, a]][:, node[:, b]] for a in (0, 1) for b in (0, 1)], axis=0)
    expected = between_ends <= 120.0
    np.fill_diagonal(expected, False)

    for per_tile, budget in ((1024, 20_000_000), (40, 20_000_000), (40, 500)):  # many tiles, many calls per tile
        found = segments_within(node, lengths, xy, 120.0, per_tile=per_tile, budget=budget)
        np.testing.assert_array_equal(found.toarray() > 0, expected)


def test_cross_streets_name_both_ends_whatever_the_layer_order():
    from hotspot_policing.core.network import cross_streets, place_name

    # 15th Avenue runs north across Elm St (y = 0) and Oak St (y = 100); a dead end at y = 200
    segments = [
        ("15th Avenue", [(0, 0), (0, 100)]),
        ("15th Avenue", [(0, 100), (0, 200)]),
        ("Elm St", [(-100, 0), (0, 0)]),
        ("Elm St", [(0, 0), (100, 0)]),
        ("Oak St", [(-100, 100), (0, 100)]),
        ("Birch Rd", [(0, 0), (50, -80)]),  # a third street at the Elm junction: alphabetically first
    ]
    all_ends, all_names = np.array([s[1] for s in segments], dtype=float), [s[0] for s in segments]
    for order in ([0, 1, 2, 3, 4, 5], [5, 4, 3, 2, 1, 0]):
        names = [segments[i][0] for i in order]
        ends = np.array([segments[i][1] for i in order], dtype=float)
        crossing = cross_streets(ends, names, 0.5)
        found = {order[k]: place_name(names[k], crossing[k]) for k in range(len(order))}
        assert found[0] == "15th Avenue between Birch Rd and Oak St"
        assert found[1] == "15th Avenue at Oak St"
        assert found[4] == "Oak St at 15th Avenue"
        assert found[3] == "Elm St at 15th Avenue"
    # a few chosen segments (a patrol plan) named from the whole street network
    chosen = cross_streets(np.array([segments[0][1]], dtype=float), ["15th Avenue"], 0.5, network=(all_ends, all_names))
    assert place_name("15th Avenue", chosen[0]) == "15th Avenue between Birch Rd and Oak St"


def test_walks_of_exactly_the_neighbourhood_count_far_from_the_origin():
    """A regular grid in UTM-sized coordinates, a neighbourhood of exactly two blocks: round-off
    in the tiles' bounds must not drop the junctions just at the limit."""
    side, block = 12, 120.0
    xy = np.array([(440000.0 + i * block, 4460000.0 + j * block) for i in range(side) for j in range(side)])
    pairs = [(i * side + j, (i + 1) * side + j) for i in range(side - 1) for j in range(side)]
    pairs += [(i * side + j, i * side + j + 1) for i in range(side) for j in range(side - 1)]
    node = np.array(pairs)
    lengths = np.hypot(*(xy[node[:, 0]] - xy[node[:, 1]]).T)
    xy = xy + np.random.default_rng(1).uniform(-1e-9, 1e-9, xy.shape)  # junctions placed from cut points carry round-off
    walk = floyd_warshall(node, lengths, len(xy))
    between_ends = np.min([walk[node[:, a]][:, node[:, b]] for a in (0, 1) for b in (0, 1)], axis=0)
    expected = between_ends <= 2 * block * (1 + 1e-9)
    np.fill_diagonal(expected, False)
    for per_tile in (1024, 9):
        found = segments_within(node, lengths, xy, 2 * block, per_tile=per_tile).toarray() > 0
        np.testing.assert_array_equal(found, expected)
