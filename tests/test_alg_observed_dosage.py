"""hotspotpolicing:observeddosage: constructed ping tracks through processing.run, and the
sample city's patrol pings."""

import numpy as np
import pytest
from osgeo import ogr, osr
from qgis.core import QgsFeature, QgsGeometry, QgsProcessingException, QgsVectorLayer

from .conftest import SAMPLE_CITY

pytestmark = pytest.mark.usefixtures("provider")


def write_pings(path, rows):
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32630)
    dataset = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
    layer = dataset.CreateLayer("pings", srs, ogr.wkbPoint)
    layer.CreateField(ogr.FieldDefn("unit_id", ogr.OFTString))
    layer.CreateField(ogr.FieldDefn("pinged_at", ogr.OFTDateTime))
    for unit, seconds, x, y in rows:
        feature = ogr.Feature(layer.GetLayerDefn())
        feature.SetField("unit_id", unit)
        if seconds is not None:
            minute, second = divmod(int(seconds), 60)
            hour, minute = divmod(minute, 60)
            feature.SetField("pinged_at", 2025, 12, 1, 8 + hour, minute, second, 0)
        feature.SetGeometry(ogr.CreateGeometryFromWkt(f"POINT ({x} {y})"))
        layer.CreateFeature(feature)
    dataset = None
    return str(path)


def plan_layer():
    layer = QgsVectorLayer("Polygon?crs=EPSG:32630&field=name:string&field=minutes_per_shift:integer", "plan", "memory")
    features = []
    spots = (("A", "POLYGON ((0 0, 100 0, 100 100, 0 100, 0 0))", 20), ("B", "POLYGON ((500 0, 600 0, 600 100, 500 100, 500 0))", 30))
    for name, wkt, minutes in spots:
        feature = QgsFeature(layer.fields())
        feature.setGeometry(QgsGeometry.fromWkt(wkt))
        feature.setAttributes([name, minutes])
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    return layer


def run(parameters):
    import processing

    return processing.run("hotspotpolicing:observeddosage", {"OUTPUT": "memory:", **parameters})


def test_constructed_tracks(tmp_path):
    rows = []
    # car 1: in A for 0-600 s (pings every 30 s), drives away, in A again 1200-1500 s
    rows += [("Car 1", t, 50, 50) for t in range(0, 601, 30)]
    rows += [("Car 1", t, 300, 50) for t in range(630, 1200, 30)]
    rows += [("Car 1", t, 100, 30) for t in range(1200, 1501, 30)]  # exactly on A's edge
    # car 2: in A 300-900 s at the same time as car 1 for 300-600 s
    rows += [("Car 2", t, 20, 80) for t in range(300, 901, 30)]
    # car 3: in B 0-300 s, a 10-minute GPS gap, then 900-1200 s; one ping without a time
    rows += [("Car 3", t, 550, 50) for t in range(0, 301, 30)] + [("Car 3", t, 550, 50) for t in range(900, 1201, 30)]
    rows += [("Car 3", None, 550, 50)]
    rows = [rows[i] for i in np.random.default_rng(1).permutation(len(rows))]  # out of order
    pings = write_pings(tmp_path / "pings.gpkg", rows)
    fields = {"UNIT_FIELD": "unit_id", "TIME_FIELD": "pinged_at"}
    result = run({"PINGS": pings, "HOTSPOTS": plan_layer(), "OUTPUT_SHIFTS": "memory:", "SHIFT_START": 6.0, **fields})
    spots = {f["name"]: f for f in result["OUTPUT"].getFeatures()}
    # A: presence [0, 900] and [1200, 1500] = 15 + 5 = 20 min in 2 visits; officer minutes 10 + 10 + 5 = 25
    assert spots["A"]["minutes_observed"] == pytest.approx(20.0) and spots["A"]["visits_observed"] == 2
    assert spots["A"]["officer_minutes"] == pytest.approx(25.0)
    # B: the 10-minute gap (> 2 min allowed) splits the stay: 5 + 5 min in 2 visits
    assert spots["B"]["minutes_observed"] == pytest.approx(10.0) and spots["B"]["visits_observed"] == 2
    # one shift (08:00 is in the 06:00-14:00 shift): A got 20 of 20 planned minutes, B 10 of 30
    assert spots["A"]["shifts_observed"] == 1
    assert spots["A"]["dose_ratio"] == pytest.approx(1.0) and spots["B"]["dose_ratio"] == pytest.approx(1 / 3)
    per_shift = list(result["OUTPUT_SHIFTS"].getFeatures())
    rows = sorted((f["hotspot"], f["shift_start"], round(f["minutes_observed"], 6)) for f in per_shift)
    assert rows == [(1, "2025-12-01 06:00", 20.0), (2, "2025-12-01 06:00", 10.0)]


def test_no_times_is_refused(tmp_path):
    pings = write_pings(tmp_path / "p.gpkg", [("Car 1", None, 50, 50)])
    with pytest.raises(QgsProcessingException, match="No ping has a time"):
        run({"PINGS": pings, "HOTSPOTS": plan_layer(), "UNIT_FIELD": "unit_id", "TIME_FIELD": "pinged_at"})


def test_sample_city_pings_find_the_directed_stops(tmp_path):
    layers = {"PINGS": f"{SAMPLE_CITY}|layername=patrol_pings", "HOTSPOTS": f"{SAMPLE_CITY}|layername=planted_hotspots"}
    result = run({**layers, "UNIT_FIELD": "unit_id", "TIME_FIELD": "pinged_at"})
    observed = {f["name"]: f for f in result["OUTPUT"].getFeatures()}
    # the cars stop 10-20 minutes at the four circular hot spots' centres
    for name in ("Town centre nightlife", "Market Street retail", "Riverside flats", "Old station"):
        assert observed[name]["visits_observed"] >= 5 and observed[name]["minutes_observed"] >= 50
    # the cars patrol 07-13 and 17-23 on 14 days: of the 8-hour shifts from 08:00 only the 08-16 and
    # 16-24 shifts are on duty (the hour 07-08 of the night shift is not), so 28 shifts, not 42
    assert observed["Old station"]["shifts_observed"] == 28
