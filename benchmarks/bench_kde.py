"""Speed of hotspotpolicing:kerneldensity against QGIS's own Heatmap, side by side in one
process, on the same GeoPackage of 1,000,000 clustered incidents (quartic, 300 m radius,
20 m cells, about 1000 x 1000 cells).

Run: /usr/bin/python3 benchmarks/bench_kde.py [--points N]   (or: make bench)

Prints both wall times end to end (layer in, GeoTIFF out), their ratio, our peak memory,
and how far each surface is from the exact kernel sum at 2,000 random cells (computed here
with a KD-tree; QGIS's "raw" output is rescaled to a density on the very same cells).
"""

import argparse
import os
import resource
import sys
import tempfile
import time
import tracemalloc

import numpy as np
from osgeo import gdal

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from headless import qgis_session  # noqa: E402 - the scripts folder goes on the path first

RADIUS, PIXEL = 300.0, 20.0


def make_incidents(path, n, seed=20261125):
    """n clustered incidents (200 hot spots plus 10% background) in a 19 km square."""
    rng = np.random.default_rng(seed)
    n_background = n // 10
    centres = rng.random((200, 2)) * 19000 + [440000, 4460000]
    clustered = centres[rng.integers(0, 200, n - n_background)] + rng.normal(0, 250, (n - n_background, 2))
    background = rng.random((n_background, 2)) * 19000 + [440000, 4460000]
    xy = np.concatenate([clustered, background])
    csv = path[:-5] + ".csv"
    np.savetxt(csv, xy, fmt="%.3f", delimiter=",", header="x,y", comments="")
    table = gdal.OpenEx(csv, gdal.OF_VECTOR, open_options=["X_POSSIBLE_NAMES=x", "Y_POSSIBLE_NAMES=y"])
    options = {"format": "GPKG", "layerName": "incidents", "srcSRS": "EPSG:32630", "dstSRS": "EPSG:32630", "geometryType": "POINT"}
    gdal.VectorTranslate(path, table, selectFields=[], **options)  # the result closes (and flushes) at once
    table = None
    os.remove(csv)


def exact_at_random_cells(source, xmin, ymax, shape, n=2000, seed=1):
    """The exact quartic kernel sum (per square metre) at n random cells, with a KD-tree."""
    from osgeo import ogr
    from scipy.spatial import cKDTree

    dataset = ogr.Open(source)
    layer = dataset.GetLayer(0)
    xy = np.array([feature.GetGeometryRef().GetPoint_2D() for feature in layer])
    rng = np.random.default_rng(seed)
    rows, cols = rng.integers(0, shape[0], n), rng.integers(0, shape[1], n)
    centres = np.column_stack([xmin + (cols + 0.5) * PIXEL, ymax - (rows + 0.5) * PIXEL])
    exact = np.zeros(n)
    for i, neighbours in enumerate(cKDTree(xy).query_ball_point(centres, RADIUS)):
        u2 = ((xy[neighbours] - centres[i]) ** 2).sum(axis=1) / RADIUS**2
        exact[i] = (3 / (np.pi * RADIUS**2) * (1 - u2) ** 2).sum()
    return exact, (rows, cols)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    args = parser.parse_args()

    with qgis_session():
        import processing
        from qgis.core import QgsVectorLayer

        work = tempfile.mkdtemp(prefix="bench_kde_")
        source = os.path.join(work, "incidents.gpkg")
        make_incidents(source, args.points)
        extent = QgsVectorLayer(source, "incidents", "ogr").extent()  # no layer may outlive the QGIS session

        # QGIS's grid: the layer extent grown by the radius, anchored at the top left, with
        # ceil(size / pixel) + 1 columns and rows. Ours is given the very same cells.
        cols = int(np.ceil((extent.width() + 2 * RADIUS) / PIXEL)) + 1
        rows = int(np.ceil((extent.height() + 2 * RADIUS) / PIXEL)) + 1
        xmin, ymax = extent.xMinimum() - RADIUS, extent.yMaximum() + RADIUS
        same_cells = f"{xmin},{xmin + cols * PIXEL},{ymax - rows * PIXEL},{ymax} [EPSG:32630]"

        parameters = {"INPUT": source, "KERNEL": 0, "BANDWIDTH": RADIUS, "CELL_SIZE": PIXEL, "EXTENT": same_cells, "AREA_UNIT": 3}
        start = time.perf_counter()
        ours = processing.run("hotspotpolicing:kerneldensity", {**parameters, "OUTPUT": os.path.join(work, "ours.tif")})
        ours_seconds = time.perf_counter() - start
        process_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        tracemalloc.start()  # a second run for the memory: tracing slows numpy down
        processing.run("hotspotpolicing:kerneldensity", {**parameters, "OUTPUT": os.path.join(work, "ours_traced.tif")})
        _, ours_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()

        start = time.perf_counter()
        theirs = processing.run(
            "qgis:heatmapkerneldensityestimation",
            {
                "INPUT": source,
                "RADIUS": RADIUS,
                "PIXEL_SIZE": PIXEL,
                "KERNEL": 0,
                "OUTPUT_VALUE": 0,
                "OUTPUT": os.path.join(work, "qgis.tif"),
            },
        )
        qgis_seconds = time.perf_counter() - start

        ours_values = gdal.Open(ours["OUTPUT"]).ReadAsArray().astype(float)
        raw = gdal.Open(theirs["OUTPUT"]).ReadAsArray().astype(float)
        raw[raw == -9999] = 0.0  # QGIS's NoData where no incident is within reach
        qgis_density = raw * 3 / (np.pi * RADIUS**2)  # raw quartic sum -> normalised kernel sum
        exact, rows_cols = exact_at_random_cells(source, xmin, ymax, ours_values.shape)
        peak = ours_values.max()
        ours_error = np.abs(ours_values[rows_cols] - exact).max() / peak
        qgis_error = np.abs(qgis_density[rows_cols] - exact).max() / peak if qgis_density.shape == ours_values.shape else float("nan")

        print(f"incidents: {args.points:,}  grid: {cols} x {rows} cells  (quartic, radius {RADIUS:g} m, {PIXEL:g} m cells)")
        print(
            f"hotspotpolicing:kerneldensity        {ours_seconds:7.2f} s  "
            f"(numpy peak {ours_peak / 2**20:.0f} MiB, process peak {process_peak:.0f} MiB)"
        )
        print(f"qgis:heatmapkerneldensityestimation  {qgis_seconds:7.2f} s")
        print(f"ratio (QGIS / ours): {qgis_seconds / ours_seconds:.1f}x faster")
        print(
            f"largest error against the exact kernel sum at 2,000 random cells, as a share of the peak: "
            f"ours {ours_error:.1e}, QGIS {qgis_error:.1e}"
        )


if __name__ == "__main__":
    main()
