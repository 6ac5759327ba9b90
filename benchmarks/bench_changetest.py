"""Speed of the change test: the core (core.change.change_per_unit: one vectorised exact binomial
test for every unit, Benjamini-Hochberg q-values, labels) beside scipy.stats.binomtest called in
a loop, and the whole tool hotspotpolicing:changetest through Processing, in one process.

    /usr/bin/python3 benchmarks/bench_changetest.py [--blocks 224] [--incidents 1000000] [--sample 3000]

The city: a square grid of blocks x blocks street blocks of 100 m, one feature per street segment
(2 b (b + 1): 100,800 segments for 224 blocks); incidents on the segments (offset up to 10 m
sideways), a clustered rate per segment with planted rises and falls, at random times of 2024
and 2025. The periods: 2024 against 2025 (366 and 365 days).

Core: change_per_unit on the counts per segment against binomtest(after, n, 365 / 731) one
segment at a time on a random sample of segments with incidents, extrapolated to all of them
(the ratio), and the largest relative difference of the p-values on the sample. Peak memory
of the core by tracemalloc.

Whole tool: GeoPackage in (segments, incidents), GeoPackage out, median of 3 runs: reading,
assigning incidents to the nearest segment within 30 m, the test and writing every segment
with its fields and the six new ones.
"""

import argparse
import datetime
import os
import resource
import sys
import tempfile
import time
import tracemalloc

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from headless import qgis_session  # noqa: E402 - the scripts folder goes on the path first

BLOCK = 100.0
DAYS = {"before": 366, "after": 365}
PERIODS = {"BEFORE_START": "2024-01-01", "BEFORE_END": "2024-12-31", "AFTER_START": "2025-01-01", "AFTER_END": "2025-12-31"}


def make_city(blocks, incidents, seed=5):
    """Segments (ax, ay, bx, by), and incidents (x, y, seconds since 1970) on them."""
    rng = np.random.default_rng(seed)
    k = np.arange(blocks)
    rows = np.arange(blocks + 1)
    east = np.array([(i * BLOCK, j * BLOCK, (i + 1) * BLOCK, j * BLOCK) for j in rows for i in k])
    north = np.array([(j * BLOCK, i * BLOCK, j * BLOCK, (i + 1) * BLOCK) for j in rows for i in k])
    segments = np.vstack([east, north])
    n = len(segments)
    rate = rng.gamma(0.6, 1.0, n)  # most segments quiet, a few busy
    rate[rng.choice(n, n // 50, replace=False)] *= 8
    after_factor = np.ones(n)
    after_factor[rng.choice(n, n // 100, replace=False)] = 3.0  # rises
    after_factor[rng.choice(n, n // 100, replace=False)] = 0.3  # falls
    weight_before, weight_after = rate * DAYS["before"], rate * after_factor * DAYS["after"]
    share_before = weight_before.sum() / (weight_before.sum() + weight_after.sum())
    in_before = rng.random(incidents) < share_before
    segment = np.where(
        in_before,
        rng.choice(n, incidents, p=weight_before / weight_before.sum()),
        rng.choice(n, incidents, p=weight_after / weight_after.sum()),
    )
    t = rng.uniform(0.02, 0.98, incidents)
    ax, ay, bx, by = segments[segment].T
    horizontal = ay == by
    offset = rng.uniform(-10, 10, incidents)
    x = ax + t * (bx - ax) + np.where(horizontal, 0, offset)
    y = ay + t * (by - ay) + np.where(horizontal, offset, 0)
    start_2024, start_2025 = 1704067200, 1735689600  # 2024-01-01, 2025-01-01 UTC
    seconds = np.where(
        in_before, start_2024 + rng.integers(0, 366 * 86400, incidents), start_2025 + rng.integers(0, 365 * 86400, incidents)
    )
    return segments, x, y, seconds, segment, in_before


def write_city(folder, segments, x, y, seconds):
    from osgeo import ogr, osr

    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32630)
    path = os.path.join(folder, "city.gpkg")
    dataset = ogr.GetDriverByName("GPKG").CreateDataSource(path)
    lines = dataset.CreateLayer("segments", srs, ogr.wkbLineString)
    lines.CreateField(ogr.FieldDefn("segment_id", ogr.OFTInteger))
    lines.StartTransaction()
    for i, (ax, ay, bx, by) in enumerate(segments):
        feature = ogr.Feature(lines.GetLayerDefn())
        feature.SetField("segment_id", i + 1)
        feature.SetGeometry(ogr.CreateGeometryFromWkt(f"LINESTRING ({ax} {ay}, {bx} {by})"))
        lines.CreateFeature(feature)
    lines.CommitTransaction()
    points = dataset.CreateLayer("incidents", srs, ogr.wkbPoint)
    points.CreateField(ogr.FieldDefn("occurred_at", ogr.OFTDateTime))
    points.StartTransaction()
    epoch = datetime.datetime(1970, 1, 1)
    for px, py, when in zip(x, y, seconds):
        clock = epoch + datetime.timedelta(seconds=int(when))
        feature = ogr.Feature(points.GetLayerDefn())
        feature.SetField("occurred_at", clock.year, clock.month, clock.day, clock.hour, clock.minute, clock.second, 0)
        point = ogr.Geometry(ogr.wkbPoint)
        point.AddPoint_2D(float(px), float(py))
        feature.SetGeometry(point)
        points.CreateFeature(feature)
    points.CommitTransaction()
    dataset = None
    return path


def timed(function):
    start = time.perf_counter()
    value = function()
    return time.perf_counter() - start, value


def core_benchmark(change, before, after, sample):
    from scipy.stats import binomtest

    ours_seconds, result = timed(lambda: change.change_per_unit(before, after, DAYS["before"], DAYS["after"]))
    tracemalloc.start()
    change.change_per_unit(before, after, DAYS["before"], DAYS["after"])
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    tested = np.flatnonzero(before + after > 0)
    rng = np.random.default_rng(1)
    picked = rng.choice(tested, min(sample, len(tested)), replace=False)
    share = DAYS["after"] / (DAYS["before"] + DAYS["after"])
    loop_seconds, reference = timed(lambda: [binomtest(int(after[i]), int(before[i] + after[i]), share).pvalue for i in picked])
    per_test = loop_seconds / len(picked)
    difference = np.max(np.abs(result.p_value[picked] - reference) / np.maximum(reference, 1e-300))
    return ours_seconds, peak, per_test, len(tested), difference, result


def end_to_end(path, runs=3):
    import processing

    parameters = {
        "INPUT": f"{path}|layername=incidents",
        "UNITS": f"{path}|layername=segments",
        "SNAP_TOLERANCE": 30.0,
        **PERIODS,
    }
    seconds = []
    folder = os.path.dirname(path)
    for run in range(runs):
        parameters["OUTPUT"] = os.path.join(folder, f"change{run}.gpkg")
        elapsed, result = timed(lambda: processing.run("hotspotpolicing:changetest", parameters))
        seconds.append(elapsed)
    return float(np.median(seconds)), seconds, result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--blocks", type=int, default=224, help="blocks per side of the street grid (224: 100,800 segments)")
    parser.add_argument("--incidents", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=3000, help="segments tested one at a time by scipy.stats.binomtest")
    args = parser.parse_args()

    seconds_make, (segments, x, y, seconds, segment, in_before) = timed(lambda: make_city(args.blocks, args.incidents))
    n = len(segments)
    before = np.bincount(segment[in_before], minlength=n)
    after = np.bincount(segment[~in_before], minlength=n)
    print(f"{n:,} street segments, {args.incidents:,} incidents (2024: {before.sum():,}, 2025: {after.sum():,}), {seconds_make:.1f} s")

    with qgis_session(), tempfile.TemporaryDirectory() as work:
        from hotspot_policing.core import change

        ours, peak, per_test, tested, difference, result = core_benchmark(change, before, after, args.sample)
        loop_all = per_test * tested
        print(
            f"core change_per_unit over {n:,} segments ({tested:,} with incidents): {ours:.3f} s, numpy peak {peak / 2**20:.0f} MiB; "
            f"scipy.stats.binomtest in a loop: {per_test * 1e6:.0f} us per segment, {loop_all:.1f} s for all -> {loop_all / ours:.0f}x"
        )
        print(f"largest relative p-value difference from binomtest on {min(args.sample, tested):,} segments: {difference:.1e}")
        print(
            f"significant at FDR 0.05: {int((result.change == change.INCREASE).sum()):,} increases, "
            f"{int((result.change == change.DECREASE).sum()):,} decreases"
        )
        seconds_write, path = timed(lambda: write_city(work, segments, x, y, seconds))
        print(f"GeoPackage written in {seconds_write:.1f} s (not timed below)")
        median, all_runs, tool = end_to_end(path)
        print(
            f"whole tool through Processing (GeoPackage in and out; {tool['UNITS']:,} segments, "
            f"{tool['TOTAL_BEFORE'] + tool['TOTAL_AFTER']:,} incidents counted): median {median:.2f} s of "
            f"{', '.join(f'{s:.2f}' for s in all_runs)} (aim: under 3 s); process peak "
            f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
        )
        match = tool["TOTAL_BEFORE"] == before.sum() and tool["TOTAL_AFTER"] == after.sum()
        print(f"every incident counted for its own segment's period totals: {'OK' if match else 'MISMATCH'}")


if __name__ == "__main__":
    main()
