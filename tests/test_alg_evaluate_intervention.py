"""hotspotpolicing:evaluateintervention end to end: targets, catchment and controls made of
rectangles, segments and points, incidents counted again here by plain distances, and RES,
its interval, WDQ and TNE computed here from their published formulas; the inclusive END,
periods of different lengths, zero counts (which figure is left out and why); the sample
city's plans, Gi* hot spots and counted segments as targets; bad input."""

import datetime
import math

import numpy as np
import pytest
from osgeo import ogr
from qgis.core import QgsProcessingContext, QgsProcessingException, QgsProcessingFeedback, QgsVectorLayer

from .conftest import SAMPLE_CITY
from .test_alg_change_test import random_times, srs, write_points

pytestmark = pytest.mark.usefixtures("provider")
INCIDENTS = f"{SAMPLE_CITY}|layername=incidents"
# before: 182 days, after: 61 days, with a gap between them
PERIODS = {"BEFORE_START": "2024-01-01", "BEFORE_END": "2024-06-30", "AFTER_START": "2024-09-01", "AFTER_END": "2024-10-31"}
BEFORE = (datetime.date(2024, 1, 1), datetime.date(2024, 6, 30))
AFTER = (datetime.date(2024, 9, 1), datetime.date(2024, 10, 31))
TARGETS = [(1000, 1000, 1100, 1100), (1400, 1000, 1500, 1150)]  # their 200 m rings overlap
CONTROLS = [(3000, 3000, 3500, 3500), (0, 2500, 300, 2800), (1000, 1250, 1100, 1500)]  # the last reaches into the catchment
STUDY_AREA = [(0, 0, 4000, 4000)]
CITY_PERIODS = {"BEFORE_START": "2024-01-01", "BEFORE_END": "2024-12-31", "AFTER_START": "2025-01-01", "AFTER_END": "2025-12-31"}


def run(parameters, feedback=None):
    import processing

    return processing.run("hotspotpolicing:evaluateintervention", parameters, context=QgsProcessingContext(), feedback=feedback)


class Log(QgsProcessingFeedback):
    def __init__(self):
        super().__init__()
        self.warnings, self.infos = [], []

    def pushWarning(self, warning):  # noqa: N802 - QGIS API
        self.warnings.append(warning)

    def pushInfo(self, info):  # noqa: N802 - QGIS API
        self.infos.append(info)


def write_shapes(path, layer_name, wkts, kind=ogr.wkbPolygon, fields=()):
    dataset = ogr.GetDriverByName("GPKG").CreateDataSource(str(path)) if not path.exists() else ogr.Open(str(path), 1)
    layer = dataset.CreateLayer(layer_name, srs(), kind)
    for name, field_type, _ in fields:
        layer.CreateField(ogr.FieldDefn(name, field_type))
    for i, wkt in enumerate(wkts):
        feature = ogr.Feature(layer.GetLayerDefn())
        for name, _, values in fields:
            feature.SetField(name, values[i])
        feature.SetGeometry(ogr.CreateGeometryFromWkt(wkt))
        layer.CreateFeature(feature)
    dataset = None
    return f"{path}|layername={layer_name}"


def rectangle(x0, y0, x1, y1):
    return f"POLYGON (({x0} {y0},{x1} {y0},{x1} {y1},{x0} {y1},{x0} {y0}))"


def distance_to_rectangles(x, y, rectangles):
    """The distance from each point to the nearest rectangle (0 inside or on its edge)."""
    best = np.full(len(x), np.inf)
    for x0, y0, x1, y1 in rectangles:
        dx = np.maximum.reduce([x0 - x, np.zeros(len(x)), x - x1])
        dy = np.maximum.reduce([y0 - y, np.zeros(len(y)), y - y1])
        best = np.minimum(best, np.hypot(dx, dy))
    return best


def inside_rectangles(x, y, rectangles):
    return distance_to_rectangles(x, y, rectangles) == 0


def distance_to_segments(x, y, segments):
    best = np.full(len(x), np.inf)
    for (ax, ay), (bx, by) in segments:
        t = np.clip(((x - ax) * (bx - ax) + (y - ay) * (by - ay)) / ((bx - ax) ** 2 + (by - ay) ** 2), 0, 1)
        best = np.minimum(best, np.hypot(x - (ax + t * (bx - ax)), y - (ay + t * (by - ay))))
    return best


def period_of(times):
    """0 before, 1 after, -1 neither, by the dates alone (both ends included)."""
    return np.array([0 if BEFORE[0] <= t.date() <= BEFORE[1] else 1 if AFTER[0] <= t.date() <= AFTER[1] else -1 for t in times])


def by_hand(rb, ra, db, da, cb, ca):
    """RES, its 95 % interval, WDQ and TNE from their published formulas."""
    res = (rb * ca) / (ra * cb)
    se = math.sqrt(1 / ra + 1 / rb + 1 / ca + 1 / cb)
    wdq = (da / ca - db / cb) / (ra / ca - rb / cb)
    tne = (rb * ca / cb - ra) + (db * ca / cb - da)
    return {
        "RES": res,
        "RES_LOW": math.exp(math.log(res) - 1.959964 * se),
        "RES_HIGH": math.exp(math.log(res) + 1.959964 * se),
        "WDQ": wdq,
        "TNE": tne,
    }


def incidents_world(folder, rng, size=9000, keep=None):
    """Incidents all over the square, denser in the targets, at random times of the two
    periods, the gap between them and after them; none within half a metre of a ring's edge
    (a buffer is a polygon through its circle: 6 cm off at most)."""
    x = np.concatenate([rng.uniform(-200, 4200, size), rng.uniform(1000, 1100, 500), rng.uniform(1400, 1500, 400)])
    y = np.concatenate([rng.uniform(-200, 4200, size), rng.uniform(1000, 1100, 500), rng.uniform(1000, 1150, 400)])
    clear = np.abs(distance_to_rectangles(x, y, TARGETS) - 200) > 0.5
    if keep is not None:
        clear &= keep(x, y)
    x, y = x[clear], y[clear]
    spans = [
        BEFORE,
        AFTER,
        (datetime.date(2024, 7, 1), datetime.date(2024, 8, 31)),
        (datetime.date(2024, 11, 1), datetime.date(2024, 12, 31)),
    ]
    which = rng.integers(0, len(spans), len(x))
    times = [random_times(rng, *spans[w], 1)[0] for w in which]
    # the periods' edges: in a target, one second either side of each boundary
    edges = [
        datetime.datetime(2023, 12, 31, 23, 59, 59),
        datetime.datetime(2024, 1, 1),
        datetime.datetime(2024, 6, 30, 23, 59, 59),
        datetime.datetime(2024, 7, 1),
        datetime.datetime(2024, 8, 31, 23, 59, 59),
        datetime.datetime(2024, 9, 1),
        datetime.datetime(2024, 10, 31, 23, 59, 59),
        datetime.datetime(2024, 11, 1),
    ]
    x, y = np.append(x, [1050.5] * len(edges)), np.append(y, [1050.5] * len(edges))
    times += edges
    return write_points(folder / "incidents.gpkg", list(zip(x, y)), times), x, y, times


def counts_here(x, y, times, target_distance, in_controls, catchment=200.0):
    """The six counts by plain distances: targets at distance 0, catchment up to
    ``catchment``, controls inside them and farther."""
    period = period_of(times)
    zone = np.where(target_distance == 0, 0, np.where(target_distance <= catchment, 1, np.where(in_controls, 2, -1)))
    return {
        f"{letter}_{when}": int(((zone == z) & (period == p)).sum())
        for z, letter in enumerate("RDC")
        for p, when in enumerate(("BEFORE", "AFTER"))
    }


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    folder = tmp_path_factory.mktemp("intervention")
    rng = np.random.default_rng(21)
    incidents, x, y, times = incidents_world(folder, rng)
    targets = write_shapes(folder / "areas.gpkg", "targets", [rectangle(*r) for r in TARGETS])
    controls = write_shapes(folder / "areas.gpkg", "controls", [rectangle(*r) for r in CONTROLS])
    study_area = write_shapes(folder / "areas.gpkg", "study_area", [rectangle(*r) for r in STUDY_AREA])
    return folder, incidents, targets, controls, study_area, x, y, times


def test_counts_and_figures_equal_the_formulas_by_hand(world, tmp_path):
    folder, incidents, targets, controls, _, x, y, times = world
    log = Log()
    report = tmp_path / "report.html"
    result = run(
        {
            "TARGETS": targets,
            "CONTROLS": controls,
            "INCIDENTS": incidents,
            **PERIODS,
            "OUTPUT_HTML": str(report),
            "OUTPUT_AREAS": str(tmp_path / "areas.gpkg"),
        },
        log,
    )
    distance = distance_to_rectangles(x, y, TARGETS)
    expected = counts_here(x, y, times, distance, inside_rectangles(x, y, CONTROLS))
    assert {key: result[key] for key in expected} == expected
    assert min(expected.values()) > 20
    assert all(type(result[key]) is int for key in expected)
    figures = by_hand(*(expected[k] for k in ("R_BEFORE", "R_AFTER", "D_BEFORE", "D_AFTER", "C_BEFORE", "C_AFTER")))
    for key, value in figures.items():
        assert type(result[key]) is float and result[key] == pytest.approx(value, rel=1e-12), key
    assert any("control areas lie within the targets or their catchment" in w for w in log.warnings)
    text = report.read_text(encoding="utf-8")
    for source in ("Farrington &amp; Welsh", "Bowers &amp; Johnson (2003)", "Guerette (2009)"):
        assert source in text
    assert "The periods differ in length" in text and "182" in text and "61" in text
    areas = QgsVectorLayer(str(tmp_path / "areas.gpkg"), "areas", "ogr")
    rows = {f["zone"]: f for f in areas.getFeatures()}
    assert rows["Targets"].geometry().area() == pytest.approx(100 * 100 + 100 * 150)
    assert rows["Controls"]["COUNT_BEFORE"] == expected["C_BEFORE"] and rows["Catchment"]["COUNT_AFTER"] == expected["D_AFTER"]
    assert areas.renderer().type() == "categorizedSymbol" and areas.renderer().classAttribute() == "zone"


def test_without_controls_the_rest_of_the_study_area_compares(world):
    _, incidents, targets, _, study_area, x, y, times = world
    result = run({"TARGETS": targets, "STUDY_AREA": study_area, "INCIDENTS": incidents, **PERIODS})
    expected = counts_here(x, y, times, distance_to_rectangles(x, y, TARGETS), inside_rectangles(x, y, STUDY_AREA))
    assert {key: result[key] for key in expected} == expected
    figures = by_hand(*expected.values())
    assert {key: result[key] for key in figures} == pytest.approx(figures, rel=1e-12)


def test_end_dates_include_their_whole_day(world):
    _, incidents, targets, controls, _, x, y, times = world
    result = run({"TARGETS": targets, "CONTROLS": controls, "INCIDENTS": incidents, **PERIODS})
    plain = [
        t
        for px, py, t in zip(x, y, times)
        if inside_rectangles(np.array([px]), np.array([py]), TARGETS)[0] and (px, py) != (1050.5, 1050.5)
    ]
    # of the eight edge incidents, 2024-01-01 00:00:00 and 2024-06-30 23:59:59 count before, 09-01 and 10-31 23:59:59 after
    assert result["R_BEFORE"] == sum(BEFORE[0] <= t.date() <= BEFORE[1] for t in plain) + 2
    assert result["R_AFTER"] == sum(AFTER[0] <= t.date() <= AFTER[1] for t in plain) + 2


def test_a_wider_catchment_takes_from_the_controls(world):
    _, incidents, targets, _, study_area, x, y, times = world
    distance = distance_to_rectangles(x, y, TARGETS)
    result = run({"TARGETS": targets, "STUDY_AREA": study_area, "INCIDENTS": incidents, "CATCHMENT_DISTANCE": 350.0, **PERIODS})
    expected = counts_here(x, y, times, distance, inside_rectangles(x, y, STUDY_AREA), 350.0)
    unsure = int((np.abs(distance - 350) <= 0.1).sum())  # where the buffer's polygon and the circle part
    assert result["R_BEFORE"] == expected["R_BEFORE"] and result["R_AFTER"] == expected["R_AFTER"]
    for key in ("D_BEFORE", "D_AFTER", "C_BEFORE", "C_AFTER"):
        assert abs(result[key] - expected[key]) <= unsure, key
    narrow = run({"TARGETS": targets, "STUDY_AREA": study_area, "INCIDENTS": incidents, **PERIODS})
    assert result["D_BEFORE"] > narrow["D_BEFORE"] and result["C_BEFORE"] < narrow["C_BEFORE"]


@pytest.mark.parametrize("kind", ["lines", "points"])
def test_street_segments_and_points_are_buffered_by_the_tolerance(tmp_path, kind):
    segments = [((1000.0, 1000.0), (1300.0, 1000.0)), ((1300.0, 1000.0), (1300.0, 1250.0))]
    points = [(2000.0, 2000.0), (2100.0, 2000.0)]
    rng = np.random.default_rng(4)

    def distance(px, py):
        if kind == "lines":
            return distance_to_segments(px, py, segments)
        return distance_to_segments(px, py, [(p, (p[0] + 1e-9, p[1])) for p in points])

    def clear(px, py):  # away from the two edges the buffers draw
        d = distance(px, py)
        return (np.abs(d - 25) > 0.5) & (np.abs(d - 225) > 0.5)

    incidents, x, y, times = incidents_world(tmp_path, rng, keep=clear)
    if kind == "lines":
        wkts = [f"LINESTRING ({a[0]} {a[1]}, {b[0]} {b[1]})" for a, b in segments]
        targets = write_shapes(tmp_path / "t.gpkg", "targets", wkts, ogr.wkbLineString)
    else:
        targets = write_shapes(tmp_path / "t.gpkg", "targets", [f"POINT ({px} {py})" for px, py in points], ogr.wkbPoint)
    study_area = write_shapes(tmp_path / "t.gpkg", "area", [rectangle(*STUDY_AREA[0])])
    result = run({"TARGETS": targets, "STUDY_AREA": study_area, "INCIDENTS": incidents, "SNAP_TOLERANCE": 25.0, **PERIODS})
    d = distance(x, y)
    period = period_of(times)
    zone = np.where(d <= 25, 0, np.where(d <= 225, 1, np.where(inside_rectangles(x, y, STUDY_AREA), 2, -1)))
    expected = {
        f"{letter}_{when}": int(((zone == z) & (period == p)).sum())
        for z, letter in enumerate("RDC")
        for p, when in enumerate(("BEFORE", "AFTER"))
    }
    assert {key: result[key] for key in expected} == expected


def test_zero_counts_leave_out_the_figures_they_make_impossible(tmp_path):
    # targets and controls far apart; the controls have incidents only before
    targets = write_shapes(tmp_path / "a.gpkg", "targets", [rectangle(0, 0, 100, 100)])
    controls = write_shapes(tmp_path / "a.gpkg", "controls", [rectangle(1000, 0, 1100, 100)])
    day_before, day_after = datetime.datetime(2024, 3, 1, 12), datetime.datetime(2024, 9, 15, 12)

    def world(name, r, d, c):
        xy, times = [], []
        for (rb, ra), (x, y) in ((r, (50, 50)), (d, (150, 50)), (c, (1050, 50))):
            xy += [(x, y)] * (rb + ra)
            times += [day_before] * rb + [day_after] * ra
        return write_points(tmp_path / f"{name}.gpkg", xy, times)

    report = tmp_path / "report.html"
    # Ca = 0: no RES (and no interval), no WDQ; TNE = (Rb*0/Cb - Ra) + (Db*0/Cb - Da)
    log = Log()
    result = run(
        {
            "TARGETS": targets,
            "CONTROLS": controls,
            "INCIDENTS": world("ca0", (10, 4), (6, 3), (8, 0)),
            **PERIODS,
            "OUTPUT_HTML": str(report),
        },
        log,
    )
    assert (result["R_BEFORE"], result["R_AFTER"], result["D_BEFORE"], result["D_AFTER"], result["C_BEFORE"], result["C_AFTER"]) == (
        10,
        4,
        6,
        3,
        8,
        0,
    )
    assert not {"RES", "RES_LOW", "RES_HIGH", "WDQ"} & result.keys()
    assert result["TNE"] == pytest.approx((10 * 0 / 8 - 4) + (6 * 0 / 8 - 3))
    text = report.read_text(encoding="utf-8")
    assert (
        "relative effect size cannot be computed" in text
        and "Ca is 0" in text
        and "weighted displacement quotient cannot be computed" in text
    )
    assert any(w.startswith("RES is left out") and "Ca is 0" in w for w in log.warnings)
    # Cb = Ca = 0: nothing but the counts
    result = run({"TARGETS": targets, "CONTROLS": controls, "INCIDENTS": world("c0", (10, 4), (6, 3), (0, 0)), **PERIODS})
    assert not {"RES", "RES_LOW", "RES_HIGH", "WDQ", "TNE"} & result.keys() and result["R_BEFORE"] == 10
    # Ra = 0: no RES; WDQ and TNE by hand
    result = run({"TARGETS": targets, "CONTROLS": controls, "INCIDENTS": world("ra0", (10, 0), (6, 3), (8, 12)), **PERIODS})
    assert "RES" not in result
    assert result["WDQ"] == pytest.approx((3 / 12 - 6 / 8) / (0 / 12 - 10 / 8), rel=1e-12)
    assert result["TNE"] == pytest.approx((10 * 12 / 8 - 0) + (6 * 12 / 8 - 3), rel=1e-12)
    # targets changed exactly as the controls: WDQ's denominator is 0
    result = run({"TARGETS": targets, "CONTROLS": controls, "INCIDENTS": world("same", (10, 5), (6, 3), (8, 4)), **PERIODS})
    assert "WDQ" not in result and result["RES"] == pytest.approx(1.0)


def test_a_patrol_plan_treats_only_its_patrolled_places(tmp_path):
    import processing

    plan = processing.run(
        "hotspotpolicing:patroldosage",
        {
            "HOTSPOTS": f"{SAMPLE_CITY}|layername=planted_hotspots",
            "RISK_FIELD": "n_incidents",
            "PATROL_MINUTES": 30.0,
            "OUTPUT": str(tmp_path / "plan.gpkg"),
        },
    )["OUTPUT"]
    log = Log()
    result = run({"TARGETS": plan, "STUDY_AREA": f"{SAMPLE_CITY}|layername=study_area", "INCIDENTS": INCIDENTS, **CITY_PERIODS}, log)
    dataset = ogr.Open(plan)
    patrolled = [f.GetGeometryRef().Clone() for f in dataset.GetLayer(0) if f.GetField("visits_per_shift") > 0]
    unpatrolled = [f for f in dataset.GetLayer(0) if f.GetField("visits_per_shift") == 0]
    assert 0 < len(patrolled) and len(unpatrolled) > 0
    city = ogr.Open(SAMPLE_CITY)
    before = after = 0
    for incident in city.GetLayerByName("incidents"):  # GEOS, point by point
        point, when = incident.GetGeometryRef(), incident.GetField("occurred_at")[:4]
        if any(shape.Intersects(point) for shape in patrolled):
            before += when == "2024"
            after += when == "2025"
    assert (result["R_BEFORE"], result["R_AFTER"]) == (before, after)
    assert any("visits_per_shift > 0" in info for info in log.infos)


def test_gi_hot_spots_are_the_targets_of_a_hot_spot_map(tmp_path):
    import processing

    both = f"{INCIDENTS}|subset=\"occurred_at\" >= '2024-01-01' AND \"occurred_at\" < '2026-01-01'"
    cells = processing.run(
        "hotspotpolicing:optimizedhotspots",
        {
            "INPUT": both,
            "CELL_SHAPE": 0,
            "CELL_SIZE": 200.0,
            "DISTANCE": 400.0,
            "STUDY_AREA": f"{SAMPLE_CITY}|layername=study_area",
            "OUTPUT": str(tmp_path / "ohs.gpkg"),
        },
    )["OUTPUT"]
    result = run({"TARGETS": cells, "STUDY_AREA": f"{SAMPLE_CITY}|layername=study_area", "INCIDENTS": INCIDENTS, **CITY_PERIODS})
    hot = [f for f in QgsVectorLayer(cells).getFeatures() if f["Gi_Bin"] > 0]
    assert 0 < len(hot) < QgsVectorLayer(cells).featureCount()
    assert result["R_BEFORE"] + result["R_AFTER"] == sum(f["incident_count"] for f in hot)


def test_counted_street_segments_as_targets(tmp_path):
    import processing

    counted = processing.run(
        "hotspotpolicing:assignincidents",
        {"INCIDENTS": INCIDENTS, "SEGMENTS": f"{SAMPLE_CITY}|layername=streets", "OUTPUT": str(tmp_path / "counts.gpkg")},
    )["OUTPUT"]
    top = sorted(f["incident_count"] for f in QgsVectorLayer(counted).getFeatures())[-5]
    targets = f'{counted}|subset="incident_count" >= {top}'
    result = run(
        {
            "TARGETS": targets,
            "STUDY_AREA": f"{SAMPLE_CITY}|layername=study_area",
            "INCIDENTS": INCIDENTS,
            **CITY_PERIODS,
            "SNAP_TOLERANCE": 30.0,
        }
    )
    segments = []
    for feature in QgsVectorLayer(targets).getFeatures():
        for part in feature.geometry().asMultiPolyline() if feature.geometry().isMultipart() else [feature.geometry().asPolyline()]:
            segments += [((a.x(), a.y()), (b.x(), b.y())) for a, b in zip(part[:-1], part[1:])]
    city = ogr.Open(SAMPLE_CITY)
    rows = [(f.GetGeometryRef().GetX(), f.GetGeometryRef().GetY(), f.GetField("occurred_at")[:4]) for f in city.GetLayerByName("incidents")]
    x, y = np.array([r[0] for r in rows]), np.array([r[1] for r in rows])
    year = np.array([r[2] for r in rows])
    d = distance_to_segments(x, y, segments)
    for key, when in (("R_BEFORE", "2024"), ("R_AFTER", "2025")):
        surely, perhaps = int(((d <= 29.9) & (year == when)).sum()), int(((d <= 30.1) & (year == when)).sum())
        assert surely <= result[key] <= perhaps and surely > 0, key


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"CONTROLS": None, "STUDY_AREA": None}, "CONTROLS.*STUDY_AREA"),
        ({"CATCHMENT_DISTANCE": 0.0}, "CATCHMENT_DISTANCE"),
        ({"AFTER_START": "2024-06-30"}, "periods overlap"),
        ({"BEFORE_END": None}, "BEFORE_END"),
        ({"CONTROLS": "targets"}, "control areas .*CONTROLS.* lie wholly within the targets"),
        ({"INCIDENTS": "controls"}, "holds polygon geometries"),
        ({"TIME_FIELD": "when"}, "no field 'when'"),
    ],
)
def test_bad_input_is_refused_naming_what_to_change(world, tmp_path, changes, message):
    _, incidents, targets, controls, _, _, _, _ = world
    layers = {"targets": targets, "controls": controls}
    report = tmp_path / "report.html"
    parameters = {"TARGETS": targets, "CONTROLS": controls, "INCIDENTS": incidents, **PERIODS, "OUTPUT_HTML": str(report)}
    for key, value in changes.items():
        if value is None:
            parameters.pop(key, None)
        else:
            parameters[key] = layers.get(value, value)
    with pytest.raises(QgsProcessingException, match=message):
        run(parameters)
    assert not report.exists()


def test_a_hot_spot_map_without_hot_spots_is_refused(tmp_path):
    cells = write_shapes(
        tmp_path / "gi.gpkg",
        "cells",
        [rectangle(0, 0, 100, 100), rectangle(100, 0, 200, 100)],
        fields=[("Gi_Bin", ogr.OFTInteger, [0, -2])],
    )
    area = write_shapes(tmp_path / "gi.gpkg", "area", [rectangle(-1000, -1000, 1000, 1000)])
    incidents = write_points(tmp_path / "p.gpkg", [(50, 50), (500, 500)], [datetime.datetime(2024, 2, 1), datetime.datetime(2024, 9, 2)])
    with pytest.raises(QgsProcessingException, match="No feature of .* is a target.*Gi_Bin"):
        run({"TARGETS": cells, "STUDY_AREA": area, "INCIDENTS": incidents, **PERIODS})


def test_geographic_layers_are_measured_in_metres(tmp_path):
    import processing

    geographic = {}
    for name in ("incidents", "planted_hotspots", "study_area"):
        geographic[name] = processing.run(
            "native:reprojectlayer",
            {"INPUT": f"{SAMPLE_CITY}|layername={name}", "TARGET_CRS": "EPSG:4326", "OUTPUT": str(tmp_path / f"{name}.gpkg")},
        )["OUTPUT"]
    layers = {"TARGETS": "planted_hotspots", "INCIDENTS": "incidents", "STUDY_AREA": "study_area"}
    projected = run({**{key: f"{SAMPLE_CITY}|layername={name}" for key, name in layers.items()}, **CITY_PERIODS})
    degrees = run({**{key: geographic[name] for key, name in layers.items()}, **CITY_PERIODS})
    assert {key: degrees[key] for key in projected} == pytest.approx(projected, rel=1e-9)
