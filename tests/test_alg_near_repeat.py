"""hotspotpolicing:nearrepeat through processing.run: GeoPackages of constructed burglaries with
planted near-repeat chains, the table against a dense all-pairs count written here, the
Near Repeat Calculator's published table, the report's sentence, the risk zones, bad input."""

import csv
import datetime
import os
import re
import time

import numpy as np
import pytest
from osgeo import ogr, osr
from qgis.core import NULL, QgsFeature, QgsGeometry, QgsPointXY, QgsProcessingException, QgsVectorLayer

pytestmark = pytest.mark.usefixtures("provider")

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
X0, Y0 = 440000.0, 4470000.0
START = datetime.datetime(2025, 1, 1, 0, 0)


def write_incidents(path, rows, srs_code=32630):
    """rows: (x, y, datetime or None); fids 1, 2, ... in row order."""
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(srs_code)
    dataset = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
    layer = dataset.CreateLayer("burglaries", srs, ogr.wkbPoint)
    layer.CreateField(ogr.FieldDefn("occurred_at", ogr.OFTDateTime))
    layer.CreateField(ogr.FieldDefn("offence", ogr.OFTString))
    for x, y, when in rows:
        feature = ogr.Feature(layer.GetLayerDefn())
        feature.SetField("offence", "burglary")
        if when is not None:
            feature.SetField("occurred_at", when.year, when.month, when.day, when.hour, when.minute, when.second, 0)
        feature.SetGeometry(ogr.CreateGeometryFromWkt(f"POINT ({x} {y})"))
        layer.CreateFeature(feature)
    dataset = None
    return str(path)


def planted(seed=1, background=300, chains=20, spread=25.0):
    """Background burglaries uniform over 4 x 4 km and 180 days, and chains of 4 within
    +/- ``spread`` m and 6 days of their first; the last chain ends on the last day."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(background):
        rows.append((X0 + rng.uniform(0, 4000), Y0 + rng.uniform(0, 4000), int(rng.integers(0, 180)), int(rng.integers(0, 1440))))
    for c in range(chains):
        cx, cy = X0 + rng.uniform(200, 3800), Y0 + rng.uniform(200, 3800)
        first = 174 if c == chains - 1 else int(rng.integers(0, 174))
        for k in range(4):
            day = first + (6 if (c == chains - 1 and k == 3) else int(rng.integers(0, 7)))
            rows.append((cx + rng.uniform(-spread, spread), cy + rng.uniform(-spread, spread), day, int(rng.integers(0, 1440))))
    rows.append((X0 + 2000.0, Y0 + 2000.0, 180, 600))  # the latest incident: its date is the data date
    x = np.array([r[0] for r in rows]).round(2)
    y = np.array([r[1] for r in rows]).round(2)
    days = np.array([r[2] for r in rows])
    times = [START + datetime.timedelta(days=int(d), minutes=int(m)) for d, m in zip(days, [r[3] for r in rows])]
    return x, y, days, times


def dense_table(x, y, days, space_edges, time_edges, metric="manhattan"):
    """All pairs at once, as n x n matrices: each band counts the pairs i < j with edge_a <= d < edge_b."""
    dx, dy = x[:, None] - x[None, :], y[:, None] - y[None, :]
    d = np.abs(dx) + np.abs(dy) if metric == "manhattan" else np.sqrt(dx**2 + dy**2)
    dt = np.abs(days[:, None] - days[None, :])
    upper = np.triu(np.ones(d.shape, dtype=bool), 1)
    return np.array(
        [
            [((d >= a) & (d < b) & (dt >= c) & (dt < e) & upper).sum() for c, e in zip(time_edges[:-1], time_edges[1:])]
            for a, b in zip(space_edges[:-1], space_edges[1:])
        ]
    )


def run(parameters):
    import processing

    return processing.run("hotspotpolicing:nearrepeat", parameters)


def rows_of(destination):
    layer = QgsVectorLayer(destination) if isinstance(destination, str) else destination
    return [{name: plain(feature[name]) for name in layer.fields().names()} for feature in layer.getFeatures()], layer


def plain(value):
    return None if value is None or value == NULL else value


@pytest.fixture(scope="module")
def chains(tmp_path_factory):
    folder = tmp_path_factory.mktemp("nearrepeat")
    x, y, days, times = planted()
    return folder, write_incidents(folder / "burglaries.gpkg", zip(x, y, times)), (x, y, days)


@pytest.mark.parametrize("metric", [0, 1])
def test_the_table_holds_the_exact_pair_counts_and_the_report_says_what_they_mean(chains, tmp_path, metric):
    _, incidents, (x, y, days) = chains
    report = tmp_path / "near_repeat.html"
    result = run(
        {
            "INPUT": incidents,
            "TIME_FIELD": "occurred_at",
            "DISTANCE": metric,
            "PERMUTATIONS": 999,
            "OUTPUT_TABLE": str(tmp_path / "table.gpkg"),
            "OUTPUT_HTML": str(report),
        }
    )
    rows, _ = rows_of(result["OUTPUT_TABLE"])
    space_edges, time_edges = [0, 1, 101, 201, 301, 401], [0, 7, 14, 21, 28]
    expected = dense_table(x, y, days, space_edges, time_edges, ("manhattan", "euclidean")[metric])
    assert [(r["DIST_FROM"], r["DIST_TO"], r["DAYS_FROM"], r["DAYS_TO"]) for r in rows] == [
        (a, b, c, e) for a, b in zip(space_edges[:-1], space_edges[1:]) for c, e in zip(time_edges[:-1], time_edges[1:])
    ]
    assert np.array([r["OBSERVED"] for r in rows]).reshape(5, 4).tolist() == expected.tolist()
    for r in rows:
        assert r["KNOX_RATIO"] == pytest.approx(r["OBSERVED"] / r["EXPECTED"]) if r["EXPECTED"] else r["KNOX_RATIO"] is None
        assert 1 / 1000 - 1e-12 <= r["P_VALUE"] <= 1 and bool(r["SIGNIFICANT"]) == (r["P_VALUE"] <= 0.05)
    near_soon = rows[4]  # [1, 101) m x [0, 7) days: the chains
    assert near_soon["P_VALUE"] == pytest.approx(0.001) and near_soon["KNOX_RATIO"] > 5 and near_soon["SIGNIFICANT"]
    assert result["INCIDENT_COUNT"] == len(x) and result["SIGNIFICANT_BANDS"] >= 1
    text = report.read_text(encoding="utf-8")
    sentence = (
        f"Within 101 m (but not at the same place) and 7 days of an incident, another incident was {near_soon['KNOX_RATIO']:.1f} "
        "times as likely as chance would have it (p = 0.001)."
    )
    assert sentence in text
    assert "Observed pairs" in text and "Knox ratios" in text and "background:#d62f27" in text  # p = 0.001 shaded darkest
    assert f"<td style='text-align:right'>{expected[4, 0]:,}</td>" in text  # 401 m+ is no band: the last row is 301-401 m


def test_risk_zones_cover_where_and_until_when_risk_is_raised(chains, tmp_path):
    """Bands 0-100 m x 0-7 days (and open ones that never make a zone): every place within
    100 m (Manhattan) of an incident of the last 7 days is at raised risk until 6 days after
    the latest such incident; the zones say so, one feature per last day."""
    _, incidents, (x, y, days) = chains
    result = run(
        {
            "INPUT": incidents,
            "SPATIAL_BANDS": "0,100,inf",
            "TEMPORAL_BANDS": "0, 7, inf",
            "PERMUTATIONS": 199,
            "OUTPUT_TABLE": "memory:",
            "OUTPUT_RISK": str(tmp_path / "risk.gpkg"),
        }
    )
    assert result["RISK_DISTANCE"] == 100.0 and result["RISK_DAYS"] == 7
    zones, layer = rows_of(result["OUTPUT_RISK"])
    assert layer.renderer().type() == "graduatedSymbol" and layer.renderer().classAttribute() == "DAYS_LEFT"
    latest = days.max()
    recent = np.flatnonzero(latest - days < 7)
    until = days[recent] + 6
    shapes = [QgsGeometry(f.geometry()) for f in layer.getFeatures()]
    ends = [(z["RISK_UNTIL"].toPyDate() - START.date()).days for z in zones]
    assert ends == sorted(set(ends)) and set(ends) <= set(until.tolist())
    for zone, end in zip(zones, ends):
        assert zone["DAYS_LEFT"] == end - latest
        sources = {int(s) for s in zone["SOURCE_ID"].split(", ")}
        assert sources == {int(e) + 1 for e in recent[until == end]}  # fids count from 1 in row order
        assert (zone["RISK_FROM"].toPyDate() - START.date()).days == days[recent[until == end]].min()
    layer.loadDefaultStyle()  # QGIS 3.22 resets a file layer's temporal settings after its default style
    assert layer.temporalProperties().isActive()  # each zone shown from its first incident to its last day
    rng = np.random.default_rng(9)
    probes = np.concatenate([np.column_stack([x[recent], y[recent]]) + rng.uniform(-120, 120, (len(recent), 2)) for _ in range(20)])
    probes = np.vstack([probes, np.column_stack([x[recent], y[recent]])])
    checked = 0
    for px, py in probes:
        reach = np.abs(x[recent] - px) + np.abs(y[recent] - py)
        if np.any(np.abs(reach - 100) < 0.01):
            continue  # on a zone's edge
        expected = until[reach < 100].max() if (reach < 100).any() else None
        holding = [end for shape, end in zip(shapes, ends) if shape.contains(QgsPointXY(px, py))]
        assert holding == ([] if expected is None else [expected]), (px, py)
        checked += 1
    assert checked > 300
    for a in range(len(shapes)):  # a partition: every place shows one last day
        for b in range(a + 1, len(shapes)):
            assert shapes[a].intersection(shapes[b]).area() < 1e-3


def test_euclidean_zones_are_circles_and_recent_days_reaches_back(chains):
    _, incidents, (x, y, days) = chains
    result = run(
        {
            "INPUT": incidents,
            "SPATIAL_BANDS": "0,100,inf",
            "TEMPORAL_BANDS": "0,7,inf",
            "DISTANCE": 1,
            "PERMUTATIONS": 199,
            "RECENT_DAYS": 30,
            "OUTPUT_TABLE": "memory:",
            "OUTPUT_RISK": "memory:",
        }
    )
    zones, layer = rows_of(result["OUTPUT_RISK"])
    recent = np.flatnonzero(days.max() - days < 30)
    assert {int(s) for z in zones for s in z["SOURCE_ID"].split(", ")} <= {int(e) + 1 for e in recent}
    assert min(z["DAYS_LEFT"] for z in zones) < 0  # zones whose risk has ended are kept (grey) when asked for
    union = QgsGeometry.unaryUnion([f.geometry() for f in layer.getFeatures()])
    circles = QgsGeometry.unaryUnion([QgsGeometry.fromPointXY(QgsPointXY(x[e], y[e])).buffer(100, 64) for e in recent])
    assert abs(union.area() - circles.area()) < 0.003 * circles.area()


def test_nearrepeat_calculator_table_from_a_text_date_column():
    """The 970 Chicago burglaries in a memory layer with their dates as text (the 'date' field is
    found by name): the NRC's observed table (METHODS.md 7.1) in every row of the output."""
    layer = QgsVectorLayer("Point?crs=EPSG:26971&field=date:string", "chicago_be", "memory")
    with open(os.path.join(DATA, "nearrepeat_chicago_be_month1.csv"), encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    features = []
    for x, y, date in rows:
        feature = QgsFeature(layer.fields())
        feature.setGeometry(QgsGeometry.fromPointXY(QgsPointXY(float(x), float(y))))
        feature.setAttributes([date])
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    result = run(
        {
            "INPUT": layer,
            "SPATIAL_BANDS": "0,1,100,200,300,inf",
            "TEMPORAL_BANDS": "0,7,14,21,inf",
            "PERMUTATIONS": 19,
            "OUTPUT_TABLE": "memory:",
        }
    )
    table, _ = rows_of(result["OUTPUT_TABLE"])
    observed = np.array([r["OBSERVED"] for r in table]).reshape(5, 4)
    assert observed.tolist() == [[28, 5, 5, 2], [44, 13, 8, 4], [97, 56, 19, 16], [77, 67, 45, 20], [182194, 146149, 95237, 45879]]
    assert table[-1]["DIST_TO"] is None and table[-1]["DAYS_TO"] is None  # NULL: open bands


def test_time_differences_are_calendar_days(tmp_path):
    """23:30 and 00:30 the next morning are 1 day apart; 00:30 and 23:59 six days later, 6."""
    when = [datetime.datetime(2025, 3, 1, 23, 30), datetime.datetime(2025, 3, 2, 0, 30), datetime.datetime(2025, 3, 8, 23, 59)]
    incidents = write_incidents(tmp_path / "three.gpkg", [(X0, Y0, when[0]), (X0 + 50, Y0, when[1]), (X0, Y0 + 50, when[2])])
    parameters = {"INPUT": incidents, "SPATIAL_BANDS": "0,200", "TEMPORAL_BANDS": "0,1,2,7,8", "PERMUTATIONS": 9}
    result = run({**parameters, "OUTPUT_TABLE": "memory:", "OUTPUT_RISK": str(tmp_path / "zones.gpkg")})
    table, _ = rows_of(result["OUTPUT_TABLE"])
    assert [r["OBSERVED"] for r in table] == [0, 1, 1, 1]
    # three pairs cannot beat chance (p >= 0.1 with 9 permutations): no zones, an empty layer
    zones, layer = rows_of(result["OUTPUT_RISK"])
    assert zones == [] and layer.isValid() and result["RISK_DISTANCE"] == 0 and result["SIGNIFICANT_BANDS"] == 0


def test_seed_repeats_the_run(chains):
    _, incidents, _ = chains
    parameters = {"INPUT": incidents, "PERMUTATIONS": 99, "SEED": 5, "OUTPUT_TABLE": "memory:"}
    first, again = (rows_of(run(parameters)["OUTPUT_TABLE"])[0] for _ in range(2))
    assert [r["P_VALUE"] for r in first] == [r["P_VALUE"] for r in again]
    assert [r["EXPECTED"] for r in first] == [r["EXPECTED"] for r in again]


def test_bad_input_is_refused_naming_what_to_change(tmp_path):
    when = START
    gaps = write_incidents(tmp_path / "gaps.gpkg", [(X0, Y0, when), (X0 + 10, Y0, when), (X0 + 20, Y0, None), (X0 + 30, Y0, when)])
    with pytest.raises(QgsProcessingException, match=r"'occurred_at' of 'gaps' is empty for 1 incident \(feature 3\)"):
        run({"INPUT": gaps, "TIME_FIELD": "occurred_at", "OUTPUT_TABLE": "memory:"})
    one = write_incidents(tmp_path / "one.gpkg", [(X0, Y0, when)])
    with pytest.raises(QgsProcessingException, match="at least 2"):
        run({"INPUT": one, "OUTPUT_TABLE": "memory:"})
    two = write_incidents(tmp_path / "two.gpkg", [(X0, Y0, when), (X0 + 5, Y0, when)])
    for key, text, pattern in (
        ("SPATIAL_BANDS", "0,100,50", r"SPATIAL_BANDS.*'50' is not larger"),
        ("SPATIAL_BANDS", "0;1;1O1", r"SPATIAL_BANDS.*'1O1' is not a number"),
        ("TEMPORAL_BANDS", "7", r"TEMPORAL_BANDS.*at least two"),
        ("TEMPORAL_BANDS", "0,inf,14", r"TEMPORAL_BANDS.*'inf' cannot be a band edge"),
    ):
        out = tmp_path / f"{key}.gpkg"
        with pytest.raises(QgsProcessingException, match=pattern):
            run({"INPUT": two, key: text, "OUTPUT_TABLE": str(out)})
        assert not out.exists()


def test_work_beyond_the_limit_is_refused_up_front(tmp_path):
    from .conftest import SAMPLE_CITY

    message = ""
    with pytest.raises(QgsProcessingException) as error:
        run(
            {
                "INPUT": f"{SAMPLE_CITY}|layername=incidents",
                "TIME_FIELD": "occurred_at",
                "SPATIAL_BANDS": "0,1,101,201,301,401",
                "PERMUTATIONS": 999,
                "OUTPUT_TABLE": str(tmp_path / "t.gpkg"),
            }
        )
    message = str(error.value)
    assert re.search(r"use at most [\d,]+ permutations \(PERMUTATIONS\)", message), message
    assert not (tmp_path / "t.gpkg").exists()


class CancelHalfWay:
    """A feedback that presses Cancel once progress passes 40 % (in the permutations)."""

    def __new__(cls):
        from qgis.core import QgsProcessingFeedback

        class Feedback(QgsProcessingFeedback):
            def __init__(self):
                super().__init__()
                self.pressed = None
                self.progressChanged.connect(self._check)

            def _check(self, progress):
                if progress >= 40 and self.pressed is None:
                    self.pressed = time.perf_counter()
                    self.cancel()

        return Feedback()


def test_cancel_during_the_permutations_stops_within_a_second(tmp_path):
    from qgis.core import QgsApplication, QgsProcessingContext

    from .conftest import SAMPLE_CITY

    algorithm = QgsApplication.processingRegistry().createAlgorithmById("hotspotpolicing:nearrepeat")
    feedback = CancelHalfWay()
    parameters = {
        "INPUT": f"{SAMPLE_CITY}|layername=incidents",
        "TIME_FIELD": "occurred_at",
        "SPATIAL_BANDS": "0,1,51,101",
        "PERMUTATIONS": 99,
        "OUTPUT_TABLE": str(tmp_path / "table.gpkg"),
        "OUTPUT_RISK": str(tmp_path / "risk.gpkg"),
    }
    results, ok = algorithm.run(parameters, QgsProcessingContext(), feedback)
    assert feedback.pressed is not None and time.perf_counter() - feedback.pressed < 1.0
    assert ok and results == {} and list(tmp_path.iterdir()) == []


def test_a_ratio_that_does_not_fade_with_time_is_flagged():
    from hotspot_policing.core import near_repeat as nr
    from hotspot_policing.processing.algorithms.near_repeat import _no_decay

    def knox(last_ratio, last_p):
        ratio = np.array([[1.0, 1.0, 1.0], [1.5, 1.3, last_ratio], [1.0, 1.0, 1.0]])
        p = np.array([[0.5, 0.5, 0.5], [0.001, 0.01, last_p], [0.5, 0.5, 0.5]])
        space, time_edges = np.array([0, 1, 101, 201.0]), np.array([0, 7, 14, 21.0])
        return nr.Knox(space, time_edges, ratio * 100, np.full((3, 3), 100.0), np.full((3, 3), 100.0), p * 1000 - 1, 999, 0)

    assert "Knox ratio is still 1.40 in the last time band (14 to 21 days) against 1.50" in _no_decay(knox(1.4, 0.001), 0.05, "m")
    assert _no_decay(knox(1.1, 0.001), 0.05, "m") == ""  # it fades: a near repeat
    assert _no_decay(knox(1.4, 0.2), 0.05, "m") == ""  # not significant at the end
