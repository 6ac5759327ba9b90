"""Speed of hotspotpolicing:kerneldensity reading its incidents from PostGIS against reading
them from a GeoPackage, side by side in one process, on the same 1,000,000 clustered
incidents (bench_kde.py's generator; quartic, 300 m radius, 20 m cells). The aim: PostGIS at
most 5x the GeoPackage.

Run: /usr/bin/python3 benchmarks/bench_postgis.py [--points N] [--repeat R]

It starts its own throw-away PostgreSQL + PostGIS server (scripts/postgis.sh) and stops it at
the end, unless the HOTSPOT_POLICING_PG* variables of a running one are set (make test's).
Prints the wall time of each run (layer in, GeoTIFF out; the best of R), their ratio, that
both surfaces are the same, and, for reference, how long QGIS's plain feature iterator
takes to read the PostGIS table (the floor of any reader that goes through it).
"""

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from osgeo import gdal

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_kde import make_incidents  # noqa: E402 - the benchmarks folder goes on the path first
from headless import qgis_session  # noqa: E402

RADIUS, PIXEL = 300.0, 20.0
AIM = 5.0  # PostGIS at most this many times the GeoPackage


@contextlib.contextmanager
def postgis_server():
    """libpq connection string of a PostGIS database: make test's, or a throw-away server's."""
    names = ("HOST", "PORT", "DATABASE", "USER")
    values = {name: os.environ.get(f"HOTSPOT_POLICING_PG{name}") for name in names}
    if all(values.values()):
        yield f"dbname='{values['DATABASE']}' host={values['HOST']} port={values['PORT']} user='{values['USER']}'"
        return
    folder = tempfile.mkdtemp(prefix="bench_postgis_pg_")
    script = os.path.join(ROOT, "scripts", "postgis.sh")
    try:
        subprocess.run(["bash", script, "start", folder], check=True)
        lines = subprocess.run(["bash", script, "env", folder], check=True, capture_output=True, text=True).stdout.split()
        env = dict(line.split("=", 1) for line in lines if "=" in line)
        yield (
            f"dbname='{env['HOTSPOT_POLICING_PGDATABASE']}' host={env['HOTSPOT_POLICING_PGHOST']} "
            f"port={env['HOTSPOT_POLICING_PGPORT']} user='{env['HOTSPOT_POLICING_PGUSER']}'"
        )
    finally:
        subprocess.run(["bash", script, "stop", folder], check=False)


def best_of(repeat, run):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; the best is reported")
    args = parser.parse_args()

    with postgis_server() as connection, qgis_session():
        import processing
        from qgis.core import QgsFeatureRequest, QgsVectorLayer

        work = tempfile.mkdtemp(prefix="bench_postgis_")
        source = os.path.join(work, "incidents.gpkg")
        make_incidents(source, args.points)
        start = time.perf_counter()
        gdal.UseExceptions()
        gdal.VectorTranslate(
            f"PG:{connection}",
            source,
            layerName="bench_incidents",
            accessMode="overwrite",
            layerCreationOptions=["GEOMETRY_NAME=geom", "FID=fid", "SPATIAL_INDEX=GIST"],
            options=["-preserve_fid"],
        )
        load_seconds = time.perf_counter() - start
        uri = f"{connection} key='fid' checkPrimaryKeyUnicity='0' srid=32630 type=Point table=\"public\".\"bench_incidents\" (geom)"

        parameters = {"KERNEL": 0, "BANDWIDTH": RADIUS, "CELL_SIZE": PIXEL, "AREA_UNIT": 3}
        outputs = {"geopackage": os.path.join(work, "from_gpkg.tif"), "postgis": os.path.join(work, "from_postgis.tif")}
        inputs = {"geopackage": source, "postgis": "postgres://" + uri}
        seconds = {}
        for store in ("geopackage", "postgis"):
            seconds[store] = best_of(
                args.repeat,
                lambda store=store: processing.run(
                    "hotspotpolicing:kerneldensity", {**parameters, "INPUT": inputs[store], "OUTPUT": outputs[store]}
                ),
            )
        a, b = (gdal.Open(outputs[store]).ReadAsArray().astype(float) for store in ("geopackage", "postgis"))
        difference = np.abs(a - b).max() / a.max() if a.shape == b.shape else float("nan")

        def iterate(request):
            layer = QgsVectorLayer(uri, "incidents", "postgres")
            count = sum(1 for _ in layer.getFeatures(request))
            assert count == args.points, count

        plain = best_of(args.repeat, lambda: iterate(QgsFeatureRequest()))
        no_attributes = best_of(args.repeat, lambda: iterate(QgsFeatureRequest().setSubsetOfAttributes([])))

        ratio = seconds["postgis"] / seconds["geopackage"]
        print(f"incidents: {args.points:,}  grid: {a.shape[1]} x {a.shape[0]} cells  (quartic, radius {RADIUS:g} m, {PIXEL:g} m cells)")
        print(f"loading the GeoPackage into PostGIS (gdal.VectorTranslate)   {load_seconds:7.2f} s")
        print(f"hotspotpolicing:kerneldensity from the GeoPackage              {seconds['geopackage']:7.2f} s  (best of {args.repeat})")
        print(f"hotspotpolicing:kerneldensity from PostGIS                     {seconds['postgis']:7.2f} s  (best of {args.repeat})")
        print(f"ratio (PostGIS / GeoPackage): {ratio:.1f}x  (aim: at most {AIM:g}x: {'met' if ratio <= AIM else 'NOT met'})")
        print(f"largest difference between the two surfaces, as a share of the peak: {difference:.1e}")
        print(f"QGIS's feature iterator over the PostGIS table, for reference:  {plain:7.2f} s  (every field)")
        print(f"                                                               {no_attributes:7.2f} s  (geometry only)")


if __name__ == "__main__":
    main()
