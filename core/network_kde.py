"""Kernel density along a street network (docs/methods.md section 3.6): the
density of incidents per map unit of street at the midpoints of short pieces of street
(lixels), with 1-D kernels that integrate to one along a line.

Use, on segments already cut at junctions (``network.split_at_junctions``)::

    net = build_network(segments.vertices, segments.sizes, node_tolerance)
    pieces = lixelise(net, lixel_length)                 # Lixels: midpoints, parent segment, lines
    events = snap_events(net, x, y, snap_tolerance)      # Snapped: segment (-1 if too far), position
    values = density(net, pieces, events, bandwidth, kernel, method, weights, progress)
    mean, peak = segment_summary(pieces, values, len(net))

``values`` is per lixel, in (weighted) events per map unit of street: times 1000 gives
incidents per km when map units are metres. ``events.unsnapped`` counts the events left out.

Methods (METHOD_NAMES, the METHOD enum of hotspotpolicing:networkkde, in this order):

* ``simple`` (Xie & Yan 2008): K(shortest network distance). Shortest paths run with scipy's
  csgraph Dijkstra, cut at the kernel's reach, from the two ends of each event's segment
  (d = min(t + d_a, L - t + d_b)), tile by tile as ``network.segments_within`` does. Mass is
  not conserved: it is multiplied at every junction.
* ``discontinuous`` (Okabe, Satoh & Sugihara 2009, the equal-split kernel; spNetwork's
  "discontinuous"): every path leaving the event is followed; at a junction of degree m a
  path's share is divided by m - 1 among the streets leading on (no U-turn).
* ``continuous`` (Okabe & Sugihara 2012, the equal-split continuous kernel; spNetwork's
  "continuous"): at a junction of degree m a path goes on along each other street with
  2/m of its share and comes back along the street it came by with (2 - m)/m, so the
  density is continuous across the junction. Both split kernels conserve each event's mass
  except where a path meets a dead end: there it stops, as in spNetwork.

An event exactly on a junction of degree m (snapped position 0 or L) starts along all m streets
with 2/m each (continuous: so 2 up the one street of a dead end; discontinuous: 2/m when m > 2,
else 1), as spNetwork starts them. Junctions of degree 2 change nothing.

The split kernels follow every path within the reach, exactly (spNetwork caps their depth
instead), as a frontier of arrays (event, arc, distance, share): every event's paths advance
together one street at a time, and paths of one event that leave along the same street after
the same distance are merged, which keeps the continuous kernel's bouncing paths in check. The
number of paths still grows as a power of bandwidth / block length, so ``density`` refuses
(InputError) a run that would walk more than ``max_walks`` streets, judged first on a sample.

Lixels are cut evenly: a segment of length L has ceil(L / lixel_length) lixels of equal length,
so none is longer than asked and none is a sliver. Segments of zero length get no lixel and
take no part. Weights must be finite (NULLs are the caller's to leave out).
"""

from dataclasses import dataclass

import numpy as np
from scipy.sparse.csgraph import dijkstra
from scipy.special import erf

from . import InputError, kde, silent
from .network import junctions, nearest_segments, point_edge_distance, segment_graph

# Order matters: it is the METHOD enum of hotspotpolicing:networkkde (public interface).
METHOD_NAMES = ("simple", "discontinuous", "continuous")
KERNELS = kde.KERNELS  # the same names as the raster kernel density

# The Gaussian's bandwidth is its sigma; on a network it is cut at 3 sigma (as spNetwork's
# scaled Gaussian) and rescaled so that what is left integrates to one.
GAUSSIAN_CUT = 3.0
# 1-D constant / 2-D constant of each kernel shape in core.kde: the 2-D kernel at distance d
# times bandwidth x this factor is the 1-D kernel (quartic 15/16, Epanechnikov 3/4,
# triangular 1, uniform 1/2, Gaussian 1/sqrt(2 pi), over h).
_LINE_FACTOR = {
    "quartic": 5 * np.pi / 16,
    "epanechnikov": 3 * np.pi / 8,
    "triangular": np.pi / 3,
    "uniform": np.pi / 2,
    "gaussian": np.sqrt(2 * np.pi) / erf(GAUSSIAN_CUT / np.sqrt(2)),
}
# Positions this close (relative to the segment's length) to a segment's end are on the junction.
_AT_NODE = 1e-9
# The split methods stop with a message rather than walk more street segments than this along
# all paths of all events (about five minutes here, at some 3 million a second on the benchmark).
MAX_WALKS = 1e9
# Events in the first batch of the split methods, whose paths foretell the whole run's.
_PROBE = 200
# Entries held at once: (event, node) distances in the Simple pass, path states and kernel
# evaluations in the split passes (a few arrays of this many float64 each).
_BUDGET = 4_000_000


def line_kernel(kernel, d, bandwidth):
    """1-D kernel at network distances ``d`` (>= 0): integrates to one over the whole line,
    zero from the reach on (the shapes of core.kde.kernel_values, scaled to a line)."""
    if kernel not in _LINE_FACTOR:
        raise ValueError(f"unknown kernel {kernel!r}; choose one of {', '.join(KERNELS)}")
    d = np.asarray(d, dtype=float)
    values = kde.kernel_values(kernel, d * d, bandwidth)
    values *= float(bandwidth) * _LINE_FACTOR[kernel]
    if kernel == "gaussian":
        values[d >= GAUSSIAN_CUT * bandwidth] = 0.0
    return values


def reach(kernel, bandwidth):
    """Network distance from which the kernel is zero."""
    return float(bandwidth) * (GAUSSIAN_CUT if kernel == "gaussian" else 1.0)


@dataclass
class LineNetwork:
    """Street segments (cut at junctions) as a graph: each segment runs from junction
    ``node[s, 0]`` to ``node[s, 1]`` along its line. Segments of zero length take no part."""

    vertices: np.ndarray  # (V, 2), the segments' vertices one after another
    sizes: np.ndarray  # vertex count of each segment
    first: np.ndarray  # index of each segment's first vertex
    along: np.ndarray  # (V,) distance of each vertex along its segment
    lengths: np.ndarray
    node: np.ndarray  # (n, 2) junction at the start and at the end of each segment
    node_xy: np.ndarray
    degree: np.ndarray  # street ends at each junction (a loop counts twice)

    def __len__(self):
        return len(self.sizes)


def build_network(vertices, sizes, tolerance=1e-6):
    """The graph of segments already cut at junctions (flat ``vertices`` and their counts,
    as core.network.Segments holds them); segment ends within ``tolerance`` of each other
    are one junction."""
    vertices = np.asarray(vertices, dtype=float).reshape(-1, 2)
    sizes = np.asarray(sizes, dtype=np.int64)
    if len(sizes) == 0 or sizes.min() < 2:
        raise InputError("Every street segment needs at least two vertices.")
    first = np.cumsum(sizes) - sizes
    last = first + sizes - 1
    step = np.hypot(*np.diff(vertices, axis=0).T)
    step = np.concatenate([[0.0], step])
    step[first] = 0.0
    along = np.cumsum(step)
    along -= np.repeat(along[first], sizes)
    lengths = along[last]
    ends = np.concatenate([vertices[first], vertices[last]])
    node, _ = junctions(ends[:, 0], ends[:, 1], tolerance)
    nodes = int(node.max()) + 1
    node_xy = np.column_stack([np.bincount(node, ends[:, 0], nodes), np.bincount(node, ends[:, 1], nodes)])
    node_xy /= np.bincount(node, minlength=nodes)[:, None]
    node = node.reshape(2, -1).T
    used = lengths > 0
    degree = np.bincount(node[used].ravel(), minlength=nodes)
    return LineNetwork(vertices, sizes, first, along, lengths, node, node_xy, degree)


def point_along(net, segment, position):
    """(x, y) of the points at ``position`` along ``segment``."""
    segment = np.asarray(segment, dtype=np.int64)
    position = np.asarray(position, dtype=float)
    offset = np.cumsum(net.lengths + 1.0) - (net.lengths + 1.0)  # segments laid end to end with gaps
    key = np.repeat(offset, net.sizes) + net.along
    i = np.searchsorted(key, offset[segment] + position, side="right") - 1
    i = np.clip(i, net.first[segment], net.first[segment] + net.sizes[segment] - 2)
    span = net.along[i + 1] - net.along[i]
    fraction = np.clip(np.divide(position - net.along[i], span, out=np.zeros_like(span), where=span > 0), 0.0, 1.0)
    return net.vertices[i] + fraction[:, None] * (net.vertices[i + 1] - net.vertices[i])


@dataclass
class Lixels:
    """Short pieces of street: lixel i lies on ``segment[i]`` from ``start[i]`` to ``end[i]``
    along it; ``x, y`` is its midpoint, where its density is evaluated. The lixels of segment s
    are ``first[s]`` .. ``first[s] + count[s] - 1``, in order along it; ``vertices``/``sizes``
    are their lines for output."""

    segment: np.ndarray
    start: np.ndarray
    end: np.ndarray
    x: np.ndarray
    y: np.ndarray
    first: np.ndarray
    count: np.ndarray
    vertices: np.ndarray
    sizes: np.ndarray

    @property
    def length(self):
        return self.end - self.start

    @property
    def middle(self):
        """Position of the midpoint along the segment."""
        return 0.5 * (self.start + self.end)

    def __len__(self):
        return len(self.segment)


def lixelise(net, lixel_length):
    """Cut every segment into ceil(L / lixel_length) lixels of equal length (segments of zero
    length get none)."""
    if not lixel_length > 0:
        raise InputError("The lixel length must be positive.")
    n = len(net)
    count = np.where(net.lengths > 0, np.maximum(np.ceil(net.lengths / lixel_length - 1e-9), 1), 0).astype(np.int64)
    first = np.cumsum(count) - count
    segment = np.repeat(np.arange(n), count)
    j = np.arange(len(segment)) - first[segment]
    step = net.lengths[segment] / count[segment]
    start, end = j * step, np.where(j == count[segment] - 1, net.lengths[segment], (j + 1) * step)
    middle = point_along(net, segment, (j + 0.5) * step)
    vertices, sizes = _lixel_lines(net, count, first, segment, start, end)
    return Lixels(segment, start, end, middle[:, 0], middle[:, 1], first, count, vertices, sizes)


def _lixel_lines(net, count, first, segment, start, end):
    """Each lixel's line: its two ends and the segment's vertices between them."""
    owner = np.repeat(np.arange(len(net)), net.sizes)
    inner = np.ones(len(owner), dtype=bool)
    inner[net.first] = False
    inner[net.first + net.sizes - 1] = False
    inner &= count[owner] > 0
    steps = net.along[inner] / (net.lengths[owner[inner]] / count[owner[inner]])
    off_cut = np.abs(steps - np.rint(steps)) > 1e-9  # a vertex on a cut is the lixels' end already
    vertex = np.flatnonzero(inner)[off_cut]
    lixel_of_vertex = first[owner[vertex]] + np.minimum(np.floor(steps[off_cut]).astype(np.int64), count[owner[vertex]] - 1)
    ends = point_along(net, np.concatenate([segment, segment]), np.concatenate([start, end]))
    lixel = np.concatenate([np.arange(len(segment)), np.arange(len(segment)), lixel_of_vertex])
    position = np.concatenate([start, end, net.along[vertex]])
    points = np.concatenate([ends, net.vertices[vertex]])
    order = np.lexsort((position, lixel))
    return points[order], np.bincount(lixel, minlength=len(segment))


@dataclass
class Snapped:
    """Events on the network: ``segment`` (-1 when farther than the tolerance from every
    street), ``position`` along it from its start and the snap ``distance``."""

    segment: np.ndarray
    position: np.ndarray
    distance: np.ndarray

    @property
    def unsnapped(self):
        return int((self.segment < 0).sum())


def snap_events(net, x, y, tolerance, progress=None):
    """Each event to the nearest point of the nearest segment within ``tolerance``
    (core.network.nearest_segments; ties to the lowest segment index)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    owner = np.repeat(np.arange(len(net)), net.sizes)
    is_edge = np.flatnonzero((owner[:-1] == owner[1:]) & (net.lengths[owner[:-1]] > 0))
    edges = np.column_stack([net.vertices[is_edge], net.vertices[is_edge + 1]])
    found = nearest_segments(x, y, edges, owner[is_edge], tolerance, progress)
    position = np.full(len(x), np.nan)
    matched = np.flatnonzero(found.segment >= 0)
    s = found.segment[matched]
    per_segment = net.sizes[s] - 1
    chunk = max(1, _BUDGET // max(int(net.sizes.max()), 1))
    for begin in range(0, len(matched), chunk):
        part = slice(begin, begin + chunk)
        k = per_segment[part]
        event = np.repeat(np.arange(len(k)), k)
        vertex = net.first[s[part]][event] + np.arange(len(event)) - np.repeat(np.cumsum(k) - k, k)
        a, b = net.vertices[vertex], net.vertices[vertex + 1]
        d, t = point_edge_distance(x[matched[part]][event], y[matched[part]][event], a[:, 0], a[:, 1], b[:, 0], b[:, 1])
        best = np.minimum.reduceat(d, np.cumsum(k) - k)
        winner = np.flatnonzero(d <= best[event])
        _, pick = np.unique(event[winner], return_index=True)  # the first edge along the segment among the nearest
        w = winner[pick]
        position[matched[part]] = net.along[vertex[w]] + t[w] * (net.along[vertex[w] + 1] - net.along[vertex[w]])
    return Snapped(found.segment, position, found.distance)


def density(net, lixels, events, bandwidth, kernel="quartic", method="simple", weights=None, progress=None, max_walks=MAX_WALKS):
    """Density at every lixel's midpoint, in (weighted) events per map unit of street: the sum
    over snapped events of weight x the method's kernel. Unsnapped events are left out.

    The split methods raise InputError rather than walk more than ``max_walks`` arcs in all
    (checked first on a sample of events, then as they go). ``progress(fraction)`` may raise
    core.Canceled to stop."""
    if method not in METHOD_NAMES:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHOD_NAMES)}")
    if not bandwidth > 0:
        raise InputError("The bandwidth must be positive.")
    line_kernel(kernel, np.zeros(1), bandwidth)  # an unknown kernel fails here
    report = progress or silent
    segment, position, weight = _unique_events(net, events, weights)
    result = np.zeros(len(lixels))
    if len(segment):
        if method == "simple":
            _simple(net, lixels, segment, position, weight, kernel, bandwidth, result, report)
        else:
            _split(net, lixels, segment, position, weight, kernel, bandwidth, method == "continuous", max_walks, result, report)
    report(1.0)
    return result


def segment_summary(lixels, values, n):
    """Length-weighted mean and the peak of ``values`` over the lixels of each of ``n``
    segments (0 for segments without lixels)."""
    length = lixels.length
    total = np.bincount(lixels.segment, length, n)
    mean = np.divide(np.bincount(lixels.segment, values * length, n), total, out=np.zeros(n), where=total > 0)
    peak = np.zeros(n)
    if len(values):
        peak[lixels.segment[lixels.first[lixels.count > 0]]] = np.maximum.reduceat(values, lixels.first[lixels.count > 0])
    return mean, peak


def _unique_events(net, events, weights):
    """Snapped events of non-zero weight on segments of positive length, those at one place
    merged (weights summed): the paths of one place are walked once."""
    segment = np.asarray(events.segment)
    weight = np.ones(len(segment)) if weights is None else np.asarray(weights, dtype=float)
    keep = (segment >= 0) & (weight != 0)
    keep[keep] = net.lengths[segment[keep]] > 0
    segment, position, weight = segment[keep], np.asarray(events.position, dtype=float)[keep], weight[keep]
    position = np.clip(position, 0.0, net.lengths[segment])
    order = np.lexsort((position, segment))
    segment, position, weight = segment[order], position[order], weight[order]
    new = np.ones(len(segment), dtype=bool)
    new[1:] = (segment[1:] != segment[:-1]) | (position[1:] != position[:-1])
    starts = np.flatnonzero(new)
    return segment[starts], position[starts], np.add.reduceat(weight, starts) if len(starts) else weight


class _Deposits:
    """(lixel, value) pairs gathered and added into ``result`` a few million at a time."""

    def __init__(self, result):
        self.result, self.index, self.value, self.size = result, [], [], 0

    def add(self, index, value):
        self.index.append(index)
        self.value.append(value)
        self.size += len(index)
        if self.size > _BUDGET:
            self.flush()

    def flush(self):
        if self.size:
            self.result += np.bincount(np.concatenate(self.index), np.concatenate(self.value), len(self.result))
        self.index, self.value, self.size = [], [], 0


def _ranges(lo1, hi1, lo2=None, hi2=None):
    """Row and index of every index in [lo1, hi1) (and [lo2, hi2)) of each row, flattened."""
    n1 = np.maximum(hi1 - lo1, 0)
    n2 = 0 if lo2 is None else np.maximum(hi2 - lo2, 0)
    total = n1 + n2
    row = np.repeat(np.arange(len(total)), total)
    i = np.arange(len(row)) - np.repeat(np.cumsum(total) - total, total)
    if lo2 is None:
        return row, lo1[row] + i
    return row, np.where(i < n1[row], lo1[row] + i, lo2[row] + i - n1[row])


def _slices(sizes, budget=_BUDGET):
    """(begin, stop) of consecutive rows whose ``sizes`` add up to about ``budget`` (a row
    larger than that alone)."""
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    begin = 0
    while begin < len(sizes):
        stop = max(int(np.searchsorted(bounds, bounds[begin] + budget, side="right")) - 1, begin + 1)
        yield begin, stop
        begin = stop


def _lixels_before(limit, step, count):
    """How many lixel midpoints (j + 1/2) step lie before ``limit`` (clipped to 0 .. count)."""
    with np.errstate(invalid="ignore"):
        k = np.ceil(limit / step - 0.5)
    return np.clip(np.nan_to_num(k, nan=0.0, posinf=0.0, neginf=0.0), 0, count).astype(np.int64)


def _simple(net, lixels, segment, position, weight, kernel, bandwidth, result, report):
    """K(shortest network distance) summed at every lixel midpoint.

    Events are grouped by the tile of their segment's start junction; per tile, Dijkstra cut
    at the reach runs from the ends of the events' segments over the junctions within the reach
    of the tile (a walk of length d stays within the Euclidean d). The distance from an event at
    t on a segment of length L to junction v is min(t + d(a, v), L - t + d(b, v)); to a lixel
    midpoint at x on a segment from u to v it is min(d_u + x, d_v + L' - x), and on the event's
    own segment also |x - t|."""
    limit = reach(kernel, bandwidth)
    nodes = len(net.node_xy)
    used = net.lengths > 0
    graph = segment_graph(net.node[used], net.lengths[used], nodes)
    # the segment ends at each junction v: ends[node_ends[v]:node_ends[v + 1]] (a loop's both)
    end_node = np.concatenate([net.node[used, 0], net.node[used, 1]])
    by_node = np.argsort(end_node, kind="stable")
    ends = _Ends(
        np.concatenate([np.flatnonzero(used)] * 2)[by_node],
        np.repeat([True, False], used.sum())[by_node],
        np.concatenate([[0], np.cumsum(np.bincount(end_node, minlength=nodes))]),
    )
    deposits = _Deposits(result)

    xy = net.node_xy
    span = max(np.ptp(xy[:, 0]), np.ptp(xy[:, 1]), 1e-9)
    tile = max(span * np.sqrt(1024 / max(nodes, 1)), limit, 1e-9)
    cell = np.floor((xy - xy.min(axis=0)) / tile).astype(np.int64)
    key = (cell[:, 0] * (cell[:, 1].max() + 1) + cell[:, 1])[net.node[segment, 0]]
    order = np.argsort(key, kind="stable")
    groups = np.split(order, np.flatnonzero(np.diff(key[order])) + 1)
    by_x = np.argsort(xy[:, 0], kind="stable")
    sorted_x = xy[by_x, 0]
    local_of = np.full(nodes, -1, dtype=np.int64)
    margin = limit * (1 + 1e-9) + span * 1e-12
    for done, group in enumerate(groups):
        report(done / len(groups))
        sources = np.unique(net.node[segment[group]])
        low, high = xy[sources].min(axis=0) - margin, xy[sources].max(axis=0) + margin
        band = by_x[np.searchsorted(sorted_x, low[0]) : np.searchsorted(sorted_x, high[0], side="right")]
        local = np.sort(band[(xy[band, 1] >= low[1]) & (xy[band, 1] <= high[1])])
        local_of[local] = np.arange(len(local))
        within = (graph[local][:, local], local, local_of)
        chunk = max(1, _BUDGET // (2 * len(local)))
        for begin in range(0, len(group), chunk):
            part = group[begin : begin + chunk]
            _simple_part(net, lixels, ends, within, segment[part], position[part], weight[part], kernel, bandwidth, deposits)
        local_of[local] = -1
    deposits.flush()


@dataclass
class _Ends:
    """The segment ends at each junction, junction by junction."""

    segment: np.ndarray
    is_start: np.ndarray
    bounds: np.ndarray  # junction v's ends are bounds[v] .. bounds[v + 1] - 1


def _simple_part(net, lixels, ends, within, seg, t, w, kernel, bandwidth, deposits):
    """_simple for events of one tile; ``within``: the graph of the junctions within reach of the
    tile, their indices and the map from all junctions to them (-1 for the others)."""
    subgraph, local, local_of = within
    limit = reach(kernel, bandwidth)
    step = net.lengths / np.maximum(lixels.count, 1)
    length = net.lengths[seg]
    a, b = local_of[net.node[seg, 0]], local_of[net.node[seg, 1]]
    sources, which = np.unique(np.concatenate([a, b]), return_inverse=True)
    reached = dijkstra(subgraph, directed=False, indices=sources, limit=limit)
    far = np.minimum(t[:, None] + reached[which[: len(seg)]], (length - t)[:, None] + reached[which[len(seg) :]])
    near_event, near_node = np.nonzero(far < limit)
    # lixels beyond each junction reached: every segment there, taken from its start unless the
    # start is out of reach, never the event's own segment (below); a few million at a time
    degree = ends.bounds[local[near_node] + 1] - ends.bounds[local[near_node]]
    shortest = step[lixels.count > 0].min(initial=np.inf)
    spread = min(lixels.count.max(initial=1), np.ceil(limit / shortest) + 1)  # lixels reached on one segment, at most
    for begin, stop in _slices(degree * spread):
        node = local[near_node[begin:stop]]
        row, end = _ranges(ends.bounds[node], ends.bounds[node + 1])
        event, s = near_event[begin:stop][row], ends.segment[end]
        d_start = _distance_to(far, event, local_of[net.node[s, 0]])
        d_end = _distance_to(far, event, local_of[net.node[s, 1]])
        keep = (ends.is_start[end] | ~(d_start < limit)) & (s != seg[event])
        event, s, d_start, d_end = event[keep], s[keep], d_start[keep], d_end[keep]
        count = lixels.count[s]
        before = _lixels_before(limit - d_start, step[s], count)
        after = _lixels_before(limit - d_end, step[s], count)
        whole = before + after >= count
        rows, j = _ranges(np.zeros_like(count), np.where(whole, count, before), np.where(whole, count, count - after), count)
        x = (j + 0.5) * step[s][rows]
        d = np.minimum(d_start[rows] + x, d_end[rows] + net.lengths[s][rows] - x)
        deposits.add(lixels.first[s][rows] + j, w[event][rows] * line_kernel(kernel, d, bandwidth))

    # the event's own segment: straight along it, or round through its ends
    own = np.arange(len(seg))
    d_start, d_end = _distance_to(far, own, a), _distance_to(far, own, b)
    count, each = lixels.count[seg], step[seg]
    lo = np.where(d_start < limit, 0, _lixels_before(t - limit, each, count))
    hi = np.where(d_end < limit, count, _lixels_before(t + limit, each, count))
    rows, j = _ranges(lo, hi)
    x = (j + 0.5) * each[rows]
    d = np.minimum(np.abs(x - t[rows]), np.minimum(d_start[rows] + x, d_end[rows] + length[rows] - x))
    deposits.add(lixels.first[seg][rows] + j, w[rows] * line_kernel(kernel, d, bandwidth))


def _distance_to(far, event, column):
    """far[event, column], infinite where the junction is not in the tile's reach (-1)."""
    return np.where(column >= 0, far[event, np.maximum(column, 0)], np.inf)


def _split(net, lixels, segment, position, weight, kernel, bandwidth, continuous, max_walks, result, report):
    """The discontinuous or continuous equal-split kernel, every path followed.

    Arc 2s runs along segment s from its start junction, arc 2s + 1 back from its end. A path
    state is (event, arc, distance at the arc's tail, share). Walking an arc adds share x
    weight x K(distance + x) to its lixels within reach; arriving at a junction of degree m the
    path stops at a dead end (m = 1) and otherwise goes on along the arcs leaving it with the
    method's factors. All paths of a batch of events advance together, one arc per step.

    Paths of one event leaving along the same arc after the same distance have the same future,
    so they are merged (their shares added) at every step: exact, and what keeps the continuous
    kernel tractable, whose paths bounce to and fro on short segments (a 3 m link between two
    junctions sends back a third to a half of what reaches either end) and round small blocks,
    in many orders of the same lengths. Waiting states are kept in a stack of chunks so that
    memory stays bounded."""
    limit = reach(kernel, bandwidth)
    used = net.lengths > 0
    head = np.column_stack([net.node[:, 1], net.node[:, 0]]).ravel()
    tail = np.column_stack([net.node[:, 0], net.node[:, 1]]).ravel()
    arc_used = np.repeat(used, 2)
    out_arcs = np.flatnonzero(arc_used)[np.argsort(tail[arc_used], kind="stable")]
    out_start = np.concatenate([[0], np.cumsum(net.degree)])
    degree = net.degree
    step = net.lengths / np.maximum(lixels.count, 1)
    deposits = _Deposits(result)
    walked = 0

    def walk(event, arc, d, share):
        """Kernel values along the arcs; the paths reaching the junctions at their heads."""
        s = arc >> 1
        reached = _lixels_before(limit - d, step[s], lixels.count[s])
        for begin, stop in _slices(reached):  # kernel evaluations a few million at a time
            rows, i = _ranges(np.zeros(stop - begin, dtype=np.int64), reached[begin:stop])
            rows += begin
            sr = s[rows]
            forward = (arc[rows] & 1) == 0
            values = line_kernel(kernel, d[rows] + (i + 0.5) * step[sr], bandwidth)
            values *= (share * weight[event])[rows]
            deposits.add(lixels.first[sr] + np.where(forward, i, lixels.count[sr] - 1 - i), values)
        far = d + net.lengths[s]
        on = far < limit
        return event[on], arc[on], far[on], share[on]

    def turn(event, arc, d, share):
        """Paths arriving at the head of ``arc`` leave along the junction's arcs."""
        v = head[arc]
        m = degree[v]
        go = m > 1  # a dead end stops the path
        event, arc, d, share, v, m = event[go], arc[go], d[go], share[go], v[go], m[go]
        rows, k = _ranges(out_start[v], out_start[v + 1])
        leave = out_arcs[k]
        back = leave == (arc[rows] ^ 1)
        mr = m[rows].astype(float)
        if continuous:
            factor = np.where(back, (2.0 - mr) / mr, 2.0 / mr)
            keep = factor != 0.0
        else:
            factor = 1.0 / (mr - 1.0)
            keep = ~back
        rows, leave, factor = rows[keep], leave[keep], factor[keep]
        event, d, share = event[rows], d[rows], share[rows] * factor
        return _merge(event, leave, d, share, limit, len(head))

    # each event's start: along its own segment both ways, then from its two ends; or, on a
    # junction, along every street leaving it. A first batch of events spread over the list
    # tells how many arcs the whole run would walk.
    length = net.lengths[segment]
    at_start = position <= _AT_NODE * length
    at_junction = at_start | (position >= (1 - _AT_NODE) * length)
    n = len(segment)
    probe = np.unique(np.linspace(0, n - 1, min(n, _PROBE)).astype(np.int64))
    rest = np.setdiff1d(np.arange(n), probe)
    batches = [probe] + np.array_split(rest, max(1, min(100, len(rest) // 1000)))
    for done, batch in enumerate(batches):
        report(done / len(batches))
        allowed = max_walks * len(probe) / n if done == 0 else max_walks
        middle = batch[~at_junction[batch]]
        count, each, t = lixels.count[segment[middle]], step[segment[middle]], position[middle]
        rows, j = _ranges(_lixels_before(t - limit, each, count), _lixels_before(t + limit, each, count))
        d = np.abs((j + 0.5) * each[rows] - t[rows])
        deposits.add(lixels.first[segment[middle]][rows] + j, weight[middle][rows] * line_kernel(kernel, d, bandwidth))
        d = np.concatenate([length[middle] - t, t])
        near = d < limit
        arcs = np.concatenate([2 * segment[middle], 2 * segment[middle] + 1])  # towards the end, towards the start
        waiting = [(np.concatenate([middle, middle])[near], arcs[near], d[near], np.ones(near.sum()))]
        junction = batch[at_junction[batch]]
        v = np.where(at_start[junction], net.node[segment[junction], 0], net.node[segment[junction], 1])
        rows, k = _ranges(out_start[v], out_start[v + 1])
        share = 2.0 / degree[v] if continuous else np.where(degree[v] > 2, 2.0 / degree[v], 1.0)
        walked += len(rows)
        waiting.append(walk(junction[rows], out_arcs[k], np.zeros(len(rows)), share[rows]))
        while waiting:
            if walked > allowed:
                raise InputError(
                    f"The {'continuous' if continuous else 'discontinuous'} kernel would walk more than {max_walks:,.0f} street "
                    "segments along the paths within the bandwidth (their number grows as a power of bandwidth / segment length). "
                    f"Use a smaller bandwidth{', or the discontinuous or the simple method' if continuous else ', or the simple method'}."
                )
            event, arc, d, share = waiting.pop()
            if len(event) > _BUDGET // 8:  # in two, at an event's first state, so that its paths still merge
                half = int(np.searchsorted(event, event[len(event) // 2]))
                half = half if half > 0 else len(event) // 2
                waiting.append((event[half:], arc[half:], d[half:], share[half:]))
                event, arc, d, share = event[:half], arc[:half], d[:half], share[:half]
            if len(event):
                report(done / len(batches))
                leaving = turn(event, arc, d, share)
                walked += len(leaving[0])
                waiting.append(walk(*leaving))
    deposits.flush()
    return walked


def _merge(event, arc, d, share, limit, arcs):
    """Paths of one event leaving along the same arc after the same distance (to 1e-9 of the
    reach: sums of the same lengths in another order) as one path, their shares added."""
    if len(event) == 0:
        return event, arc, d, share
    steps = 10**9
    distance = np.rint(d * (steps / limit)).astype(np.int64)  # 0 .. steps
    low = int(event.min())
    if (int(event.max()) - low + 1) * arcs < np.iinfo(np.int64).max // (steps + 1):
        key = ((event - low) * arcs + arc) * (steps + 1) + distance
        order = np.argsort(key, kind="stable")
        key = key[order]
        new = np.concatenate([[True], key[1:] != key[:-1]])
    else:  # too many events at once for one integer key
        order = np.lexsort((distance, arc, event))
        e, a, k = event[order], arc[order], distance[order]
        new = np.concatenate([[True], (e[1:] != e[:-1]) | (a[1:] != a[:-1]) | (k[1:] != k[:-1])])
    first = np.flatnonzero(new)
    return event[order][first], arc[order][first], d[order][first], np.add.reduceat(share[order], first)
