"""Speed of Gi* against PySAL esda, and end to end against the QGIS I/O floor, in one process.

    .venv/bin/python -P benchmarks/bench_local_stats.py [--side 316] [--million]   (or: make bench)

Input: a GeoPackage of side x side square cells (316 x 316 = 99,856 cells of 100 m) with a
clustered count per cell; Gi* with a 250 m fixed distance band.

1. core computation, given the cell centres: our weights + Gi* against libpysal's
   DistanceBand + esda's G_Local (analytical), and 999 permutations against esda's;
2. end to end (GeoPackage in, GeoPackage out) through processing.run, against the I/O floor:
   reading the cells through QGIS and writing them back with four more fields.
With --million also the end-to-end run on 1,000 x 1,000 cells (analytical).
"""

import argparse
import os
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from headless import qgis_session  # noqa: E402 - the scripts folder goes on the path first

CELL, BAND = 100.0, 250.0


def make_cells(path, side, seed=1):
    """side x side square cells with a clustered incident count, written with OGR."""
    from osgeo import ogr, osr

    rng = np.random.default_rng(seed)
    gx, gy = np.meshgrid(np.arange(side) * CELL, np.arange(side) * CELL)
    x, y = gx.ravel() + 440000, gy.ravel() + 4460000
    centres = rng.uniform(0, side * CELL, (40, 2)) + [440000, 4460000]
    rate = 0.5 + sum(20 * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * 300.0**2)) for cx, cy in centres)
    counts = rng.poisson(rate)
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32630)
    dataset = ogr.GetDriverByName("GPKG").CreateDataSource(path)
    layer = dataset.CreateLayer("cells", srs, ogr.wkbPolygon)
    layer.CreateField(ogr.FieldDefn("incident_count", ogr.OFTInteger))
    layer.StartTransaction()
    definition = layer.GetLayerDefn()
    for cx, cy, count in zip(x, y, counts):
        feature = ogr.Feature(definition)
        feature.SetField(0, int(count))
        ring = ogr.Geometry(ogr.wkbLinearRing)
        for px, py in ((cx, cy), (cx + CELL, cy), (cx + CELL, cy + CELL), (cx, cy + CELL), (cx, cy)):
            ring.AddPoint_2D(float(px), float(py))
        polygon = ogr.Geometry(ogr.wkbPolygon)
        polygon.AddGeometry(ring)
        feature.SetGeometry(polygon)
        layer.CreateFeature(feature)
    layer.CommitTransaction()
    dataset = None
    return x + CELL / 2, y + CELL / 2, counts.astype(float)


def timed(function):
    start = time.perf_counter()
    value = function()
    return time.perf_counter() - start, value


def io_floor(path, out):
    """Read every cell through QGIS, write it back with four more fields (what any
    Processing algorithm must at least do)."""
    from qgis.core import QgsCoordinateTransformContext, QgsFeature, QgsFields, QgsVectorFileWriter, QgsVectorLayer

    from hotspot_policing.processing.compat import field

    layer = QgsVectorLayer(path, "cells", "ogr")
    features = list(layer.getFeatures())
    fields = QgsFields(layer.fields())
    for name, kind in (("GiZScore", "double"), ("GiPValue", "double"), ("Gi_Bin", "int"), ("NNeighbors", "int")):
        fields.append(field(name, kind))
    options = QgsVectorFileWriter.SaveVectorOptions()
    options.driverName = "GPKG"
    writer = QgsVectorFileWriter.create(out, fields, layer.wkbType(), layer.crs(), QgsCoordinateTransformContext(), options)
    batch = []
    for original in features:
        feature = QgsFeature(fields)
        feature.setGeometry(original.geometry())
        feature.setAttributes(original.attributes() + [0.0, 1.0, 0, 8])
        batch.append(feature)
    writer.addFeatures(batch)
    del writer


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--side", type=int, default=316)
    parser.add_argument("--million", action="store_true", help="also run 1,000 x 1,000 cells end to end")
    args = parser.parse_args()

    with qgis_session():
        import processing

        from hotspot_policing.core import local_stats, weights

        work = tempfile.mkdtemp(prefix="bench_local_")
        source = os.path.join(work, "cells.gpkg")
        x, y, values = make_cells(source, args.side)
        print(f"{len(x):,} cells of {CELL:g} m, distance band {BAND:g} m")

        # 1. core computation, given the centres
        ours_w, band = timed(lambda: weights.distance_band(x, y, BAND))
        ours_g, z = timed(lambda: local_stats.gi_star(values, weights.with_self(band)))
        ours_p, _ = timed(lambda: local_stats.permutation_p(values, band, 999, seed=1))
        import esda
        from libpysal.weights import DistanceBand

        esda_w, w = timed(lambda: DistanceBand(np.column_stack([x, y]), threshold=BAND, silence_warnings=True))
        esda_g, g = timed(lambda: esda.G_Local(values, w, transform="B", star=True, permutations=0))
        esda_p, _ = timed(lambda: esda.G_Local(values, w, transform="B", star=True, permutations=999, seed=1))
        assert np.allclose(z, g.Zs, atol=1e-9), "Gi* differs from esda"
        print("core computation (weights + analytical Gi*):")
        print(f"  ours {ours_w:6.2f} s + {ours_g:5.2f} s = {ours_w + ours_g:6.2f} s")
        print(
            f"  esda {esda_w:6.2f} s + {esda_g:5.2f} s = {esda_w + esda_g:6.2f} s   -> {(esda_w + esda_g) / (ours_w + ours_g):.0f}x faster"
        )
        print(f"999 permutations: ours {ours_p:.2f} s, esda {esda_p:.2f} s -> {esda_p / ours_p:.0f}x faster")
        print(f"  (z-scores equal esda's to {np.abs(z - g.Zs).max():.1e})")

        # 2. end to end
        floor, _ = timed(lambda: io_floor(source, os.path.join(work, "floor.gpkg")))
        parameters = {"INPUT": source, "FIELD": "incident_count", "WEIGHTS": 0, "DISTANCE": BAND}
        analytical, _ = timed(lambda: processing.run("hotspotpolicing:gistar", {**parameters, "OUTPUT": os.path.join(work, "gi.gpkg")}))
        permuted, _ = timed(
            lambda: processing.run(
                "hotspotpolicing:gistar", {**parameters, "PERMUTATIONS": 999, "OUTPUT": os.path.join(work, "gi999.gpkg")}
            )
        )
        print("end to end (GeoPackage in, GeoPackage out):")
        print(f"  I/O floor (read the cells through QGIS, write them back with 4 fields): {floor:.2f} s")
        print(f"  hotspotpolicing:gistar analytical: {analytical:.2f} s = {analytical / floor:.2f} x the floor")
        print(f"  hotspotpolicing:gistar 999 permutations: {permuted:.2f} s = {permuted / floor:.2f} x the floor")

        if args.million:
            big = os.path.join(work, "million.gpkg")
            make_cells(big, 1000)
            seconds, _ = timed(
                lambda: processing.run(
                    "hotspotpolicing:gistar", {**parameters, "INPUT": big, "OUTPUT": os.path.join(work, "gi_million.gpkg")}
                )
            )
            print(f"1,000,000 cells, analytical, end to end: {seconds:.1f} s")


if __name__ == "__main__":
    main()
