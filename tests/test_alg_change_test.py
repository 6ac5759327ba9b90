"""hotspotpolicing:changetest end to end: planted counts in squares and on street segments,
counted again here from the coordinates and dates, tested with scipy.stats.binomtest one unit
at a time and a Benjamini-Hochberg step-up written out here; the inclusive END, periods of
different lengths, units without incidents; the sample city's segments and cells; bad input."""

import datetime
import math

import numpy as np
import pytest
from osgeo import ogr, osr
from qgis.core import NULL, QgsProcessingException, QgsVectorLayer
from scipy.stats import binomtest

from .conftest import SAMPLE_CITY

pytestmark = pytest.mark.usefixtures("provider")
INCIDENTS = f"{SAMPLE_CITY}|layername=incidents"
COLUMNS, ROWS, SIDE = 6, 5, 100.0
# before: 91 days (2024 is a leap year), after: 30 days, a gap of two months between them
PERIODS = {"BEFORE_START": "2024-01-01", "BEFORE_END": "2024-03-31", "AFTER_START": "2024-06-01", "AFTER_END": "2024-06-30"}
BEFORE = (datetime.date(2024, 1, 1), datetime.date(2024, 3, 31))
AFTER = (datetime.date(2024, 6, 1), datetime.date(2024, 6, 30))
# Incidents on and around the periods' edges, in unit 7: which count, by the dates alone
EDGES = [
    (datetime.datetime(2023, 12, 31, 23, 59, 59), None),
    (datetime.datetime(2024, 1, 1, 0, 0, 0), "before"),
    (datetime.datetime(2024, 3, 31, 23, 59, 59), "before"),  # END includes its whole day
    (datetime.datetime(2024, 4, 1, 0, 0, 0), None),
    (datetime.datetime(2024, 5, 31, 23, 59, 59), None),
    (datetime.datetime(2024, 6, 1, 0, 0, 0), "after"),
    (datetime.datetime(2024, 6, 30, 23, 59, 59), "after"),
    (datetime.datetime(2024, 7, 1, 0, 0, 0), None),
]


def run(parameters):
    import processing

    return processing.run("hotspotpolicing:changetest", parameters)


def srs():
    reference = osr.SpatialReference()
    reference.ImportFromEPSG(32630)
    return reference


def write_squares(path, layer_name="units"):
    """COLUMNS x ROWS squares of SIDE metres, row by row, named U00, U01, ..."""
    dataset = ogr.GetDriverByName("GPKG").CreateDataSource(str(path)) if not path.exists() else ogr.Open(str(path), 1)
    layer = dataset.CreateLayer(layer_name, srs(), ogr.wkbPolygon)
    layer.CreateField(ogr.FieldDefn("unit", ogr.OFTString))
    layer.CreateField(ogr.FieldDefn("kind", ogr.OFTString))
    for i in range(COLUMNS * ROWS):
        x, y = (i % COLUMNS) * SIDE, (i // COLUMNS) * SIDE
        feature = ogr.Feature(layer.GetLayerDefn())
        feature.SetField("unit", f"U{i:02d}")
        feature.SetField("kind", "square")
        feature.SetGeometry(ogr.CreateGeometryFromWkt(f"POLYGON (({x} {y},{x + SIDE} {y},{x + SIDE} {y + SIDE},{x} {y + SIDE},{x} {y}))"))
        layer.CreateFeature(feature)
    dataset = None
    return f"{path}|layername={layer_name}"


def write_points(path, xy, times, layer_name="incidents"):
    dataset = ogr.GetDriverByName("GPKG").CreateDataSource(str(path)) if not path.exists() else ogr.Open(str(path), 1)
    layer = dataset.CreateLayer(layer_name, srs(), ogr.wkbPoint)
    layer.CreateField(ogr.FieldDefn("occurred_at", ogr.OFTDateTime))
    layer.StartTransaction()
    for (x, y), when in zip(xy, times):
        feature = ogr.Feature(layer.GetLayerDefn())
        feature.SetField("occurred_at", when.year, when.month, when.day, when.hour, when.minute, when.second, 0)
        feature.SetGeometry(ogr.CreateGeometryFromWkt(f"POINT ({x!r} {y!r})"))
        layer.CreateFeature(feature)
    layer.CommitTransaction()
    dataset = None
    return f"{path}|layername={layer_name}"


def random_times(rng, first, last, size):
    """Times at random seconds of the days first .. last (both included)."""
    start = datetime.datetime.combine(first, datetime.time())
    seconds = rng.integers(0, ((last - first).days + 1) * 86400, size)
    return [start + datetime.timedelta(seconds=int(s)) for s in seconds]


def planted_world(folder):
    """Per unit a rate per day before and after (some units rise, some fall, two are empty,
    one has nothing before), incidents between and after the periods, and the edge cases."""
    rng = np.random.default_rng(11)
    n = COLUMNS * ROWS
    rate = rng.uniform(0.05, 0.6, n)
    rate[[3, 10, 17, 5, 21, 28]] = 0.8  # busy enough for their change to show
    before_rate, after_rate = rate.copy(), rate.copy()
    after_rate[[3, 10, 17]] *= 4  # rises
    after_rate[[5, 21, 28]] *= 0.1  # falls
    before_rate[[12, 13]] = after_rate[[12, 13]] = 0  # never an incident
    before_rate[24], after_rate[24] = 0, 0.4  # nothing before, some after
    xy, times = [], []
    for unit in range(n):
        for rate_per_day, (first, last) in (
            (before_rate[unit], BEFORE),
            (after_rate[unit], AFTER),
            (rate[unit] if unit not in (12, 13) else 0, (datetime.date(2024, 4, 1), datetime.date(2024, 5, 31))),  # the gap
            (rate[unit] if unit not in (12, 13) else 0, (datetime.date(2024, 7, 1), datetime.date(2024, 8, 31))),  # after AFTER_END
        ):
            count = rng.poisson(rate_per_day * ((last - first).days + 1))
            cx, cy = (unit % COLUMNS) * SIDE, (unit // COLUMNS) * SIDE
            xy += list(zip(cx + rng.uniform(1, SIDE - 1, count), cy + rng.uniform(1, SIDE - 1, count)))
            times += random_times(rng, first, last, count)
    for when, _ in EDGES:
        xy.append((1 * SIDE + 50.5, 1 * SIDE + 50.5))  # unit 7
        times.append(when)
    xy.append((-500.0, -500.0))  # in no unit
    times.append(datetime.datetime(2024, 2, 2, 12))
    path = folder / "world.gpkg"
    units = write_squares(path)
    incidents = write_points(path, xy, times)
    return units, incidents, np.array(xy), times


def counted_here(xy, times, unit_of):
    """Before and after counts per unit by the dates alone (both ends included)."""
    n = COLUMNS * ROWS
    before, after = np.zeros(n, dtype=int), np.zeros(n, dtype=int)
    for (x, y), when in zip(xy, times):
        unit = unit_of(x, y)
        if unit is None:
            continue
        if BEFORE[0] <= when.date() <= BEFORE[1]:
            before[unit] += 1
        elif AFTER[0] <= when.date() <= AFTER[1]:
            after[unit] += 1
    return before, after


def square_of(x, y):
    column, row = int(x // SIDE), int(y // SIDE)
    return row * COLUMNS + column if 0 <= column < COLUMNS and 0 <= row < ROWS else None


def benjamini_hochberg(p):
    """q_(i) = min over j >= i of m p_(j) / j, capped at 1, over the finite p-values."""
    finite = sorted((value, i) for i, value in enumerate(p) if not math.isnan(value))
    m = len(finite)
    q = [math.nan] * len(p)
    for position, (_, i) in enumerate(finite):
        q[i] = min(1.0, min(m * finite[j][0] / (j + 1) for j in range(position, m)))
    return q


def features(path):
    layer = QgsVectorLayer(path, "out", "ogr")
    assert layer.isValid(), path
    return layer, list(layer.getFeatures())


def number_or_nan(value):
    return math.nan if value == NULL or value is None else float(value)


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("change")
    units, incidents, xy, times = planted_world(folder)
    result = run(
        {
            "INPUT": incidents,
            "UNITS": units,
            "UNIT_ID_FIELD": "unit",
            **PERIODS,
            "OUTPUT": str(folder / "change.gpkg"),
            "OUTPUT_HTML": str(folder / "change.html"),
        }
    )
    return xy, times, result


def test_counts_p_and_q_values_equal_an_independent_computation(planted):
    xy, times, result = planted
    before, after = counted_here(xy, times, square_of)
    layer, rows = features(result["OUTPUT"])
    assert [f["unit"] for f in rows] == [f"U{i:02d}" for i in range(COLUMNS * ROWS)]  # every unit, in order, with its fields
    assert [f["kind"] for f in rows] == ["square"] * len(rows)
    assert [f["COUNT_BEFORE"] for f in rows] == before.tolist()
    assert [f["COUNT_AFTER"] for f in rows] == after.tolist()
    share = 30 / (91 + 30)
    p = [binomtest(int(a), int(a + b), share).pvalue if a + b else math.nan for b, a in zip(before, after)]
    q = benjamini_hochberg(p)
    got_p = [number_or_nan(f["P_VALUE"]) for f in rows]
    got_q = [number_or_nan(f["Q_VALUE"]) for f in rows]
    assert np.allclose(got_p, p, rtol=1e-12, equal_nan=True)
    assert np.allclose(got_q, q, rtol=1e-12, equal_nan=True)
    for f, b, a, qq in zip(rows, before, after, q):
        if b:
            assert f["RATE_RATIO"] == pytest.approx((a / 30) / (b / 91), rel=1e-12)
        else:
            assert f["RATE_RATIO"] == NULL
        if not math.isnan(qq) and qq <= 0.05:
            assert f["CHANGE"] == ("Significant increase" if a / 30 > b / 91 else "Significant decrease"), f["unit"]
        else:
            assert f["CHANGE"] == "No significant change", f["unit"]
    changes = [f["CHANGE"] for f in rows]
    assert result["INCREASES"] == changes.count("Significant increase") >= 3
    assert result["DECREASES"] == changes.count("Significant decrease") >= 3
    assert result["UNITS"] == 30 and result["TESTED"] == 28
    assert (result["TOTAL_BEFORE"], result["TOTAL_AFTER"]) == (before.sum(), after.sum())
    assert all(isinstance(result[key], int) for key in ("UNITS", "TESTED", "INCREASES", "DECREASES", "TOTAL_BEFORE", "TOTAL_AFTER"))


def test_units_without_incidents_are_not_tested(planted):
    _, _, result = planted
    _, rows = features(result["OUTPUT"])
    for unit in (12, 13):  # none in either period: no p or q, no change
        f = rows[unit]
        assert (f["COUNT_BEFORE"], f["COUNT_AFTER"]) == (0, 0)
        assert f["P_VALUE"] == NULL and f["Q_VALUE"] == NULL and f["RATE_RATIO"] == NULL
        assert f["CHANGE"] == "No significant change"
    f = rows[24]  # nothing before, some after: tested, no rate ratio
    assert f["COUNT_BEFORE"] == 0 and f["COUNT_AFTER"] > 0 and f["RATE_RATIO"] == NULL and f["P_VALUE"] != NULL


def test_end_dates_include_their_whole_day(planted):
    xy, times, result = planted
    _, rows = features(result["OUTPUT"])
    # unit 7's edge incidents: 2 count before, 2 after, 4 do not
    inside = [(x, y, when) for (x, y), when in zip(xy, times) if square_of(x, y) == 7]
    plain = [when for x, y, when in inside if (x, y) != (150.5, 150.5)]
    before = sum(BEFORE[0] <= when.date() <= BEFORE[1] for when in plain)
    after = sum(AFTER[0] <= when.date() <= AFTER[1] for when in plain)
    assert sum(kind == "before" for _, kind in EDGES) == 2 and sum(kind == "after" for _, kind in EDGES) == 2
    assert rows[7]["COUNT_BEFORE"] == before + 2 and rows[7]["COUNT_AFTER"] == after + 2


def test_one_day_more_or_less_moves_the_edge_incidents(planted, tmp_path):
    xy, times, _ = planted
    units, incidents, _, _ = planted_world(tmp_path)
    shorter = {**PERIODS, "BEFORE_END": "2024-03-30", "AFTER_START": "2024-06-02"}
    result = run({"INPUT": incidents, "UNITS": units, **shorter, "OUTPUT": str(tmp_path / "shorter.gpkg")})
    _, rows = features(result["OUTPUT"])
    full_before, full_after = counted_here(xy, times, square_of)
    lost_before = sum(1 for (x, y), when in zip(xy, times) if square_of(x, y) is not None and when.date() == datetime.date(2024, 3, 31))
    lost_after = sum(1 for (x, y), when in zip(xy, times) if square_of(x, y) is not None and when.date() == datetime.date(2024, 6, 1))
    assert sum(f["COUNT_BEFORE"] for f in rows) == full_before.sum() - lost_before
    assert sum(f["COUNT_AFTER"] for f in rows) == full_after.sum() - lost_after
    # the test now weighs 90 days against 29
    b, a = rows[0]["COUNT_BEFORE"], rows[0]["COUNT_AFTER"]
    assert rows[0]["P_VALUE"] == pytest.approx(binomtest(a, a + b, 29 / 119).pvalue, rel=1e-12)


def test_output_is_styled_diverging_and_the_report_names_the_changes(planted):
    _, _, result = planted
    layer, _ = features(result["OUTPUT"])
    renderer = layer.renderer()
    assert renderer.type() == "categorizedSymbol" and renderer.classAttribute() == "CHANGE"
    colours = {c.value(): c.symbol().color().name() for c in renderer.categories()}
    assert colours == {"Significant increase": "#d62f27", "Significant decrease": "#4575b5", "No significant change": "#cfcfcf"}
    from hotspot_policing.processing.styles import recognised_style

    assert recognised_style(layer) == "change"
    report = open(result["OUTPUT_HTML"], encoding="utf-8").read()
    assert "Largest significant increases" in report and "U03" in report and "data:image/png;base64" in report
    assert "Przyborowski" in report and "Benjamini" in report and "2024-03-31" in report


def test_street_segments_count_the_nearest_within_the_tolerance(tmp_path):
    # three parallel streets 100 m apart; incidents at known offsets from them
    segments = [((0.0, 0.0), (300.0, 0.0)), ((0.0, 100.0), (300.0, 100.0)), ((0.0, 200.0), (300.0, 200.0))]
    path = tmp_path / "streets.gpkg"
    dataset = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
    layer = dataset.CreateLayer("segments", srs(), ogr.wkbLineString)
    layer.CreateField(ogr.FieldDefn("segment_id", ogr.OFTInteger))
    for k, ((ax, ay), (bx, by)) in enumerate(segments):
        feature = ogr.Feature(layer.GetLayerDefn())
        feature.SetField("segment_id", 100 + k)
        feature.SetGeometry(ogr.CreateGeometryFromWkt(f"LINESTRING ({ax} {ay}, {bx} {by})"))
        layer.CreateFeature(feature)
    dataset = None
    rng = np.random.default_rng(5)
    size = 600
    x = rng.uniform(10, 290, size)
    y = rng.uniform(-45, 245, size)
    y[np.abs(np.round(y / 100) * 100 - y) > 49] = 10.0  # never half-way between two streets
    times = random_times(rng, datetime.date(2024, 1, 1), datetime.date(2024, 6, 30), size)
    incidents = write_points(tmp_path / "points.gpkg", list(zip(x, y)), times)

    def nearest_street(px, py):
        street = int(np.round(py / 100))
        return street if 0 <= street <= 2 and abs(py - 100 * street) <= 20.0 else None

    result = run(
        {
            "INPUT": incidents,
            "UNITS": f"{path}|layername=segments",
            "SNAP_TOLERANCE": 20.0,
            **PERIODS,
            "OUTPUT": str(tmp_path / "change.gpkg"),
        }
    )
    before, after = np.zeros(3, dtype=int), np.zeros(3, dtype=int)
    for px, py, when in zip(x, y, times):
        street = nearest_street(px, py)
        if street is not None and BEFORE[0] <= when.date() <= BEFORE[1]:
            before[street] += 1
        elif street is not None and AFTER[0] <= when.date() <= AFTER[1]:
            after[street] += 1
    _, rows = features(result["OUTPUT"])
    assert [f["segment_id"] for f in rows] == [100, 101, 102]
    assert [f["COUNT_BEFORE"] for f in rows] == before.tolist() and [f["COUNT_AFTER"] for f in rows] == after.tolist()
    p = [binomtest(int(a), int(a + b), 30 / 121).pvalue for b, a in zip(before, after)]
    assert [f["P_VALUE"] for f in rows] == pytest.approx(p, rel=1e-12)
    assert [f["Q_VALUE"] for f in rows] == pytest.approx(benjamini_hochberg(p), rel=1e-12)


def test_sample_city_segments_from_assignincidents(tmp_path):
    """The counted segments 'Assign incidents' writes are units; their counts over both
    periods are the incidents the same rule assigns to them."""
    import processing

    both = f"{INCIDENTS}|subset=\"occurred_at\" >= '2024-01-01' AND \"occurred_at\" < '2026-01-01'"
    counted = processing.run(
        "hotspotpolicing:assignincidents",
        {"INCIDENTS": both, "SEGMENTS": f"{SAMPLE_CITY}|layername=streets", "TOLERANCE": 30.0, "OUTPUT": str(tmp_path / "counts.gpkg")},
    )["OUTPUT"]
    periods = {"BEFORE_START": "2024-01-01", "BEFORE_END": "2024-12-31", "AFTER_START": "2025-01-01", "AFTER_END": "2025-12-31"}
    result = run({"INPUT": INCIDENTS, "UNITS": counted, "SNAP_TOLERANCE": 30.0, **periods, "OUTPUT": str(tmp_path / "change.gpkg")})
    _, rows = features(result["OUTPUT"])
    assert len(rows) == QgsVectorLayer(counted).featureCount() == result["UNITS"]
    assert all(f["COUNT_BEFORE"] + f["COUNT_AFTER"] == f["incident_count"] for f in rows)
    assert result["TOTAL_BEFORE"] + result["TOTAL_AFTER"] == sum(f["incident_count"] for f in rows)
    # a rerun on its own output replaces its fields: each appears once
    again = run({"INPUT": INCIDENTS, "UNITS": result["OUTPUT"], **periods, "OUTPUT": str(tmp_path / "again.gpkg")})
    layer, rerun = features(again["OUTPUT"])
    assert layer.fields().names().count("CHANGE") == 1 and layer.fields().names().count("COUNT_BEFORE") == 1
    assert [f["CHANGE"] for f in rerun] == [f["CHANGE"] for f in rows]


def test_sample_city_hot_spot_cells_as_units(tmp_path):
    import processing

    cells = processing.run(
        "hotspotpolicing:optimizedhotspots",
        {
            "INPUT": INCIDENTS,
            "STUDY_AREA": f"{SAMPLE_CITY}|layername=study_area",
            "CELL_SHAPE": 0,
            "CELL_SIZE": 250.0,
            "OUTPUT": str(tmp_path / "ohs.gpkg"),
        },
    )["OUTPUT"]
    periods = {"BEFORE_START": "2023-01-01", "BEFORE_END": "2023-12-31", "AFTER_START": "2025-01-01", "AFTER_END": "2025-06-30"}
    result = run({"INPUT": INCIDENTS, "UNITS": cells, **periods, "OUTPUT": str(tmp_path / "change.gpkg")})
    layer, rows = features(result["OUTPUT"])
    assert "Gi_Bin" in layer.fields().names() and layer.renderer().classAttribute() == "CHANGE"
    # counted here: incidents of each period inside the square cells' boxes
    boxes = np.array(
        [
            [
                f.geometry().boundingBox().xMinimum(),
                f.geometry().boundingBox().xMaximum(),
                f.geometry().boundingBox().yMinimum(),
                f.geometry().boundingBox().yMaximum(),
            ]
            for f in rows
        ]
    )
    dataset = ogr.Open(SAMPLE_CITY)
    incidents = dataset.GetLayerByName("incidents")
    points = [(f.GetGeometryRef().GetX(), f.GetGeometryRef().GetY(), f.GetField("occurred_at")[:10].replace("/", "-")) for f in incidents]
    x, y = np.array([p[0] for p in points]), np.array([p[1] for p in points])
    dates = np.array([p[2] for p in points])
    inside = ((x[:, None] >= boxes[:, 0]) & (x[:, None] <= boxes[:, 1]) & (y[:, None] >= boxes[:, 2]) & (y[:, None] <= boxes[:, 3])).any(
        axis=1
    )
    assert result["TOTAL_BEFORE"] == int((inside & (dates >= "2023-01-01") & (dates <= "2023-12-31")).sum()) > 0
    assert result["TOTAL_AFTER"] == int((inside & (dates >= "2025-01-01") & (dates <= "2025-06-30")).sum()) > 0
    # the planted emerging hot spots rose; the fading ones fell
    planted = dataset.GetLayerByName("planted_hotspots")
    for spot in planted:
        kind, cx, cy = spot.GetField("kind"), spot.GetField("centre_x"), spot.GetField("centre_y")
        cell = next(layer.getFeatures(f"intersects($geometry, make_point({cx}, {cy}))"))
        if kind == "emerging":
            assert cell["CHANGE"] == "Significant increase"
        if kind == "fading":
            assert cell["CHANGE"] == "Significant decrease"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"BEFORE_END": None}, r"BEFORE_END"),
        ({"AFTER_START": ""}, r"AFTER_START"),
        ({"BEFORE_START": "2024-04-01"}, r"before period ends .*BEFORE_END.* before it starts"),
        ({"AFTER_END": "2024-05-01"}, r"after period ends .*AFTER_END"),
        ({"AFTER_START": "2024-03-31"}, r"periods overlap.*2024-03-31.*BEFORE_END"),
        (
            {"BEFORE_START": "2024-06-01", "BEFORE_END": "2024-06-30", "AFTER_START": "2024-01-01", "AFTER_END": "2024-03-31"},
            "swap",
        ),
        ({"ALPHA": 0.0}, "ALPHA"),
        ({"ALPHA": 1.0}, "ALPHA"),
        ({"TIME_FIELD": "reported_at"}, "no field 'reported_at'"),
        ({"UNIT_ID_FIELD": "nope"}, "no field 'nope'"),
        (
            {"BEFORE_START": "2020-01-01", "BEFORE_END": "2020-12-31", "AFTER_START": "2021-01-01", "AFTER_END": "2021-12-31"},
            "either period",
        ),
    ],
)
def test_bad_input_is_refused_naming_what_to_change(planted, tmp_path, changes, message):
    units, incidents, _, _ = planted_world(tmp_path)
    output = tmp_path / "change.gpkg"
    parameters = {"INPUT": incidents, "UNITS": units, **PERIODS, "OUTPUT": str(output)}
    for key, value in changes.items():
        if value is None:
            parameters.pop(key)
        else:
            parameters[key] = value
    with pytest.raises(QgsProcessingException, match=message):
        run(parameters)
    assert not output.exists()


def test_units_must_be_polygons_or_lines_and_incidents_points(tmp_path):
    units, incidents, _, _ = planted_world(tmp_path)
    with pytest.raises(QgsProcessingException, match="holds point geometries"):
        run({"INPUT": incidents, "UNITS": incidents, **PERIODS, "OUTPUT": str(tmp_path / "a.gpkg")})
    with pytest.raises(QgsProcessingException, match="holds polygon geometries"):
        run({"INPUT": units, "UNITS": units, **PERIODS, "OUTPUT": str(tmp_path / "b.gpkg")})
    far = write_squares(tmp_path / "far.gpkg")
    moved = QgsVectorLayer(far)
    moved.startEditing()
    for feature in moved.getFeatures():
        geometry = feature.geometry()
        geometry.translate(1e5, 1e5)
        moved.changeGeometry(feature.id(), geometry)
    moved.commitChanges()
    del moved  # an edited layer left for the interpreter's exit crashes QGIS there
    with pytest.raises(QgsProcessingException, match="None of the .* incidents .* lies in a unit"):
        run({"INPUT": incidents, "UNITS": far, **PERIODS, "OUTPUT": str(tmp_path / "c.gpkg")})
    assert not (tmp_path / "c.gpkg").exists()


def test_periods_beyond_the_data_are_flagged(planted, tmp_path):
    from qgis.core import QgsProcessingContext, QgsProcessingFeedback

    units, incidents, _, _ = planted_world(tmp_path)

    class Log(QgsProcessingFeedback):
        def __init__(self):
            super().__init__()
            self.warnings = []

        def pushWarning(self, warning):  # noqa: N802 - QGIS API
            self.warnings.append(warning)

    feedback = Log()
    import processing

    processing.run(
        "hotspotpolicing:changetest",
        {"INPUT": incidents, "UNITS": units, **PERIODS, "AFTER_END": "2024-12-31", "OUTPUT": "memory:"},
        context=QgsProcessingContext(),
        feedback=feedback,
    )
    assert any("after period" in w and "reaches beyond" in w for w in feedback.warnings)


def test_geographic_layers_are_measured_in_metres(tmp_path):
    import processing

    periods = {"BEFORE_START": "2024-01-01", "BEFORE_END": "2024-12-31", "AFTER_START": "2025-01-01", "AFTER_END": "2025-12-31"}
    geographic = {}
    for name in ("incidents", "streets"):
        geographic[name] = processing.run(
            "native:reprojectlayer",
            {"INPUT": f"{SAMPLE_CITY}|layername={name}", "TARGET_CRS": "EPSG:4326", "OUTPUT": str(tmp_path / f"{name}.gpkg")},
        )["OUTPUT"]
    projected = run({"INPUT": INCIDENTS, "UNITS": f"{SAMPLE_CITY}|layername=streets", **periods, "OUTPUT": str(tmp_path / "a.gpkg")})
    degrees = run({"INPUT": geographic["incidents"], "UNITS": geographic["streets"], **periods, "OUTPUT": str(tmp_path / "b.gpkg")})
    _, expected = features(projected["OUTPUT"])
    _, got = features(degrees["OUTPUT"])
    assert [(f["COUNT_BEFORE"], f["COUNT_AFTER"], f["CHANGE"]) for f in got] == [
        (f["COUNT_BEFORE"], f["COUNT_AFTER"], f["CHANGE"]) for f in expected
    ]


def test_the_change_layer_is_shown_while_the_temporal_controller_is_within_the_periods(tmp_path):
    """Stored with the output: the style, and the two periods as the layer's time range."""
    import processing
    from qgis.core import Qgis, QgsVectorLayer
    from qgis.PyQt.QtCore import QDate

    from .conftest import SAMPLE_CITY

    out = processing.run(
        "hotspotpolicing:changetest",
        {
            "INPUT": f"{SAMPLE_CITY}|layername=incidents",
            "UNITS": f"{SAMPLE_CITY}|layername=beats",
            "BEFORE_START": "2024-01-01",
            "BEFORE_END": "2024-06-30",
            "AFTER_START": "2025-01-01",
            "AFTER_END": "2025-06-30",
            "OUTPUT": str(tmp_path / "change.gpkg"),
        },
    )["OUTPUT"]
    layer = QgsVectorLayer(out)
    layer.loadDefaultStyle()  # QGIS 3.22 resets a file layer's temporal settings after its default style
    properties = layer.temporalProperties()
    assert properties.isActive() and properties.mode() == Qgis.VectorTemporalMode.FixedTemporalRange
    span = properties.fixedTemporalRange()
    assert span.begin().date() == QDate(2024, 1, 1) and span.end().date() == QDate(2025, 7, 1)
