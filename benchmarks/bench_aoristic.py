"""Speed of the aoristic weekday x hour split: 1,000,000 incidents with windows of up to 72 hours.

    /usr/bin/python3 benchmarks/bench_aoristic.py [--incidents 1000000] [--hours 72]

Ours: core.aoristic.weekday_hour_weights (the part of each window in each hour, vectorised), and
the whole tool hotspotpolicing:aoristic through Processing on the same windows in a GeoPackage
(two date-time fields, 1,000 zones). Beside it the plain way: expand every window minute by minute
with numpy and count the minutes per weekday-hour cell (on a sample, scaled to all incidents),
and the largest difference between the two tables. Prints times, the ratio and peak memory.
"""

import argparse
import os
import sys
import tempfile
import time
import tracemalloc

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from headless import qgis_session  # noqa: E402 - the scripts folder goes on the path first

MONDAY = 1735516800.0  # 2024-12-30 00:00, a Monday


def windows(n, hours, seed=5):
    rng = np.random.default_rng(seed)
    start = np.floor(MONDAY + rng.uniform(0, 365 * 86400, n))
    length = np.floor(rng.uniform(0, hours * 3600, n)) * (rng.random(n) > 0.1)  # a tenth of zero length
    return start, start + length


def minute_by_minute(start, end):
    """The plain way: every minute of every window (zero-length windows as one minute) counted
    in its cell, each window weighted 1 / its minutes."""
    first, last = (
        np.floor(start / 60).astype(np.int64),
        np.maximum(np.ceil(end / 60).astype(np.int64), np.floor(start / 60).astype(np.int64) + 1),
    )
    minutes = last - first
    minute = np.repeat(first, minutes) + (np.arange(minutes.sum()) - np.repeat(np.cumsum(minutes) - minutes, minutes))
    cell = ((minute // 60) + 72) % 168  # 1970-01-01 was a Thursday: hour 0 is cell 72
    return np.bincount(cell, np.repeat(1.0 / minutes, minutes), 168)


def write(folder, start, end, zones=1000):
    from osgeo import ogr, osr

    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32630)
    path = os.path.join(folder, "windows.gpkg")
    dataset = ogr.GetDriverByName("GPKG").CreateDataSource(path)
    squares = dataset.CreateLayer("zones", srs, ogr.wkbPolygon)
    side = int(np.sqrt(zones))
    squares.StartTransaction()
    for k in range(side * side):
        x, y = (k % side) * 100.0, (k // side) * 100.0
        feature = ogr.Feature(squares.GetLayerDefn())
        feature.SetGeometry(ogr.CreateGeometryFromWkt(f"POLYGON (({x} {y},{x + 100} {y},{x + 100} {y + 100},{x} {y + 100},{x} {y}))"))
        squares.CreateFeature(feature)
    squares.CommitTransaction()
    points = dataset.CreateLayer("incidents", srs, ogr.wkbPoint)
    for name in ("reported_from", "reported_to"):
        points.CreateField(ogr.FieldDefn(name, ogr.OFTDateTime))
    rng = np.random.default_rng(9)
    xy = rng.uniform(0, side * 100.0, (len(start), 2))
    points.StartTransaction()
    for (x, y), a, b in zip(xy, start, end):
        feature = ogr.Feature(points.GetLayerDefn())
        feature.SetField("reported_from", time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(a)))
        feature.SetField("reported_to", time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(b)))
        feature.SetGeometry(ogr.CreateGeometryFromWkt(f"POINT ({x:.1f} {y:.1f})"))
        points.CreateFeature(feature)
    points.CommitTransaction()
    dataset = None
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--incidents", type=int, default=1_000_000)
    parser.add_argument("--hours", type=float, default=72.0)
    args = parser.parse_args()
    start, end = windows(args.incidents, args.hours)
    with qgis_session(), tempfile.TemporaryDirectory() as work:
        from hotspot_policing.core import aoristic

        seconds = []
        for _ in range(3):
            began = time.perf_counter()
            table = aoristic.weekday_hour_weights(start, end)[0]
            seconds.append(time.perf_counter() - began)
        tracemalloc.start()
        aoristic.weekday_hour_weights(start, end)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        ours = float(np.median(seconds))
        print(
            f"{args.incidents:,} windows of 0 to {args.hours:g} hours: core split {ours:.2f} s (median of 3), "
            f"numpy peak {peak / 2**20:.0f} MiB"
        )

        sample = 20_000
        began = time.perf_counter()
        plain = minute_by_minute(start[:sample], end[:sample])
        plain_seconds = (time.perf_counter() - began) * args.incidents / sample
        exact = aoristic.weekday_hour_weights(start[:sample], end[:sample])[0]
        print(
            f"minute-by-minute numpy expansion: {plain_seconds:.1f} s scaled from {sample:,} windows -> ours "
            f"{plain_seconds / ours:.0f}x faster; its table differs from ours by at most "
            f"{np.abs(plain - exact).max() / exact.max():.1e} of the peak (minutes are coarser than seconds)"
        )
        assert abs(table.sum() - args.incidents) < 1e-6 * args.incidents

        import processing

        path = write(work, start, end)
        parameters = {
            "INPUT": f"{path}|layername=incidents",
            "FROM_FIELD": "reported_from",
            "TO_FIELD": "reported_to",
            "ZONES": f"{path}|layername=zones",
            "OUTPUT_TABLE": os.path.join(work, "table.gpkg"),
            "OUTPUT": os.path.join(work, "zones.gpkg"),
        }
        runs = []
        for k in range(3):
            parameters["OUTPUT_TABLE"] = os.path.join(work, f"table{k}.gpkg")
            parameters["OUTPUT"] = os.path.join(work, f"zones{k}.gpkg")
            began = time.perf_counter()
            processing.run("hotspotpolicing:aoristic", parameters)
            runs.append(time.perf_counter() - began)
        print(f"whole tool through Processing (GeoPackage in and out, 1,000 zones): median {np.median(runs):.2f} s of 3 runs")


if __name__ == "__main__":
    main()
