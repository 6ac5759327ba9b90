"""hotspotpolicing:aoristic end to end: windows of every shape in a GeoPackage and in memory
layers, against an hour-by-hour overlap written here with Python's datetime; the wall clock
whatever the machine's zone; daylight-saving nights; zones, peaks, shifts; bad windows."""

import datetime
import time

import numpy as np
import pytest
from osgeo import ogr, osr
from qgis.core import QgsFeature, QgsGeometry, QgsPointXY, QgsProcessingException, QgsVectorLayer
from qgis.PyQt.QtCore import QDate, QDateTime, QTime, QTimeZone

from .conftest import SAMPLE_CITY

pytestmark = pytest.mark.usefixtures("provider")
WINDOWS = [  # (from, to) as written: every shape a hurried analyst's data holds
    ("2025-06-06T18:20:30", "2025-06-06T19:00:00"),  # inside one hour
    ("2025-06-06T18:20:30", "2025-06-06T20:00:00"),  # 39.5 minutes, then a whole hour
    ("2025-06-06T18:00:00", "2025-06-09T08:00:00"),  # Friday evening to Monday morning
    ("2025-06-08T23:30:00", "2025-06-09T00:45:00"),  # over midnight, Sunday into Monday
    ("2025-06-10T12:00:00", "2025-06-10T12:00:00"),  # zero length
    ("2025-06-01T10:15:00", "2025-06-18T16:40:10"),  # more than two weeks
    ("2025-06-04T07:59:59", "2025-06-04T08:00:01"),  # two seconds over an hour edge
]


def parse(text):
    return datetime.datetime.fromisoformat(text)


def reference(windows, weights=None):
    """168 weights from an hour-by-hour walk of each window with datetime (Monday = 0)."""
    table = np.zeros(168)
    for k, (start, end) in enumerate(windows):
        weight = 1.0 if weights is None else weights[k]
        length = (end - start).total_seconds()
        if length == 0:
            table[start.weekday() * 24 + start.hour] += weight
            continue
        hour = start.replace(minute=0, second=0, microsecond=0)
        while hour < end:
            following = hour + datetime.timedelta(hours=1)
            overlap = (min(end, following) - max(start, hour)).total_seconds()
            table[hour.weekday() * 24 + hour.hour] += weight * overlap / length
            hour = following
    return table


def write(path, rows, kind=ogr.OFTDateTime, weights=None):
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32630)
    dataset = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
    layer = dataset.CreateLayer("incidents", srs, ogr.wkbPoint)
    for name in ("reported_from", "reported_to"):
        layer.CreateField(ogr.FieldDefn(name, kind))
    layer.CreateField(ogr.FieldDefn("harm", ogr.OFTReal))
    for k, (start, end) in enumerate(rows):
        feature = ogr.Feature(layer.GetLayerDefn())
        feature.SetField("reported_from", start)
        if end is not None:
            feature.SetField("reported_to", end)
        feature.SetField("harm", 1.0 if weights is None else weights[k])
        feature.SetGeometry(ogr.CreateGeometryFromWkt(f"POINT ({440000 + 10 * k} 4470000)"))
        layer.CreateFeature(feature)
    dataset = None
    return f"{path}|layername=incidents"


def run(parameters):
    import processing

    return processing.run("hotspotpolicing:aoristic", {"OUTPUT_TABLE": "memory:", **parameters})


def table_of(layer, zone="all"):
    weights = np.zeros(168)
    for feature in layer.getFeatures():
        if feature["ZONE_ID"] == zone:
            weights[feature["WEEKDAY"] * 24 + feature["HOUR"]] = feature["WEIGHT"]
    return weights


@pytest.mark.parametrize("kind", [ogr.OFTDateTime, ogr.OFTString])
def test_windows_of_every_shape_match_an_hour_by_hour_walk(tmp_path, kind):
    weights = [1.0, 2.0, 0.5, 1.0, 3.0, 1.0, 4.0]
    source = write(tmp_path / "w.gpkg", WINDOWS, kind, weights)
    result = run({"INPUT": source, "FROM_FIELD": "reported_from", "TO_FIELD": "reported_to", "WEIGHT_FIELD": "harm"})
    got = table_of(result["OUTPUT_TABLE"])
    expected = reference([(parse(a), parse(b)) for a, b in WINDOWS], weights)
    assert np.allclose(got, expected, rtol=1e-9, atol=1e-12) and got.sum() == pytest.approx(sum(weights))
    friday_18 = 4 * 24 + 18
    second = reference([(parse(WINDOWS[1][0]), parse(WINDOWS[1][1]))])
    assert second[friday_18] == pytest.approx(39.5 / 99.5) and second[friday_18 + 1] == pytest.approx(60 / 99.5)
    shares = [f["SHARE"] for f in result["OUTPUT_TABLE"].getFeatures()]
    assert sum(shares) == pytest.approx(1.0)


def test_the_same_table_whatever_the_machine_zone(tmp_path, monkeypatch):
    source = write(tmp_path / "w.gpkg", WINDOWS)
    tables = []
    for zone in ("Europe/Madrid", "America/New_York", "Asia/Kolkata"):
        monkeypatch.setenv("TZ", zone)
        time.tzset()
        layer = QgsVectorLayer(source, "incidents", "ogr")
        layer.selectAll()  # through QGIS's own reader too
        from qgis.core import QgsProcessingFeatureSourceDefinition, QgsProject

        QgsProject.instance().addMapLayer(layer)
        try:
            for value in (source, QgsProcessingFeatureSourceDefinition(layer.id(), selectedFeaturesOnly=True)):
                result = run({"INPUT": value, "FROM_FIELD": "reported_from", "TO_FIELD": "reported_to"})
                tables.append(table_of(result["OUTPUT_TABLE"]))
        finally:
            QgsProject.instance().removeMapLayer(layer.id())
    monkeypatch.delenv("TZ")
    time.tzset()
    expected = reference([(parse(a), parse(b)) for a, b in WINDOWS])
    for table in tables:
        assert np.allclose(table, expected, rtol=1e-9)


def test_a_daylight_saving_night_counts_the_hours_that_passed(tmp_path):
    """Europe/Berlin, 30 March 2025: 02:00 CET became 03:00 CEST. A window from 01:30 to 03:30
    lasted one hour: half in the 01:00 hour, half in the 03:00 hour, none at 02:00. In autumn
    (26 October) 02:00-03:00 happened twice: a window 01:30 CEST to 03:30 CET lasted three hours."""
    berlin = QTimeZone(b"Europe/Berlin")
    memory = QgsVectorLayer("Point?crs=EPSG:32630&field=a:datetime&field=b:datetime", "dst", "memory")
    spring = (QDateTime(QDate(2025, 3, 30), QTime(1, 30), berlin), QDateTime(QDate(2025, 3, 30), QTime(3, 30), berlin))
    autumn_start = QDateTime(QDate(2025, 10, 26), QTime(1, 30), berlin)
    autumn = (autumn_start, autumn_start.addSecs(3 * 3600))  # 01:30 CEST + 3 h = 03:30 CET
    features = []
    for a, b in (spring, autumn):
        feature = QgsFeature(memory.fields())
        feature.setGeometry(QgsGeometry.fromPointXY(QgsPointXY(440000, 4470000)))
        feature.setAttributes([a, b])
        features.append(feature)
    memory.dataProvider().addFeatures(features)
    text = write(
        tmp_path / "t.gpkg",
        [("2025-03-30T01:30:00+01:00", "2025-03-30T03:30:00+02:00"), ("2025-10-26T01:30:00+02:00", "2025-10-26T03:30:00+01:00")],
        ogr.OFTString,
    )
    sunday = 6 * 24
    for source, fields in ((memory, ("a", "b")), (text, ("reported_from", "reported_to"))):
        got = table_of(run({"INPUT": source, "FROM_FIELD": fields[0], "TO_FIELD": fields[1]})["OUTPUT_TABLE"])
        spring_part = {1: 0.5, 3: 0.5}  # weight 1 each: spring's hour halves; autumn's three hours in 01, 02 (twice), 03
        autumn_part = {1: 0.5 / 3, 2: 2 / 3, 3: 0.5 / 3}
        expected = np.zeros(168)
        for hour, value in list(spring_part.items()) + list(autumn_part.items()):
            expected[sunday + hour] += value
        assert np.allclose(got, expected, atol=1e-9), (source, got[sunday : sunday + 5])


@pytest.fixture(scope="module")
def zones_run(provider, tmp_path_factory):
    folder = tmp_path_factory.mktemp("aoristic")
    return run(
        {
            "INPUT": f"{SAMPLE_CITY}|layername=incidents",
            "ZONES": f"{SAMPLE_CITY}|layername=planted_hotspots",
            "ZONE_ID_FIELD": "name",
            "OUTPUT_TABLE": str(folder / "table.gpkg"),
            "OUTPUT": str(folder / "zones.gpkg"),
            "OUTPUT_HTML": str(folder / "when.html"),
        }
    )


def test_zones_peaks_and_shifts(zones_run):
    table = QgsVectorLayer(zones_run["OUTPUT_TABLE"])
    zones = {f["name"]: f for f in QgsVectorLayer(zones_run["OUTPUT"]).getFeatures()}
    assert table.featureCount() == 5 * 168 and len(zones) == 5
    nightlife = table_of(table, "Town centre nightlife")
    assert np.argmax(nightlife) // 24 in (4, 5)  # Friday or Saturday night, as planted
    market = zones["Market Street retail"]
    assert 10 <= market["PEAK_HOUR"] <= 16 and market["SHIFT_1_SHARE"] > 0.5  # shop hours, 08:00-16:00
    for name, zone in zones.items():
        weights = table_of(table, name)
        assert zone["PEAK_WEEKDAY"] * 24 + zone["PEAK_HOUR"] == int(np.argmax(weights))
        assert zone["PEAK_SHARE"] == pytest.approx(weights.max() / weights.sum())
        day = weights.reshape(7, 24).sum(axis=0) / weights.sum()
        assert [zone["SHIFT_1_SHARE"], zone["SHIFT_2_SHARE"], zone["SHIFT_3_SHARE"]] == pytest.approx(
            [day[8:16].sum(), day[16:24].sum(), day[0:8].sum()]
        )
    report = open(zones_run["OUTPUT_HTML"], encoding="utf-8").read()
    assert report.count("data:image/png;base64") == 6  # all incidents and the five zones


def test_bad_windows_refused_or_skipped_and_the_period(tmp_path):
    rows = [("2025-06-06T18:00:00", "2025-06-06T17:00:00"), ("2025-06-07T10:00:00", "2025-06-07T11:00:00"), ("2025-08-01T10:00:00", None)]
    source = write(tmp_path / "bad.gpkg", rows)
    with pytest.raises(
        QgsProcessingException, match=r"1 end before they start \(e.g. feature 1\); 1 have no time \(e.g. feature 3\).*SKIP_BAD_ROWS"
    ):
        run({"INPUT": source, "FROM_FIELD": "reported_from", "TO_FIELD": "reported_to"})
    result = run({"INPUT": source, "FROM_FIELD": "reported_from", "TO_FIELD": "reported_to", "SKIP_BAD_ROWS": True})
    assert result["SKIPPED"] == 2 and result["INCIDENT_COUNT"] == 1  # the window without an end has no time either
    only_from = run({"INPUT": source, "FROM_FIELD": "reported_from", "START": "2025-06-07", "END": "2025-08-01"})
    assert only_from["INCIDENT_COUNT"] == 2 and table_of(only_from["OUTPUT_TABLE"])[5 * 24 + 10] == 1.0
    with pytest.raises(QgsProcessingException, match="period"):
        run({"INPUT": source, "FROM_FIELD": "reported_from", "START": "2026-01-01"})


def test_a_patrol_schedule_that_follows_the_hour_profile(zones_run, tmp_path):
    """The nightlife hot spot's visits in an evening shift (16:00-24:00) fall late, where its
    incidents are; the market's in the afternoon; no unit is at two places at once."""
    import processing

    planted = f"{SAMPLE_CITY}|layername=planted_hotspots"
    profile = str(tmp_path / "profile.gpkg")
    run({"INPUT": f"{SAMPLE_CITY}|layername=incidents", "ZONES": planted, "OUTPUT_TABLE": profile})  # zones by feature id
    parameters = {
        "HOTSPOTS": planted,
        "RISK_FIELD": "n_incidents",
        "PATROL_MINUTES": 120,
        "SHIFT_START": 16,
        "SHIFTS": 14,
        "UNITS": 2,
        "FIRST_DAY": "2026-01-02",  # a Friday
        "HOUR_PROFILE": profile,
        "OUTPUT": "memory:",
        "OUTPUT_SCHEDULE": "memory:",
    }
    result = processing.run("hotspotpolicing:patroldosage", parameters)
    rows = list(result["OUTPUT_SCHEDULE"].getFeatures())
    assert [r["weekday"] for r in rows if r["shift"] <= 3][:1] == ["Friday"]
    for r in rows:  # real date-times, one shift a day from FIRST_DAY, for the temporal controller
        start = r["start_time"].toPyDateTime()
        assert start.date() == datetime.date(2026, 1, 2) + datetime.timedelta(days=r["shift"] - 1) or start.hour < 16
        assert start.strftime("%H:%M") == r["planned_start"] and (r["end_time"].toPyDateTime() - start).seconds == 60 * r["minutes"]
    names = {f["priority_rank"]: f["name"] for f in result["OUTPUT"].getFeatures()}

    def hours(name, shift):
        return [int(r["planned_start"][:2]) for r in rows if names[r["priority_rank"]] == name and r["shift"] == shift]

    for shift in range(1, 15):  # visits spread through the shift, the riskiest hours always among them
        assert max(hours("Town centre nightlife", shift)) >= 20 and min(hours("Market Street retail", shift)) < 18
    late = np.mean([h >= 20 for shift in range(1, 15) for h in hours("Town centre nightlife", shift)])
    parameters = {**parameters, "HOUR_PROFILE": None, "OUTPUT": "memory:", "OUTPUT_SCHEDULE": "memory:"}
    plain = list(processing.run("hotspotpolicing:patroldosage", parameters)["OUTPUT_SCHEDULE"].getFeatures())
    plain_late = np.mean([int(r["planned_start"][:2]) >= 20 for r in plain if names[r["priority_rank"]] == "Town centre nightlife"])
    assert late > plain_late
    for shift in range(1, 15):
        for unit in (1, 2):
            visits = sorted(
                (r["start_minute"], r["start_minute"] + r["minutes"]) for r in rows if r["shift"] == shift and r["unit"] == unit
            )
            assert all(later[0] >= earlier[1] for earlier, later in zip(visits, visits[1:])) and visits[-1][1] <= 480
    assert all(r["place"] for r in rows)
