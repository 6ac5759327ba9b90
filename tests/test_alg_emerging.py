"""hotspotpolicing:emerginghotspots end to end: a cube with planted patterns in zones of a
GeoPackage, checked against a space-time Gi* written out here from its definition; the
sample city's planted hot spots; the period rules; bad input."""

import calendar
import datetime

import numpy as np
import pytest
from osgeo import ogr, osr
from qgis.core import NULL, QgsProcessingException, QgsVectorLayer
from scipy import stats

from .conftest import SAMPLE_CITY

pytestmark = pytest.mark.usefixtures("provider")
INCIDENTS = f"{SAMPLE_CITY}|layername=incidents"
SIDE, MONTHS, CELL = 10, 24, 100.0


def run(parameters):
    import processing

    return processing.run("hotspotpolicing:emerginghotspots", {"OUTPUT": "memory:", **parameters})


def planted_counts():
    """Counts per zone (row-major in a 10 x 10 grid) and month: background 1-3, a persistent
    zone, a new one, one that grows, one that fades, and one empty zone."""
    rng = np.random.default_rng(7)
    counts = rng.integers(1, 4, size=(SIDE * SIDE, MONTHS))
    counts[22] = 80  # persistent
    counts[77, :-3] = rng.integers(0, 2, MONTHS - 3)  # quiet, then busy in the last three months
    counts[77, -3:] = 90
    counts[27] = np.linspace(2, 120, MONTHS).round()  # growing
    counts[99] = 0  # never an incident
    return counts


def write_world(folder, counts):
    """Zones (squares with a text id) and incidents at mid-month, in one GeoPackage."""
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32630)
    path = str(folder / "world.gpkg")
    dataset = ogr.GetDriverByName("GPKG").CreateDataSource(path)
    zones = dataset.CreateLayer("zones", srs, ogr.wkbPolygon)
    zones.CreateField(ogr.FieldDefn("beat", ogr.OFTString))
    for i in range(SIDE * SIDE):
        x, y = (i % SIDE) * CELL, (i // SIDE) * CELL
        feature = ogr.Feature(zones.GetLayerDefn())
        feature.SetField("beat", f"Z{i:02d}")
        feature.SetGeometry(ogr.CreateGeometryFromWkt(f"POLYGON (({x} {y},{x + CELL} {y},{x + CELL} {y + CELL},{x} {y + CELL},{x} {y}))"))
        zones.CreateFeature(feature)
    incidents = dataset.CreateLayer("incidents", srs, ogr.wkbPoint)
    incidents.CreateField(ogr.FieldDefn("occurred_at", ogr.OFTDateTime))
    incidents.StartTransaction()
    rng = np.random.default_rng(3)
    for i in range(SIDE * SIDE):
        for month in range(MONTHS):
            for _ in range(counts[i, month]):
                feature = ogr.Feature(incidents.GetLayerDefn())
                x, y = (i % SIDE + rng.uniform(0.1, 0.9)) * CELL, (i // SIDE + rng.uniform(0.1, 0.9)) * CELL
                feature.SetField("occurred_at", 2024 + month // 12, month % 12 + 1, int(rng.integers(1, 29)), 13, 30, 0, 0)
                feature.SetGeometry(ogr.CreateGeometryFromWkt(f"POINT ({x} {y})"))
                incidents.CreateFeature(feature)
    incidents.CommitTransaction()
    dataset = None
    return f"{path}|layername=zones", f"{path}|layername=incidents"


def reference_z(counts, analysed, distance, steps_back):
    """Gi* of every bin of the analysed zones' cube with the weights written out in full."""
    rows, cols = np.divmod(np.arange(SIDE * SIDE), SIDE)
    places = np.flatnonzero(analysed)
    x = counts[places].astype(float)
    n_loc, n_steps = x.shape
    centre = np.column_stack([cols[places], rows[places]]) * CELL
    near = np.hypot(*(centre[:, None, :] - centre[None, :, :]).transpose(2, 0, 1)) <= distance + 1e-9
    lag_time = np.arange(n_steps)[:, None] - np.arange(n_steps)[None, :]
    in_time = (lag_time >= 0) & (lag_time <= steps_back)
    weights = (near[:, None, :, None] & in_time[None, :, None, :]).reshape(n_loc * n_steps, n_loc * n_steps).astype(float)
    values = x.ravel()
    n = len(values)
    mean, spread = values.mean(), values.std()
    w = weights.sum(axis=1)
    z = (weights @ values - mean * w) / (spread * np.sqrt((n * w - w**2) / (n - 1)))
    return z.reshape(n_loc, n_steps)


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    counts = planted_counts()
    zones, incidents = write_world(tmp_path_factory.mktemp("emerging"), counts)
    folder = tmp_path_factory.mktemp("out")
    result = run(
        {
            "INPUT": incidents,
            "ZONES": zones,
            "ZONE_ID_FIELD": "beat",
            "NEIGHBORHOOD_DISTANCE": 150.0,
            "END": "2025-12-31",
            "OUTPUT": str(folder / "patterns.gpkg"),
            "OUTPUT_CUBE": str(folder / "cube.gpkg"),
            "OUTPUT_HTML": str(folder / "summary.html"),
        }
    )
    return counts, result


def test_cube_z_scores_equal_the_written_out_formula(planted):
    counts, result = planted
    analysed = counts.sum(axis=1) > 0
    expected = reference_z(counts, analysed, 150.0, 1)
    cube = QgsVectorLayer(result["OUTPUT_CUBE"])
    got = {}
    for feature in cube.getFeatures():
        got.setdefault(feature["beat"], []).append((feature["STEP_START"].toPyDateTime(), feature["GiZScore"], feature["COUNT"]))
    assert cube.featureCount() == analysed.sum() * MONTHS
    for row, zone in enumerate(np.flatnonzero(analysed)):
        series = sorted(got[f"Z{zone:02d}"])
        assert [s[0] for s in series][:2] == [datetime.datetime(2024, 1, 1), datetime.datetime(2024, 2, 1)]
        assert [s[2] for s in series] == list(counts[zone])
        assert np.allclose([s[1] for s in series], expected[row], atol=1e-9)


def test_cube_bins_follow_benjamini_hochberg_over_all_bins(planted):
    counts, result = planted
    cube = QgsVectorLayer(result["OUTPUT_CUBE"])
    z = np.array([f["GiZScore"] for f in cube.getFeatures()])
    bins = np.array([f["Gi_Bin"] for f in cube.getFeatures()])
    p = 2 * stats.norm.sf(np.abs(z))
    order = np.sort(p)
    m = len(p)
    expected = np.zeros(m, dtype=int)
    for level, alpha in ((1, 0.10), (2, 0.05), (3, 0.01)):
        passing = np.flatnonzero(order <= alpha * np.arange(1, m + 1) / m)
        if len(passing):
            expected[p <= order[passing[-1]]] = level
    assert np.array_equal(bins, expected * np.sign(z).astype(int))


def test_planted_patterns(planted):
    counts, result = planted
    patterns = {f["beat"]: f for f in QgsVectorLayer(result["OUTPUT"]).getFeatures()}
    assert len(patterns) == SIDE * SIDE
    assert patterns["Z22"]["PATTERN"] == "Persistent Hot Spot" and patterns["Z22"]["PATTERN_CODE"] == 4
    assert patterns["Z22"]["HOT_STEPS"] >= 0.9 * MONTHS
    assert patterns["Z77"]["PATTERN"] == "Consecutive Hot Spot"
    assert patterns["Z27"]["PATTERN"] == "Intensifying Hot Spot" or patterns["Z27"]["PATTERN"] == "Consecutive Hot Spot"
    assert patterns["Z27"]["TREND_Z"] > 1.96
    empty = patterns["Z99"]
    assert empty["PATTERN"] == "No Pattern Detected" and empty["INCIDENT_COUNT"] == 0 and empty["TREND_Z"] == NULL
    assert sum(f["INCIDENT_COUNT"] for f in patterns.values()) == counts.sum() == result["INCIDENT_COUNT"]
    assert result["STEP_COUNT"] == MONTHS and result["LOCATION_COUNT"] == SIDE * SIDE - 1


def test_trend_is_mann_kendall_of_the_z_series(planted):
    counts, result = planted
    analysed = counts.sum(axis=1) > 0
    expected = reference_z(counts, analysed, 150.0, 1)
    patterns = {f["beat"]: f for f in QgsVectorLayer(result["OUTPUT"]).getFeatures()}
    for row, zone in enumerate(np.flatnonzero(analysed)[:6]):
        series = expected[row]
        s = sum(np.sign(series[j] - series[i]) for i in range(MONTHS) for j in range(i + 1, MONTHS))
        _, ties = np.unique(series.round(12), return_counts=True)
        variance = (MONTHS * (MONTHS - 1) * (2 * MONTHS + 5) - (ties * (ties - 1) * (2 * ties + 5)).sum()) / 18
        z = (s - np.sign(s)) / np.sqrt(variance)
        assert patterns[f"Z{zone:02d}"]["TREND_Z"] == pytest.approx(z, abs=1e-9)


def test_outputs_open_styled_and_animated(planted, tmp_path):
    import processing
    from qgis.core import QgsProject

    _, result = planted
    layer = QgsVectorLayer(result["OUTPUT"])
    assert layer.renderer().type() == "categorizedSymbol" and layer.renderer().classAttribute() == "PATTERN_CODE"
    labels = {c.label() for c in layer.renderer().categories()}
    assert {"New Hot Spot", "Historical Cold Spot", "No Pattern Detected"} <= labels and len(labels) == 17
    cube = QgsVectorLayer(result["OUTPUT_CUBE"])
    cube.loadDefaultStyle()  # QGIS 3.22 resets a file layer's temporal settings after its default style
    assert cube.temporalProperties().isActive()
    assert (cube.temporalProperties().startField(), cube.temporalProperties().endField()) == ("STEP_START", "STEP_END")
    report = open(result["OUTPUT_HTML"], encoding="utf-8").read()
    assert "Persistent Hot Spot" in report and "data:image/png;base64" in report
    # loaded by the run itself, as the toolbox does: animated at once
    zones, incidents = write_world(tmp_path, planted_counts())
    loaded = processing.runAndLoadResults(
        "hotspotpolicing:emerginghotspots",
        {"INPUT": incidents, "ZONES": zones, "END": "2025-12-31", "OUTPUT": "memory:", "OUTPUT_CUBE": str(tmp_path / "cube.gpkg")},
    )
    animated = next(layer for layer in QgsProject.instance().mapLayers().values() if layer.source().startswith(loaded["OUTPUT_CUBE"]))
    try:
        assert animated.temporalProperties().isActive() and animated.temporalProperties().startField() == "STEP_START"
    finally:
        QgsProject.instance().removeAllMapLayers()


def test_sample_city_planted_hot_spots():
    result = run({"INPUT": INCIDENTS, "CELL_SHAPE": 0, "CELL_SIZE": 100.0, "STUDY_AREA": f"{SAMPLE_CITY}|layername=study_area"})
    layer = result["OUTPUT"]
    assert result["STEP_COUNT"] == 36
    dataset = ogr.Open(SAMPLE_CITY)  # kept open while its layer is read
    planted = dataset.GetLayerByName("planted_hotspots")
    truth = {f.GetField("name"): (f.GetField("kind"), f.GetField("centre_x"), f.GetField("centre_y")) for f in planted}
    for name, (kind, x, y) in truth.items():
        cell = next(layer.getFeatures(f"intersects($geometry, make_point({x}, {y}))"))
        if kind == "persistent":
            assert cell["PATTERN"] == "Persistent Hot Spot", name
        if kind == "emerging":  # quiet for 17 months, then rising: hot at the end, with a rising trend
            assert cell["PATTERN_CODE"] in (2, 3, 6) and cell["TREND_Z"] > 1.96, name
        if kind == "fading":  # hot in 2023, quiet since 2025: not a current hot spot, falling
            assert cell["PATTERN_CODE"] <= 0 and cell["TREND_Z"] < -1.96, name


def epoch(year, month, day):
    return calendar.timegm((year, month, day, 0, 0, 0))


def test_period_start_end_and_partial_last_step(planted, tmp_path):
    counts = planted_counts()
    zones, incidents = write_world(tmp_path, counts)
    result = run({"INPUT": incidents, "ZONES": zones, "START": "2024-03-15", "END": "2025-06-20", "NEIGHBORHOOD_DISTANCE": 150.0})
    assert result["STEP_COUNT"] == 15  # March 2024 (from the 1st) to May 2025; June 2025 is cut short
    kept = counts[:, 2:17].sum()
    assert result["INCIDENT_COUNT"] == kept
    with pytest.raises(QgsProcessingException, match="at least 10"):
        run({"INPUT": incidents, "ZONES": zones, "TIME_UNIT": 3})  # two years


def test_refusals(tmp_path):
    counts = planted_counts()
    zones, incidents = write_world(tmp_path, counts)
    with pytest.raises(QgsProcessingException, match="ends .* before it starts"):
        run({"INPUT": incidents, "ZONES": zones, "START": "2025-01-01", "END": "2024-01-01"})
    with pytest.raises(QgsProcessingException, match="nope"):
        run({"INPUT": incidents, "ZONES": zones, "ZONE_ID_FIELD": "nope"})
    with pytest.raises(QgsProcessingException, match="at least 10"):  # a step longer than the data's span
        run({"INPUT": incidents, "ZONES": zones, "TIME_STEP": 3, "TIME_UNIT": 2})
    with pytest.raises(QgsProcessingException, match="input"):  # the output would overwrite the input's file
        run({"INPUT": incidents, "ZONES": zones, "OUTPUT": incidents.split("|")[0]})
    assert QgsVectorLayer(incidents).featureCount() == counts.sum()


def test_unreadable_and_missing_times(tmp_path):
    import processing

    counts = planted_counts()
    zones, incidents = write_world(tmp_path, counts)
    text = processing.run(
        "native:fieldcalculator",
        {
            "INPUT": incidents,
            "FIELD_NAME": "when",
            "FIELD_TYPE": 2,
            "FORMULA": "if($id = 7, 'last Tuesday', to_string(occurred_at))",
            "OUTPUT": str(tmp_path / "text.gpkg"),
        },
    )["OUTPUT"]
    with pytest.raises(QgsProcessingException, match="last Tuesday.*feature 7"):
        run({"INPUT": text, "TIME_FIELD": "when", "ZONES": zones})
    with pytest.raises(QgsProcessingException, match="no field 'reported'"):
        run({"INPUT": incidents, "TIME_FIELD": "reported", "ZONES": zones})


def test_permutations_repeat_with_a_seed(tmp_path):
    """Conditional permutations hold a bin's own value fixed: a lone busy zone among quiet
    ones is not significant (as in esda and sfdep), a busy block of zones is."""
    counts = planted_counts()
    for zone in (44, 45, 46, 54, 55, 56, 64, 65, 66):
        counts[zone] = 40
    zones, incidents = write_world(tmp_path, counts)
    parameters = {"INPUT": incidents, "ZONES": zones, "NEIGHBORHOOD_DISTANCE": 150.0, "PERMUTATIONS": 999, "SEED": 5}
    first = [f["PATTERN"] for f in run(parameters)["OUTPUT"].getFeatures()]
    again = [f["PATTERN"] for f in run(parameters)["OUTPUT"].getFeatures()]
    assert first == again
    assert first[55] == "Persistent Hot Spot"
