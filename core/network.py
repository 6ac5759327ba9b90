"""Street networks as arrays of straight edges: exact nearest-segment assignment of incidents
(METHODS.md 4.2) and the junctions where segments meet.

An edge is one straight piece (a, b) of a segment's line; ``owner`` maps edges to segments.
"""

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree


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


def nearest_segments(px, py, edges, owner, tolerance):
    """The nearest segment of every point within ``tolerance``, found exactly.

    Edges are sampled every ``step`` along their length into a KD-tree; a point's true
    nearest edge has a sample within (its distance + step / 2), so the edges of its k nearest
    samples hold it once the best exact distance is at most the k-th sample's distance minus
    step / 2. Points not yet certain are asked again with a larger k.

    ``edges`` is (n, 4): ax, ay, bx, by. Ties between segments go to the lowest index."""
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
    pending, k = np.arange(n), 4
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
    return Assignment(segment, distance, int(tied.sum()))


def junctions(end_x, end_y, tolerance):
    """Group line ends closer than ``tolerance`` into nodes: (node of each end, degree of
    each node). Ends are snapped to a grid of that size, so the grouping is deterministic."""
    keys = np.column_stack([np.round(np.asarray(end_x) / tolerance), np.round(np.asarray(end_y) / tolerance)])
    _, node, degree = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
    return node.ravel(), degree
