"""How the plugin scales, beside the QGIS tool that does the same job, from 1,000 to 10
million incidents: each size in its own process, both tools in that process, GeoPackages in
and out. Prints time, peak memory and the ratio, and saves a log-log plot.

    /usr/bin/python3 benchmarks/bench_scaling.py [--tools kde,gistar,segments,optimized]
        [--largest 10000000] [--plot out/bench_scaling.png] [--qgis-limit 300]

kde        hotspotpolicing:kerneldensity vs qgis:heatmapkerneldensityestimation (quartic,
           300 m radius, 20 m cells over a 19 km square, whatever the number of incidents)
gistar     hotspotpolicing:gistar on square cells vs native:addfieldtoattributestable, the
           floor of reading a layer and writing it back with one more field
segments   hotspotpolicing:assignincidents (counts per segment) vs native:joinbynearest
           (which only tags each incident) onto 20,000 street segments
optimized  hotspotpolicing:optimizedhotspots (hexagons, automatic scale) vs native:creategrid
           + native:countpointsinpolygon (counts only, at the cell size ours chose)

Data are made once per size in --work (default: a folder in the temporary directory) and
reused. A QGIS run that would take more than --qgis-limit seconds (extrapolated from the
size before) is skipped and marked so.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc

import numpy as np
from osgeo import gdal

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from headless import qgis_session  # noqa: E402 - the scripts folder goes on the path first

SIZES = {
    "kde": [1_000, 10_000, 100_000, 1_000_000, 10_000_000],
    "gistar": [10_000, 100_000, 1_000_000],
    "segments": [10_000, 100_000, 1_000_000, 10_000_000],
    "optimized": [10_000, 100_000, 1_000_000, 10_000_000],
}
SQUARE, ORIGIN = 19_000.0, (440_000.0, 4_460_000.0)
RADIUS, PIXEL = 300.0, 20.0


# --- data ----------------------------------------------------------------------------------
def points_gpkg(path, n, seed=20261125):
    """n clustered incidents (200 hot spots plus 10 % background) in a 19 km square."""
    if os.path.exists(path):
        return path
    rng = np.random.default_rng(seed)
    background = n // 10
    centres = rng.random((200, 2)) * SQUARE + ORIGIN
    xy = np.concatenate(
        [
            centres[rng.integers(0, 200, n - background)] + rng.normal(0, 250, (n - background, 2)),
            rng.random((background, 2)) * SQUARE + ORIGIN,
        ]
    )
    return _from_csv(path, "incidents", np.column_stack([np.arange(1, n + 1), xy]), "incident_id,x,y", ["%d", "%.2f", "%.2f"], "POINT")


def cells_gpkg(path, n, cell=100.0, seed=1):
    """About n square cells with a clustered incident count each."""
    if os.path.exists(path):
        return path
    side = int(round(np.sqrt(n)))
    rng = np.random.default_rng(seed)
    gx, gy = (a.ravel() * cell for a in np.meshgrid(np.arange(side), np.arange(side)))
    centres = rng.uniform(0, side * cell, (40, 2))
    rate = 0.5 + sum(20 * np.exp(-((gx - cx) ** 2 + (gy - cy) ** 2) / (2 * 300.0**2)) for cx, cy in centres)
    x, y = gx + ORIGIN[0], gy + ORIGIN[1]
    csv = path[:-5] + ".csv"
    with open(csv, "w") as handle:
        handle.write("incident_count,wkt\n")
        for c, a, b in zip(rng.poisson(rate), x, y):
            ring = ",".join(f"{px:.1f} {py:.1f}" for px, py in ((a, b), (a + cell, b), (a + cell, b + cell), (a, b + cell), (a, b)))
            handle.write(f'{c},"POLYGON (({ring}))"\n')
    return _translate(path, "cells", csv, ["GEOM_POSSIBLE_NAMES=wkt", "KEEP_GEOM_COLUMNS=NO", "AUTODETECT_TYPE=YES"], "POLYGON")


def segments_gpkg(path, n=20_000, block=120.0):
    """About n street segments of a square grid of 120 m blocks."""
    if os.path.exists(path):
        return path
    side = int(np.sqrt(n / 2)) + 1
    rows = [(j * block, i * block, (j + 1) * block, i * block) for i in range(side + 1) for j in range(side)]
    rows += [(i * block, j * block, i * block, (j + 1) * block) for i in range(side + 1) for j in range(side)]
    faces = np.array(rows[:n]) + [ORIGIN[0], ORIGIN[1], ORIGIN[0], ORIGIN[1]]
    csv = path[:-5] + ".csv"
    with open(csv, "w") as handle:
        handle.write("segment_id,wkt\n")
        handle.writelines(f'{k + 1},"LINESTRING ({a:.2f} {b:.2f}, {c:.2f} {d:.2f})"\n' for k, (a, b, c, d) in enumerate(faces))
    return _translate(path, "segments", csv, ["GEOM_POSSIBLE_NAMES=wkt", "KEEP_GEOM_COLUMNS=NO", "AUTODETECT_TYPE=YES"], "LINESTRING")


def street_incidents_gpkg(path, n, segments=20_000, block=120.0, seed=7):
    """n incidents within a few metres of the street grid of segments_gpkg."""
    if os.path.exists(path):
        return path
    rng = np.random.default_rng(seed)
    side = int(np.sqrt(segments / 2)) + 1
    span = side * block
    along, across = rng.uniform(0, span, n), rng.integers(0, side + 1, n) * block + rng.normal(0, 6, n)
    horizontal = rng.random(n) < 0.5
    x, y = np.where(horizontal, along, across) + ORIGIN[0], np.where(horizontal, across, along) + ORIGIN[1]
    return _from_csv(path, "incidents", np.column_stack([np.arange(1, n + 1), x, y]), "incident_id,x,y", ["%d", "%.2f", "%.2f"], "POINT")


def _from_csv(path, name, table, header, formats, geometry):
    csv = path[:-5] + ".csv"
    np.savetxt(csv, table, fmt=formats, delimiter=",", header=header, comments="")
    return _translate(
        path, name, csv, ["X_POSSIBLE_NAMES=x", "Y_POSSIBLE_NAMES=y", "KEEP_GEOM_COLUMNS=NO", "AUTODETECT_TYPE=YES"], geometry
    )


def _translate(path, name, csv, open_options, geometry):
    table = gdal.OpenEx(csv, gdal.OF_VECTOR, open_options=open_options)
    gdal.VectorTranslate(path, table, format="GPKG", layerName=name, srcSRS="EPSG:32630", dstSRS="EPSG:32630", geometryType=geometry)
    table = None
    os.remove(csv)
    return path


# --- one size, in its own process ----------------------------------------------------------
def one(tool, size, work, run_qgis):
    """Time ours and the QGIS tool at one size (the median of five runs up to 10,000 and of
    three up to 100,000, so that neither pays alone for warming up), then our numpy peak in
    a run of its own."""
    with qgis_session():
        import processing

        out = tempfile.mkdtemp(prefix=f"{tool}_{size}_", dir=work)
        ours, theirs = JOBS[tool](work, size, out)
        runs = 5 if size <= 10_000 else 3 if size <= 100_000 else 1
        seconds = float(np.median([_seconds(lambda k=k: processing.run(*ours(k))) for k in range(runs)]))
        process_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        tracemalloc.start()
        processing.run(*ours(runs))
        numpy_peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        qgis = float(np.median([_seconds(lambda: [processing.run(*step) for step in theirs()]) for _ in range(runs)])) if run_qgis else None
        return {"tool": tool, "size": size, "ours": seconds, "qgis": qgis, "numpy_peak_mib": numpy_peak, "process_peak_mib": process_peak}


def _seconds(function):
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def kde_jobs(work, size, out):
    source = points_gpkg(os.path.join(work, f"points_{size}.gpkg"), size)
    # both on the same cells: QGIS's grid over the 19 km square grown by the radius
    cols = rows = int(np.ceil((SQUARE + 2 * RADIUS) / PIXEL)) + 1
    xmin, ymax = ORIGIN[0] - RADIUS, ORIGIN[1] + SQUARE + RADIUS
    extent = f"{xmin},{xmin + cols * PIXEL},{ymax - rows * PIXEL},{ymax} [EPSG:32630]"
    ours = {"INPUT": source, "KERNEL": 0, "BANDWIDTH": RADIUS, "CELL_SIZE": PIXEL, "EXTENT": extent, "AREA_UNIT": 3}
    heatmap = {
        "INPUT": source,
        "RADIUS": RADIUS,
        "PIXEL_SIZE": PIXEL,
        "KERNEL": 0,
        "OUTPUT_VALUE": 0,
        "OUTPUT": os.path.join(out, "heatmap.tif"),
    }
    return (
        lambda k: ("hotspotpolicing:kerneldensity", {**ours, "OUTPUT": os.path.join(out, f"ours{k}.tif")}),
        lambda: [("qgis:heatmapkerneldensityestimation", heatmap)],
    )


def gistar_jobs(work, size, out):
    source = cells_gpkg(os.path.join(work, f"cells_{size}.gpkg"), size)
    floor = {"INPUT": source, "FIELD_NAME": "GiZScore", "FIELD_TYPE": 1, "FIELD_LENGTH": 20, "FIELD_PRECISION": 6}
    return (
        lambda k: (
            "hotspotpolicing:gistar",
            {"INPUT": source, "FIELD": "incident_count", "WEIGHTS": 0, "DISTANCE": 250.0, "OUTPUT": os.path.join(out, f"gi{k}.gpkg")},
        ),
        lambda: [("native:addfieldtoattributestable", {**floor, "OUTPUT": os.path.join(out, "floor.gpkg")})],
    )


def segments_jobs(work, size, out):
    segments = segments_gpkg(os.path.join(work, "segments_20000.gpkg"))
    incidents = street_incidents_gpkg(os.path.join(work, f"street_incidents_{size}.gpkg"), size)
    join = {"INPUT": incidents, "INPUT_2": segments, "FIELDS_TO_COPY": ["segment_id"], "NEIGHBORS": 1, "MAX_DISTANCE": 30.0}
    return (
        lambda k: (
            "hotspotpolicing:assignincidents",
            {"INCIDENTS": incidents, "SEGMENTS": segments, "TOLERANCE": 30.0, "OUTPUT": os.path.join(out, f"counts{k}.gpkg")},
        ),
        lambda: [("native:joinbynearest", {**join, "OUTPUT": os.path.join(out, "joined.gpkg")})],
    )


def optimized_jobs(work, size, out):
    source = points_gpkg(os.path.join(work, f"points_{size}.gpkg"), size)
    cell = SQUARE / 50  # what ours chooses automatically for this square (shorter side / 50)
    grid = {
        "TYPE": 4,
        "EXTENT": f"{ORIGIN[0]},{ORIGIN[0] + SQUARE},{ORIGIN[1]},{ORIGIN[1] + SQUARE} [EPSG:32630]",
        "HSPACING": cell,
        "VSPACING": cell,
    }
    grid_path = os.path.join(out, "hexagons.gpkg")
    return (
        lambda k: ("hotspotpolicing:optimizedhotspots", {"INPUT": source, "OUTPUT": os.path.join(out, f"ohs{k}.gpkg")}),
        lambda: [
            ("native:creategrid", {**grid, "CRS": "EPSG:32630", "OUTPUT": grid_path}),
            (
                "native:countpointsinpolygon",
                {"POLYGONS": grid_path, "POINTS": source, "FIELD": "incident_count", "OUTPUT": os.path.join(out, "counted.gpkg")},
            ),
        ],
    )


JOBS = {"kde": kde_jobs, "gistar": gistar_jobs, "segments": segments_jobs, "optimized": optimized_jobs}


# --- all sizes ------------------------------------------------------------------------------
def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tools", default=",".join(SIZES))
    parser.add_argument("--largest", type=int, default=10_000_000)
    parser.add_argument("--qgis-limit", type=float, default=300.0, help="skip a QGIS run predicted to take longer (seconds)")
    parser.add_argument("--plot", default=os.path.join(ROOT, "out", "bench_scaling.png"))
    parser.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "hotspot_policing_bench"))
    parser.add_argument("--one", nargs=3, metavar=("TOOL", "SIZE", "QGIS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    if args.one:
        tool, size, run_qgis = args.one
        print("RESULT " + json.dumps(one(tool, int(size), args.work, run_qgis == "1")))
        return
    results = []
    print(f"{'tool':10s} {'incidents':>11s} {'ours s':>8s} {'QGIS s':>8s} {'ratio':>7s} {'numpy MiB':>10s} {'process MiB':>12s}")
    for tool in args.tools.split(","):
        previous = None
        for size in (s for s in SIZES[tool] if s <= args.largest):
            predicted = previous["qgis"] * size / previous["size"] if previous and previous["qgis"] else 0.0
            run_qgis = previous is None or (previous["qgis"] is not None and predicted <= args.qgis_limit)
            command = [sys.executable, os.path.abspath(__file__), "--work", args.work, "--one", tool, str(size), "1" if run_qgis else "0"]
            output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
            result = json.loads(next(line for line in output.splitlines() if line.startswith("RESULT "))[7:])
            results.append(result)
            previous = result
            qgis = f"{result['qgis']:8.2f}" if result["qgis"] is not None else "skipped"
            ratio = f"{result['qgis'] / result['ours']:6.1f}x" if result["qgis"] is not None else ""
            memory = f"{result['numpy_peak_mib']:10.0f} {result['process_peak_mib']:12.0f}"
            print(f"{tool:10s} {size:11,d} {result['ours']:8.2f} {qgis:>8s} {ratio:>7s} {memory}", flush=True)
    plot(results, args.plot)
    print(f"plot: {args.plot}")


def plot(results, path):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 5.5), dpi=110)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for index, tool in enumerate(dict.fromkeys(r["tool"] for r in results)):
        rows = [r for r in results if r["tool"] == tool]
        colour = f"C{index}"
        axes.plot([r["size"] for r in rows], [r["ours"] for r in rows], "o-", color=colour, label=f"{tool}: Hot Spot Policing")
        timed = [r for r in rows if r["qgis"] is not None]
        axes.plot([r["size"] for r in timed], [r["qgis"] for r in timed], "s--", color=colour, alpha=0.7, label=f"{tool}: QGIS")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("incidents (cells for gistar)")
    axes.set_ylabel("seconds, end to end")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    figure.savefig(path)


if __name__ == "__main__":
    main()
