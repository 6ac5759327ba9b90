"""Speed of the emerging hot spot core (space-time Gi*, Mann-Kendall, the 17 categories) against
PySAL esda's G_Local(star=True) on the same space-time cube and weights, in one process.

    .venv/bin/python -P benchmarks/bench_emerging.py [--side 100] [--weeks 52] [--incidents 1000000] [--steps 1]

(esda is a test dependency, installed in .venv only; the system Python has no esda.)

The cube: side x side square zones of 1 unit (100 x 100 = 10,000 zones), queen neighbours by a
distance band of 1.5 cells between centres, 52 weekly steps, about 1M incidents drawn as Poisson
counts per bin from a clustered rate with planted patterns (a growing area, a new one in the last
weeks, a fading one, on-off spikes). Neighbourhood time step N = 1.

Ours: space_time_gi_star + two-sided p + FDR Gi_Bin (core.local_stats) + mann_kendall + classify.
esda: a libpysal W built from the same binary space-time matrix (self links left to star=True),
then G_Local(star=True, transform="B", permutations=0): the way a Python user would do it today.
Prints both times, the ratio, the largest |z| difference and the peak memory.

Then the whole tool, hotspotpolicing:emerginghotspots through Processing, on the same cube written
out as a GeoPackage (one point per incident, inside its zone, at a random time in its week; the
zones as 100 m squares): reading, assigning to zones, the statistics and writing the patterns.
"""

import argparse
import os
import resource
import sys
import tempfile
import time
import tracemalloc

import numpy as np
from scipy import sparse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def import_core():
    """The checkout as the package ``hotspot_policing`` (its root must not go on sys.path: its
    processing/ folder would shadow QGIS's), linked in a temporary folder as the tests do. The
    core is pure numpy/scipy: no QGIS session is needed."""
    folder = tempfile.mkdtemp(prefix="hotspot_policing_bench_")
    os.symlink(ROOT, os.path.join(folder, "hotspot_policing"))
    sys.path.insert(0, folder)
    from hotspot_policing.core import emerging, local_stats, weights

    return emerging, local_stats, weights


def make_cube(side, weeks, incidents, seed=7):
    """Counts (L, T) of a clustered rate with planted trends, scaled to about ``incidents`` in all."""
    rng = np.random.default_rng(seed)
    gx, gy = np.meshgrid(np.arange(side) + 0.5, np.arange(side) + 0.5)
    x, y = gx.ravel(), gy.ravel()
    t = np.arange(weeks) / max(weeks - 1, 1)  # 0 .. 1 over the series

    def bump(cx, cy, radius):
        return np.exp(-((x - cx * side) ** 2 + (y - cy * side) ** 2) / (2 * (radius * side) ** 2))[:, None]

    centres = rng.uniform(0.05, 0.95, (25, 2))
    rate = 0.3 + sum(rng.uniform(1, 4) * bump(cx, cy, 0.04) for cx, cy in centres) * np.ones(weeks)
    rate = rate + 6 * bump(0.25, 0.25, 0.05) * t  # intensifying
    rate = rate + 8 * bump(0.75, 0.3, 0.04) * (t > 0.9)  # new in the last weeks
    rate = rate + 6 * bump(0.3, 0.75, 0.05) * (1 - t)  # diminishing
    spikes = (rng.random(weeks) < 0.25).astype(float)
    rate = rate + 7 * bump(0.7, 0.7, 0.04) * spikes  # on-off
    rate *= incidents / rate.sum()
    return x, y, rng.poisson(rate).astype(float)


def write_cube(folder, x, y, cube, seed=11):
    """The cube as zones (100 m squares) and incident points at random times in their weeks."""
    from osgeo import ogr, osr

    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32630)
    path = os.path.join(folder, "cube.gpkg")
    dataset = ogr.GetDriverByName("GPKG").CreateDataSource(path)
    zones = dataset.CreateLayer("zones", srs, ogr.wkbPolygon)
    zones.StartTransaction()
    for cx, cy in zip(x * 100, y * 100):
        feature = ogr.Feature(zones.GetLayerDefn())
        feature.SetGeometry(
            ogr.CreateGeometryFromWkt(
                f"POLYGON (({cx - 50} {cy - 50},{cx + 50} {cy - 50},{cx + 50} {cy + 50},{cx - 50} {cy + 50},{cx - 50} {cy - 50}))"
            )
        )
        zones.CreateFeature(feature)
    zones.CommitTransaction()
    rng = np.random.default_rng(seed)
    zone, week = np.divmod(np.repeat(np.arange(cube.size), cube.ravel().astype(int)), cube.shape[1])
    px = x[zone] * 100 + rng.uniform(-49, 49, len(zone))
    py = y[zone] * 100 + rng.uniform(-49, 49, len(zone))
    monday = 1735516800  # 2024-12-30, a Monday
    seconds = monday + week * 7 * 86400 + rng.uniform(0, 7 * 86400 - 1, len(zone))
    points = dataset.CreateLayer("incidents", srs, ogr.wkbPoint)
    points.CreateField(ogr.FieldDefn("occurred_at", ogr.OFTDateTime))
    points.StartTransaction()
    for px_, py_, when in zip(px, py, seconds.astype(int)):
        feature = ogr.Feature(points.GetLayerDefn())
        feature.SetField("occurred_at", time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(when)))
        feature.SetGeometry(ogr.CreateGeometryFromWkt(f"POINT ({px_:.2f} {py_:.2f})"))
        points.CreateFeature(feature)
    points.CommitTransaction()
    dataset = None
    last_day = time.strftime("%Y-%m-%d", time.gmtime(monday + cube.shape[1] * 7 * 86400 - 86400))
    return path, last_day


def end_to_end(x, y, cube, runs=3):
    """Median seconds of the whole tool through Processing, GeoPackage in and out."""
    sys.path.insert(0, os.path.join(ROOT, "scripts"))
    from headless import qgis_session

    with qgis_session(), tempfile.TemporaryDirectory() as work:
        import processing

        path, last_day = write_cube(work, x, y, cube)
        parameters = {
            "INPUT": f"{path}|layername=incidents",
            "ZONES": f"{path}|layername=zones",
            "TIME_UNIT": 1,
            "END": last_day,
            "NEIGHBORHOOD_DISTANCE": 150.0,
        }
        seconds = []
        for run in range(runs):
            parameters["OUTPUT"] = os.path.join(work, f"patterns{run}.gpkg")
            elapsed, result = timed(lambda: processing.run("hotspotpolicing:emerginghotspots", parameters))
            seconds.append(elapsed)
        return float(np.median(seconds)), result


def timed(function):
    start = time.perf_counter()
    value = function()
    return time.perf_counter() - start, value


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--side", type=int, default=100, help="zones per side of the square grid")
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--incidents", type=int, default=1_000_000)
    parser.add_argument("--steps", type=int, default=1, help="neighbourhood time steps N")
    args = parser.parse_args()
    try:
        import esda
        from libpysal.weights import WSP
    except ImportError:
        sys.exit(f"PySAL esda is not importable by {sys.executable}: run this with .venv/bin/python -P (make venv installs it)")

    emerging, local_stats, weights = import_core()
    x, y, cube = make_cube(args.side, args.weeks, args.incidents)
    n_zones, n_steps = cube.shape
    print(
        f"{n_zones:,} zones x {n_steps} weekly steps = {cube.size:,} bins, {int(cube.sum()):,} incidents, "
        f"N = {args.steps}; {sys.executable}, numpy {np.__version__}, esda {esda.__version__}"
    )

    seconds_w, queen = timed(lambda: weights.distance_band(x, y, 1.5))
    print(f"queen neighbours (distance band 1.5 cells): {queen.nnz:,} links, {seconds_w:.2f} s (shared by both)")

    def ours():
        z = emerging.space_time_gi_star(cube, queen, args.steps)
        p = local_stats.two_sided_p(z)
        bins = local_stats.confidence_bins(z.ravel(), p.ravel(), fdr=True).reshape(z.shape)
        trend_z, trend_p = emerging.mann_kendall(z)
        return z, bins, emerging.classify(bins, trend_z, trend_p)

    stages = {}
    start = time.perf_counter()
    stages["space_time_gi_star"], z = timed(lambda: emerging.space_time_gi_star(cube, queen, args.steps))
    stages["p + FDR bins"], bins = timed(
        lambda: local_stats.confidence_bins(z.ravel(), local_stats.two_sided_p(z).ravel(), fdr=True).reshape(z.shape)
    )
    stages["mann_kendall"], (trend_z, trend_p) = timed(lambda: emerging.mann_kendall(z))
    stages["classify"], codes = timed(lambda: emerging.classify(bins, trend_z, trend_p))
    ours_seconds = time.perf_counter() - start
    gi_seconds = stages["space_time_gi_star"]
    tracemalloc.start()  # a second run for the memory: tracing slows numpy down
    ours()
    _, ours_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    process_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("ours: " + ", ".join(f"{name} {value:.3f} s" for name, value in stages.items()) + f" = {ours_seconds:.2f} s")
    print(f"  (numpy peak {ours_peak / 2**20:.0f} MiB, process peak so far {process_before:.0f} MiB)")

    # esda: the binary space-time weights (bin s * T + t), built from the same matrix
    def space_time_matrix():
        band = sparse.csr_matrix(np.tril(np.triu(np.ones((n_steps, n_steps)), -args.steps)))  # t - N <= t' <= t
        matrix = sparse.kron(queen + sparse.identity(n_zones), band, format="csr")
        matrix.setdiag(0)  # esda adds the self weight itself with star=True
        matrix.eliminate_zeros()
        return matrix

    seconds_m, matrix = timed(space_time_matrix)
    seconds_pw, w = timed(lambda: WSP(matrix).to_W(silence_warnings=True))
    esda_seconds, g = timed(lambda: esda.G_Local(cube.ravel(), w, transform="B", star=True, permutations=0))
    process_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    difference = np.abs(z.ravel() - g.Zs).max()
    print(
        f"esda: space-time matrix {seconds_m:.2f} s ({matrix.nnz:,} links), libpysal W {seconds_pw:.2f} s, "
        f"G_Local(star=True) {esda_seconds:.2f} s (process peak {process_after:.0f} MiB)"
    )
    print(
        f"Gi* alone: ours {gi_seconds:.3f} s vs esda G_Local {esda_seconds:.2f} s -> {esda_seconds / gi_seconds:.0f}x; "
        f"our whole pipeline {ours_seconds:.2f} s vs esda Gi* alone {esda_seconds:.2f} s -> {esda_seconds / ours_seconds:.0f}x "
        f"(with esda's W built: {(esda_seconds + seconds_pw + seconds_m) / ours_seconds:.0f}x)"
    )
    print(f"largest |z| difference from esda: {difference:.1e} ({'OK' if difference <= 1e-9 else 'ABOVE 1e-9'})")
    values, counts = np.unique(codes, return_counts=True)
    print("categories: " + ", ".join(f"{emerging.PATTERNS[int(v)]} {c:,}" for v, c in zip(values, counts)))
    whole, result = end_to_end(x, y, cube)
    print(
        f"whole tool through Processing (GeoPackage in and out, {result['INCIDENT_COUNT']:,} incidents, "
        f"{result['LOCATION_COUNT']:,} zones x {result['STEP_COUNT']} weeks): median {whole:.2f} s of 3 runs "
        f"(process peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB)"
    )


if __name__ == "__main__":
    main()
