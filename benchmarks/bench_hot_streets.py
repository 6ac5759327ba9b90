"""Speed of hotspotpolicing:hotstreets on raw centre-lines, and of its network neighbours beside
the plain scipy way, in one process.

    /usr/bin/python3 benchmarks/bench_hot_streets.py [--streets N] [--incidents M]

The city: N long east-west and N long north-south streets, one feature each, crossing without
shared vertices (as cities publish them), so the tool cuts about 2 N (N + 1) segments; M
incidents near them, a fifth of them in a few hot blocks. End to end: GeoPackages in, a
GeoPackage out. The network neighbours (segments within a walk of 2 blocks) are then found
by ours (Dijkstra with a distance limit, tile by tile) and by the plain way (the same limited
Dijkstra from every junction over the whole network, in chunks) and compared pair by pair.
"""

import argparse
import os
import resource
import sys
import tempfile
import time
import tracemalloc

import numpy as np
from osgeo import ogr, osr
from scipy import sparse
from scipy.sparse.csgraph import dijkstra

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from headless import qgis_session  # noqa: E402 - the scripts folder goes on the path first

BLOCK = 120.0


def make_city(folder, streets, incidents, seed=3):
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32630)
    span = streets * BLOCK
    path = os.path.join(folder, "city.gpkg")
    dataset = ogr.GetDriverByName("GPKG").CreateDataSource(path)
    lines = dataset.CreateLayer("centrelines", srs, ogr.wkbLineString)
    lines.CreateField(ogr.FieldDefn("street_name", ogr.OFTString))
    lines.StartTransaction()
    for k in range(streets):
        for wkt, name in (
            (f"LINESTRING (-30 {k * BLOCK}, {span / 3:.1f} {k * BLOCK}, {span:.1f} {k * BLOCK})", f"Street {k}"),
            (f"LINESTRING ({k * BLOCK} -30, {k * BLOCK} {span:.1f})", f"Avenue {k}"),
        ):
            feature = ogr.Feature(lines.GetLayerDefn())
            feature.SetField("street_name", name)
            feature.SetGeometry(ogr.CreateGeometryFromWkt(wkt))
            lines.CreateFeature(feature)
    lines.CommitTransaction()
    rng = np.random.default_rng(seed)
    along = rng.uniform(0, span - BLOCK, incidents)
    street = rng.integers(0, streets, incidents) * BLOCK
    vertical = rng.random(incidents) < 0.5
    xy = np.where(vertical[:, None], np.column_stack([street, along]), np.column_stack([along, street]))
    hot = rng.random(incidents) < 0.2  # a fifth of them on a few block faces
    centres = rng.integers(1, streets - 1, (8, 2)) * BLOCK
    pick = centres[rng.integers(0, 8, hot.sum())]
    xy[hot] = pick + np.column_stack([rng.uniform(0, BLOCK, hot.sum()), np.zeros(hot.sum())])
    xy += rng.normal(0, 5, xy.shape)
    points = dataset.CreateLayer("incidents", srs, ogr.wkbPoint)
    points.StartTransaction()
    for x, y in xy:
        feature = ogr.Feature(points.GetLayerDefn())
        feature.SetGeometry(ogr.CreateGeometryFromWkt(f"POINT ({x:.2f} {y:.2f})"))
        points.CreateFeature(feature)
    points.CommitTransaction()
    dataset = None
    return path


def plain_neighbours(node, lengths, nodes, distance, chunk=256):
    """Limited Dijkstra from every junction over the whole network, chunk by chunk."""
    graph = sparse.csr_matrix((lengths, (node[:, 0], node[:, 1])), shape=(nodes, nodes))
    rows, cols = [], []
    for begin in range(0, nodes, chunk):
        reached = dijkstra(graph, directed=False, indices=np.arange(begin, min(begin + chunk, nodes)), limit=distance * (1 + 1e-12))
        source, target = np.nonzero(np.isfinite(reached))
        rows.append(source + begin)
        cols.append(target)
    reach = sparse.csr_matrix((np.ones(sum(map(len, rows))), (np.concatenate(rows), np.concatenate(cols))), shape=(nodes, nodes))
    incidence = sparse.csr_matrix((np.ones(2 * len(node)), (np.repeat(np.arange(len(node)), 2), node.ravel())), shape=(len(node), nodes))
    linked = (incidence @ reach @ incidence.T).tocsr()
    linked.setdiag(0)
    linked.eliminate_zeros()
    return linked


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streets", type=int, default=100, help="streets per direction (about 2 N (N + 1) segments)")
    parser.add_argument("--incidents", type=int, default=100_000)
    args = parser.parse_args()
    with qgis_session(), tempfile.TemporaryDirectory() as work:
        import processing

        from hotspot_policing.core.network import junctions, segments_within

        city = make_city(work, args.streets, args.incidents)
        parameters = {
            "INCIDENTS": f"{city}|layername=incidents",
            "STREETS": f"{city}|layername=centrelines",
            "OUTPUT": os.path.join(work, "hot_streets.gpkg"),
        }
        times = []
        for _ in range(3):
            start = time.perf_counter()
            result = processing.run("hotspotpolicing:hotstreets", parameters)
            times.append(time.perf_counter() - start)
        segments = result["SEGMENT_COUNT"]
        print(
            f"hotstreets, {args.incidents:,} incidents on {2 * args.streets} raw centre-lines -> {segments:,} segments, "
            f"{result['HOT_SEGMENTS']:,} hot: median {np.median(times):.2f} s end to end (GeoPackage in and out; "
            f"process peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB)"
        )

        # the network neighbours alone: the segments of the output, a walk of two blocks
        source = ogr.Open(result["OUTPUT"])
        layer = source.GetLayer(0)
        lines = [f.GetGeometryRef().Clone() for f in layer]
        ends = np.array([[line.GetPoint_2D(0), line.GetPoint_2D(line.GetPointCount() - 1)] for line in lines])
        lengths = np.array([line.Length() for line in lines])
        source = None
        node, _ = junctions(ends[:, :, 0].T.ravel(), ends[:, :, 1].T.ravel(), 1.0)
        node = node.reshape(2, -1).T
        node_xy = np.zeros((node.max() + 1, 2))
        node_xy[node[:, 0]] = ends[:, 0]
        node_xy[node[:, 1]] = ends[:, 1]
        distance = 2 * BLOCK
        start = time.perf_counter()
        ours = segments_within(node, lengths, node_xy, distance)
        ours_seconds = time.perf_counter() - start
        tracemalloc.start()
        segments_within(node, lengths, node_xy, distance)
        ours_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        start = time.perf_counter()
        plain = plain_neighbours(node, lengths, len(node_xy), distance)
        plain_seconds = time.perf_counter() - start
        tracemalloc.start()
        plain_neighbours(node, lengths, len(node_xy), distance)
        plain_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        same = (ours != (plain > 0).astype(float)).nnz == 0
        print(
            f"network neighbours within {distance:.0f} m of {len(lengths):,} segments: ours {ours_seconds:.2f} s "
            f"(numpy peak {ours_peak / 2**20:.0f} MiB), plain scipy {plain_seconds:.2f} s (numpy peak {plain_peak / 2**20:.0f} MiB): "
            f"{plain_seconds / ours_seconds:.1f}x; {ours.nnz:,} neighbour pairs, {'identical' if same else 'DIFFERENT'}"
        )


if __name__ == "__main__":
    main()
