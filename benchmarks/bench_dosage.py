"""Speed of hotspotpolicing:observeddosage: 10,000,000 GPS pings against 500 hot spots,
next to the time it takes merely to read the pings through QGIS, in one process.

    /usr/bin/python3 benchmarks/bench_dosage.py [--pings N]     (or: make bench)
"""

import argparse
import os
import sys
import tempfile
import time

import numpy as np
from osgeo import gdal, ogr, osr

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from headless import qgis_session  # noqa: E402 - the scripts folder goes on the path first


def make_data(folder, n_pings, n_hotspots=500, cars=100, seed=3):
    """Pings of cars driving random walks (30 s apart) over 20 km x 20 km, and 500 round
    hot spots of 100 m radius; GeoPackages written through CSV and GDAL."""
    rng = np.random.default_rng(seed)
    per_car = n_pings // cars
    steps = rng.normal(0, 120, (cars, per_car, 2))
    xy = (np.cumsum(steps, axis=1) + rng.uniform(0, 20000, (cars, 1, 2))) % 20000 + [440000, 4460000]
    seconds = 1764576000 + np.arange(per_car) * 30  # from 2025-12-01, every 30 s
    csv = os.path.join(folder, "pings.csv")
    with open(csv, "w") as handle:
        handle.write("unit_id,pinged_at,x,y\n")
        for car in range(cars):
            stamps = np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s")
            rows = np.column_stack(
                [np.full(per_car, f"Car {car + 1}"), stamps, np.char.mod("%.1f", xy[car, :, 0]), np.char.mod("%.1f", xy[car, :, 1])]
            )
            handle.write("\n".join(",".join(row) for row in rows) + "\n")
    pings = os.path.join(folder, "pings.gpkg")
    table = gdal.OpenEx(
        csv, gdal.OF_VECTOR, open_options=["X_POSSIBLE_NAMES=x", "Y_POSSIBLE_NAMES=y", "KEEP_GEOM_COLUMNS=NO", "AUTODETECT_TYPE=YES"]
    )
    gdal.VectorTranslate(pings, table, format="GPKG", layerName="pings", srcSRS="EPSG:32630", dstSRS="EPSG:32630", geometryType="POINT")
    table = None
    os.remove(csv)

    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32630)
    hotspots = os.path.join(folder, "hotspots.gpkg")
    dataset = ogr.GetDriverByName("GPKG").CreateDataSource(hotspots)
    layer = dataset.CreateLayer("hotspots", srs, ogr.wkbPolygon)
    layer.CreateField(ogr.FieldDefn("name", ogr.OFTString))
    angles = np.linspace(0, 2 * np.pi, 33)
    for i, (cx, cy) in enumerate(rng.uniform(0, 20000, (n_hotspots, 2)) + [440000, 4460000]):
        feature = ogr.Feature(layer.GetLayerDefn())
        feature.SetField("name", f"hot spot {i + 1}")
        ring = ", ".join(f"{cx + 100 * np.cos(a):.2f} {cy + 100 * np.sin(a):.2f}" for a in angles)
        feature.SetGeometry(ogr.CreateGeometryFromWkt(f"POLYGON (({ring}))"))
        layer.CreateFeature(feature)
    dataset = None
    return pings, hotspots


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pings", type=int, default=10_000_000)
    args = parser.parse_args()
    with qgis_session():
        import processing
        from qgis.core import QgsFeatureRequest, QgsVectorLayer

        work = tempfile.mkdtemp(prefix="bench_dosage_")
        pings, hotspots = make_data(work, args.pings)
        start = time.perf_counter()
        count = sum(1 for _ in QgsVectorLayer(pings, "pings", "ogr").getFeatures(QgsFeatureRequest()))  # no layer outlives QGIS
        read_seconds = time.perf_counter() - start
        start = time.perf_counter()
        result = processing.run(
            "hotspotpolicing:observeddosage",
            {
                "PINGS": pings,
                "HOTSPOTS": hotspots,
                "UNIT_FIELD": "unit_id",
                "TIME_FIELD": "pinged_at",
                "OUTPUT": os.path.join(work, "observed.gpkg"),
            },
        )
        ours = time.perf_counter() - start
        visits = sum(f["visits_observed"] for f in QgsVectorLayer(result["OUTPUT"], "o", "ogr").getFeatures())
        print(f"{count:,} pings, 500 hot spots")
        print(f"reading the pings through QGIS (getFeatures):  {read_seconds:6.1f} s")
        print(f"hotspotpolicing:observeddosage, end to end:     {ours:6.1f} s   ({visits:,} visits observed)")


if __name__ == "__main__":
    main()
