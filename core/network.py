"""Street networks as arrays of straight edges: exact nearest-segment assignment of incidents
(docs/methods.md 3.1-3.3) and the junctions where segments meet.

An edge is one straight piece (a, b) of a segment's line; ``owner`` maps edges to segments.
"""

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree

from . import silent


@dataclass
class Assignment:
    segment: np.ndarray  # index of the nearest segment, -1 when none within the tolerance
    distance: np.ndarray  # distance to it (inf when unmatched)
    ties: int  # incidents equidistant from two or more segments (the lowest index wins)


def point_edge_distance(px, py, ax, ay, bx, by):
    """Euclidean distance from points to edges (broadcasting), and the position t in [0, 1]
    of the nearest point along each edge."""
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    t = np.clip(np.divide((px - ax) * dx + (py - ay) * dy, length2, out=np.zeros(np.broadcast(px, dx).shape), where=length2 > 0), 0.0, 1.0)
    return np.hypot(px - (ax + t * dx), py - (ay + t * dy)), t


def nearest_segments(px, py, edges, owner, tolerance, progress=None):
    """The nearest segment of every point within ``tolerance``, found exactly.

    Edges are sampled every ``step`` along their length into a KD-tree; a point's true
    nearest edge has a sample within (its distance + step / 2), so the edges of its k nearest
    samples hold it once the best exact distance is at most the k-th sample's distance minus
    step / 2. Points not yet certain are asked again with a larger k.

    ``edges`` is (n, 4): ax, ay, bx, by. Ties between segments go to the lowest index.
    Points are taken 250,000 at a time, reporting ``progress`` after each batch."""
    report = progress or silent
    px, py = np.asarray(px, dtype=float), np.asarray(py, dtype=float)
    ax, ay, bx, by = edges.T
    lengths = np.hypot(bx - ax, by - ay)
    step = max(tolerance, lengths.sum() / 4e6, 1e-9)
    per_edge = np.maximum(np.ceil(lengths / step).astype(np.int64), 1)
    edge_of_sample = np.repeat(np.arange(len(edges)), per_edge)
    t = (np.arange(len(edge_of_sample)) - np.repeat(np.cumsum(per_edge) - per_edge, per_edge) + 0.5) / per_edge[edge_of_sample]
    samples = np.column_stack([ax[edge_of_sample] + t * (bx - ax)[edge_of_sample], ay[edge_of_sample] + t * (by - ay)[edge_of_sample]])
    half = 0.5 * (lengths / per_edge).max()
    tree = cKDTree(samples)

    n = len(px)
    segment, distance = np.full(n, -1, dtype=np.int64), np.full(n, np.inf)
    tied = np.zeros(n, dtype=bool)
    for first in range(0, n, 250_000):
        report(first / max(n, 1))
        pending = np.arange(first, min(first + 250_000, n))
        _nearest(px, py, pending, ax, ay, bx, by, owner, tree, samples, edge_of_sample, tolerance, half, segment, distance, tied)
    report(1.0)
    return Assignment(segment, distance, int(tied.sum()))


def _nearest(px, py, pending, ax, ay, bx, by, owner, tree, samples, edge_of_sample, tolerance, half, segment, distance, tied):
    """nearest_segments for the points ``pending``, filling segment, distance and tied."""
    k = 4
    while len(pending):
        k = min(k, len(samples))
        found, index = tree.query(np.column_stack([px[pending], py[pending]]), k=k, distance_upper_bound=tolerance + half, workers=-1)
        found, index = found.reshape(len(pending), k), index.reshape(len(pending), k)
        valid = index < len(samples)
        candidate = edge_of_sample[np.where(valid, index, 0)]
        d, _ = point_edge_distance(px[pending, None], py[pending, None], ax[candidate], ay[candidate], bx[candidate], by[candidate])
        d = np.where(valid, d, np.inf)
        best = d.min(axis=1)
        certain = (best <= found[:, -1] - half) | ~valid[:, -1] | (k == len(samples))
        done = pending[certain]
        dc, oc = d[certain], owner[candidate[certain]]
        closest = dc <= best[certain, None] + 1e-9 * np.maximum(best[certain, None], 1.0)
        winner_owner = np.where(closest, oc, np.iinfo(np.int64).max).min(axis=1)
        tied[done] = (np.where(closest, oc, winner_owner[:, None]) != winner_owner[:, None]).any(axis=1)
        inside = best[certain] <= tolerance
        segment[done[inside]] = winner_owner[inside]
        distance[done[inside]] = best[certain][inside]
        pending = pending[~certain]
        k *= 4


def junctions(end_x, end_y, tolerance):
    """Group line ends into nodes, ends within ``tolerance`` of each other (also in a chain)
    being one: (node of each end, degree of each node)."""
    xy = np.column_stack([end_x, end_y]).astype(float)
    pairs = cKDTree(xy).query_pairs(tolerance, output_type="ndarray")
    near = sparse.coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(len(xy), len(xy)))
    _, node = connected_components(near, directed=False)
    return node, np.bincount(node)


@dataclass
class Segments:
    """Street segments as flat arrays: their vertices one after another, the vertex count
    of each, and the centre-line part each was cut from."""

    vertices: np.ndarray
    sizes: np.ndarray
    part: np.ndarray

    def __len__(self):
        return len(self.sizes)

    def __iter__(self):
        """(coordinates, part) of each segment."""
        ends = np.cumsum(self.sizes)
        return iter([(self.vertices[end - size : end], int(p)) for end, size, p in zip(ends, self.sizes, self.part)])


def split_at_junctions(vertices, per_part, tolerance, progress=None):
    """Cut centre-lines into street segments: every part is split wherever another line
    crosses or touches it, and where another line's dangling end comes within ``tolerance``
    of it (a digitising gap: that end is moved onto the line). Lines are not split at their
    own vertices, so a street runs from junction to junction.

    ``vertices`` (m, 2) are the parts' vertices one after another, ``per_part`` their counts.
    Returns :class:`Segments`, in part order."""
    report = progress or silent
    vertices = np.array(vertices, dtype=float)
    first = np.cumsum(per_part) - per_part
    part_of_vertex = np.repeat(np.arange(len(per_part)), per_part)
    is_edge = part_of_vertex[:-1] == part_of_vertex[1:]
    start = np.flatnonzero(is_edge)  # edge e runs from vertex start[e] to start[e] + 1
    part = part_of_vertex[start]
    position = start - first[part]  # index of the edge within its part
    a, b = vertices[start], vertices[start + 1]
    candidates = _edge_pairs(a, b, part, position, tolerance)
    report(0.4)

    cuts = [np.empty(0), np.empty(0)]  # (edge, t) of every cut
    e, f = candidates.T if len(candidates) else (np.empty(0, dtype=np.int64),) * 2
    # (1) crossings and touches: both edges are cut
    t, u, hit = _intersections(a[e], b[e], a[f], b[f])
    cut_edges = [e[hit], f[hit]]
    cut_t = [t[hit], u[hit]]
    # (2) dangling ends within the tolerance of another edge: the other edge is cut there and
    # the end is moved onto it
    moved = {}
    last_edge = np.zeros(len(start), dtype=bool)
    last_edge[:-1] = part[1:] != part[:-1]
    last_edge[-1] = True
    for end_edge, other, at_start in ((e, f, True), (e, f, False), (f, e, True), (f, e, False)):
        is_end = (position[end_edge] == 0) if at_start else last_edge[end_edge]
        point = a[end_edge] if at_start else b[end_edge]
        d, s = point_edge_distance(point[:, 0], point[:, 1], a[other, 0], a[other, 1], b[other, 0], b[other, 1])
        near = is_end & (d > 0) & (d <= tolerance)
        cut_edges.append(other[near])
        cut_t.append(s[near])
        projected = a[other[near]] + s[near, None] * (b[other[near]] - a[other[near]])
        for vertex, target in zip((start[end_edge[near]] + (0 if at_start else 1)).tolist(), projected):
            if vertex not in moved or np.hypot(*(moved[vertex] - vertices[vertex])) > np.hypot(*(target - vertices[vertex])):
                moved[vertex] = target
    for vertex, target in moved.items():
        vertices[vertex] = target
    cuts = np.concatenate(cut_edges), np.concatenate(cut_t)
    report(0.6)
    pieces = _cut_parts(vertices, first, per_part, start, part, position, *cuts, tolerance)
    report(1.0)
    return Segments(
        np.concatenate([coordinates for coordinates, _ in pieces]) if pieces else np.empty((0, 2)),
        np.array([len(coordinates) for coordinates, _ in pieces], dtype=np.int64),
        np.array([p for _, p in pieces], dtype=np.int64),
    )


def _edge_pairs(a, b, part, position, tolerance, skip_neighbours=True):
    """Pairs of edges that may cross or come within ``tolerance`` (from sample points along
    the edges: two such edges have samples within step + 2 tolerance), without an edge's
    pairing with itself and, unless asked, with its neighbours in the same part."""
    lengths = np.hypot(*(b - a).T)
    # samples about half a typical edge apart: few enough that long straight streets do not
    # flood the tree with pairs of their own samples, dense enough to keep the radius small
    step = max(tolerance, float(np.median(lengths)) / 2 if len(lengths) else 0.0, lengths.sum() / 2e6, 1e-9)
    per_edge = np.maximum(np.ceil(lengths / step).astype(np.int64), 1)
    edge = np.repeat(np.arange(len(a)), per_edge)
    t = (np.arange(len(edge)) - np.repeat(np.cumsum(per_edge) - per_edge, per_edge) + 0.5) / per_edge[edge]
    samples = a[edge] + t[:, None] * (b - a)[edge]
    reach = (lengths / per_edge).max() + 2 * tolerance
    pairs = cKDTree(samples).query_pairs(reach, output_type="ndarray")
    e, f = edge[pairs[:, 0]], edge[pairs[:, 1]]
    e, f = np.minimum(e, f), np.maximum(e, f)
    keep = e != f
    if skip_neighbours:
        keep &= ~((part[e] == part[f]) & (np.abs(position[e] - position[f]) == 1))
    key = np.unique(e[keep] * np.int64(len(a)) + f[keep])  # one row per pair (1-D unique is fast)
    return np.column_stack([key // len(a), key % len(a)])


def _intersections(p1, p2, q1, q2):
    """Parameters t on p1-p2 and u on q1-q2 where the segments meet (ends included);
    parallel segments are left out."""
    r, s = p2 - p1, q2 - q1
    denominator = r[:, 0] * s[:, 1] - r[:, 1] * s[:, 0]
    qp = q1 - p1
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (qp[:, 0] * s[:, 1] - qp[:, 1] * s[:, 0]) / denominator
        u = (qp[:, 0] * r[:, 1] - qp[:, 1] * r[:, 0]) / denominator
    eps = 1e-9
    hit = (np.abs(denominator) > 1e-12) & (t >= -eps) & (t <= 1 + eps) & (u >= -eps) & (u <= 1 + eps)
    return np.clip(t, 0, 1), np.clip(u, 0, 1), hit


def _cut_parts(vertices, first, per_part, start, part, position, cut_edge, cut_t, tolerance):
    """Cut each part at its cuts (positions edge + t along the part), dropping cuts within
    ``tolerance`` of another cut or of the part's ends."""
    along = position[cut_edge] + cut_t
    cut_part = part[cut_edge]
    order = np.lexsort((along, cut_part))
    along, cut_part = along[order], cut_part[order]
    segments = []
    bounds = np.searchsorted(cut_part, np.arange(len(per_part) + 1))
    for p in range(len(per_part)):
        line = vertices[first[p] : first[p] + per_part[p]]
        cumulative = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(line, axis=0).T))])
        positions = along[bounds[p] : bounds[p + 1]]
        edge = np.minimum(np.floor(positions).astype(np.int64), per_part[p] - 2)
        distance = cumulative[edge] + (positions - edge) * (cumulative[edge + 1] - cumulative[edge])
        keep = (distance > tolerance) & (distance < cumulative[-1] - tolerance)
        distance = distance[keep]
        if len(distance):
            distance = distance[np.concatenate([[True], np.diff(distance) > tolerance])]
        edges_of_cut = np.searchsorted(cumulative, distance, side="right") - 1
        cut_points = line[edges_of_cut] + (
            (distance - cumulative[edges_of_cut]) / (cumulative[edges_of_cut + 1] - cumulative[edges_of_cut])
        )[:, None] * (line[edges_of_cut + 1] - line[edges_of_cut])
        begin_point, begin_vertex = line[0], 1
        for point, edge_index in zip(cut_points, edges_of_cut):
            segments.append((np.vstack([begin_point, line[begin_vertex : edge_index + 1], point]), p))
            begin_point, begin_vertex = point, edge_index + 1
        segments.append((np.vstack([begin_point, line[begin_vertex:]]), p))
    return segments


def self_overlapping_parts(vertices, per_part, tolerance):
    """Parts that run back over themselves: two of their own edges overlap along a stretch
    longer than ``tolerance`` (a line digitised there and back). Returns a boolean per part."""
    vertices = np.asarray(vertices, dtype=float)
    first = np.cumsum(per_part) - per_part
    part_of_vertex = np.repeat(np.arange(len(per_part)), per_part)
    start = np.flatnonzero(part_of_vertex[:-1] == part_of_vertex[1:])
    part, position = part_of_vertex[start], start - first[part_of_vertex[start]]
    a, b = vertices[start], vertices[start + 1]
    # candidate pairs within a part, neighbours included (a fold-back is between neighbours)
    pairs = _edge_pairs(a, b, part, position, tolerance, skip_neighbours=False)
    if len(pairs) == 0:
        return np.zeros(len(per_part), dtype=bool)
    e, f = pairs[:, 0], pairs[:, 1]
    same = part[e] == part[f]
    e, f = e[same], f[same]
    direction = b[e] - a[e]
    length = np.hypot(*direction.T)
    unit = direction / np.maximum(length, 1e-12)[:, None]
    # both ends of f within tolerance of e's line, then the overlap of their projections
    off_a = np.abs(_cross(unit, a[f] - a[e]))
    off_b = np.abs(_cross(unit, b[f] - a[e]))
    along_a = np.einsum("ij,ij->i", unit, a[f] - a[e])
    along_b = np.einsum("ij,ij->i", unit, b[f] - a[e])
    overlap = np.minimum(np.maximum(along_a, along_b), length) - np.maximum(np.minimum(along_a, along_b), 0.0)
    bad = (off_a <= tolerance) & (off_b <= tolerance) & (overlap > tolerance)
    result = np.zeros(len(per_part), dtype=bool)
    result[part[e[bad]]] = True
    return result


def _cross(u, v):
    """z of the cross product of 2-D vectors, row by row (numpy 2 deprecates np.cross here)."""
    return u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0]


def segment_graph(node, lengths, nodes):
    """The junction graph: a sparse (nodes x nodes) matrix whose entry (a, b) is the length of
    the shortest segment joining junctions a and b. ``node`` (n, 2) holds each segment's two
    end junctions, ``lengths`` its length along the line."""
    a, b = np.minimum(node[:, 0], node[:, 1]), np.maximum(node[:, 0], node[:, 1])
    order = np.lexsort((lengths, b, a))
    a, b, length = a[order], b[order], np.maximum(lengths[order], 1e-12)
    first = np.ones(len(a), dtype=bool)
    first[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
    keep = first & (a != b)  # the shortest of parallel segments; loops lead nowhere
    return sparse.csr_matrix((length[keep], (a[keep], b[keep])), shape=(nodes, nodes))


def segments_within(node, lengths, node_xy, distance, progress=None, per_tile=1024, budget=20_000_000):
    """Binary (n x n) neighbours of street segments: i and j are neighbours when one can walk
    from an end of i to an end of j along at most ``distance`` of street (segments meeting at
    a junction always are). No self links.

    Shortest paths run from every junction with a ``distance`` limit, tile by tile: a walk of
    length d never leaves the Euclidean d around its start, so each tile needs only the
    junctions within ``distance`` of its bounding box, which keeps the work linear in the
    network's size."""
    report = progress or silent
    nodes, n = len(node_xy), len(node)
    graph = segment_graph(node, lengths, nodes)
    incidence = sparse.csr_matrix((np.ones(2 * n), (np.repeat(np.arange(n), 2), node.ravel())), shape=(n, nodes))
    span = max(np.ptp(node_xy[:, 0]), np.ptp(node_xy[:, 1]), 1e-9)
    tile = max(span * np.sqrt(per_tile / max(nodes, 1)), distance, 1e-9)
    cell = np.floor((node_xy - node_xy.min(axis=0)) / tile).astype(np.int64)
    key = cell[:, 0] * (cell[:, 1].max() + 1) + cell[:, 1]
    order = np.argsort(key, kind="stable")
    bounds = np.flatnonzero(np.diff(key[order])) + 1
    by_x = np.argsort(node_xy[:, 0], kind="stable")
    sorted_x = node_xy[by_x, 0]
    rows, cols = [], []
    for done, sources in enumerate(np.split(order, bounds)):
        report(done / (len(bounds) + 1))
        reach = distance * (1 + 1e-9) + span * 1e-12  # a walk of exactly `distance` ends inside, round-off or not
        low, high = node_xy[sources].min(axis=0) - reach, node_xy[sources].max(axis=0) + reach
        band = by_x[np.searchsorted(sorted_x, low[0]) : np.searchsorted(sorted_x, high[0], side="right")]
        local = np.sort(band[(node_xy[band, 1] >= low[1]) & (node_xy[band, 1] <= high[1])])
        position = np.searchsorted(local, sources)
        subgraph = graph[local][:, local]
        step = max(1, budget // len(local))
        for begin in range(0, len(sources), step):
            reached = dijkstra(subgraph, directed=False, indices=position[begin : begin + step], limit=distance * (1 + 1e-12))
            source, target = np.nonzero(np.isfinite(reached))
            rows.append(sources[begin + source])
            cols.append(local[target])
    reach = sparse.csr_matrix((np.ones(sum(map(len, rows))), (np.concatenate(rows), np.concatenate(cols))), shape=(nodes, nodes))
    linked = (incidence @ reach @ incidence.T).tocsr()
    linked.setdiag(0)
    linked.eliminate_zeros()
    linked.data[:] = 1.0
    report(1.0)
    return linked


def cross_streets(ends, names, tolerance, network=None):
    """The name of a differently named street meeting each end of each segment, to tell two
    segments of one street apart ("Elm St between Oak Ave and Pine Rd"): an (n, 2) object
    array, "" where no other street meets that end. ``ends`` (n, 2, 2) holds each segment's
    first and last point; ``network`` (its ends and names) the streets to look among, by
    default the segments themselves. Of several cross streets at one end, the first in
    alphabetical order is taken, so the answer does not depend on the layers' order."""
    names = _names(names)
    network_ends, network_names = (ends, names) if network is None else (network[0], _names(network[1]))
    points = np.asarray(ends, dtype=float).reshape(-1, 2)
    found = cKDTree(points).sparse_distance_matrix(
        cKDTree(np.asarray(network_ends, dtype=float).reshape(-1, 2)), tolerance, output_type="ndarray"
    )
    end, other_end = found["i"], found["j"]
    other = np.repeat(network_names, 2)[other_end]
    keep = (other != np.repeat(names, 2)[end]) & (other != "")
    end, other = end[keep], other[keep].astype(str)
    order = np.lexsort((other, end))
    first = np.ones(len(order), dtype=bool)
    first[1:] = end[order][1:] != end[order][:-1]
    crossing = np.full(len(points), "", dtype=object)
    crossing[end[order][first]] = other[order][first]
    return crossing.reshape(-1, 2)


def _names(names):
    return np.array(["" if name is None else str(name).strip() for name in names], dtype=object)


def place_name(street, crossing):
    """'Elm St between Oak Ave and Pine Rd', 'Elm St at Oak Ave', or the street alone."""
    found = sorted({c for c in crossing if c})
    if len(found) == 2:
        return f"{street} between {found[0]} and {found[1]}"
    return f"{street} at {found[0]}" if found else street
