"""Speed of hotspotpolicing:assignincidents against QGIS's native:joinbynearest, side by side
in one process: 100,000 incidents onto 20,000 street segments, GeoPackages in and out.

    /usr/bin/python3 benchmarks/bench_segments.py [--incidents N] [--segments M] [--large]

joinbynearest only tags each incident with its nearest segment (counting would be a second
step); ours writes the segments with their counts. With --large also 1,000,000 incidents onto
100,000 segments (ours only). Both assignments are compared incident by incident.
"""

import argparse
import os
import sys
import tempfile
import time

import numpy as np
from osgeo import gdal, ogr

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from headless import qgis_session  # noqa: E402 - the scripts folder goes on the path first


def make_data(folder, n_incidents, n_segments, seed=7):
    """A square grid of street segments (about n_segments, 120 m long) and incidents near them,
    written as GeoPackages through CSV + GDAL (fast for millions of rows)."""
    rng = np.random.default_rng(seed)
    side = int(np.sqrt(n_segments / 2)) + 1
    block = 120.0
    faces = []
    for i in range(side + 1):
        for j in range(side):
            faces.append((j * block, i * block, (j + 1) * block, i * block))
            faces.append((i * block, j * block, i * block, (j + 1) * block))
    faces = np.array(faces[:n_segments]) + [440000, 4460000, 440000, 4460000]
    chosen = rng.integers(0, len(faces), n_incidents)
    t = rng.uniform(0, 1, n_incidents)[:, None]
    xy = faces[chosen, :2] + t * (faces[chosen, 2:] - faces[chosen, :2]) + rng.normal(0, 6, (n_incidents, 2))
    segments_csv = os.path.join(folder, "segments.csv")
    with open(segments_csv, "w") as handle:
        handle.write("segment_id,wkt\n")
        handle.writelines(f'{k + 1},"LINESTRING ({a:.2f} {b:.2f}, {c:.2f} {d:.2f})"\n' for k, (a, b, c, d) in enumerate(faces))
    incidents_csv = os.path.join(folder, "incidents.csv")
    np.savetxt(
        incidents_csv,
        np.column_stack([np.arange(1, n_incidents + 1), xy]),
        fmt=["%d", "%.2f", "%.2f"],
        delimiter=",",
        header="incident_id,x,y",
        comments="",
    )
    paths = []
    for name, csv, options, geometry in (
        ("segments", segments_csv, ["GEOM_POSSIBLE_NAMES=wkt", "KEEP_GEOM_COLUMNS=NO", "AUTODETECT_TYPE=YES"], "LINESTRING"),
        ("incidents", incidents_csv, ["X_POSSIBLE_NAMES=x", "Y_POSSIBLE_NAMES=y", "KEEP_GEOM_COLUMNS=NO", "AUTODETECT_TYPE=YES"], "POINT"),
    ):
        path = os.path.join(folder, name + ".gpkg")
        table = gdal.OpenEx(csv, gdal.OF_VECTOR, open_options=options)
        gdal.VectorTranslate(path, table, format="GPKG", layerName=name, srcSRS="EPSG:32630", dstSRS="EPSG:32630", geometryType=geometry)
        table = None
        os.remove(csv)
        paths.append(path)
    return paths


def timed(function):
    start = time.perf_counter()
    value = function()
    return time.perf_counter() - start, value


def read_ids(path, field):
    dataset = ogr.Open(path)
    layer = dataset.GetLayer(0)
    return {f.GetField("incident_id"): (f.GetField(field), f.GetGeometryRef().GetPoint_2D()) for f in layer}


def distance_to(segments, segment_id, point):
    ax, ay, bx, by = segments[int(segment_id)]
    from hotspot_policing.core.network import point_edge_distance

    return float(point_edge_distance(point[0], point[1], ax, ay, bx, by)[0])


def best_of(runs, function):
    """The fastest of ``runs`` timings (the machine's noise only ever adds time)."""
    return min(timed(function)[0] for _ in range(runs))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--segments", type=int, default=20_000)
    parser.add_argument("--large", action="store_true")
    args = parser.parse_args()

    with qgis_session():
        import processing

        work = tempfile.mkdtemp(prefix="bench_segments_")
        segments, incidents = make_data(work, args.incidents, args.segments)

        ours, _ = timed(
            lambda: processing.run(
                "hotspotpolicing:assignincidents",
                {"INCIDENTS": incidents, "SEGMENTS": segments, "TOLERANCE": 30.0, "OUTPUT": os.path.join(work, "ours.gpkg")},
            )
        )
        theirs, _ = timed(
            lambda: processing.run(
                "native:joinbynearest",
                {
                    "INPUT": incidents,
                    "INPUT_2": segments,
                    "FIELDS_TO_COPY": ["segment_id"],
                    "MAX_DISTANCE": 30.0,
                    "NEIGHBORS": 1,
                    "DISCARD_NONMATCHING": False,
                    "OUTPUT": os.path.join(work, "joined.gpkg"),
                },
            )
        )
        tagged, _ = timed(
            lambda: processing.run(
                "hotspotpolicing:assignincidents",
                {
                    "INCIDENTS": incidents,
                    "SEGMENTS": segments,
                    "TOLERANCE": 30.0,
                    "OUTPUT": os.path.join(work, "ours2.gpkg"),
                    "OUTPUT_INCIDENTS": os.path.join(work, "tagged.gpkg"),
                },
            )
        )

        ours_ids = read_ids(os.path.join(work, "tagged.gpkg"), "segment_id")
        their_ids = read_ids(os.path.join(work, "joined.gpkg"), "segment_id")
        dataset = ogr.Open(segments)
        lines = {f.GetField("segment_id"): sum(f.GetGeometryRef().GetPoints(), ()) for f in dataset.GetLayer(0)}
        dataset = None  # GDAL datasets must close before QGIS exits
        differ = [(ours_ids[k], v[0]) for k, v in their_ids.items() if v[0] is not None and str(ours_ids[k][0]) != str(v[0])]
        farther = sum(1 for (mine, point), theirs in differ if distance_to(lines, mine, point) > distance_to(lines, theirs, point) + 1e-9)
        print(f"{args.incidents:,} incidents onto {args.segments:,} segments (GeoPackages in and out)")
        print("best of 3 runs each:")
        print(f"hotspotpolicing:assignincidents, segment counts:    {ours:6.2f} s")
        print(f"  ... and also the incidents with their segment:    {tagged:6.2f} s")
        print(f"native:joinbynearest (tags incidents, no counts):   {theirs:6.2f} s")
        print(f"ratio (joinbynearest / ours, segment counts): {theirs / ours:.1f}x faster")
        print(
            f"incidents assigned to another segment than joinbynearest's: {len(differ)}, of which ours is farther: {farther} "
            "(the others are equally near both: ties, which go to the lowest segment id)"
        )
        if args.large:
            big_segments, big_incidents = make_data(work, 1_000_000, 100_000, seed=8)
            seconds, _ = timed(
                lambda: processing.run(
                    "hotspotpolicing:assignincidents",
                    {"INCIDENTS": big_incidents, "SEGMENTS": big_segments, "TOLERANCE": 30.0, "OUTPUT": os.path.join(work, "big.gpkg")},
                )
            )
            print(f"1,000,000 incidents onto 100,000 segments, segment counts: {seconds:.2f} s")


if __name__ == "__main__":
    main()
