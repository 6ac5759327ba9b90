"""Speed of the network kernel density core (core/network_kde.py), its three methods side by
side with a plain per-incident computation on a sample, in one process (no QGIS needed).

    /usr/bin/python3 benchmarks/bench_networkkde.py [--side 160] [--incidents 100000] [--bandwidth 300]
                                                   [--lixel 10] [--sample 300]

First the sample city (resources/sample_data: its streets cut at junctions, its incidents),
then the synthetic city.

The synthetic city: a side x side grid of junctions about 100 m apart (moved a little, two in
five block faces bent, 1.5 % of the faces missing, a cul-de-sac at one junction in twenty):
160 x 160 gives about 50,000 street segments. Incidents lie near the streets, a fifth of them in a few hot blocks.
Timed: building the graph, cutting 10 m lixels, snapping the incidents, then the density by
Simple, Discontinuous and Continuous with the quartic kernel, each with its peak numpy memory.

The plain way, for a ratio: Simple done one incident at a time, scipy's Dijkstra (cut at the
bandwidth) from the two ends of its segment over the whole network and the kernel at every
lixel, timed on a sample and scaled to all incidents; its values are compared with ours on
that sample. For the split methods, a plain recursion over paths per incident (Python) on a
smaller sample.
"""

import argparse
import os
import resource
import sys
import tempfile
import time
import tracemalloc

import numpy as np
from scipy.sparse.csgraph import dijkstra

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BLOCK = 100.0


def import_core():
    """The checkout as the package ``hotspot_policing`` (never the root on sys.path: its
    processing/ would shadow QGIS's)."""
    folder = tempfile.mkdtemp(prefix="hotspot_policing_")
    os.symlink(ROOT, os.path.join(folder, "hotspot_policing"))
    sys.path.insert(0, folder)
    from hotspot_policing.core import network_kde

    return network_kde


def make_city(side, incidents, seed=18):
    """Segment lines (flat vertices, counts) of a jittered grid, and incident coordinates."""
    rng = np.random.default_rng(seed)
    gx, gy = np.meshgrid(np.arange(side) * BLOCK, np.arange(side) * BLOCK)
    xy = np.column_stack([gx.ravel(), gy.ravel()]) + rng.uniform(-15, 15, (side * side, 2)) + [440000, 4460000]
    index = np.arange(side * side).reshape(side, side)
    pairs = np.concatenate(
        [np.column_stack([index[:, :-1].ravel(), index[:, 1:].ravel()]), np.column_stack([index[:-1, :].ravel(), index[1:, :].ravel()])]
    )
    pairs = pairs[rng.random(len(pairs)) >= 0.015]
    a, b = xy[pairs[:, 0]], xy[pairs[:, 1]]
    # cul-de-sacs: a stub of 30-60 m from one junction in twenty, into the block
    stub = rng.choice(side * side, side * side // 20, replace=False)
    angle = rng.uniform(0, 2 * np.pi, len(stub))
    tip = xy[stub] + rng.uniform(30, 60, len(stub))[:, None] * np.column_stack([np.cos(angle), np.sin(angle)])
    a, b = np.concatenate([a, xy[stub]]), np.concatenate([b, tip])
    pairs = np.concatenate([pairs, np.column_stack([stub, stub])])
    bent = rng.random(len(pairs)) < 0.4
    bend = (a + b) / 2 + rng.uniform(-8, 8, (len(pairs), 2))
    sizes = np.where(bent, 3, 2)
    vertices = np.concatenate([a[:, None], np.where(bent[:, None, None], bend[:, None], b[:, None]), b[:, None]], axis=1)
    keep = np.ones((len(pairs), 3), dtype=bool)
    keep[~bent, 2] = False
    vertices = vertices[keep]
    # incidents: a point along a random face, or along a few hot faces, a few metres off the street
    first = np.cumsum(sizes) - sizes
    face = rng.integers(0, len(pairs), incidents)
    hot = rng.random(incidents) < 0.2
    face[hot] = rng.choice(len(pairs), 40)[rng.integers(0, 40, hot.sum())]
    t = rng.random(incidents)
    start, end = vertices[first[face]], vertices[first[face] + 1]  # along the first piece of the face
    points = start + t[:, None] * (end - start) + rng.normal(0, 4, (incidents, 2))
    return vertices, sizes, points


def sample_city():
    """The sample city's street parts and incidents, read with OGR."""
    from osgeo import ogr

    source = ogr.Open(os.path.join(ROOT, "resources", "sample_data", "sample_city.gpkg"))
    parts = []
    for feature in source.GetLayerByName("streets"):
        geometry = feature.GetGeometryRef()
        for i in range(max(geometry.GetGeometryCount(), 1)):
            part = geometry.GetGeometryRef(i) if geometry.GetGeometryCount() else geometry
            parts.append(np.array(part.GetPoints())[:, :2])
    points = np.array([feature.GetGeometryRef().GetPoint_2D() for feature in source.GetLayerByName("incidents")])
    return np.concatenate(parts), np.array([len(p) for p in parts]), points


def run(nk, vertices, sizes, points, bandwidth, lixel, cut=False):
    """Graph, lixels, snapping and the three methods, timed; the network and its results."""
    if cut:
        from hotspot_policing.core.network import split_at_junctions

        seconds_cut, _, segments = timed(lambda: split_at_junctions(vertices, sizes, 1.0))
        vertices, sizes = segments.vertices, segments.sizes
    seconds_net, _, net = timed(lambda: nk.build_network(vertices, sizes, 1e-6))
    seconds_lix, _, lixels = timed(lambda: nk.lixelise(net, lixel))
    seconds_snap, _, events = timed(lambda: nk.snap_events(net, points[:, 0], points[:, 1], 30.0))
    dead_ends = int((net.degree == 1).sum())
    print(
        f"{len(net):,} segments ({net.lengths.sum() / 1000:,.0f} km of street, {len(net.node_xy):,} junctions, {dead_ends} dead ends), "
        f"{len(lixels):,} lixels of at most {lixel:g} m, {len(points):,} incidents ({events.unsnapped} unsnapped), bandwidth {bandwidth:g}"
    )
    print(
        f"  {f'cutting at junctions {seconds_cut:.2f} s, ' if cut else ''}graph {seconds_net:.2f} s, lixels {seconds_lix:.2f} s, "
        f"snapping {seconds_snap:.2f} s"
    )
    results = {}
    for method in nk.METHOD_NAMES:
        seconds, peak, values = timed(lambda method=method: nk.density(net, lixels, events, bandwidth, "quartic", method))
        results[method] = values
        mass = (values * lixels.length).sum() / (len(points) - events.unsnapped)
        print(
            f"{method:>15}: {seconds:6.1f} s, numpy peak {peak / 2**20:5.0f} MiB; mass per incident {mass:.4f}, "
            f"peak density {values.max() * 1000:.1f} per km"
        )
    return net, lixels, events, results


def timed(function):
    tracemalloc.start()
    start = time.perf_counter()
    value = function()
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return seconds, peak, value


def plain_simple(nk, net, lixels, segment, position, bandwidth, kernel="quartic"):
    """Simple, one incident at a time: Dijkstra from both ends of its segment over the whole
    network, then the kernel of min(d_u + x, d_v + L - x) (or |x - t| on its own segment) at
    every lixel."""
    from hotspot_policing.core.network import segment_graph

    graph = segment_graph(net.node, net.lengths, len(net.node_xy))
    u, v = net.node[lixels.segment, 0], net.node[lixels.segment, 1]
    x, length = lixels.middle, net.lengths[lixels.segment]
    total = np.zeros(len(lixels))
    for s, t in zip(segment, position):
        d = dijkstra(graph, directed=False, indices=net.node[s], limit=bandwidth)
        to = np.minimum(t + d[0], net.lengths[s] - t + d[1])
        distance = np.minimum(to[u] + x, to[v] + length - x)
        own = lixels.segment == s
        distance[own] = np.minimum(distance[own], np.abs(x[own] - t))
        total += nk.line_kernel(kernel, distance, bandwidth)
    return total


def plain_split(nk, net, lixels, segment, position, bandwidth, continuous, kernel="quartic"):
    """The equal-split kernels one incident at a time, by recursion over the paths."""
    ways = {}
    for s in range(len(net)):
        for end in (0, 1):
            ways.setdefault(int(net.node[s, end]), []).append((s, end))
    total = np.zeros(len(lixels))

    def along(s, end, d, share):
        lo, hi = lixels.first[s], lixels.first[s] + lixels.count[s]
        x = lixels.middle[lo:hi] if end == 0 else net.lengths[s] - lixels.middle[lo:hi]
        total[lo:hi] += share * nk.line_kernel(kernel, d + x, bandwidth)
        if d + net.lengths[s] < bandwidth:
            arrive(s, 1 - end, d + net.lengths[s], share)

    def arrive(s, end, d, share):
        here = ways[int(net.node[s, end])]
        m = len(here)
        for s2, end2 in here if m > 1 else ():
            back = (s2, end2) == (s, end)
            factor = ((2 - m) / m if back else 2 / m) if continuous else (0.0 if back else 1 / (m - 1))
            if factor:
                along(s2, end2, d, share * factor)

    for s, t in zip(segment, position):
        lo, hi = lixels.first[s], lixels.first[s] + lixels.count[s]
        total[lo:hi] += nk.line_kernel(kernel, np.abs(lixels.middle[lo:hi] - t), bandwidth)
        arrive(s, 1, net.lengths[s] - t, 1.0)
        arrive(s, 0, t, 1.0)
    return total


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--side", type=int, default=160, help="junctions per side (about 2 side^2 segments)")
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--bandwidth", type=float, default=300.0)
    parser.add_argument("--lixel", type=float, default=10.0)
    parser.add_argument("--sample", type=int, default=300, help="incidents for the plain Simple (a tenth of it for the split methods)")
    args = parser.parse_args()
    nk = import_core()

    print("sample city:")
    run(nk, *sample_city(), args.bandwidth, args.lixel, cut=True)
    print("synthetic city:")
    vertices, sizes, points = make_city(args.side, args.incidents)
    net, lixels, events, _ = run(nk, vertices, sizes, points, args.bandwidth, args.lixel)

    rng = np.random.default_rng(1)
    matched = np.flatnonzero(events.segment >= 0)
    inside = (events.position[matched] > 0) & (events.position[matched] < net.lengths[events.segment[matched]])
    matched = matched[inside]  # not on junctions
    sample = rng.choice(matched, args.sample, replace=False)
    segment, position = events.segment[sample], events.position[sample]
    sampled = nk.Snapped(segment, position, np.zeros(len(sample)))
    plain_seconds, _, plain = timed(lambda: plain_simple(nk, net, lixels, segment, position, args.bandwidth))
    ours = nk.density(net, lixels, sampled, args.bandwidth, "quartic", "simple")
    per_incident = plain_seconds / len(sample)
    print(
        f"plain Simple (scipy Dijkstra per incident, whole network): {per_incident * 1000:.1f} ms per incident on {len(sample)}, "
        f"{per_incident * args.incidents:,.0f} s for all; equal to ours to {np.abs(plain - ours).max() / ours.max():.1e} of the peak"
    )
    few = sample[: max(1, args.sample // 10)]
    for method in ("discontinuous", "continuous"):
        seconds, _, plain = timed(
            lambda method=method: plain_split(
                nk, net, lixels, events.segment[few], events.position[few], args.bandwidth, method == "continuous"
            )
        )
        picked = nk.Snapped(events.segment[few], events.position[few], np.zeros(len(few)))
        ours = nk.density(net, lixels, picked, args.bandwidth, "quartic", method)
        print(
            f"plain {method} (Python recursion over paths per incident): {seconds / len(few) * 1000:.0f} ms per incident on "
            f"{len(few)}, {seconds / len(few) * args.incidents:,.0f} s for all; equal to ours to "
            f"{np.abs(plain - ours).max() / np.abs(ours).max():.1e} of the peak"
        )
    print(f"process peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
