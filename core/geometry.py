"""Plane geometry on flat vertex arrays (docs/methods.md section 6): point in polygon,
centroids, areas and lengths, vectorised over every feature at once.

Geometries arrive as the reader decodes them: ``vertices`` (m, 2) one ring or line after
another, ``sizes`` the vertex count of each ring or line, ``ring_part`` the polygon part of
each ring (its first ring is the outer one, the others holes) and ``owner`` the feature of
each part. Rings are closed (last vertex equals the first)."""

import numpy as np

from . import silent


def ring_edges(vertices, sizes):
    """(ax, ay, bx, by) of every edge of every ring or line, and the ring of each edge."""
    ring = np.repeat(np.arange(len(sizes)), sizes)
    same = ring[:-1] == ring[1:]
    a, b = vertices[:-1][same], vertices[1:][same]
    return a[:, 0], a[:, 1], b[:, 0], b[:, 1], ring[:-1][same]


def outer_rings(ring_part):
    """True for the first ring of each polygon part (its outer ring), False for holes."""
    ring_part = np.asarray(ring_part)
    first = np.ones(len(ring_part), dtype=bool)
    first[1:] = ring_part[1:] != ring_part[:-1]
    return first


def polygon_areas_and_centroids(vertices, sizes, ring_part, owner, n):
    """Area and area-weighted centroid of each of ``n`` (multi)polygon features (holes
    subtract whatever their orientation, as GEOS). Features without area get their
    vertices' mean."""
    ax, ay, bx, by, ring = ring_edges(vertices, sizes)
    cross = ax * by - bx * ay
    signed = np.bincount(ring, cross, len(sizes)) / 2.0
    cx = np.bincount(ring, (ax + bx) * cross, len(sizes))
    cy = np.bincount(ring, (ay + by) * cross, len(sizes))
    sign = np.where(outer_rings(ring_part), 1.0, -1.0) * np.sign(signed)  # |A| for outer rings, -|A| for holes
    feature = np.asarray(owner)[np.asarray(ring_part)]
    area = np.bincount(feature, sign * signed, n)
    mx = np.bincount(feature, sign * cx / 6.0, n)
    my = np.bincount(feature, sign * cy / 6.0, n)
    return area, _centre_or_mean(mx, my, area, vertices, np.repeat(feature, sizes), n)


def line_lengths_and_centroids(vertices, sizes, owner, n):
    """Length and length-weighted centroid of each of ``n`` (multi)line features (as GEOS);
    features without length get their vertices' mean."""
    ax, ay, bx, by, part = ring_edges(vertices, sizes)
    length = np.hypot(bx - ax, by - ay)
    feature = np.asarray(owner)[part]
    total = np.bincount(feature, length, n)
    mx = np.bincount(feature, length * (ax + bx) / 2.0, n)
    my = np.bincount(feature, length * (ay + by) / 2.0, n)
    return total, _centre_or_mean(mx, my, total, vertices, np.repeat(np.asarray(owner), sizes), n)


def _centre_or_mean(mx, my, weight, vertices, vertex_owner, n):
    count = np.bincount(vertex_owner, minlength=n)
    mean = np.column_stack(
        [np.bincount(vertex_owner, vertices[:, 0], n).astype(float), np.bincount(vertex_owner, vertices[:, 1], n).astype(float)]
    )  # bincount of nothing is an int array
    mean /= np.maximum(count, 1)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        centre = np.column_stack([mx / weight, my / weight])
    return np.where((np.abs(weight) > 0)[:, None], centre, mean)


def points_in_polygons(x, y, vertices, sizes, ring_owner, n=None, progress=None):
    """Index of the polygon holding each point (-1 for none; the lowest index if several).

    ``ring_owner`` is the polygon of each ring; all rings of a polygon (its parts and holes)
    are tested together by the even-odd rule, so holes are outside. Points on an edge count
    as inside. Two indexes keep the work near linear: a grid over the polygons' bounding
    boxes gives each point its candidate polygons, and horizontal strips over the edges give
    each candidate only the edges at the point's height."""
    report = progress or silent
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ring_owner = np.asarray(ring_owner, dtype=np.int64)
    n = int(ring_owner.max()) + 1 if n is None and len(ring_owner) else (n or 0)
    result = np.full(len(x), -1, dtype=np.int64)
    if len(x) == 0 or n == 0:
        return result
    ax, ay, bx, by, ring = ring_edges(np.asarray(vertices, dtype=float), sizes)
    keep = (ax != bx) | (ay != by)
    ax, ay, bx, by, polygon = ax[keep], ay[keep], bx[keep], by[keep], ring_owner[ring[keep]]
    order = np.argsort(polygon, kind="stable")
    ax, ay, bx, by, polygon = ax[order], ay[order], bx[order], by[order], polygon[order]
    box = _boxes(ax, ay, bx, by, polygon, n)
    point, candidate = _candidate_pairs(x, y, box)
    report(0.2)
    strip = _strip_height(ay, by)
    edge_key, first, count, registered = _edge_strips(ay, by, polygon, strip)
    inside = np.zeros(len(point), dtype=bool)
    chunk = max(1, 4_000_000 // max(int(count.mean()) if len(count) else 1, 1))
    for start in range(0, len(point), chunk):  # bounded memory: about 4 million edge tests at a time
        p, c = point[start : start + chunk], candidate[start : start + chunk]
        key = c * _STRIPS + np.floor(y[p] / strip).astype(np.int64) % _STRIPS
        slot = np.searchsorted(edge_key, key)
        found = (slot < len(edge_key)) & (edge_key[np.minimum(slot, len(edge_key) - 1)] == key)
        slot, pair = slot[found], np.flatnonzero(found)
        per_pair = count[slot]
        pair_of_test = np.repeat(pair, per_pair)
        edge = first[np.repeat(slot, per_pair)] + (np.arange(per_pair.sum()) - np.repeat(np.cumsum(per_pair) - per_pair, per_pair))
        px, py = x[p[pair_of_test]], y[p[pair_of_test]]
        e = registered[edge]
        crossing, on_edge = _crossing_tests(px, py, ax[e], ay[e], bx[e], by[e])
        odd = np.bincount(pair_of_test, crossing, len(p)) % 2 == 1
        touching = np.bincount(pair_of_test, on_edge, len(p)) > 0
        inside[start : start + chunk] = odd | touching
        report(0.2 + 0.8 * min(1.0, (start + chunk) / len(point)))
    # lowest polygon index per point among those holding it
    best = np.full(len(x), np.iinfo(np.int64).max)
    np.minimum.at(best, point[inside], candidate[inside])
    result[best < np.iinfo(np.int64).max] = best[best < np.iinfo(np.int64).max]
    return result


_STRIPS = 1 << 40  # strip keys are taken modulo this (far more strips than any data has)


def bounding_boxes(vertices, vertex_owner, n):
    """(n, 4) min x, max x, min y, max y of each feature's vertices (NaN for none): the
    order of an R-tree's columns."""
    vertices = np.asarray(vertices, dtype=float)
    box = np.full((n, 4), np.inf)
    box[:, [1, 3]] = -np.inf
    np.minimum.at(box[:, 0], vertex_owner, vertices[:, 0])
    np.maximum.at(box[:, 1], vertex_owner, vertices[:, 0])
    np.minimum.at(box[:, 2], vertex_owner, vertices[:, 1])
    np.maximum.at(box[:, 3], vertex_owner, vertices[:, 1])
    box[~np.isfinite(box[:, 0])] = np.nan
    return box


def _boxes(ax, ay, bx, by, polygon, n):
    """(n, 4) min x, min y, max x, max y of each polygon's edges (inf for none)."""
    both = np.concatenate([np.column_stack([ax, ay]), np.column_stack([bx, by])])
    box = bounding_boxes(both, np.concatenate([polygon, polygon]), n)[:, [0, 2, 1, 3]]
    return np.where(np.isnan(box), np.array([np.inf, np.inf, -np.inf, -np.inf]), box)


def _candidate_pairs(x, y, box):
    """(point, polygon) pairs whose bounding box holds the point, through a grid of cells
    about the size of a typical polygon."""
    valid = np.flatnonzero(np.isfinite(box[:, 0]))
    box = box[valid]
    width, height = box[:, 2] - box[:, 0], box[:, 3] - box[:, 1]
    cell = max(float(np.median(np.maximum(width, height))), 1e-9)
    span = max(box[:, 2].max() - box[:, 0].min(), box[:, 3].max() - box[:, 1].min(), 1e-9)
    cell = max(cell, span / 4096.0)  # at most 4096 x 4096 grid cells
    x0, y0 = box[:, 0].min(), box[:, 1].min()
    c0 = np.floor((box[:, 0] - x0) / cell).astype(np.int64)
    c1 = np.floor((box[:, 2] - x0) / cell).astype(np.int64)
    r0 = np.floor((box[:, 1] - y0) / cell).astype(np.int64)
    r1 = np.floor((box[:, 3] - y0) / cell).astype(np.int64)
    columns = 4097
    ncol, nrow = c1 - c0 + 1, r1 - r0 + 1
    per_polygon = ncol * nrow
    which = np.repeat(np.arange(len(box)), per_polygon)
    k = np.arange(per_polygon.sum()) - np.repeat(np.cumsum(per_polygon) - per_polygon, per_polygon)
    cells = (r0[which] + k // ncol[which]) * columns + c0[which] + k % ncol[which]
    order = np.argsort(cells, kind="stable")
    cells, which = cells[order], which[order]
    pc = np.floor((x - x0) / cell).astype(np.int64)
    pr = np.floor((y - y0) / cell).astype(np.int64)
    usable = (pc >= 0) & (pc < columns) & (pr >= 0) & (pr < columns) & np.isfinite(x) & np.isfinite(y)
    key = np.where(usable, pr * columns + pc, -1)
    lo, hi = np.searchsorted(cells, key, "left"), np.searchsorted(cells, key, "right")
    hits = np.where(usable, hi - lo, 0)
    point = np.repeat(np.arange(len(x)), hits)
    slot = np.repeat(lo, hits) + (np.arange(hits.sum()) - np.repeat(np.cumsum(hits) - hits, hits))
    polygon = which[slot]
    b = box[polygon]
    inside = (x[point] >= b[:, 0]) & (x[point] <= b[:, 2]) & (y[point] >= b[:, 1]) & (y[point] <= b[:, 3])
    return point[inside], valid[polygon[inside]]


def _strip_height(ay, by):
    """Strips about as tall as a typical edge, so a point meets a few edges per polygon."""
    spans = np.abs(by - ay)
    typical = float(np.median(spans[spans > 0])) if (spans > 0).any() else 1.0
    total = max(float(max(ay.max(), by.max()) - min(ay.min(), by.min())), 1e-9)
    return max(typical, total / 1e6)


def _edge_strips(ay, by, polygon, strip):
    """Every edge registered in each strip its height spans: the sorted distinct keys
    (polygon, strip), the first registration and count of each, and the edge of each
    registration."""
    s0 = np.floor(np.minimum(ay, by) / strip).astype(np.int64)
    s1 = np.floor(np.maximum(ay, by) / strip).astype(np.int64)
    per_edge = s1 - s0 + 1
    edge = np.repeat(np.arange(len(ay)), per_edge)
    k = np.arange(per_edge.sum()) - np.repeat(np.cumsum(per_edge) - per_edge, per_edge)
    key = polygon[edge] * _STRIPS + (s0[edge] + k) % _STRIPS
    order = np.argsort(key, kind="stable")
    key, edge = key[order], edge[order]
    unique, first, count = np.unique(key, return_index=True, return_counts=True)
    return unique, first, count, edge


def _crossing_tests(px, py, ax, ay, bx, by):
    """Whether the ray from each point towards +x crosses its edge (half-open in y, so a
    vertex is counted once), and whether the point lies on the edge."""
    with np.errstate(divide="ignore", invalid="ignore"):
        straddles = (ay > py) != (by > py)
        at = ax + (py - ay) * (bx - ax) / (by - ay)
        crossing = straddles & (px < at)
    cross = (bx - ax) * (py - ay) - (by - ay) * (px - ax)
    scale = np.maximum(np.abs(bx - ax) + np.abs(by - ay), 1e-12)
    between = (np.minimum(ax, bx) <= px) & (px <= np.maximum(ax, bx)) & (np.minimum(ay, by) <= py) & (py <= np.maximum(ay, by))
    return crossing, between & (np.abs(cross) <= 1e-9 * scale)


def far_from_the_rest(x, y, factor=10.0):
    """Points far outside the rest (a geocoding error that put an incident in another
    country): farther from the median centre than ``factor`` times the distance within which
    90 % of the points lie. Such points would otherwise set the extent, and with it the
    automatic cell size and bandwidth. Fewer than 10 points: none are judged."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) < 10:
        return np.zeros(len(x), dtype=bool)
    distance = np.hypot(x - np.median(x), y - np.median(y))
    reach = np.percentile(distance, 90)
    return distance > factor * reach if reach > 0 else distance > 0
