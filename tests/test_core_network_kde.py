"""core.network_kde against independent computations: textbook 1-D kernels, hand-computed
values on a straight street and on a star, a brute-force shortest-path sum (plain Dijkstra over
a graph holding every lixel midpoint) for Simple, and a recursive path enumeration for the
discontinuous and continuous equal-split kernels."""

import heapq

import numpy as np
import pytest

from hotspot_policing.core import Canceled, InputError
from hotspot_policing.core import network_kde as nk

# 1-D kernels integrating to one over the line, written out independently of the module.
TEXTBOOK = {
    "quartic": lambda d, h: np.where(d < h, 15 / (16 * h) * (1 - (d / h) ** 2) ** 2, 0.0),
    "epanechnikov": lambda d, h: np.where(d < h, 3 / (4 * h) * (1 - (d / h) ** 2), 0.0),
    "triangular": lambda d, h: np.where(d < h, (1 - d / h) / h, 0.0),
    "uniform": lambda d, h: np.where(d < h, 1 / (2 * h), 0.0),
    # sigma = h, cut at 3 sigma and rescaled by the mass kept, P(|Z| < 3) = 0.99730020393674
    "gaussian": lambda d, h: np.where(d < 3 * h, np.exp(-(d**2) / (2 * h * h)) / (h * np.sqrt(2 * np.pi) * 0.99730020393674), 0.0),
}


def network(lines, tolerance=1e-6):
    lines = [np.asarray(line, dtype=float) for line in lines]
    return nk.build_network(np.concatenate(lines), [len(line) for line in lines], tolerance)


def events_at(segment, position):
    segment = np.asarray(segment, dtype=np.int64)
    return nk.Snapped(segment, np.asarray(position, dtype=float), np.zeros(len(segment)))


def mass(lixels, values):
    return float((values * lixels.length).sum())


def star(arms=3, arm=300.0):
    """``arms`` straight streets of length ``arm`` from a centre at the origin."""
    angles = 2 * np.pi * np.arange(arms) / arms
    return network([[(0.0, 0.0), (arm * np.cos(a), arm * np.sin(a))] for a in angles])


def grid(rows, cols, block, rng=None, drop=0.0):
    """A street grid, one segment per block face, junctions slightly moved and a bend in
    some segments; ``drop``: share of block faces left out (dead ends may appear)."""
    rng = rng or np.random.default_rng(0)
    xy = np.stack(np.meshgrid(np.arange(cols) * block, np.arange(rows) * block), axis=-1).reshape(-1, 2).astype(float)
    xy += rng.uniform(-0.15, 0.15, xy.shape) * block
    lines = []
    for r in range(rows):
        for c in range(cols):
            here = r * cols + c
            for there in ([here + 1] if c + 1 < cols else []) + ([here + cols] if r + 1 < rows else []):
                if rng.random() < drop:
                    continue
                a, b = xy[here], xy[there]
                if rng.random() < 0.4:  # a bend
                    bend = (a + b) / 2 + rng.uniform(-0.1, 0.1, 2) * block
                    lines.append([a, bend, b])
                else:
                    lines.append([a, b])
    return network(lines)


# ---------------------------------------------------------------------------------------------
# independent references


def refine(net, lixels, event_segment, event_position):
    """A graph whose nodes are the junctions, the event and every lixel midpoint, joined along
    each segment in order: (adjacency lists, node of the event, node of each lixel)."""
    junctions = len(net.node_xy)
    adjacency = [[] for _ in range(junctions + 1 + len(lixels))]
    event_node = junctions

    def join(a, b, length):
        adjacency[a].append((b, length))
        adjacency[b].append((a, length))

    for s in range(len(net)):
        stops = [(0.0, int(net.node[s, 0])), (float(net.lengths[s]), int(net.node[s, 1]))]
        for i in range(lixels.first[s], lixels.first[s] + lixels.count[s]):
            stops.append((0.5 * (lixels.start[i] + lixels.end[i]), junctions + 1 + i))
        if s == event_segment:
            stops.append((float(event_position), event_node))
        stops.sort()
        for (pa, a), (pb, b) in zip(stops[:-1], stops[1:]):
            join(a, b, pb - pa)
    return adjacency, event_node, junctions + 1 + np.arange(len(lixels))


def plain_dijkstra(adjacency, source):
    best = [np.inf] * len(adjacency)
    best[source] = 0.0
    heap = [(0.0, source)]
    while heap:
        d, v = heapq.heappop(heap)
        if d > best[v]:
            continue
        for w, length in adjacency[v]:
            if d + length < best[w]:
                best[w] = d + length
                heapq.heappush(heap, (d + length, w))
    return np.array(best)


def simple_reference(net, lixels, segment, position, weight, kernel, h):
    total = np.zeros(len(lixels))
    for s, t, w in zip(segment, position, weight):
        adjacency, source, lixel_nodes = refine(net, lixels, s, t)
        total += w * TEXTBOOK[kernel](plain_dijkstra(adjacency, source)[lixel_nodes], h)
    return total


def split_reference(net, lixels, segment, position, weight, kernel, h, continuous):
    """Every path from each event, followed recursively, street by street (as Okabe & Sugihara
    and spNetwork describe the equal-split kernels)."""
    cut = 3 * h if kernel == "gaussian" else h
    total = np.zeros(len(lixels))
    ends_at = {}
    for s in range(len(net)):
        for end in (0, 1):
            ends_at.setdefault(int(net.node[s, end]), []).append((s, end))

    def along(s, from_end, d, share, w):
        for i in range(lixels.first[s], lixels.first[s] + lixels.count[s]):
            middle = 0.5 * (lixels.start[i] + lixels.end[i])
            x = middle if from_end == 0 else net.lengths[s] - middle
            total[i] += w * share * TEXTBOOK[kernel](d + x, h)
        if d + net.lengths[s] < cut:
            arrive(s, 1 - from_end, d + net.lengths[s], share, w)

    def arrive(s, end, d, share, w):
        ways = ends_at[int(net.node[s, end])]
        m = len(ways)
        if m == 1:
            return  # a dead end
        for s2, end2 in ways:
            back = (s2, end2) == (s, end)
            if continuous:
                factor = (2 - m) / m if back else 2 / m
            else:
                factor = 0.0 if back else 1 / (m - 1)
            if factor != 0.0:
                along(s2, end2, d, share * factor, w)

    for s, t, w in zip(segment, position, weight):
        length = net.lengths[s]
        if 0 < t < length:
            for i in range(lixels.first[s], lixels.first[s] + lixels.count[s]):
                total[i] += w * TEXTBOOK[kernel](abs(0.5 * (lixels.start[i] + lixels.end[i]) - t), h)
            if length - t < cut:
                arrive(s, 1, length - t, 1.0, w)
            if t < cut:
                arrive(s, 0, t, 1.0, w)
        else:
            ways = ends_at[int(net.node[s, 0 if t == 0 else 1])]
            m = len(ways)
            share = 2 / m if continuous or m > 2 else 1.0
            for s2, end2 in ways:
                along(s2, end2, 0.0, share, w)
    return total


# ---------------------------------------------------------------------------------------------
# kernels


@pytest.mark.parametrize("kernel", nk.KERNELS)
def test_kernels_are_the_textbook_1d_kernels(kernel):
    d = np.linspace(0, 35, 701)
    np.testing.assert_allclose(nk.line_kernel(kernel, d, 10.0), TEXTBOOK[kernel](d, 10.0), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("kernel", nk.KERNELS)
def test_kernels_integrate_to_one_along_a_line(kernel):
    step = 1e-3
    d = np.arange(0, 40, step) + step / 2
    assert 2 * nk.line_kernel(kernel, d, 10.0).sum() * step == pytest.approx(1.0, abs=1e-6)


def test_gaussian_is_cut_at_three_sigma():
    assert nk.reach("gaussian", 50.0) == 150.0
    values = nk.line_kernel("gaussian", np.array([149.999, 150.0, 151.0]), 50.0)
    assert values[0] > 0 and values[1] == 0 and values[2] == 0


# ---------------------------------------------------------------------------------------------
# lixels and snapping


def test_lixels_are_even_cuts_no_longer_than_asked_with_their_lines():
    net = network([[(0, 0), (30, 0), (30, 40)], [(30, 40), (30, 41)]])  # 70 m with a corner, and 1 m
    lixels = nk.lixelise(net, 10.0)
    np.testing.assert_array_equal(lixels.count, [7, 1])
    np.testing.assert_allclose(lixels.length, [10.0] * 7 + [1.0])
    np.testing.assert_allclose(np.column_stack([lixels.x, lixels.y])[:7], [(5, 0), (15, 0), (25, 0), (30, 5), (30, 15), (30, 25), (30, 35)])
    # the corner at 30 m is a cut, so it is no inner vertex; lines are straight pieces here
    np.testing.assert_array_equal(lixels.sizes, [2] * 8)
    lixels = nk.lixelise(net, 16.0)  # 70 / 16 -> 5 lixels of 14 m; the corner falls inside the third
    np.testing.assert_allclose(lixels.length[:5], 14.0)
    assert lixels.sizes.tolist()[:5] == [2, 2, 3, 2, 2]
    lines = np.split(lixels.vertices, np.cumsum(lixels.sizes)[:-1])
    np.testing.assert_allclose(lines[2], [(28, 0), (30, 0), (30, 12)])
    np.testing.assert_allclose([np.hypot(*np.diff(line, axis=0).T).sum() for line in lines], lixels.length)


def test_snapping_gives_the_position_along_a_curved_street_and_reports_the_unsnapped():
    net = network([[(0, 0), (100, 0), (100, 100)], [(100, 100), (200, 100)]])
    snapped = nk.snap_events(net, np.array([40.0, 103.0, 150.0, 500.0, 100.0]), np.array([5.0, 60.0, 108.0, 500.0, 100.0]), 10.0)
    np.testing.assert_array_equal(snapped.segment, [0, 0, 1, -1, 0])  # the junction: the lowest index
    np.testing.assert_allclose(snapped.position[[0, 1, 2, 4]], [40.0, 160.0, 50.0, 200.0])
    np.testing.assert_allclose(snapped.distance[[0, 1, 2, 4]], [5.0, 3.0, 8.0, 0.0])
    assert snapped.unsnapped == 1
    lixels = nk.lixelise(net, 0.5)
    values = nk.density(net, lixels, snapped, 20.0)  # four events, none within 20 m of a dead end
    assert mass(lixels, values) == pytest.approx(4.0, abs=1e-4)


# ---------------------------------------------------------------------------------------------
# (1) a single straight street: the three methods are the 1-D kernel of the distance along it


@pytest.mark.parametrize("kernel", nk.KERNELS)
def test_single_street_all_methods_equal_the_1d_kernel_and_integrate_to_one(kernel):
    net = network([[(0, 0), (350, 0), (700, 1), (1000, 1)]])
    lixels = nk.lixelise(net, 0.5)
    positions = np.array([400.0, 555.55])
    h = 40.0 if kernel == "gaussian" else 120.0
    expected = sum(TEXTBOOK[kernel](np.abs(lixels.middle - p), h) for p in positions)
    for method in nk.METHOD_NAMES:
        values = nk.density(net, lixels, events_at([0, 0], positions), h, kernel, method)
        np.testing.assert_allclose(values, expected, rtol=1e-12, atol=1e-15)
        # midpoint sums of 0.5 m lixels; where a kernel jumps at its edge (uniform, Gaussian) a lixel
        # there holds the value or not: up to a half lixel x the jump at each of the four edges
        jump = TEXTBOOK[kernel](nk.reach(kernel, h) * (1 - 1e-12), h)
        assert mass(lixels, values) == pytest.approx(2.0, abs=2e-5 + 4 * 0.25 * jump)


# ---------------------------------------------------------------------------------------------
# (2) a star: hand-computed values beyond and before the junction, mass conservation


@pytest.mark.parametrize("arms", [3, 4])
def test_star_hand_values_and_mass(arms):
    h, delta = 100.0, 40.0
    net = star(arms)
    lixels = nk.lixelise(net, 0.1)
    event = events_at([0], [delta])  # on arm 0, 40 m out from the centre
    x = lixels.middle  # distance from the centre on every arm
    mine = lixels.segment == 0
    k = TEXTBOOK["quartic"]
    simple = np.where(mine, k(np.abs(x - delta), h), k(x + delta, h))
    discontinuous = np.where(mine, k(np.abs(x - delta), h), k(x + delta, h) / (arms - 1))
    continuous = np.where(mine, k(np.abs(x - delta), h) + (2 - arms) / arms * k(x + delta, h), 2 / arms * k(x + delta, h))
    for method, expected in (("simple", simple), ("discontinuous", discontinuous), ("continuous", continuous)):
        values = nk.density(net, lixels, event, h, "quartic", method)
        np.testing.assert_allclose(values, expected, rtol=1e-12, atol=1e-15, err_msg=method)
    # no dead end within the bandwidth: the split kernels keep the whole mass, Simple multiplies it
    assert mass(lixels, discontinuous) == pytest.approx(1.0, abs=1e-6)
    assert mass(lixels, continuous) == pytest.approx(1.0, abs=1e-6)
    assert mass(lixels, simple) > 1.0 + 0.1 * (arms - 2)


@pytest.mark.parametrize("arms", [3, 4])
def test_event_exactly_on_the_junction_starts_with_two_over_m_on_every_street(arms):
    h = 100.0
    net = star(arms)
    lixels = nk.lixelise(net, 0.1)
    k = TEXTBOOK["quartic"](lixels.middle, h)
    for position, segment in ((0.0, 0), (0.0, arms - 1)):  # whichever street it was snapped to
        for method, factor in (("simple", 1.0), ("discontinuous", 2 / arms), ("continuous", 2 / arms)):
            values = nk.density(net, lixels, events_at([segment], [position]), h, "quartic", method)
            np.testing.assert_allclose(values, factor * k, rtol=1e-12, err_msg=method)
        assert mass(lixels, values) == pytest.approx(1.0, abs=1e-6)


def test_continuous_is_continuous_at_the_junction_and_discontinuous_is_not():
    h = 100.0
    net = star(3)
    lixels = nk.lixelise(net, 0.01)
    near_centre = lixels.middle < 0.011
    for method, continuous in (("continuous", True), ("discontinuous", False)):
        values = nk.density(net, lixels, events_at([0], [30.0]), h, "quartic", method)
        at_centre = values[near_centre]  # the first lixel of each of the three arms
        assert (np.ptp(at_centre) < 1e-3 * at_centre.max()) == continuous


def test_dead_ends_lose_mass_as_in_spnetwork():
    h = 100.0
    net = network([[(0, 0), (60, 0)], [(60, 0), (400, 0)], [(60, 0), (60, 400)]])  # a dead end at x = 0
    lixels = nk.lixelise(net, 0.1)
    k = TEXTBOOK["quartic"]
    # an event 20 m from the dead end: what reaches the end (the kernel beyond 20 m on that side) is lost
    lost = 0.5 - (np.sum(k(np.arange(0, 20, 1e-4) + 5e-5, h)) * 1e-4)
    for method in ("discontinuous", "continuous"):
        values = nk.density(net, lixels, events_at([0], [20.0]), h, "quartic", method)
        assert mass(lixels, values) == pytest.approx(1.0 - lost, abs=1e-6)
    # an event exactly at the dead end: the continuous kernel sends all of it up the street (2/m, m = 1),
    # the discontinuous and Simple ones half of it
    start = events_at([0], [0.0])
    mine = (lixels.segment == 0) & (lixels.middle < 20.0)  # what comes back from the junction at 60 m starts at 20 m
    for method, share in (("simple", 1.0), ("discontinuous", 1.0), ("continuous", 2.0)):
        values = nk.density(net, lixels, start, h, "quartic", method)
        np.testing.assert_allclose(values[mine], share * k(lixels.middle[mine], h), rtol=1e-12)
    assert mass(lixels, nk.density(net, lixels, start, h, "quartic", "continuous")) == pytest.approx(1.0, abs=1e-6)


# ---------------------------------------------------------------------------------------------
# (3) against independent references on small networks with random events


def random_events(net, n, rng):
    segment = rng.integers(0, len(net), n)
    position = rng.uniform(0, 1, n) * net.lengths[segment]
    position[:3] = [0.0, net.lengths[segment[1]], 0.0]  # some exactly on junctions
    return segment, position, rng.uniform(0.5, 2.0, n)


@pytest.mark.parametrize("kernel", ["quartic", "triangular", "gaussian", "uniform"])
def test_simple_equals_a_brute_force_shortest_path_sum(kernel):
    rng = np.random.default_rng(5)
    net = grid(5, 6, 60.0, rng, drop=0.15)
    lixels = nk.lixelise(net, 7.0)
    segment, position, weight = random_events(net, 25, rng)
    h = 45.0 if kernel == "gaussian" else 130.0
    values = nk.density(net, lixels, events_at(segment, position), h, kernel, "simple", weights=weight)
    expected = simple_reference(net, lixels, segment, position, weight, kernel, h)
    np.testing.assert_allclose(values, expected, rtol=1e-9, atol=1e-12)


def test_simple_on_a_network_of_many_tiles_equals_whole_network_shortest_paths():
    """Over a thousand junctions: the shortest paths run tile by tile, each over the junctions
    within reach of its tile; the reference runs them over the whole network, event by event."""
    rng = np.random.default_rng(8)
    net = grid(36, 36, 30.0, rng, drop=0.1)
    lixels = nk.lixelise(net, 5.0)
    segment, position, weight = random_events(net, 60, rng)
    values = nk.density(net, lixels, events_at(segment, position), 80.0, "quartic", "simple", weights=weight)
    graph = np.full((len(net.node_xy),) * 2, np.inf)
    for (a, b), length in zip(net.node, net.lengths):
        graph[a, b] = graph[b, a] = min(graph[a, b], length)
    from scipy.sparse.csgraph import shortest_path

    junction = shortest_path(np.where(np.isfinite(graph), graph, 0), directed=False)
    u, v = net.node[lixels.segment].T
    expected = np.zeros(len(lixels))
    for s, t, w in zip(segment, position, weight):
        to = np.minimum(t + junction[net.node[s, 0]], net.lengths[s] - t + junction[net.node[s, 1]])
        d = np.minimum(to[u] + lixels.middle, to[v] + net.lengths[lixels.segment] - lixels.middle)
        own = lixels.segment == s
        d[own] = np.minimum(d[own], np.abs(lixels.middle[own] - t))
        expected += w * TEXTBOOK["quartic"](d, 80.0)
    np.testing.assert_allclose(values, expected, rtol=1e-9, atol=1e-12)


def test_junctions_are_where_the_segment_ends_meet():
    net = network([[(0, 0), (10, 0)], [(10, 0), (10, 10)], [(10, 10.0000001), (20, 20)]], tolerance=1e-3)
    np.testing.assert_array_equal(net.node, [[0, 1], [1, 2], [2, 3]])
    np.testing.assert_allclose(net.node_xy, [(0, 0), (10, 0), (10, 10.00000005), (20, 20)])
    np.testing.assert_array_equal(net.degree, [1, 2, 2, 1])
    np.testing.assert_allclose(net.lengths, [10, 10, np.hypot(10, 9.9999999)])


@pytest.mark.parametrize("method", ["discontinuous", "continuous"])
@pytest.mark.parametrize("kernel", ["quartic", "epanechnikov", "gaussian"])
def test_split_kernels_equal_a_recursive_path_enumeration(method, kernel):
    rng = np.random.default_rng(11)
    net = grid(4, 5, 50.0, rng, drop=0.15)
    lixels = nk.lixelise(net, 6.0)
    segment, position, weight = random_events(net, 15, rng)
    h = 45.0 if kernel == "gaussian" else 140.0
    values = nk.density(net, lixels, events_at(segment, position), h, kernel, method, weights=weight)
    expected = split_reference(net, lixels, segment, position, weight, kernel, h, method == "continuous")
    np.testing.assert_allclose(values, expected, rtol=1e-9, atol=1e-12)


def test_loops_and_parallel_streets_are_followed_both_ways():
    # a loop street (both ends at one junction) and two different streets between the same junctions
    theta = np.linspace(0, 2 * np.pi, 30)
    loop = np.column_stack([100 + 40 * np.sin(theta), 40 - 40 * np.cos(theta)])
    loop[-1] = loop[0]
    net = network([[(0, 0), (100, 0)], loop, [(100, 0), (200, 0)], [(100, 0), (150, 30), (200, 0)], [(200, 0), (300, 0)]])
    lixels = nk.lixelise(net, 4.0)
    segment, position, weight = np.array([0, 1, 3, 2]), np.array([90.0, 10.0, 5.0, 0.0]), np.array([1.0, 2.0, 1.0, 1.0])
    for method in ("discontinuous", "continuous"):
        values = nk.density(net, lixels, events_at(segment, position), 150.0, "quartic", method, weights=weight)
        expected = split_reference(net, lixels, segment, position, weight, "quartic", 150.0, method == "continuous")
        np.testing.assert_allclose(values, expected, rtol=1e-9, atol=1e-12)
    values = nk.density(net, lixels, events_at(segment, position), 150.0, "quartic", "simple", weights=weight)
    np.testing.assert_allclose(values, simple_reference(net, lixels, segment, position, weight, "quartic", 150.0), rtol=1e-9, atol=1e-12)


def test_paths_bouncing_on_short_links_are_all_followed():
    """A divided road: two carriageways 7 m apart joined by short links at each crossing street.
    The continuous kernel's paths bounce to and fro on the links (many of equal length, which the
    module merges); the recursion follows each one separately."""
    carriageways = [[(0, 0), (60, 0)], [(60, 0), (120, 0)], [(0, 7), (60, 7)], [(60, 7), (120, 7)]]
    links = [[(0, 0), (0, 7)], [(60, 0), (60, 7)], [(120, 0), (120, 7)]]
    others = [[(60, 7), (60, 60)], [(60, 0), (60, -60)], [(120, 7), (160, 7)], [(0, 0), (-40, -10)]]
    net = network(carriageways + links + others)
    lixels = nk.lixelise(net, 2.0)
    segment, position, weight = np.array([0, 5, 7, 3]), np.array([50.0, 3.5, 2.0, 1.0]), np.array([1.0, 1.0, 2.0, 0.5])
    for method in ("discontinuous", "continuous"):
        values = nk.density(net, lixels, events_at(segment, position), 45.0, "quartic", method, weights=weight)
        expected = split_reference(net, lixels, segment, position, weight, "quartic", 45.0, method == "continuous")
        np.testing.assert_allclose(values, expected, rtol=1e-9, atol=1e-12)


def test_paths_of_equal_length_are_merged_and_nearly_equal_ones_are_not():
    """Three two-segment routes from A to B, two of exactly the same length (mirror images) and one
    4 cm longer: what arrives at B by the first two goes on as one path, the third on its own."""
    a, b = (0.0, 0.0), (100.0, 0.0)
    routes = [[a, (50, 10)], [(50, 10), b], [a, (50, -10)], [(50, -10), b], [a, (50, 10.2)], [(50, 10.2), b]]
    lines = routes + [[(-150, 0), a], [b, (250, 0)], [b, (100, 150)]]
    net = network(lines)
    lixels = nk.lixelise(net, 3.0)
    segment, position, weight = np.array([6, 7]), np.array([130.0, 20.0]), np.array([1.0, 1.5])
    for method in ("discontinuous", "continuous"):
        values = nk.density(net, lixels, events_at(segment, position), 250.0, "triangular", method, weights=weight)
        expected = split_reference(net, lixels, segment, position, weight, "triangular", 250.0, method == "continuous")
        np.testing.assert_allclose(values, expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("method", nk.METHOD_NAMES)
def test_kernels_are_symmetric_between_event_and_lixel(method):
    """K(event at a, density at b) = K(event at b, density at a): the split kernels' factors
    depend only on the junctions a path passes and how it turns there."""
    rng = np.random.default_rng(2)
    net = grid(4, 4, 50.0, rng)
    lixels = nk.lixelise(net, 10.0)
    pick = rng.choice(len(lixels), 12, replace=False)
    matrix = np.array(
        [nk.density(net, lixels, events_at([lixels.segment[i]], [lixels.middle[i]]), 120.0, "quartic", method)[pick] for i in pick]
    )
    np.testing.assert_allclose(matrix, matrix.T, rtol=1e-9, atol=1e-15)
    assert (matrix > 0).sum() > 40


@pytest.mark.parametrize("method", ["discontinuous", "continuous"])
def test_split_kernels_conserve_mass_on_a_grid_without_dead_ends(method):
    net = grid(12, 12, 80.0, np.random.default_rng(3))
    lixels = nk.lixelise(net, 0.25)
    rng = np.random.default_rng(4)
    centre = np.flatnonzero((np.abs(lixels.x - 440) < 100) & (np.abs(lixels.y - 440) < 100))
    i = rng.choice(centre, 5, replace=False)
    values = nk.density(net, lixels, events_at(lixels.segment[i], lixels.middle[i] + 0.01), 250.0, "quartic", method)
    assert mass(lixels, values) == pytest.approx(5.0, abs=5e-6)


# ---------------------------------------------------------------------------------------------
# (4) weights, merged events, the Gaussian's cut, unsnapped events, summaries, cancelling


def test_weights_scale_the_kernel_and_events_at_one_place_add_up():
    net = star(3)
    lixels = nk.lixelise(net, 1.0)
    one = nk.density(net, lixels, events_at([1], [50.0]), 80.0, "triangular", "continuous")
    weighted = nk.density(net, lixels, events_at([1, 1, 0], [50.0, 50.0, 10.0]), 80.0, "triangular", "continuous", weights=[2.0, 0.5, 0.0])
    np.testing.assert_allclose(weighted, 2.5 * one, rtol=1e-12)


def test_gaussian_reaches_three_sigma_and_no_farther():
    net = network([[(0, 0), (1000, 0)]])
    lixels = nk.lixelise(net, 1.0)
    for method in nk.METHOD_NAMES:
        values = nk.density(net, lixels, events_at([0], [500.0]), 50.0, "gaussian", method)
        reached = np.abs(lixels.middle - 500.0)
        assert (values[reached < 149] > 0).all() and (values[reached > 150] == 0).all()
        assert mass(lixels, values) == pytest.approx(1.0, abs=1e-6)


def test_unsnapped_events_are_counted_and_not_used():
    net = star(4, 200.0)
    lixels = nk.lixelise(net, 2.0)
    snapped = nk.snap_events(net, np.array([50.0, 500.0, 0.0]), np.array([3.0, 500.0, -80.0]), 10.0)
    assert snapped.unsnapped == 1
    assert snapped.segment[1] == -1
    values = nk.density(net, lixels, snapped, 60.0, "quartic", "discontinuous", weights=[1.0, 100.0, 1.0])
    assert mass(lixels, values) == pytest.approx(2.0, abs=1e-4)


def test_segment_summary_is_the_length_weighted_mean_and_the_peak():
    net = network([[(0, 0), (30, 0)], [(30, 0), (30, 5)]])
    lixels = nk.lixelise(net, 10.0)
    mean, peak = nk.segment_summary(lixels, np.array([1.0, 2.0, 6.0, 4.0]), 2)
    np.testing.assert_allclose(mean, [3.0, 4.0])
    np.testing.assert_allclose(peak, [6.0, 4.0])


def test_zero_length_segments_take_no_part():
    net = network([[(0, 0), (100, 0)], [(100, 0), (100, 0)], [(100, 0), (200, 0)]])
    lixels = nk.lixelise(net, 10.0)
    np.testing.assert_array_equal(lixels.count, [10, 0, 10])
    snapped = nk.snap_events(net, np.array([100.0, 150.0]), np.array([0.0, 1.0]), 5.0)
    np.testing.assert_array_equal(snapped.segment, [0, 2])  # the junction goes to a real street
    for method in nk.METHOD_NAMES:
        values = nk.density(net, lixels, snapped, 30.0, "triangular", method)
        assert mass(lixels, values) == pytest.approx(2.0, abs=1e-9)  # the junction is of degree 2


def test_split_kernels_refuse_too_many_paths():
    net = grid(6, 6, 20.0)
    lixels = nk.lixelise(net, 5.0)
    events = events_at(np.arange(40) % len(net), np.full(40, 5.0))
    with pytest.raises(InputError, match="smaller bandwidth"):
        nk.density(net, lixels, events, 200.0, "quartic", "continuous", max_walks=10_000)
    nk.density(net, lixels, events, 200.0, "quartic", "simple", max_walks=10_000)  # no paths to count


def test_bad_parameters_and_cancelling():
    net = star(3)
    lixels = nk.lixelise(net, 5.0)
    with pytest.raises(InputError):
        nk.density(net, lixels, events_at([0], [5.0]), 0.0)
    with pytest.raises(InputError):
        nk.lixelise(net, 0.0)
    with pytest.raises(ValueError):
        nk.density(net, lixels, events_at([0], [5.0]), 10.0, kernel="cosine")
    with pytest.raises(ValueError):
        nk.density(net, lixels, events_at([0], [5.0]), 10.0, method="fast")

    def stop(fraction):
        raise Canceled()

    for method in nk.METHOD_NAMES:
        with pytest.raises(Canceled):
            nk.density(net, lixels, events_at([0], [5.0]), 10.0, method=method, progress=stop)
