"""Bad input, swept over the twelve algorithms: every case is either refused cleanly (a
QgsProcessingException naming the layer, field, value or parameter at fault, nothing written,
the inputs untouched) or answered right (checked against an expectation worked out here: a
count, a hand-computed figure, or the same result as a clean equivalent input). Never a
traceback, never a hang, never a silently wrong result.

Cases the plugin gets wrong today are kept, asserting the right behaviour, and marked
xfail(strict=True) with a reason from the XFAIL_* constants below: remove the mark once fixed.
The small data are made here (a 3 x 3 block street grid in UTM zone 30N, whose right answers
the first test works out). Only cases that may crash the interpreter run in a subprocess through
qgis_process: self-intersecting polygons, a distance band beyond memory, and a run that leaves
the interpreter to crash at exit."""

import contextlib
import gc
import hashlib
import json
import math
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from osgeo import gdal, ogr, osr
from qgis.core import (
    QgsFeature,
    QgsGeometry,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import QDate, QDateTime, Qt, QTime, QVariant

from .conftest import ROOT

pytestmark = pytest.mark.usefixtures("provider")

# --- what fails today: one reason per defect; remove an entry (and its constant) once fixed ---------
XFAIL = {  # (family, case id) -> reason
}

X0, Y0 = 440000.0, 4470000.0  # the grid's south-west corner, in UTM zone 30N (EPSG:32630)
EPSG = 32630
DAY = "2025-12-01"
LIMIT = 20.0  # seconds: no case may run longer (extreme parameters must be refused up front)


# --- layers ------------------------------------------------------------------------------------
OGR_TYPES = {"int": ogr.OFTInteger, "double": ogr.OFTReal, "string": ogr.OFTString, "datetime": ogr.OFTDateTime, "date": ogr.OFTDate}
KINDS = {
    "point": ogr.wkbPoint,
    "line": ogr.wkbLineString,
    "polygon": ogr.wkbPolygon,
    "multipoint": ogr.wkbMultiPoint,
    "multiline": ogr.wkbMultiLineString,
    "multipolygon": ogr.wkbMultiPolygon,
    "none": ogr.wkbNone,
}


def spatial_reference(srs):
    if srs is None:
        return None
    reference = osr.SpatialReference()
    reference.ImportFromEPSG(srs)
    reference.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return reference


def write(path, kind, rows, fields=(), srs=EPSG, driver="GPKG", options=()):
    """A layer named after the file's stem: ``rows`` are (WKT or None, [values]); ``kind`` a
    key of KINDS or an OGR geometry type (Z/M types too); ``srs`` an EPSG code or None (no
    SRS: a GeoPackage then records srs_id 0, 'Undefined geographic SRS')."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    encoding = next((o.split("=", 1)[1] for o in options if o.startswith("ENCODING=")), None)
    previous = gdal.GetConfigOption("SHAPE_ENCODING")
    if encoding:  # QGIS turns GDAL's shapefile recoding off (SHAPE_ENCODING=""): on while writing
        gdal.SetConfigOption("SHAPE_ENCODING", encoding)
    try:
        return _write(path, kind, rows, fields, srs, driver, options)
    finally:
        gdal.SetConfigOption("SHAPE_ENCODING", previous)


def _write(path, kind, rows, fields, srs, driver, options):
    dataset = ogr.GetDriverByName(driver).CreateDataSource(str(path))
    geometry_type = KINDS.get(kind, kind)
    layer = dataset.CreateLayer(path.stem, spatial_reference(srs), geometry_type, list(options))
    for name, field_type in fields:
        layer.CreateField(ogr.FieldDefn(name, OGR_TYPES[field_type]))
    layer.StartTransaction()
    for wkt, values in rows:
        feature = ogr.Feature(layer.GetLayerDefn())
        for (name, field_type), value in zip(fields, values):
            if value is None:
                continue
            if field_type == "datetime" and isinstance(value, tuple):
                feature.SetField(name, *value)
            else:
                feature.SetField(name, value)
        if wkt is not None:
            feature.SetGeometryDirectly(ogr.CreateGeometryFromWkt(wkt))
        layer.CreateFeature(feature)
    layer.CommitTransaction()
    dataset = None
    return str(path)


MEMORY_TYPES = {"int": "integer", "double": "double", "string": "string", "datetime": "datetime", "date": "date", "int64": "long"}


def memory(name, kind, rows, fields=(), crs=f"EPSG:{EPSG}"):
    """The same as :func:`write`, as a memory layer (values may be NaN, inf, QDateTime...)."""
    spec = "&".join(f"field={field}:{MEMORY_TYPES[kind_]}" for field, kind_ in fields)
    layer = QgsVectorLayer(f"{kind}?crs={crs}" + (f"&{spec}" if spec else ""), name, "memory")
    assert layer.isValid(), (kind, fields)
    features = []
    for wkt, values in rows:
        feature = QgsFeature(layer.fields())
        if wkt is not None:
            feature.setGeometry(QgsGeometry.fromWkt(wkt))
        feature.setAttributes(list(values))
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    layer.updateExtents()
    return layer


def point(x, y):
    return f"POINT ({X0 + x!r} {Y0 + y!r})"


def line(*xy):
    return "LINESTRING (" + ", ".join(f"{X0 + x!r} {Y0 + y!r}" for x, y in xy) + ")"


def square(x, y, size=100.0):
    corners = [(x, y), (x + size, y), (x + size, y + size), (x, y + size), (x, y)]
    return "POLYGON ((" + ", ".join(f"{X0 + a!r} {Y0 + b!r}" for a, b in corners) + "))"


def features(layer_or_path):
    """The attributes of every feature, as dicts (NULL as None), in feature id order."""
    layer = layer_or_path if isinstance(layer_or_path, QgsVectorLayer) else QgsVectorLayer(str(layer_or_path), "out", "ogr")
    assert layer.isValid(), layer_or_path
    names = layer.fields().names()
    rows = []
    for feature in layer.getFeatures():
        rows.append(
            {
                name: (None if value is None or (isinstance(value, QVariant) and value.isNull()) else value)
                for name, value in zip(names, feature.attributes())
            }
        )
    return rows


def field_names(layer_or_path):
    layer = layer_or_path if isinstance(layer_or_path, QgsVectorLayer) else QgsVectorLayer(str(layer_or_path), "out", "ogr")
    return layer.fields().names()


# --- the small world: a 3 x 3 block street grid with incidents, hot spots and patrol pings ------
def grid_segments():
    """24 street segments of 100 m: (start, end, street name)."""
    segments = []
    for i in range(4):
        for j in range(3):
            segments.append(((j * 100.0, i * 100.0), ((j + 1) * 100.0, i * 100.0), f"H{i}"))
    for i in range(4):
        for j in range(3):
            segments.append(((i * 100.0, j * 100.0), (i * 100.0, (j + 1) * 100.0), f"V{i}"))
    return segments


SEGMENTS = grid_segments()
COUNTS = [1 + (k * 7 % 5) for k in range(len(SEGMENTS))]  # incidents per segment: 1, 3, 5, 2, 4, 1, ...


def incident_xy():
    """Incidents 4 m beside the middle 40 m of their segment: far nearer to it than to any other.
    Returns (x, y) relative to the grid corner and the segment of each."""
    xy, owner = [], []
    for k, ((ax, ay), (bx, by), _) in enumerate(SEGMENTS):
        ux, uy = (bx - ax) / 100.0, (by - ay) / 100.0
        for i in range(COUNTS[k]):
            along = 50.0 + (-20, -10, 0, 10, 20)[i % 5]
            xy.append((ax + ux * along - uy * 4.0, ay + uy * along + ux * 4.0))
            owner.append(k)
    return np.array(xy), np.array(owner)


INCIDENT_XY, INCIDENT_SEGMENT = incident_xy()
HARM = 1.0 + 0.5 * (np.arange(len(INCIDENT_XY)) % 4)
HOTSPOTS = (("A", 0.0, 0.0, 10.0), ("B", 100.0, 100.0, 30.0), ("C", 200.0, 200.0, 20.0))  # name, corner, harm
CELLS = [(i * 100.0, j * 100.0) for j in range(3) for i in range(3)]


def inside(xy, x, y, size=100.0):
    return (xy[:, 0] >= x) & (xy[:, 0] <= x + size) & (xy[:, 1] >= y) & (xy[:, 1] <= y + size)


INCIDENT_FIELDS = (("harm", "double"), ("n", "int"), ("label", "string"))
STREET_FIELDS = (("street_name", "string"), ("lanes", "int"))
SEGMENT_FIELDS = (("segment_id", "int"), ("street_name", "string"))
HOTSPOT_FIELDS = (("name", "string"), ("n_incidents", "int"), ("harm", "double"))
PING_FIELDS = (("unit_id", "string"), ("pinged_at", "datetime"))


def incident_rows(xy=INCIDENT_XY, harm=HARM, wkt=point):
    return [(wkt(x, y), [float(h), i % 3, f"incident {i}"]) for i, ((x, y), h) in enumerate(zip(xy, harm))]


def street_rows():
    rows = []
    for i in range(4):
        rows.append((line((0.0, i * 100.0), (300.0, i * 100.0)), [f"H{i}", 2]))
        rows.append((line((i * 100.0, 0.0), (i * 100.0, 300.0)), [f"V{i}", 1]))
    return rows


def segment_rows():
    return [(line(a, b), [k + 1, name]) for k, (a, b, name) in enumerate(SEGMENTS)]


def hotspot_rows(shape=square):
    return [(shape(x, y), [name, int(inside(INCIDENT_XY, x, y).sum()), harm]) for name, x, y, harm in HOTSPOTS]


def cell_rows():
    return [(square(x, y), [k + 1, int(inside(INCIDENT_XY, x, y).sum())]) for k, (x, y) in enumerate(CELLS)]


# Patrol pings: car 1 stays 10 minutes in B then leaves; car 2 stays 5 minutes in C then leaves.
# Expected: B 10 minutes in 1 visit, C 5 minutes in 1 visit, A nothing.
PING_TRACKS = (("Car 1", (150.0, 150.0), 600, (1000.0, 1000.0), 570), ("Car 2", (250.0, 250.0), 300, (1000.0, 1200.0), 870))
OBSERVED = {"A": 0.0, "B": 10.0, "C": 5.0}


def ping_track():
    """(unit, seconds after 08:00, x, y) of every ping, every 30 s."""
    pings = []
    for unit, home, stay, away, more in PING_TRACKS:
        pings += [(unit, t, *home) for t in range(0, stay + 1, 30)]
        pings += [(unit, t, *away) for t in range(stay + 30, stay + more + 1, 30)]
    return pings


def clock(seconds):
    minute, second = divmod(int(seconds), 60)
    hour, minute = divmod(minute, 60)
    return 8 + hour, minute, second


def ping_rows(xy_of=point):
    rows = []
    for unit, t, x, y in ping_track():
        hour, minute, second = clock(t)
        rows.append((xy_of(x, y), [unit, (2025, 12, 1, hour, minute, second, 0)]))
    return rows


class World:
    """The clean inputs as GeoPackages in ``tmp_path/in`` and working parameters of every
    algorithm, its outputs going to ``tmp_path/out``."""

    def __init__(self, tmp_path, transform=None, srs=EPSG):
        """``transform`` maps every WKT (e.g. to longitude and latitude), ``srs`` is the CRS
        the layers are written in (None: undefined)."""
        self.root = Path(tmp_path)
        self.inputs, self.out = self.root / "in", self.root / "out"
        self.inputs.mkdir(parents=True)
        self.out.mkdir()
        self.transform, self.srs = transform or (lambda wkt: wkt), srs
        self.incidents = self.layer("incidents", "point", incident_rows(), INCIDENT_FIELDS)
        self.streets = self.layer("streets", "line", street_rows(), STREET_FIELDS)
        self.segments = self.layer("segments", "line", segment_rows(), SEGMENT_FIELDS)
        self.hotspots = self.layer("hotspots", "polygon", hotspot_rows(), HOTSPOT_FIELDS)
        self.cells = self.layer("cells", "polygon", cell_rows(), (("cell_id", "int"), ("n_incidents", "int")))
        self.area = self.layer("area", "polygon", [(square(-50, -50, 400), [1])], (("id", "int"),))
        self.pings = self.layer("pings", "point", ping_rows(), PING_FIELDS)

    def layer(self, name, kind, rows, fields=(), srs="world", driver="GPKG", options=()):
        """Another input beside the clean ones (in the world's CRS and transform by default)."""
        suffix = {"GPKG": ".gpkg", "ESRI Shapefile": ".shp"}[driver]
        if srs == "world":
            srs = self.srs
            rows = [(wkt if wkt is None or "EMPTY" in wkt else self.transform(wkt), values) for wkt, values in rows]
        return write(self.inputs / f"{name}{suffix}", kind, rows, fields, srs, driver, options)

    def parameters(self, name):
        out = self.out
        return {
            "kerneldensity": {"INPUT": self.incidents, "BANDWIDTH": 100.0, "CELL_SIZE": 10.0, "OUTPUT": str(out / "kde.tif")},
            # distances and cell sizes that no pair of points (or cell boundary) meets exactly: a reprojected copy
            # is off by 1e-9 m, and must not fall on the other side of a tie
            "gistar": {"INPUT": self.incidents, "FIELD": "harm", "DISTANCE": 63.3, "OUTPUT": str(out / "gi.gpkg")},
            "localmoran": {"INPUT": self.incidents, "FIELD": "harm", "DISTANCE": 63.3, "OUTPUT": str(out / "lm.gpkg")},
            "optimizedhotspots": {
                "INPUT": self.incidents,
                "CELL_SHAPE": 0,
                "CELL_SIZE": 47.3,
                "DISTANCE": 120.0,
                "OUTPUT": str(out / "ohs.gpkg"),
            },
            "hotstreets": {"INCIDENTS": self.incidents, "STREETS": self.streets, "OUTPUT": str(out / "hot.gpkg")},
            "streetsegments": {"INPUT": self.streets, "OUTPUT": str(out / "segments.gpkg")},
            "assignincidents": {
                "INCIDENTS": self.incidents,
                "SEGMENTS": self.segments,
                "TOLERANCE": 30.0,
                "OUTPUT": str(out / "counts.gpkg"),
            },
            "concentration": {"INPUT": self.cells, "FIELD": "n_incidents", "OUTPUT_HTML": str(out / "concentration.html")},
            "patroldosage": {
                "HOTSPOTS": self.hotspots,
                "RISK_FIELD": "harm",
                "SHIFTS": 3,
                "OUTPUT": str(out / "plan.gpkg"),
                "OUTPUT_SCHEDULE": str(out / "schedule.gpkg"),
            },
            "observeddosage": {
                "PINGS": self.pings,
                "HOTSPOTS": self.hotspots,
                "UNIT_FIELD": "unit_id",
                "TIME_FIELD": "pinged_at",
                "SHIFT_START": 6.0,
                "OUTPUT": str(out / "observed.gpkg"),
            },
            "evaluateforecast": {
                "HOTSPOTS": self.hotspots,
                "INCIDENTS": self.incidents,
                "STUDY_AREA": self.area,
                "UNITS": self.cells,
                "OUTPUT_HTML": str(out / "evaluation.html"),
            },
            "briefingmap": {"LAYERS": [self.hotspots, self.streets], "TITLE": "Bad input", "OUTPUT": str(out / "map.pdf")},
        }[name]


@pytest.fixture
def world(tmp_path):
    return World(tmp_path)


@pytest.fixture(autouse=True)
def _let_go_of_failures():
    """pytest keeps the last failure (xfail cases too) as sys.last_traceback for post-mortem
    debugging; its frames hold layers and Processing contexts, and destroying those after QGIS
    has exited crashes the interpreter at the end of the session. Let go of them now."""
    yield
    for name in ("last_type", "last_value", "last_traceback", "last_exc"):
        if hasattr(sys, name):
            setattr(sys, name, None)
    gc.collect()


# --- running, refusing, comparing ----------------------------------------------------------------
class Deadline(QgsProcessingFeedback):
    """Presses Cancel at the first progress report after ``seconds``: a run that should have
    been refused up front stops instead of running for minutes (and the test then fails)."""

    def __init__(self, seconds):
        super().__init__()
        self.start, self.seconds, self.expired = time.perf_counter(), seconds, False

    def setProgress(self, progress):  # noqa: N802 - QGIS API
        if time.perf_counter() - self.start > self.seconds and not self.expired:
            self.expired = True
            self.cancel()
        super().setProgress(progress)


@contextlib.contextmanager
def alarm(seconds):
    """A Python-level time limit, in case a run neither ends nor reports progress."""

    def expire(signum, frame):
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run(name, parameters, limit=LIMIT):
    """processing.run, within ``limit`` seconds: a run cut short by the limit is a failure."""
    import processing

    feedback, message = Deadline(limit), None
    with alarm(limit + 10):
        try:
            results = processing.run(f"hotspotpolicing:{name}", parameters, feedback=feedback)
        except QgsProcessingException as error:  # let go of Processing's frames (its context, its layers) here
            message = str(error)
    if message is not None:
        raise QgsProcessingException(message)
    assert not feedback.expired, f"{name} ran for more than {limit} s"
    return results


def snapshot(paths):
    """Bytes and mtime of every file under the given files' folders (inputs must stay as
    they were), and every memory layer's features."""
    state = {}
    for item in paths:
        if isinstance(item, QgsVectorLayer):
            state[item.id()] = sorted((f.geometry().asWkt(6), repr(f.attributes())) for f in item.getFeatures())
            continue
        for path in sorted(Path(item).iterdir()) if Path(item).is_dir() else [Path(item)]:
            if path.is_file():
                state[str(path)] = (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns)
    return state


def files_in(folder):
    return sorted(str(p.relative_to(folder)) for p in Path(folder).rglob("*"))


def refused(name, parameters, pattern, world=None, inputs=(), limit=LIMIT):
    """The run is refused with a QgsProcessingException matching ``pattern`` (a regex, case
    insensitive), within ``limit`` seconds, leaving the output folder as it was and the inputs
    (the world's input folder and any memory layers given) untouched. Returns the message."""
    watched = ([world.inputs] if world else []) + [v for v in parameters.values() if isinstance(v, QgsVectorLayer)] + list(inputs)
    before = snapshot(watched)
    outputs_before = files_in(world.out) if world else None
    started = time.perf_counter()
    with pytest.raises(QgsProcessingException) as error:
        run(name, parameters, limit)
    message = str(error.value)
    assert time.perf_counter() - started < limit, f"refused only after {time.perf_counter() - started:.1f} s"
    assert "Traceback" not in message, message  # a Python error wrapped by Processing is no refusal
    assert re.search(pattern, message, re.IGNORECASE | re.DOTALL), f"{pattern!r} not in: {message}"
    if world:
        assert files_in(world.out) == outputs_before, "a refused run left output behind"
    assert snapshot(watched) == before, "a refused run changed its inputs"
    return message


def refused_or(name, parameters, pattern, check, world=None, inputs=()):
    """Either refused as :func:`refused` says, or the results pass ``check(results)``."""
    watched = ([world.inputs] if world else []) + [v for v in parameters.values() if isinstance(v, QgsVectorLayer)] + list(inputs)
    before = snapshot(watched)
    outputs_before = files_in(world.out) if world else None
    try:
        results = run(name, parameters)
    except QgsProcessingException as error:
        message = str(error)
        assert "Traceback" not in message, message  # a Python error wrapped by Processing is no refusal
        assert re.search(pattern, message, re.IGNORECASE | re.DOTALL), f"{pattern!r} not in: {message}"
        if world:
            assert files_in(world.out) == outputs_before, "a refused run left output behind"
        assert snapshot(watched) == before, "a refused run changed its inputs"
        return None
    check(results)
    return results


def raster(path):
    dataset = gdal.Open(str(path))
    x0, cell, _, y0, _, _ = dataset.GetGeoTransform()
    values = dataset.GetRasterBand(1).ReadAsArray().astype(float)
    return values, (x0, y0, cell), dataset.GetProjection()


def quartic_surface(xy, weights, origin, cell, shape, bandwidth):
    """The exact quartic kernel sum per square kilometre at the cell centres of a north-up grid."""
    x0, y0 = origin
    cols = x0 + (np.arange(shape[1]) + 0.5) * cell
    rows = y0 - (np.arange(shape[0]) + 0.5) * cell
    gx, gy = np.meshgrid(cols, rows)
    total = np.zeros(shape)
    for (x, y), w in zip(xy, weights):
        r2 = ((gx - x) ** 2 + (gy - y) ** 2) / bandwidth**2
        total += w * np.where(r2 < 1, 3 / (np.pi * bandwidth**2) * (1 - r2) ** 2, 0.0)
    return total * 1e6


def gi_star(x, y, values, distance):
    """Textbook Getis-Ord Gi* z-scores (Ord & Getis 1995) with a binary distance band, self
    included; NaN for features without a neighbour."""
    values = np.asarray(values, float)
    n = len(values)
    d = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :])
    w = (d <= distance).astype(float)
    mean, s = values.mean(), np.sqrt((values**2).mean() - values.mean() ** 2)
    sw, sw2 = w.sum(axis=1), (w**2).sum(axis=1)
    z = (w @ values - mean * sw) / (s * np.sqrt((n * sw2 - sw**2) / (n - 1)))
    z[sw == 1] = np.nan  # only itself
    return z


def summary(name, results):
    """What a run found, comparable between two runs of the same algorithm."""
    if name == "kerneldensity":
        values, (_, _, cell), _ = raster(results["OUTPUT"])
        return {"INCIDENT_COUNT": results["INCIDENT_COUNT"], "values": values, "cell": cell}
    if name in ("concentration", "evaluateforecast"):
        return {k: v for k, v in results.items() if k.isupper() and not k.startswith("OUTPUT")}
    if name == "briefingmap":
        return {"title": "Bad input" in pdf_text(results["OUTPUT"])}
    rows = features(results["OUTPUT"])
    figures = {k: v for k, v in results.items() if k.isupper() and not k.startswith("OUTPUT")}
    if name in ("gistar", "localmoran"):
        z = "GiZScore" if name == "gistar" else "LMiZScore"
        return {**figures, "rows": [(r["label"], r[z]) for r in rows]}
    if name == "optimizedhotspots":
        return {**figures, "rows": sorted((r["incident_count"], r.get("weight_sum"), r["GiZScore"]) for r in rows)}
    if name in ("hotstreets", "assignincidents", "streetsegments"):
        keys = [k for k in ("incident_count", "weight_sum", "GiZScore", "length") if rows and k in rows[0]]
        return {**figures, "rows": sorted(tuple(r[k] for k in keys) for r in rows)}
    if name == "patroldosage":
        return {**figures, "rows": sorted((r["name"], r["priority_rank"], r["minutes_per_shift"]) for r in rows)}
    if name == "observeddosage":
        return {**figures, "rows": sorted((r["name"], r["minutes_observed"], r["visits_observed"]) for r in rows)}
    raise AssertionError(name)


def same(a, b, rel=1e-6):
    """Two summaries agree (floats to ``rel``, NaN/NULL alike)."""
    if isinstance(a, dict):
        assert sorted(a) == sorted(b), (sorted(a), sorted(b))
        for key in a:
            same(a[key], b[key], rel)
    elif isinstance(a, np.ndarray):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=rel, atol=rel * max(np.abs(a).max(initial=0), 1e-12))
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), (a, b)
        for x, y in zip(a, b):
            same(x, y, rel)
    elif isinstance(a, float) or isinstance(b, float):
        if a is None or b is None or (isinstance(a, float) and math.isnan(a)):
            assert (a is None or math.isnan(a)) and (b is None or math.isnan(b)), (a, b)
        else:
            assert a == pytest.approx(b, rel=rel, abs=1e-9), (a, b)
    else:
        assert a == b, (a, b)


def case(family, name, *values, marks=None):
    """A parametrised case named '<family>-<name>', xfail when XFAIL says so."""
    reason = XFAIL.get((family, name))
    marks = list(marks or []) + ([pytest.mark.xfail(strict=True, reason=reason)] if reason else [])
    return pytest.param(name, *values, id=name, marks=marks)


def with_layer(world, name, key, value, **extra):
    parameters = {**world.parameters(name.split(":")[0]), **({key: value} if key != "_" else {}), **extra}
    return parameters


def expected_captured():
    return int(sum(inside(INCIDENT_XY, x, y).sum() for _, x, y, _ in HOTSPOTS))


ALGORITHMS = (
    "kerneldensity",
    "gistar",
    "localmoran",
    "optimizedhotspots",
    "hotstreets",
    "streetsegments",
    "assignincidents",
    "concentration",
    "patroldosage",
    "observeddosage",
    "evaluateforecast",
    "briefingmap",
)


# --- the clean world: its answers, worked out here (the clean runs other cases compare with) ------
def gini(counts):
    """Gini coefficient, (2 sum i x_(i) / C - (N + 1)) / N, counts ascending."""
    x = np.sort(np.asarray(counts, float))
    return (2 * (np.arange(1, len(x) + 1) * x).sum() / x.sum() - (len(x) + 1)) / len(x)


def clean_kde(results):
    values, (x0, y0, cell), wkt = raster(results["OUTPUT"])
    expected = quartic_surface(INCIDENT_XY + (X0, Y0), np.ones(len(INCIDENT_XY)), (x0, y0), cell, values.shape, 100.0)
    assert results["INCIDENT_COUNT"] == len(INCIDENT_XY) and np.abs(values - expected).max() <= 1e-3 * expected.max()


def clean_gistar(results):
    expected = gi_star(INCIDENT_XY[:, 0], INCIDENT_XY[:, 1], HARM, 63.3)
    got = [r["GiZScore"] for r in features(results["OUTPUT"])]
    same([None if math.isnan(z) else float(z) for z in expected], got, rel=1e-9)


def clean_counts(results):
    counts = {r["segment_id"]: r["incident_count"] for r in features(results["OUTPUT"])}
    assert results["MATCHED"] == len(INCIDENT_XY) and counts == {k + 1: c for k, c in enumerate(COUNTS)}


def clean_hot_streets(results):
    rows = features(results["OUTPUT"])
    assert results["MATCHED"] == len(INCIDENT_XY) and sorted(r["incident_count"] for r in rows) == sorted(COUNTS)


def clean_segments(results):
    assert sorted(r["length"] for r in features(results["OUTPUT"])) == pytest.approx([100.0] * 24)


def clean_cells(results):
    assert sum(r["incident_count"] for r in features(results["OUTPUT"])) == len(INCIDENT_XY)


def clean_local_moran(results):  # its values are checked against esda in test_esda_reference.py
    assert [r["label"] for r in features(results["OUTPUT"])] == [f"incident {i}" for i in range(len(INCIDENT_XY))]


def clean_dose(results):
    assert {r["name"]: r["minutes_observed"] for r in features(results["OUTPUT"])} == pytest.approx(OBSERVED)


def clean_briefing(results):
    text = pdf_text(results["OUTPUT"])
    assert "Bad input" in text and "Place" in text


def clean_concentration(results):
    counts = [values[1] for _, values in cell_rows()]
    ordered = np.sort(counts)[::-1]
    half = int(np.searchsorted(np.cumsum(ordered), ordered.sum() / 2) + 1)
    assert results["UNITS"] == 9 and results["TOTAL"] == sum(counts)
    assert results["GINI"] == pytest.approx(gini(counts)) and results["PCT_UNITS_50"] == pytest.approx(100.0 * half / 9)


def clean_evaluation(results):
    captured, share = expected_captured(), 3 * 100.0**2 / 400.0**2
    assert results["CAPTURED"] == captured and results["TOTAL"] == len(INCIDENT_XY) and results["AREA_SHARE"] == pytest.approx(share)
    assert results["PAI"] == pytest.approx(captured / len(INCIDENT_XY) / share)


def clean_plan(results):
    plan = {r["name"]: (r["priority_rank"], r["minutes_per_shift"]) for r in features(results["OUTPUT"])}
    assert [plan[name][0] for name in "BCA"] == [1, 2, 3] and plan["B"][1] >= plan["C"][1] >= plan["A"][1] >= 10
    assert sum(m for _, m in plan.values()) <= 120


CLEAN = {
    "kerneldensity": clean_kde,
    "gistar": clean_gistar,
    "localmoran": clean_local_moran,
    "optimizedhotspots": clean_cells,
    "hotstreets": clean_hot_streets,
    "streetsegments": clean_segments,
    "assignincidents": clean_counts,
    "concentration": clean_concentration,
    "patroldosage": clean_plan,
    "observeddosage": clean_dose,
    "evaluateforecast": clean_evaluation,
    "briefingmap": clean_briefing,
}


@pytest.mark.parametrize("name", ALGORITHMS)
def test_the_clean_world_gives_the_worked_out_answers(world, name):
    """The clean inputs give the answers worked out here, so that 'the same as the clean run'
    elsewhere means the right answer."""
    CLEAN[name](run(name, world.parameters(name)))


# --- empty layers ----------------------------------------------------------------------------------
PATTERNS = {  # messages that name the parameter in words rather than by its key or layer name
    "optimizedhotspots:STUDY_AREA": "vacant|study area",
    "evaluateforecast": "vacant|INCIDENTS|no incident",
    "evaluateforecast:STUDY_AREA": "vacant|study area",
}
EMPTY = [  # (case id, parameter, geometry, fields)
    ("kerneldensity", "INPUT", "point", INCIDENT_FIELDS),
    ("gistar", "INPUT", "point", INCIDENT_FIELDS),
    ("localmoran", "INPUT", "point", INCIDENT_FIELDS),
    ("optimizedhotspots", "INPUT", "point", INCIDENT_FIELDS),
    ("optimizedhotspots:STUDY_AREA", "STUDY_AREA", "polygon", (("id", "int"),)),
    ("hotstreets", "INCIDENTS", "point", INCIDENT_FIELDS),
    ("hotstreets:STREETS", "STREETS", "line", STREET_FIELDS),
    ("streetsegments", "INPUT", "line", STREET_FIELDS),
    ("assignincidents", "INCIDENTS", "point", INCIDENT_FIELDS),
    ("assignincidents:SEGMENTS", "SEGMENTS", "line", SEGMENT_FIELDS),
    ("concentration", "INPUT", "polygon", (("cell_id", "int"), ("n_incidents", "int"))),
    ("patroldosage", "HOTSPOTS", "polygon", HOTSPOT_FIELDS),
    ("observeddosage", "PINGS", "point", PING_FIELDS),
    ("observeddosage:HOTSPOTS", "HOTSPOTS", "polygon", HOTSPOT_FIELDS),
    ("evaluateforecast", "INCIDENTS", "point", INCIDENT_FIELDS),
    ("evaluateforecast:HOTSPOTS", "HOTSPOTS", "polygon", HOTSPOT_FIELDS),
    ("evaluateforecast:STUDY_AREA", "STUDY_AREA", "polygon", (("id", "int"),)),
    ("evaluateforecast:UNITS", "UNITS", "polygon", (("cell_id", "int"), ("n_incidents", "int"))),
    ("briefingmap", "LAYERS", "polygon", HOTSPOT_FIELDS),
]


def pdf_text(path):
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


def no_rows(output):
    assert features(output) == []


def titled(pdf):
    assert "Bad input" in pdf_text(pdf)


@pytest.mark.parametrize("name,key,kind,fields", [case("empty", *spec) for spec in EMPTY])
def test_empty_layer(world, name, key, kind, fields):
    vacant = world.layer("vacant", kind, [], fields)
    algorithm = name.split(":")[0]
    parameters = with_layer(world, algorithm, key, [vacant] if key == "LAYERS" else vacant)
    pattern = PATTERNS.get(name, f"vacant|{key}")
    if name == "observeddosage:HOTSPOTS":  # no hot spots: nothing to measure, or no rows
        refused_or(algorithm, parameters, pattern, lambda results: no_rows(results["OUTPUT"]), world)
    elif name == "evaluateforecast:HOTSPOTS":  # no hot spots capture nothing

        def check(results):
            assert results["CAPTURED"] == 0 and results["HIT_RATE"] == 0 and results["AREA_SHARE"] == 0
            assert results["PAI"] == 0 or math.isnan(results["PAI"])  # (0/N) / (0/A): nothing, or undefined
            assert results["TOTAL"] == len(INCIDENT_XY)

        refused_or(algorithm, parameters, pattern, check, world)
    elif name == "evaluateforecast:UNITS":  # no candidate units: no PEI, the rest as without UNITS

        def check(results):
            assert results["CAPTURED"] == expected_captured() and results["TOTAL"] == len(INCIDENT_XY)
            assert results["AREA_SHARE"] == pytest.approx(3 * 100.0**2 / 400.0**2) and math.isnan(results["PEI"])

        refused_or(algorithm, parameters, pattern, check, world)
    elif name == "briefingmap":  # an empty map with its title, or refused
        refused_or(algorithm, parameters, pattern, lambda results: titled(results["OUTPUT"]), world)
    else:
        refused(algorithm, parameters, pattern, world)


# --- a single point; identical points (all at one place) -------------------------------------------
def one_place_incidents(world, n, xy=(50.0, 4.0), name="one_place"):
    return world.layer(name, "point", incident_rows(np.tile(xy, (n, 1)), HARM[:n] if n <= len(HARM) else np.ones(n)), INCIDENT_FIELDS)


def check_kde_at_one_place(world, n):
    source = one_place_incidents(world, n)
    results = run("kerneldensity", with_layer(world, "kerneldensity", "INPUT", source))
    values, (x0, y0, cell), _ = raster(results["OUTPUT"])
    expected = quartic_surface([(X0 + 50.0, Y0 + 4.0)] * n, np.ones(n), (x0, y0), cell, values.shape, 100.0)
    assert results["INCIDENT_COUNT"] == n
    assert np.abs(values - expected).max() <= 1e-3 * expected.max()
    assert values.sum() * cell**2 / 1e6 == pytest.approx(n, rel=0.02)  # the surface integrates to the incidents


def check_counts_at_one_place(world, n, name):
    source = one_place_incidents(world, n)
    key = "INCIDENTS"
    results = run(name, with_layer(world, name, key, source))
    assert results["MATCHED"] == n and results["UNMATCHED"] == 0
    rows = features(results["OUTPUT"])
    counted = [r for r in rows if r["incident_count"]]
    assert len(counted) == 1 and counted[0]["incident_count"] == n and counted[0]["street_name"] == "H0"
    if name == "assignincidents":
        assert counted[0]["segment_id"] == 1


def check_evaluation_at_one_place(world, n):
    source = one_place_incidents(world, n, xy=(150.0, 150.0))
    results = run("evaluateforecast", with_layer(world, "evaluateforecast", "INCIDENTS", source))
    assert results["CAPTURED"] == n and results["TOTAL"] == n and results["HIT_RATE"] == 1.0
    assert results["PAI"] == pytest.approx(1.0 / (3 * 100.0**2 / 400.0**2))


def single_observed(world):
    pings = world.layer("one_ping", "point", [(point(150.0, 150.0), ["Car 1", (2025, 12, 1, 8, 0, 0, 0)])], PING_FIELDS)
    rows = features(run("observeddosage", with_layer(world, "observeddosage", "PINGS", pings))["OUTPUT"])
    assert {r["name"]: (r["minutes_observed"], r["visits_observed"]) for r in rows} == {"A": (0, 0), "B": (0, 0), "C": (0, 0)}


def single_concentration(world):
    units = world.layer("one_unit", "polygon", [(square(0, 0), [1, 4])], (("cell_id", "int"), ("n_incidents", "int")))
    results = run("concentration", with_layer(world, "concentration", "INPUT", units))
    assert results["UNITS"] == 1 and results["TOTAL"] == 4 and results["GINI"] == pytest.approx(0.0)
    assert results["PCT_UNITS_50"] == pytest.approx(100.0) and results["PCT_UNITS_WITH_CRIME"] == pytest.approx(100.0)


def single_patrol(world):
    spot = world.layer("one_spot", "polygon", [(square(100, 100), ["B", 12, 30.0])], HOTSPOT_FIELDS)
    results = run("patroldosage", with_layer(world, "patroldosage", "HOTSPOTS", spot))
    (plan,) = features(results["OUTPUT"])
    assert results["HOTSPOTS_FUNDED"] == 1 and plan["priority_rank"] == 1 and plan["name"] == "B"
    assert 10 <= plan["minutes_per_shift"] <= 120 and plan["visits_per_shift"] >= 1
    visits = features(results["OUTPUT_SCHEDULE"])
    assert len(visits) == 3 * plan["visits_per_shift"] and sum(v["minutes"] for v in visits) == 3 * plan["minutes_per_shift"]


def single_street(world):
    street = world.layer("one_street", "line", [(line((0.0, 0.0), (300.0, 0.0)), ["H0", 2])], STREET_FIELDS)
    results = run("streetsegments", with_layer(world, "streetsegments", "INPUT", street))
    rows = features(results["OUTPUT"])
    assert results["SEGMENT_COUNT"] == 1 and len(rows) == 1 and rows[0]["length"] == pytest.approx(300.0)


def single_briefing(world):
    spot = one_place_incidents(world, 1)
    results = run("briefingmap", with_layer(world, "briefingmap", "LAYERS", [spot]))
    assert "Bad input" in pdf_text(results["OUTPUT"])


SINGLE = {
    "kerneldensity": lambda world: check_kde_at_one_place(world, 1),
    "kerneldensity:automatic": lambda world: refused(
        "kerneldensity", with_layer(world, "kerneldensity", "INPUT", one_place_incidents(world, 1), BANDWIDTH=0.0), "bandwidth", world
    ),
    "gistar": lambda world: refused("gistar", with_layer(world, "gistar", "INPUT", one_place_incidents(world, 1)), "at least 3", world),
    "localmoran": lambda world: refused(
        "localmoran", with_layer(world, "localmoran", "INPUT", one_place_incidents(world, 1)), "at least 3", world
    ),
    "optimizedhotspots": lambda world: refused(
        "optimizedhotspots", with_layer(world, "optimizedhotspots", "INPUT", one_place_incidents(world, 1)), "at least 30", world
    ),
    "hotstreets": lambda world: check_counts_at_one_place(world, 1, "hotstreets"),
    "assignincidents": lambda world: check_counts_at_one_place(world, 1, "assignincidents"),
    "observeddosage": single_observed,
    "evaluateforecast": lambda world: check_evaluation_at_one_place(world, 1),
    "concentration": single_concentration,
    "patroldosage": single_patrol,
    "streetsegments": single_street,
    "briefingmap": single_briefing,
}


@pytest.mark.parametrize("name", [case("single", name) for name in SINGLE])
def test_single_feature(world, name):
    SINGLE[name](world)


def identical_local_statistic(world, name):
    """Every feature at one place: all are each other's neighbours, so there is no spatial
    pattern to find (Gi* is 0/0). Refused, or no feature called significant."""
    source = one_place_incidents(world, 40)

    def check(results):
        z, label = ("GiZScore", "Gi_Bin") if name == "gistar" else ("LMiZScore", "COType")
        for row in features(results["OUTPUT"]):
            assert row[z] is None or math.isfinite(row[z]), row
            assert row[label] in (None, 0, ""), row

    refused_or(name, with_layer(world, name, "INPUT", source, DISTANCE=0.0), "one place|same (place|location)|DISTANCE", check, world)


IDENTICAL = {
    "kerneldensity": lambda world: check_kde_at_one_place(world, 40),
    "kerneldensity:automatic": lambda world: refused(
        "kerneldensity", with_layer(world, "kerneldensity", "INPUT", one_place_incidents(world, 40), BANDWIDTH=0.0), "bandwidth", world
    ),
    "gistar": lambda world: identical_local_statistic(world, "gistar"),
    "localmoran": lambda world: identical_local_statistic(world, "localmoran"),
    "optimizedhotspots:automatic": lambda world: refused(
        "optimizedhotspots",
        with_layer(world, "optimizedhotspots", "INPUT", one_place_incidents(world, 40), CELL_SIZE=0.0),
        "one place|CELL_SIZE",
        world,
    ),
    "optimizedhotspots": lambda world: refused(
        "optimizedhotspots", with_layer(world, "optimizedhotspots", "INPUT", one_place_incidents(world, 40)), "same value|one place", world
    ),
    "hotstreets": lambda world: check_counts_at_one_place(world, 40, "hotstreets"),
    "assignincidents": lambda world: check_counts_at_one_place(world, 40, "assignincidents"),
    "evaluateforecast": lambda world: check_evaluation_at_one_place(world, 40),
}


@pytest.mark.parametrize("name", [case("identical", name) for name in IDENTICAL])
def test_identical_points(world, name):
    IDENTICAL[name](world)


# --- NULL and empty geometries ---------------------------------------------------------------------
EMPTY_WKT = {"point": "POINT EMPTY", "line": "LINESTRING EMPTY", "polygon": "POLYGON EMPTY"}
NULL_GEOMETRY = [  # (case id, parameter, world attribute, geometry, rows, fields)
    ("kerneldensity", "INPUT", "point", incident_rows, INCIDENT_FIELDS),
    ("gistar", "INPUT", "point", incident_rows, INCIDENT_FIELDS),
    ("localmoran", "INPUT", "point", incident_rows, INCIDENT_FIELDS),
    ("optimizedhotspots", "INPUT", "point", incident_rows, INCIDENT_FIELDS),
    ("hotstreets", "INCIDENTS", "point", incident_rows, INCIDENT_FIELDS),
    ("hotstreets:STREETS", "STREETS", "line", street_rows, STREET_FIELDS),
    ("streetsegments", "INPUT", "line", street_rows, STREET_FIELDS),
    ("assignincidents", "INCIDENTS", "point", incident_rows, INCIDENT_FIELDS),
    ("assignincidents:SEGMENTS", "SEGMENTS", "line", segment_rows, SEGMENT_FIELDS),
    ("concentration", "INPUT", "polygon", cell_rows, (("cell_id", "int"), ("n_incidents", "int"))),
    ("patroldosage", "HOTSPOTS", "polygon", hotspot_rows, HOTSPOT_FIELDS),
    ("observeddosage", "PINGS", "point", ping_rows, PING_FIELDS),
    ("observeddosage:HOTSPOTS", "HOTSPOTS", "polygon", hotspot_rows, HOTSPOT_FIELDS),
    ("evaluateforecast", "INCIDENTS", "point", incident_rows, INCIDENT_FIELDS),
    ("evaluateforecast:HOTSPOTS", "HOTSPOTS", "polygon", hotspot_rows, HOTSPOT_FIELDS),
    ("briefingmap", "LAYERS", "polygon", hotspot_rows, HOTSPOT_FIELDS),
]


def without_geometry(rows, kind, label_index=None):
    """Three more rows: two with a NULL geometry, one with an empty one; values as the first
    row's (the riskiest, most harmful values where that matters), labelled apart."""
    extra = []
    for k, wkt in enumerate((None, None, EMPTY_WKT[kind])):
        values = list(rows[0][1])
        if label_index is not None:
            values[label_index] = f"no geometry {k}"
        extra.append((wkt, values))
    return rows + extra


@pytest.mark.parametrize("name,key,kind,rows,fields", [case("null geometry", *spec) for spec in NULL_GEOMETRY])
def test_null_and_empty_geometries_are_left_out(world, name, key, kind, rows, fields):
    algorithm = name.split(":")[0]
    names = [f for f, _ in fields]
    label = names.index("label") if "label" in names else names.index("name") if "name" in names else None
    clean_rows = rows()
    holey = world.layer("holey", kind, without_geometry(clean_rows, kind, label), fields)
    clean = world.layer("clean", kind, clean_rows, fields)
    parameters = with_layer(world, algorithm, key, [holey] if key == "LAYERS" else holey)
    if algorithm == "briefingmap":
        assert "Bad input" in pdf_text(run(algorithm, parameters)["OUTPUT"])
        return
    results = run(algorithm, parameters)
    if algorithm == "concentration":  # an attribute statistic: units without a geometry are units all the same
        assert results["UNITS"] == len(clean_rows) + 3 and results["TOTAL"] == sum(v[1] for _, v in clean_rows) + 3 * clean_rows[0][1][1]
        return
    reference = dict(parameters, **{key: clean, "OUTPUT": str(world.out / "clean.gpkg")})
    if "OUTPUT_SCHEDULE" in reference:
        reference["OUTPUT_SCHEDULE"] = str(world.out / "clean_schedule.gpkg")
    if algorithm == "kerneldensity":
        reference["OUTPUT"] = str(world.out / "clean.tif")
    expected = run(algorithm, reference)
    if algorithm in ("gistar", "localmoran"):  # features without a place have no neighbours: left out, as everywhere
        rows_out = {r["label"]: r for r in features(results["OUTPUT"])}
        z = "GiZScore" if algorithm == "gistar" else "LMiZScore"
        for row in features(expected["OUTPUT"]):
            same(rows_out.pop(row["label"])[z], row[z])
        assert not rows_out
        return
    same(summary(algorithm, results), summary(algorithm, expected))


ALL_NULL = [  # (case id, parameter, geometry, rows, fields)
    ("kerneldensity", "INPUT", "point", incident_rows, INCIDENT_FIELDS),
    ("optimizedhotspots", "INPUT", "point", incident_rows, INCIDENT_FIELDS),
    ("hotstreets", "INCIDENTS", "point", incident_rows, INCIDENT_FIELDS),
    ("streetsegments", "INPUT", "line", street_rows, STREET_FIELDS),
    ("assignincidents", "INCIDENTS", "point", incident_rows, INCIDENT_FIELDS),
    ("patroldosage", "HOTSPOTS", "polygon", hotspot_rows, HOTSPOT_FIELDS),
    ("observeddosage", "PINGS", "point", ping_rows, PING_FIELDS),
    ("observeddosage:HOTSPOTS", "HOTSPOTS", "polygon", hotspot_rows, HOTSPOT_FIELDS),
    ("evaluateforecast", "INCIDENTS", "point", incident_rows, INCIDENT_FIELDS),
]


@pytest.mark.parametrize("name,key,kind,rows,fields", [case("all null geometry", *spec) for spec in ALL_NULL])
def test_no_feature_with_a_geometry_is_refused(world, name, key, kind, rows, fields):
    algorithm = name.split(":")[0]
    nothing = world.layer("placeless", kind, [(None if i % 2 else EMPTY_WKT[kind], values) for i, (_, values) in enumerate(rows())], fields)
    pattern = f"placeless|{key}|no (usable )?(points|lines|polygons|features)" + ("|no incident" if algorithm == "evaluateforecast" else "")
    refused(algorithm, with_layer(world, algorithm, key, nothing), pattern, world)


# --- the wrong geometry type -----------------------------------------------------------------------
WRONG_GEOMETRY = [  # (case id, parameter, geometry given, rows, fields)
    ("kerneldensity", "INPUT", "line", street_rows, STREET_FIELDS),
    ("optimizedhotspots", "INPUT", "line", street_rows, STREET_FIELDS),
    ("optimizedhotspots:STUDY_AREA", "STUDY_AREA", "line", street_rows, STREET_FIELDS),
    ("hotstreets", "INCIDENTS", "polygon", hotspot_rows, HOTSPOT_FIELDS),
    ("hotstreets:STREETS", "STREETS", "point", incident_rows, INCIDENT_FIELDS),
    ("streetsegments", "INPUT", "point", incident_rows, INCIDENT_FIELDS),
    ("streetsegments:polygons", "INPUT", "polygon", hotspot_rows, HOTSPOT_FIELDS),
    ("assignincidents", "INCIDENTS", "line", street_rows, STREET_FIELDS),
    ("assignincidents:SEGMENTS", "SEGMENTS", "point", incident_rows, INCIDENT_FIELDS),
    ("observeddosage", "PINGS", "polygon", hotspot_rows, HOTSPOT_FIELDS),
    ("observeddosage:HOTSPOTS", "HOTSPOTS", "point", incident_rows, INCIDENT_FIELDS),
    ("evaluateforecast", "INCIDENTS", "line", street_rows, STREET_FIELDS),
    ("evaluateforecast:HOTSPOTS", "HOTSPOTS", "point", incident_rows, INCIDENT_FIELDS),
    ("evaluateforecast:STUDY_AREA", "STUDY_AREA", "line", street_rows, STREET_FIELDS),
    ("briefingmap:DISTRICTS", "DISTRICTS", "point", incident_rows, INCIDENT_FIELDS),
    ("patroldosage:table", "HOTSPOTS", "none", hotspot_rows, HOTSPOT_FIELDS),
]


@pytest.mark.parametrize("name,key,kind,rows,fields", [case("wrong geometry", *spec) for spec in WRONG_GEOMETRY])
def test_wrong_geometry_type_is_refused(world, name, key, kind, rows, fields):
    algorithm = name.split(":")[0]
    given = [(None if kind == "none" else wkt, values) for wkt, values in rows()]
    wrong = world.layer("wrong", kind, given, fields)
    extra = {"DISTRICT_FIELD": "label"} if key == "DISTRICTS" else {}
    refused(algorithm, with_layer(world, algorithm, key, wrong, **extra), f"wrong|{key}", world)


def test_contiguity_on_points_and_network_on_polygons_are_refused(world):
    refused("gistar", with_layer(world, "gistar", "INPUT", world.incidents, WEIGHTS=2), "contiguity|WEIGHTS", world)
    refused("localmoran", with_layer(world, "localmoran", "INPUT", world.cells, FIELD="n_incidents", WEIGHTS=3), "network|WEIGHTS", world)


def test_concentration_of_a_table_without_geometry(world):
    table = world.layer("table", "none", [(None, values) for _, values in cell_rows()], (("cell_id", "int"), ("n_incidents", "int")))
    results = run("concentration", with_layer(world, "concentration", "INPUT", table))
    counts = np.sort([values[1] for _, values in cell_rows()])[::-1]
    half = int(np.searchsorted(np.cumsum(counts), counts.sum() / 2) + 1)
    assert results["UNITS"] == 9 and results["TOTAL"] == counts.sum()
    assert results["PCT_UNITS_50"] == pytest.approx(100.0 * half / 9)


# --- Z and M coordinates ----------------------------------------------------------------------------
DIMENSIONS = {
    ("point", "Z"): ogr.wkbPoint25D,
    ("point", "M"): ogr.wkbPointM,
    ("point", "ZM"): ogr.wkbPointZM,
    ("line", "Z"): ogr.wkbLineString25D,
    ("line", "ZM"): ogr.wkbLineStringZM,
    ("polygon", "Z"): ogr.wkbPolygon25D,
    ("polygon", "ZM"): ogr.wkbPolygonZM,
}


def with_dimensions(wkt, dims):
    """The WKT with a constant Z (12.5) and/or M (3) on every vertex."""
    extra = {"Z": " 12.5", "M": " 3.0", "ZM": " 12.5 3.0"}[dims]
    head, body = wkt.split("(", 1)
    body = re.sub(r"(-?[\d.]+(?:e[-+]?\d+)?) (-?[\d.]+(?:e[-+]?\d+)?)", lambda m: m.group(0) + extra, body)
    return f"{head.strip()} {dims} ({body}"


ZM = [  # (case id, parameter, geometry, rows, fields, dimensions)
    ("kerneldensity:Z", "INPUT", "point", incident_rows, INCIDENT_FIELDS, "Z"),
    ("kerneldensity:M", "INPUT", "point", incident_rows, INCIDENT_FIELDS, "M"),
    ("kerneldensity:ZM", "INPUT", "point", incident_rows, INCIDENT_FIELDS, "ZM"),
    ("gistar", "INPUT", "point", incident_rows, INCIDENT_FIELDS, "ZM"),
    ("gistar:Z", "INPUT", "point", incident_rows, INCIDENT_FIELDS, "Z"),
    ("localmoran", "INPUT", "point", incident_rows, INCIDENT_FIELDS, "ZM"),
    ("optimizedhotspots", "INPUT", "point", incident_rows, INCIDENT_FIELDS, "ZM"),
    ("hotstreets", "INCIDENTS", "point", incident_rows, INCIDENT_FIELDS, "ZM"),
    ("hotstreets:STREETS", "STREETS", "line", street_rows, STREET_FIELDS, "ZM"),
    ("streetsegments:Z", "INPUT", "line", street_rows, STREET_FIELDS, "Z"),
    ("streetsegments:ZM", "INPUT", "line", street_rows, STREET_FIELDS, "ZM"),
    ("assignincidents", "INCIDENTS", "point", incident_rows, INCIDENT_FIELDS, "ZM"),
    ("assignincidents:SEGMENTS", "SEGMENTS", "line", segment_rows, SEGMENT_FIELDS, "ZM"),
    ("assignincidents:SEGMENTS:Z", "SEGMENTS", "line", segment_rows, SEGMENT_FIELDS, "Z"),
    ("patroldosage", "HOTSPOTS", "polygon", hotspot_rows, HOTSPOT_FIELDS, "Z"),
    ("observeddosage", "PINGS", "point", ping_rows, PING_FIELDS, "Z"),
    ("observeddosage:HOTSPOTS", "HOTSPOTS", "polygon", hotspot_rows, HOTSPOT_FIELDS, "ZM"),
    ("evaluateforecast", "INCIDENTS", "point", incident_rows, INCIDENT_FIELDS, "Z"),
    ("evaluateforecast:HOTSPOTS", "HOTSPOTS", "polygon", hotspot_rows, HOTSPOT_FIELDS, "ZM"),
    ("briefingmap", "LAYERS", "polygon", hotspot_rows, HOTSPOT_FIELDS, "Z"),
]


def reference_parameters(world, algorithm, parameters, key, clean):
    """``parameters`` with ``clean`` for ``key`` and every output renamed 'clean_*'."""
    reference = dict(parameters, **{key: [clean] if key == "LAYERS" else clean})
    for output in ("OUTPUT", "OUTPUT_SCHEDULE", "OUTPUT_INCIDENTS", "OUTPUT_SHIFTS", "OUTPUT_HTML"):
        if isinstance(reference.get(output), str) and reference[output] != "memory:":
            reference[output] = str(Path(reference[output]).with_name("clean_" + Path(reference[output]).name))
    return reference


def compare_with_clean(world, algorithm, parameters, key, clean):
    """The run with ``parameters`` finds what the run on the clean input finds."""
    results = run(algorithm, parameters)
    expected = run(algorithm, reference_parameters(world, algorithm, parameters, key, clean))
    if algorithm == "briefingmap":
        assert "Bad input" in pdf_text(results["OUTPUT"])
        return results
    if algorithm in ("gistar", "localmoran"):
        z = "GiZScore" if algorithm == "gistar" else "LMiZScore"
        same(
            sorted((r["label"], r[z]) for r in features(results["OUTPUT"])),
            sorted((r["label"], r[z]) for r in features(expected["OUTPUT"])),
        )
        return results
    same(summary(algorithm, results), summary(algorithm, expected))
    return results


@pytest.mark.parametrize("name,key,kind,rows,fields,dims", [case("zm", *spec) for spec in ZM])
def test_z_and_m_coordinates_change_nothing(world, name, key, kind, rows, fields, dims):
    algorithm = name.split(":")[0]
    clean_rows = rows()
    raised = world.layer("raised", DIMENSIONS[(kind, dims)], [(with_dimensions(wkt, dims), v) for wkt, v in clean_rows], fields)
    clean = world.layer("flat", kind, clean_rows, fields)
    compare_with_clean(world, algorithm, with_layer(world, algorithm, key, [raised] if key == "LAYERS" else raised), key, clean)


# --- multipart geometries: each part counts once ----------------------------------------------------
def grouped(items, size):
    return [items[i : i + size] for i in range(0, len(items), size)]


def multipoint_incidents(world):
    """Incidents three to a multipoint feature (the weight of the feature for each part), and
    the same parts as single points."""
    groups = grouped(list(range(len(INCIDENT_XY))), 3)
    multi = []
    for k, group in enumerate(groups):
        parts = ", ".join(f"({X0 + INCIDENT_XY[i, 0]!r} {Y0 + INCIDENT_XY[i, 1]!r})" for i in group)
        multi.append((f"MULTIPOINT ({parts})", [float(HARM[group[0]]), k % 3, f"multi {k}"]))
    harm = np.concatenate([[HARM[g[0]]] * len(g) for g in groups])
    exploded = world.layer("exploded", "point", incident_rows(INCIDENT_XY, harm), INCIDENT_FIELDS)
    return world.layer("multi", "multipoint", multi, INCIDENT_FIELDS), exploded


def multi_counts(world, name, extra):
    multi, exploded = multipoint_incidents(world)
    results = compare_with_clean(
        world, name, with_layer(world, name, "INCIDENTS", multi, WEIGHT_FIELD="harm", **extra), "INCIDENTS", exploded
    )
    assert results["MATCHED"] == len(INCIDENT_XY)
    if "OUTPUT_INCIDENTS" in extra:  # one row per incident feature, named by the segment of its first part
        rows = features(results["OUTPUT_INCIDENTS"])
        expected = [str(INCIDENT_SEGMENT[g[0]] + 1) for g in grouped(list(range(len(INCIDENT_XY))), 3)]
        assert [str(r["segment_id"]) for r in rows] == expected


def multi_kde(world):
    multi, exploded = multipoint_incidents(world)
    results = compare_with_clean(
        world, "kerneldensity", with_layer(world, "kerneldensity", "INPUT", multi, WEIGHT_FIELD="harm"), "INPUT", exploded
    )
    assert results["INCIDENT_COUNT"] == len(INCIDENT_XY)


def multi_optimized(world):
    multi, exploded = multipoint_incidents(world)
    parameters = with_layer(world, "optimizedhotspots", "INPUT", multi, WEIGHT_FIELD="harm")
    results = compare_with_clean(world, "optimizedhotspots", parameters, "INPUT", exploded)
    assert sum(r["incident_count"] for r in features(results["OUTPUT"])) == len(INCIDENT_XY)


def multi_evaluation(world):
    multi, exploded = multipoint_incidents(world)
    results = compare_with_clean(
        world, "evaluateforecast", with_layer(world, "evaluateforecast", "INCIDENTS", multi), "INCIDENTS", exploded
    )
    assert results["TOTAL"] == len(INCIDENT_XY) and results["CAPTURED"] == expected_captured()


def multi_pings(world, extra):
    """Pings stored as one-part multipoints (as shapefiles often hold points)."""
    rows = [(wkt.replace("POINT (", "MULTIPOINT ((") + ")", values) for wkt, values in ping_rows()]
    pings = world.layer("multipings", "multipoint", rows, PING_FIELDS)
    parameters = with_layer(world, "observeddosage", "PINGS", pings, **extra)
    results = compare_with_clean(world, "observeddosage", parameters, "PINGS", world.pings)
    assert {r["name"]: r["minutes_observed"] for r in features(results["OUTPUT"])} == pytest.approx(OBSERVED)


def multi_streets(world, name):
    """The eight centre-lines as four two-part multilines (H0 + V0, ...)."""
    rows = street_rows()
    multi = []
    for k in range(4):
        (a, values), (b, _) = rows[2 * k], rows[2 * k + 1]
        multi.append((f"MULTILINESTRING ({a[len('LINESTRING ') :]}, {b[len('LINESTRING ') :]})", values))
    layer = world.layer("multistreets", "multiline", multi, STREET_FIELDS)
    key = "INPUT" if name == "streetsegments" else "STREETS"
    results = compare_with_clean(world, name, with_layer(world, name, key, layer), key, world.streets)
    assert results["SEGMENT_COUNT"] == 24


def multi_hotspots(world, name):
    """Hot spots as multipolygons: A and C as one two-part feature for the evaluation, each
    one part for the plan and the observed dose."""
    rows = hotspot_rows()
    if name == "evaluateforecast":
        (a, values), (b, b_values), (c, _) = rows
        multi = [
            (f"MULTIPOLYGON ({a[len('POLYGON ') :]}, {c[len('POLYGON ') :]})", values),
            (b.replace("POLYGON ((", "MULTIPOLYGON (((") + ")", b_values),
        ]
        results = run(name, with_layer(world, name, "HOTSPOTS", world.layer("multispots", "multipolygon", multi, HOTSPOT_FIELDS)))
        assert results["CAPTURED"] == expected_captured() and results["AREA_SHARE"] == pytest.approx(3 * 100.0**2 / 400.0**2)
        return
    multi = [(wkt.replace("POLYGON ((", "MULTIPOLYGON (((") + ")", values) for wkt, values in rows]
    compare_with_clean(
        world,
        name,
        with_layer(world, name, "HOTSPOTS", world.layer("multispots", "multipolygon", multi, HOTSPOT_FIELDS)),
        "HOTSPOTS",
        world.hotspots,
    )


MULTIPART = {
    "kerneldensity": multi_kde,
    "optimizedhotspots": multi_optimized,
    "hotstreets": lambda world: multi_counts(world, "hotstreets", {}),
    "assignincidents": lambda world: multi_counts(world, "assignincidents", {}),
    "assignincidents:OUTPUT_INCIDENTS": lambda world: multi_counts(world, "assignincidents", {"OUTPUT_INCIDENTS": "memory:"}),
    "evaluateforecast": multi_evaluation,
    "evaluateforecast:HOTSPOTS": lambda world: multi_hotspots(world, "evaluateforecast"),
    "observeddosage": lambda world: multi_pings(world, {}),
    "observeddosage:OUTPUT_SHIFTS": lambda world: multi_pings(world, {"OUTPUT_SHIFTS": "memory:"}),
    "observeddosage:HOTSPOTS": lambda world: multi_hotspots(world, "observeddosage"),
    "patroldosage": lambda world: multi_hotspots(world, "patroldosage"),
    "streetsegments": lambda world: multi_streets(world, "streetsegments"),
    "hotstreets:STREETS": lambda world: multi_streets(world, "hotstreets"),
}


@pytest.mark.parametrize("name", [case("multipart", name) for name in MULTIPART])
def test_multipart_geometries_count_each_part_once(world, name):
    MULTIPART[name](world)


# --- coordinate reference systems: undefined, geographic, mixed; huge coordinates ---------------
SPATIAL = tuple(name for name in ALGORITHMS if name != "concentration")


def reprojection(source, target):
    transform = osr.CoordinateTransformation(spatial_reference(source), spatial_reference(target))

    def apply(wkt):
        shape = ogr.CreateGeometryFromWkt(wkt)
        shape.Transform(transform)
        return shape.ExportToIsoWkt()

    return apply


def shifted(dx, dy):
    number = r"(-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)"
    return lambda wkt: re.sub(f"{number} {number}", lambda m: f"{float(m[1]) + dx!r} {float(m[2]) + dy!r}", wkt)


def same_as_clean(name, world, other, **extra):
    """The run on ``other`` (the world moved, reprojected or mixed) finds what the clean one does."""
    results = run(name, {**other.parameters(name), **extra})
    same(summary(name, results), summary(name, run(name, {**world.parameters(name), **extra})))
    return results


@pytest.mark.parametrize("name", [case("geographic", name) for name in SPATIAL])
def test_geographic_input_is_measured_in_metres(world, tmp_path, name):
    """The world in longitude and latitude (EPSG:4326) gives what it gives in UTM: distances,
    cell sizes and bandwidths are metres, not degrees."""
    geographic = World(tmp_path / "wgs84", reprojection(EPSG, 4326), 4326)
    results = same_as_clean(name, world, geographic)
    if name == "kerneldensity":
        assert "UTM zone 30N" in raster(results["OUTPUT"])[2]


@pytest.mark.parametrize("name", [case("huge coordinates", name) for name in SPATIAL])
def test_huge_coordinates(world, tmp_path, name):
    """The world moved 10,000 km east and north (same CRS, no reprojection) finds the same."""
    same_as_clean(name, world, World(tmp_path / "far", shifted(1e7, 1e7), EPSG))


@pytest.mark.parametrize("name", [case("undefined crs", name) for name in SPATIAL + ("kerneldensity:map units",)])
def test_undefined_crs(world, tmp_path, name):
    """A GeoPackage without an SRS (srs_id 0): refused, naming the layer's missing CRS, or
    measured in its map units as they are (the same as in a projected CRS)."""
    algorithm = name.split(":")[0]
    unknown = World(tmp_path / "unknown", None, None)
    extra = {"AREA_UNIT": 3} if name == "kerneldensity:map units" else {}

    def check(results):
        same(summary(algorithm, results), summary(algorithm, run(algorithm, {**world.parameters(algorithm), **extra})))

    refused_or(algorithm, {**unknown.parameters(algorithm), **extra}, "CRS|coordinate reference|map units", check, unknown)


MIXED = {  # (case id) -> {parameter: (EPSG of the layer, world attribute)}
    "hotstreets": {"INCIDENTS": (3857, "incidents")},
    "assignincidents": {"INCIDENTS": (4326, "incidents")},
    "assignincidents:SEGMENTS": {"SEGMENTS": (4326, "segments")},
    "optimizedhotspots:STUDY_AREA": {"STUDY_AREA": (3857, "area")},
    "observeddosage": {"PINGS": (4326, "pings")},
    "observeddosage:HOTSPOTS": {"HOTSPOTS": (3857, "hotspots")},
    "evaluateforecast": {"INCIDENTS": (4326, "incidents"), "STUDY_AREA": (3857, "area")},
    "evaluateforecast:HOTSPOTS": {"HOTSPOTS": (4326, "hotspots"), "UNITS": (3857, "cells")},
    "briefingmap": {"LAYERS": (4326, "hotspots")},
}


@pytest.mark.parametrize("name", [case("mixed crs", name) for name in MIXED])
def test_inputs_in_different_crs(world, tmp_path, name):
    algorithm = name.split(":")[0]
    other = {epsg: World(tmp_path / f"epsg{epsg}", reprojection(EPSG, epsg), epsg) for epsg in {e for e, _ in MIXED[name].values()}}
    mixed = world.parameters(algorithm)
    for key, (epsg, attribute) in MIXED[name].items():
        mixed[key] = getattr(other[epsg], attribute) if key != "LAYERS" else [getattr(other[epsg], attribute), world.streets]
    clean = world.parameters(algorithm)
    if algorithm == "optimizedhotspots":
        mixed["STUDY_AREA"], clean["STUDY_AREA"] = mixed["STUDY_AREA"], world.area
    mixed = {k: (str(Path(v).with_name("mixed_" + Path(v).name)) if k.startswith("OUTPUT") else v) for k, v in mixed.items()}
    same(summary(algorithm, run(algorithm, mixed)), summary(algorithm, run(algorithm, clean)))


UNDEFINED_AND_DEFINED = {
    "hotstreets": "INCIDENTS",
    "assignincidents": "INCIDENTS",
    "observeddosage": "PINGS",
    "evaluateforecast": "INCIDENTS",
}


@pytest.mark.parametrize("name", [case("undefined and defined crs", name) for name in UNDEFINED_AND_DEFINED])
def test_one_input_without_crs(world, tmp_path, name):
    """Incidents (pings) without a CRS beside layers in UTM: refused, naming the layer without
    a CRS, or taken to be in the same CRS (the coordinates are): the clean result."""
    key = UNDEFINED_AND_DEFINED[name]
    unknown = World(tmp_path / "unknown", None, None)
    parameters = with_layer(world, name, key, getattr(unknown, "pings" if key == "PINGS" else "incidents"))
    check = lambda results: same(summary(name, results), summary(name, run(name, world.parameters(name))))  # noqa: E731
    refused_or(
        name,
        {k: (str(Path(v).with_name("u_" + Path(v).name)) if k.startswith("OUTPUT") else v) for k, v in parameters.items()},
        "CRS|coordinate reference",
        check,
        world,
    )


# --- odd field types and names ---------------------------------------------------------------------
FIELD_TARGETS = {  # algorithm: (field parameter, layer parameter, world attribute, rows, fields, analysed field, role)
    "kerneldensity": ("WEIGHT_FIELD", "INPUT", incident_rows, INCIDENT_FIELDS, "harm", "weight"),
    "optimizedhotspots": ("WEIGHT_FIELD", "INPUT", incident_rows, INCIDENT_FIELDS, "harm", "weight"),
    "hotstreets": ("WEIGHT_FIELD", "INCIDENTS", incident_rows, INCIDENT_FIELDS, "harm", "weight"),
    "assignincidents": ("WEIGHT_FIELD", "INCIDENTS", incident_rows, INCIDENT_FIELDS, "harm", "weight"),
    "gistar": ("FIELD", "INPUT", incident_rows, INCIDENT_FIELDS, "harm", "value"),
    "localmoran": ("FIELD", "INPUT", incident_rows, INCIDENT_FIELDS, "harm", "value"),
    "concentration": ("FIELD", "INPUT", cell_rows, (("cell_id", "int"), ("n_incidents", "int")), "n_incidents", "count"),
    "patroldosage": ("RISK_FIELD", "HOTSPOTS", hotspot_rows, HOTSPOT_FIELDS, "harm", "risk"),
}
# What is right for a bad value in one feature, by the field's role:
#   refuse: a QgsProcessingException naming the field; without: as if the feature had no value
#   (left out: no weight, no risk, NULL statistics); zero: counts as 0; shifted: a valid value
#   (Gi* and Local Moran's I do not change when a constant is added to every value; the values
#   are shifted to straddle 0)
FIELD_RULES = {
    "nan": {"weight": "refuse", "value": "without", "count": "zero", "risk": "without"},
    "inf": {"weight": "refuse", "value": "refuse or without", "count": "refuse", "risk": "refuse"},
    "negative": {"weight": "refuse", "value": "shifted", "count": "refuse", "risk": "refuse"},
    "null": {"weight": "refuse", "value": "without", "count": "zero", "risk": "without"},
}
FIELD_VARIANTS = ("text", "text not a number", "nan", "inf", "negative", "null", "missing", "other case", "non-ascii", "latin1 shapefile")
BAD_ROW = {"incidents": 5, "cells": 4, "hotspots": 1}  # the feature given the bad value (hot spot B: the riskiest)


def field_case(world, name, variant):
    """(parameters for the variant, the field name given, the clean equivalent's parameters or
    None, what is right)."""
    field_key, key, rows_of, fields, analysed, role = FIELD_TARGETS[name]
    rows = rows_of()
    kind = "point" if rows_of is incident_rows else "polygon"
    index = [f for f, _ in fields].index(analysed)
    bad = BAD_ROW["incidents" if rows_of is incident_rows else "cells" if rows_of is cell_rows else "hotspots"]
    base = world.parameters(name)
    clean = {**base, key: world.layer("clean", kind, rows, fields), field_key: analysed}

    def variant_of(values_of, field_type=None, new_name=None, memory_layer=False):
        changed = [(wkt, list(values)) for wkt, values in rows]
        for i, (_, values) in enumerate(changed):
            values[index] = values_of(i, values[index])
        kinds = [(new_name or f, field_type or t) if j == index else (f, t) for j, (f, t) in enumerate(fields)]
        if memory_layer:
            return memory("odd", kind.capitalize(), changed, kinds)
        return world.layer("odd", kind, changed, kinds)

    if variant == "text":
        layer = variant_of(lambda i, v: repr(float(v)), "string", "harm_txt")
        return {**base, key: layer, field_key: "harm_txt"}, "harm_txt", clean, "same or refuse"
    if variant == "text not a number":
        layer = variant_of(lambda i, v: "n/a" if i == bad else repr(float(v)), "string", "harm_txt")
        return {**base, key: layer, field_key: "harm_txt"}, "harm_txt", None, "refuse"
    if variant in FIELD_RULES:
        value = {"nan": math.nan, "inf": math.inf, "null": None, "negative": None}[variant]
        if variant == "negative":
            middle = float(np.median([values[index] for _, values in rows]))
            layer = variant_of(lambda i, v: float(v) - middle - 0.25, "double")
        else:
            layer = variant_of(lambda i, v: value if i == bad else v, "double", memory_layer=variant in ("nan", "inf"))
        rule = FIELD_RULES[variant][role]
        reference = None
        if rule in ("without", "refuse or without"):
            reference = {**clean, key: world.layer("without", kind, [r for i, r in enumerate(rows) if i != bad], fields)}
        elif rule == "zero":
            zeroed = [(wkt, [0 if (i == bad and j == index) else v for j, v in enumerate(values)]) for i, (wkt, values) in enumerate(rows)]
            reference = {**clean, key: world.layer("zeroed", kind, zeroed, fields)}
        elif rule == "shifted":
            reference = clean
        return {**base, key: layer, field_key: analysed}, analysed, reference, rule
    if variant == "missing":
        return {**base, field_key: "no_such_field"}, "no_such_field", None, "refuse"
    if variant == "other case":
        return {**clean, field_key: analysed.upper()}, analysed.upper(), clean, "same or refuse"
    if variant == "non-ascii":
        layer = variant_of(lambda i, v: v, None, "gewicht_ä")
        return {**base, key: layer, field_key: "gewicht_ä"}, "gewicht_ä", clean, "same"
    if variant == "latin1 shapefile":
        latin = [(f if j != index else "gewicht_ä", t) for j, (f, t) in enumerate(fields)]
        labelled = [(wkt, [("Straße " + v) if isinstance(v, str) else v for v in values]) for wkt, values in rows]
        layer = world.layer("latin", kind, labelled, latin, driver="ESRI Shapefile", options=["ENCODING=ISO-8859-1"])
        assert b"gewicht_" + "ä".encode("latin-1") in Path(layer).with_suffix(".dbf").read_bytes()  # really latin1
        same_text = {**clean, key: world.layer("clean_text", kind, labelled, fields)}  # the same names, read right
        return {**base, key: layer, field_key: "gewicht_ä"}, "gewicht_ä", same_text, "same"
    raise AssertionError(variant)


def compare_field_runs(name, results, reference, rule):
    expected = run(name, renamed(reference))
    if name in ("gistar", "localmoran") and rule == "without":  # the feature without a value: NULL; the others as without it
        z = "GiZScore" if name == "gistar" else "LMiZScore"
        got = {r["label"]: r[z] for r in features(results["OUTPUT"])}
        assert got.pop(f"incident {BAD_ROW['incidents']}") is None
        same(sorted(got.items()), sorted((r["label"], r[z]) for r in features(expected["OUTPUT"])))
        return
    same(summary(name, results), summary(name, expected))


def renamed(parameters):
    """``parameters`` with every file output renamed 'clean_*' (so two runs can be compared)."""
    return {
        k: (str(Path(v).with_name("clean_" + Path(v).name)) if k.startswith("OUTPUT") and isinstance(v, str) else v)
        for k, v in parameters.items()
    }


@pytest.mark.parametrize(
    "name,variant", [case("fields", f"{name}:{variant}", variant) for variant in FIELD_VARIANTS for name in FIELD_TARGETS]
)
def test_odd_fields(world, name, variant):
    name = name.split(":")[0]
    parameters, field, reference, rule = field_case(world, name, variant)
    pattern = re.escape(field)
    if rule == "refuse":
        refused(name, parameters, pattern, world)
    elif rule in ("same or refuse", "refuse or without"):
        rule = rule.replace("refuse or ", "")
        refused_or(name, parameters, pattern, lambda results: compare_field_runs(name, results, reference, rule), world)
    else:
        compare_field_runs(name, run(name, parameters), reference, rule)


# --- odd times (observeddosage) ------------------------------------------------------------------
EPOCH_0800 = 1764576000  # 2025-12-01 08:00:00 UTC


def iso(seconds, offset_hours=0, separator="T", suffix=None):
    hour, minute, second = clock(seconds)
    text = f"{DAY}{separator}{hour + offset_hours:02d}:{minute:02d}:{second:02d}"
    if suffix is not None:
        return text + suffix
    return text + (f"+{offset_hours:02d}:00" if offset_hours else "")


def qdatetime(seconds):
    hour, minute, second = clock(seconds)
    return QDateTime(QDate(2025, 12, 1), QTime(hour, minute, second), Qt.TimeSpec.UTC)


TIME_VARIANTS = {  # id: (field type, value of a ping 'seconds' after 08:00 UTC, memory layer?)
    "geopackage datetime": ("datetime", lambda i, t: (2025, 12, 1, *clock(t), 0), False),
    "geopackage datetime utc": ("datetime", lambda i, t: (2025, 12, 1, *clock(t), 100), False),
    "geopackage datetime +01:00": ("datetime", lambda i, t: (2025, 12, 1, clock(t)[0] + 1, *clock(t)[1:], 104), False),
    "qdatetime": ("datetime", lambda i, t: qdatetime(t), True),
    "iso text": ("string", lambda i, t: iso(t), False),
    "iso text with a space": ("string", lambda i, t: iso(t, separator=" "), False),
    "iso text Z": ("string", lambda i, t: iso(t, suffix="Z"), False),
    "iso text +01:00": ("string", lambda i, t: iso(t, 1), False),
    "iso text, mixed offsets": ("string", lambda i, t: iso(t, 1) if i % 2 else iso(t, suffix="Z"), False),
    "epoch seconds": ("int64", lambda i, t: EPOCH_0800 + t, True),
    "epoch seconds, double": ("double", lambda i, t: float(EPOCH_0800 + t), False),
    "epoch milliseconds": ("int64", lambda i, t: (EPOCH_0800 + t) * 1000, True),
    "epoch seconds as text": ("string", lambda i, t: str(EPOCH_0800 + t), False),
}


def pings_with_times(world, name, field_type, value_of, in_memory):
    rows = [(point(x, y), [unit, value_of(i, t)]) for i, (unit, t, x, y) in enumerate(ping_track())]
    fields = (("unit_id", "string"), ("pinged_at", field_type))
    if in_memory:
        return memory(name, "Point", rows, fields)
    return world.layer(name, "point", rows, fields)


def observed(world, pings, **extra):
    results = run("observeddosage", with_layer(world, "observeddosage", "PINGS", pings, OUTPUT="memory:", OUTPUT_SHIFTS="memory:", **extra))
    rows = features(results["OUTPUT"])
    shifts = sorted((r["hotspot"], r["shift_start"], round(r["minutes_observed"], 6)) for r in features(results["OUTPUT_SHIFTS"]))
    return {r["name"]: (r["minutes_observed"], r["visits_observed"], r["shifts_observed"]) for r in rows}, shifts


@pytest.mark.parametrize("name", [case("times", name) for name in TIME_VARIANTS])
def test_ping_times_in_any_form_give_the_same_dose(world, name):
    """The same pings, their times written in another form: the same dose, the same shifts."""
    field_type, value_of, in_memory = TIME_VARIANTS[name]
    dose, shifts = observed(world, pings_with_times(world, "timed", field_type, value_of, in_memory))
    expected_dose, expected_shifts = observed(world, world.pings)
    assert {k: v[0] for k, v in expected_dose.items()} == pytest.approx(OBSERVED)  # the clean run is right
    assert dose == expected_dose and shifts == expected_shifts


def test_a_ping_with_an_unreadable_time(world):
    """One ping of car 1, away from B, has 'n/a' for a time: refused naming the value, or left out (the same dose)."""
    pings = pings_with_times(world, "timed", "string", lambda i, t: "n/a" if i == 30 else iso(t), False)

    def check(results):
        assert {r["name"]: r["minutes_observed"] for r in features(results["OUTPUT"])} == pytest.approx(OBSERVED)

    refused_or("observeddosage", with_layer(world, "observeddosage", "PINGS", pings), "n/a", check, world)


def test_dates_without_time_read_alike_as_date_and_as_text(world):
    """A date-only field and the same dates as text: consistent (the same refusal or dose)."""
    as_date = memory(
        "dates",
        "Point",
        [(point(x, y), [u, QDate(2025, 12, 1)]) for u, t, x, y in ping_track()],
        (("unit_id", "string"), ("pinged_at", "date")),
    )
    as_text = pings_with_times(world, "date_text", "string", lambda i, t: DAY, False)
    outcomes = []
    for pings in (as_date, as_text):
        try:
            outcomes.append(observed(world, pings))
        except QgsProcessingException as error:
            assert "Traceback" not in str(error) and "pinged_at" in str(error), str(error)
            outcomes.append("refused")
    assert outcomes[0] == outcomes[1]


def test_unreadable_times_are_refused(world):
    pings = pings_with_times(world, "untimed", "string", lambda i, t: "soon", False)
    refused("observeddosage", with_layer(world, "observeddosage", "PINGS", pings), "pinged_at", world)


# --- degenerate streets -----------------------------------------------------------------------------
ZERO_LENGTH = (line((50.0, 4.0), (50.0, 4.0)), ["Zero", 1])  # right on an incident
PARALLEL = [(line((0.0, y), (300.0, y)), [f"P{k}", 1]) for k, y in enumerate((0.0, 100.0, 200.0))]  # never meet


def degenerate_segments(world):
    """The counted segments plus a zero-length one where an incident lies: it is skipped (or kept
    with no incident); every real segment keeps its count."""
    rows = segment_rows() + [(ZERO_LENGTH[0], [99, "Zero"])]
    results = run(
        "assignincidents", with_layer(world, "assignincidents", "SEGMENTS", world.layer("with_zero", "line", rows, SEGMENT_FIELDS))
    )
    counts = {r["segment_id"]: r["incident_count"] for r in features(results["OUTPUT"])}
    assert counts.pop(99, 0) == 0
    assert counts == {k + 1: COUNTS[k] for k in range(len(SEGMENTS))} and results["MATCHED"] == len(INCIDENT_XY)


def parallel_segments(world):
    """Streets that never meet: each incident still goes to the nearest one."""
    rows = [(wkt, [k + 1, name]) for k, (wkt, (name, _)) in enumerate(PARALLEL)]
    incidents = world.layer(
        "near_parallel", "point", incident_rows(np.array([[150.0, 6.0], [150.0, 96.0], [20.0, 190.0]]), np.ones(3)), INCIDENT_FIELDS
    )
    parameters = with_layer(
        world, "assignincidents", "SEGMENTS", world.layer("parallel", "line", rows, SEGMENT_FIELDS), INCIDENTS=incidents
    )
    counts = {r["segment_id"]: r["incident_count"] for r in features(run("assignincidents", parameters)["OUTPUT"])}
    assert counts == {1: 1, 2: 1, 3: 1}


def streets_with(world, name, rows):
    return world.layer(name, "line", rows, STREET_FIELDS)


DEGENERATE = {
    "streetsegments:zero-length line": lambda world: same_as_clean_streets(world, street_rows() + [ZERO_LENGTH]),
    "streetsegments:only zero-length lines": lambda world: refused(
        "streetsegments", with_layer(world, "streetsegments", "INPUT", streets_with(world, "dots", [ZERO_LENGTH] * 3)), "dots", world
    ),
    "streetsegments:lines that never meet": lambda world: check_segments(world, PARALLEL, [300.0] * 3),
    "streetsegments:a closed loop": lambda world: check_segments(
        world, [(line((0.0, 0.0), (100.0, 0.0), (100.0, 100.0), (0.0, 100.0), (0.0, 0.0)), ["Loop", 1])], [400.0]
    ),
    "streetsegments:a line running back over itself": lambda world: same_as_clean_streets(
        world, street_rows() + [(line((0.0, 400.0), (300.0, 400.0), (100.0, 400.0)), ["Back", 1])]
    ),
    "assignincidents:zero-length segment": degenerate_segments,
    "assignincidents:segments that never meet": parallel_segments,
    "evaluateforecast:zero-length unit": lambda world: evaluate_with_zero_length_unit(world),
    "hotstreets:zero-length line": lambda world: compare_with_clean(
        world,
        "hotstreets",
        with_layer(world, "hotstreets", "STREETS", streets_with(world, "z", street_rows() + [ZERO_LENGTH])),
        "STREETS",
        world.streets,
    ),
    "hotstreets:lines that never meet": lambda world: refused(
        "hotstreets", with_layer(world, "hotstreets", "STREETS", streets_with(world, "apart", PARALLEL)), "apart", world
    ),
    "hotstreets:a single line": lambda world: refused(
        "hotstreets", with_layer(world, "hotstreets", "STREETS", streets_with(world, "lonely", street_rows()[:1])), "lonely|same", world
    ),
}


def evaluate_with_zero_length_unit(world):
    """Street-segment hot spots (segment 1 of 100 m) against the 2,400 m network plus a zero-length
    'segment' right on segment 1's incident: no street, so it takes nothing from segment 1."""
    hot = world.layer("hot_segment", "line", segment_rows()[:1], SEGMENT_FIELDS)
    network = world.layer("network", "line", segment_rows() + [(ZERO_LENGTH[0], [99, "Zero"])], SEGMENT_FIELDS)
    parameters = {"HOTSPOTS": hot, "INCIDENTS": world.incidents, "UNITS": network, "OUTPUT_HTML": str(world.out / "e.html")}
    results = run("evaluateforecast", parameters)
    assert results["CAPTURED"] == COUNTS[0] and results["TOTAL"] == len(INCIDENT_XY)
    assert results["AREA_SHARE"] == pytest.approx(100.0 / 2400.0)
    assert results["PAI"] == pytest.approx((COUNTS[0] / len(INCIDENT_XY)) / (100.0 / 2400.0))


def check_segments(world, rows, lengths):
    results = run("streetsegments", with_layer(world, "streetsegments", "INPUT", streets_with(world, "odd_streets", rows)))
    assert results["SEGMENT_COUNT"] == len(lengths)
    assert sorted(r["length"] for r in features(results["OUTPUT"])) == pytest.approx(sorted(lengths))


def same_as_clean_streets(world, rows):
    """Extra degenerate lines are skipped: the grid's 24 segments of 100 m, as from the clean lines."""
    results = run("streetsegments", with_layer(world, "streetsegments", "INPUT", streets_with(world, "odd_streets", rows)))
    lengths = sorted(r["length"] for r in features(results["OUTPUT"]))
    assert results["SEGMENT_COUNT"] == 24 and lengths == pytest.approx([100.0] * 24)


@pytest.mark.parametrize("name", [case("degenerate streets", name) for name in DEGENERATE])
def test_degenerate_streets(world, name):
    DEGENERATE[name](world)


# --- extreme parameter values: 0, negative, NaN, huge ----------------------------------------------
NAN = float("nan")
BIG_NUMBER = r"\d{1,3}(,\d{3}){2,}|\d{7,}"  # the size a run would reach, e.g. 20,000,000 rows


def refused_naming(name, key, value, pattern=None, limit=LIMIT, **extra):
    """Refused up front (within ``limit`` seconds) naming ``key``, and matching ``pattern`` too."""

    def check(world):
        message = refused(
            name,
            with_layer(world, name, "_", None, **{key: value}, **extra),
            re.escape(key) + "|" + key.lower().replace("_", " "),
            world,
            limit=limit,
        )
        if pattern:
            assert re.search(pattern, message, re.IGNORECASE), message

    return check


def no_significant(name, key, value, z_field="GiZScore", bin_field="Gi_Bin"):
    """Every feature a neighbour of every other: Gi* is 0/0, so refused naming ``key``, or
    nothing called a hot or cold spot."""

    def check(world):
        def nothing_significant(results):
            for row in features(results["OUTPUT"]):
                assert row[bin_field] in (None, 0, "") and (row[z_field] is None or math.isfinite(row[z_field])), row

        refused_or(name, with_layer(world, name, "_", None, **{key: value}), re.escape(key), nothing_significant, world)

    return check


def huge_budget(world):
    results = run("patroldosage", with_layer(world, "patroldosage", "_", None, PATROL_MINUTES=1e12))
    plan = features(results["OUTPUT"])
    # at most one visit of VISIT_MAX (15 min) per two hours of the 8-hour shift: 60 minutes a hot spot
    assert len(plan) == 3 and all(0 < p["minutes_per_shift"] <= 60 and p["visits_per_shift"] <= 4 for p in plan)
    assert results["MINUTES_PLANNED"] == sum(p["minutes_per_shift"] for p in plan) <= 180


def many_units(world):
    results = run("patroldosage", with_layer(world, "patroldosage", "_", None, UNITS=1_000_000))
    visits = features(results["OUTPUT_SCHEDULE"])
    assert visits and {v["unit"] for v in visits} <= {1, 2, 3}  # no more units than hot spots get work


def no_shifts(world):
    def check(results):
        assert features(results["OUTPUT_SCHEDULE"]) == []

    refused_or("patroldosage", with_layer(world, "patroldosage", "_", None, SHIFTS=0), "SHIFTS", check, world)


def wide_bandwidth(world):
    """A 10,000 km bandwidth: a flat surface that still integrates to the incidents, made fast."""
    results = run("kerneldensity", with_layer(world, "kerneldensity", "_", None, BANDWIDTH=1e7, CELL_SIZE=0.0), limit=10)
    values, (_, _, cell), _ = raster(results["OUTPUT"])
    assert values.size <= 300 * 300 and values.sum() * cell**2 / 1e6 == pytest.approx(len(INCIDENT_XY), rel=0.01)


def wide_tolerance(world):
    results = run("assignincidents", with_layer(world, "assignincidents", "_", None, TOLERANCE=1e9))
    counts = {r["segment_id"]: r["incident_count"] for r in features(results["OUTPUT"])}
    assert results["MATCHED"] == len(INCIDENT_XY) and counts == {k + 1: COUNTS[k] for k in range(len(SEGMENTS))}


def long_gap(world):
    results = run("observeddosage", with_layer(world, "observeddosage", "_", None, MAX_GAP=1e9))
    assert {r["name"]: r["minutes_observed"] for r in features(results["OUTPUT"])} == pytest.approx(OBSERVED)


def many_permutations_on_the_sample_city(world):
    from .conftest import SAMPLE_CITY

    parameters = {
        "INPUT": f"{SAMPLE_CITY}|layername=incidents",
        "FIELD": "harm_weight",
        "WEIGHTS": 1,
        "PERMUTATIONS": 99999,
        "OUTPUT": "memory:",
    }
    try:
        run("gistar", parameters, limit=5)
    except QgsProcessingException as error:  # refused up front: naming PERMUTATIONS and the work it would take
        assert "Traceback" not in str(error) and "PERMUTATIONS" in str(error) and re.search(BIG_NUMBER, str(error)), str(error)


def line_hotspots_tolerance(world):
    hot = world.layer("hot_segment", "line", segment_rows()[:1], SEGMENT_FIELDS)
    parameters = {"HOTSPOTS": hot, "INCIDENTS": world.incidents, "UNITS": world.segments, "TOLERANCE": NAN}
    refused("evaluateforecast", parameters, "TOLERANCE", world)


EXTREME = {
    "patroldosage:SHIFTS 2,000,000": refused_naming("patroldosage", "SHIFTS", 2_000_000, BIG_NUMBER, limit=5),
    "patroldosage:SHIFTS 0": no_shifts,
    "patroldosage:PATROL_MINUTES NaN": refused_naming("patroldosage", "PATROL_MINUTES", NAN),
    "patroldosage:PATROL_MINUTES 1e12": huge_budget,
    "patroldosage:SHIFT_HOURS NaN": refused_naming("patroldosage", "SHIFT_HOURS", NAN),
    "patroldosage:UNITS 1,000,000": many_units,
    "kerneldensity:CELL_SIZE 0.001": refused_naming("kerneldensity", "CELL_SIZE", 0.001, BIG_NUMBER, limit=5),
    "kerneldensity:CELL_SIZE NaN": refused_naming("kerneldensity", "CELL_SIZE", NAN),
    "kerneldensity:BANDWIDTH NaN": refused_naming("kerneldensity", "BANDWIDTH", NAN),
    "kerneldensity:BANDWIDTH -1": refused_naming("kerneldensity", "BANDWIDTH", -1.0),
    "kerneldensity:BANDWIDTH 1e7": wide_bandwidth,
    "optimizedhotspots:CELL_SIZE 0.01": refused_naming("optimizedhotspots", "CELL_SIZE", 0.01, BIG_NUMBER, limit=5),
    "optimizedhotspots:CELL_SIZE NaN": refused_naming("optimizedhotspots", "CELL_SIZE", NAN),
    "optimizedhotspots:DISTANCE NaN": refused_naming("optimizedhotspots", "DISTANCE", NAN),
    "optimizedhotspots:DISTANCE 1e9": no_significant("optimizedhotspots", "DISTANCE", 1e9),
    "gistar:PERMUTATIONS 1,000,000": refused_naming("gistar", "PERMUTATIONS", 1_000_000),
    "gistar:PERMUTATIONS 99999 on 30,000 incidents": many_permutations_on_the_sample_city,
    "gistar:DISTANCE NaN": refused_naming("gistar", "DISTANCE", NAN),
    "gistar:DISTANCE 1e9": no_significant("gistar", "DISTANCE", 1e9),
    "gistar:NEIGHBORS 1,000,000": lambda world: refused(
        "gistar", with_layer(world, "gistar", "NEIGHBORS", 1_000_000, WEIGHTS=1), "NEIGHBORS|k = 1000000", world
    ),
    "localmoran:PERMUTATIONS -5": refused_naming("localmoran", "PERMUTATIONS", -5),
    "localmoran:DISTANCE 1e9": no_significant("localmoran", "DISTANCE", 1e9, "LMiZScore", "COType"),
    "hotstreets:NEIGHBORHOOD 1e9": no_significant("hotstreets", "NEIGHBORHOOD", 1e9),
    "hotstreets:SNAP_TOLERANCE NaN": refused_naming("hotstreets", "SNAP_TOLERANCE", NAN),
    "assignincidents:TOLERANCE 1e9": wide_tolerance,
    "assignincidents:TOLERANCE NaN": refused_naming("assignincidents", "TOLERANCE", NAN),
    "assignincidents:TOLERANCE 0": refused_naming("assignincidents", "TOLERANCE", 0.0),
    "streetsegments:TOLERANCE NaN": refused_naming("streetsegments", "TOLERANCE", NAN),
    "observeddosage:SHIFT_HOURS 1e-12": refused_naming("observeddosage", "SHIFT_HOURS", 1e-12, limit=5),
    "observeddosage:MAX_GAP 1e9": long_gap,
    "observeddosage:MAX_GAP NaN": refused_naming("observeddosage", "MAX_GAP", NAN),
    "evaluateforecast:TOLERANCE NaN": line_hotspots_tolerance,
    "briefingmap:TOP_N 1000": refused_naming("briefingmap", "TOP_N", 1000),
    "briefingmap:TOP_N -1": refused_naming("briefingmap", "TOP_N", -1),
    "patroldosage:VISIT_MIN 0": refused_naming("patroldosage", "VISIT_MIN", 0),
    "patroldosage:SHIFTS -1": refused_naming("patroldosage", "SHIFTS", -1),
    "patroldosage:MAX_HOTSPOTS 1e9": lambda world: check_all_funded(world),
    "hotstreets:SNAP_TOLERANCE 0": refused_naming("hotstreets", "SNAP_TOLERANCE", 0.0),
    "streetsegments:TOLERANCE 0": refused_naming("streetsegments", "TOLERANCE", 0.0),
    "assignincidents:TOLERANCE -5": refused_naming("assignincidents", "TOLERANCE", -5.0),
    "observeddosage:MAX_GAP -1": refused_naming("observeddosage", "MAX_GAP", -1.0),
    "observeddosage:MAX_GAP 0": lambda world: no_gap_allowed(world),
}


def check_all_funded(world):
    results = run("patroldosage", with_layer(world, "patroldosage", "MAX_HOTSPOTS", 1_000_000_000))
    assert results["HOTSPOTS_FUNDED"] == 3 and sorted(r["name"] for r in features(results["OUTPUT"])) == ["A", "B", "C"]


def no_gap_allowed(world):
    """No gap between pings allowed (they are 30 s apart): no presence, or refused naming MAX_GAP."""

    def check(results):
        assert all(r["minutes_observed"] == 0 for r in features(results["OUTPUT"]))

    refused_or("observeddosage", with_layer(world, "observeddosage", "MAX_GAP", 0.0), "MAX_GAP", check, world)


@pytest.mark.parametrize("name", [case("extreme", name) for name in EXTREME])
def test_extreme_parameter_values(world, name):
    EXTREME[name](world)


# --- odd output paths -------------------------------------------------------------------------------
MAIN_OUTPUT = {name: ("OUTPUT_HTML" if name in ("concentration", "evaluateforecast") else "OUTPUT") for name in ALGORITHMS}
MAIN_INPUT = {  # the GeoPackage an output may be pointed at by mistake
    "kerneldensity": ("INPUT", "incidents"),
    "gistar": ("INPUT", "incidents"),
    "localmoran": ("INPUT", "incidents"),
    "optimizedhotspots": ("INPUT", "incidents"),
    "hotstreets": ("STREETS", "streets"),
    "streetsegments": ("INPUT", "streets"),
    "assignincidents": ("SEGMENTS", "segments"),
    "concentration": ("INPUT", "cells"),
    "patroldosage": ("HOTSPOTS", "hotspots"),
    "observeddosage": ("HOTSPOTS", "hotspots"),
    "evaluateforecast": ("HOTSPOTS", "hotspots"),
    "briefingmap": ("LAYERS", "hotspots"),
}


def layer_fingerprint(path, name):
    dataset = gdal.OpenEx(str(path), gdal.OF_VECTOR | gdal.OF_READONLY)
    assert dataset is not None, f"{path} no longer opens"
    layer = dataset.GetLayerByName(name)
    assert layer is not None, f"{path} lost its layer {name}"
    return sorted((f.GetFID(), f.geometry().ExportToIsoWkt() if f.geometry() else None, tuple(f.items().items())) for f in layer)


@pytest.mark.parametrize("name", [case("output is an input", name) for name in ALGORITHMS])
def test_output_path_equal_to_an_input_geopackage(world, name):
    """The output pointed at an input GeoPackage: refused (input untouched), or written beside
    the input's layer, which keeps every feature."""
    key, attribute = MAIN_INPUT[name]
    source = getattr(world, attribute)
    parameters = {**world.parameters(name), MAIN_OUTPUT[name]: source}
    before = layer_fingerprint(source, attribute)

    def check(results):
        assert layer_fingerprint(source, attribute) == before, "the input layer changed"
        assert Path(source).exists()

    refused_or(name, parameters, f"{attribute}\\.gpkg|input|same", check, world)
    assert layer_fingerprint(source, attribute) == before


def unwritable_folder(kind, folder):
    """A folder outputs cannot go to: missing, read-only, or a file."""
    if kind == "missing folder":
        return folder / "nowhere" / "deeper"
    if kind == "a file, not a folder":
        folder.mkdir(parents=True, exist_ok=True)
        blocker = folder / "plain_file"
        blocker.write_text("not a folder")
        return blocker
    locked = folder / "locked"
    locked.mkdir(parents=True, exist_ok=True)
    if subprocess.run(["chattr", "+i", str(locked)], capture_output=True).returncode != 0:  # root ignores modes; not all
        locked.chmod(0o555)  # file systems support chattr
    if os.access(locked, os.W_OK) and subprocess.run(["touch", str(locked / "probe")], capture_output=True).returncode == 0:
        os.remove(locked / "probe")
        pytest.skip("cannot make a read-only folder here")
    return locked


@contextlib.contextmanager
def unlocked(folder):
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(folder)], capture_output=True)
        with contextlib.suppress(OSError):
            folder.chmod(0o755)


@pytest.mark.parametrize("kind", ["missing folder", "read-only folder", "a file, not a folder"])
@pytest.mark.parametrize("name", [case("unwritable folder", name) for name in ALGORITHMS])
def test_output_in_a_folder_that_cannot_be_written(world, name, kind):
    """Refused, naming the folder (or the path), before anything is written: no other output
    (e.g. a patrol schedule) left behind either."""
    folder = unwritable_folder(kind, world.root / "elsewhere")
    parameters = world.parameters(name)
    target = folder / Path(parameters[MAIN_OUTPUT[name]]).name
    parameters[MAIN_OUTPUT[name]] = str(target)
    with unlocked(folder if kind == "read-only folder" else world.root):
        pattern = re.escape(folder.name if kind != "missing folder" else "nowhere")

        def written_right(results):  # a folder made for the output is fine, if the output is right
            assert kind == "missing folder" and Path(results[MAIN_OUTPUT[name]]).exists()
            same(summary(name, results), summary(name, run(name, renamed(world.parameters(name)))))

        refused_or(name, parameters, pattern, written_right, world)
        assert kind == "missing folder" or not (folder.is_dir() and list(folder.iterdir()))


RASTER_DRIVERS = {".png": "PNG", ".asc": "AAIGrid", ".gpkg": "GPKG", ".tif": "GTiff"}


@pytest.mark.parametrize("extension", [case("raster extension", ext) for ext in (".png", ".asc", ".gpkg")])
def test_kernel_density_raster_formats(world, extension):
    """A raster output named .png, .asc or .gpkg: a raster in that format holding the same
    densities as the GeoTIFF, or refused naming the format; never a GeoTIFF under another name."""
    parameters = world.parameters("kerneldensity")
    reference = raster(run("kerneldensity", parameters)["OUTPUT"])[0]
    parameters["OUTPUT"] = str(world.out / f"density{extension}")

    def check(results):
        dataset = gdal.Open(results["OUTPUT"])
        assert dataset is not None and dataset.GetDriver().ShortName == RASTER_DRIVERS[extension], results["OUTPUT"]
        np.testing.assert_allclose(dataset.GetRasterBand(1).ReadAsArray(), reference, rtol=1e-4, atol=1e-4 * reference.max())

    refused_or("kerneldensity", parameters, re.escape(extension) + "|" + RASTER_DRIVERS[extension] + "|format", check, world)


def test_briefing_map_with_a_wrong_extension_leaves_that_file_alone(world):
    """A .docx (an existing file) as the briefing map: refused, and the file is still there."""
    notes = world.out / "notes.docx"
    notes.write_bytes(b"the analyst's notes")
    refused("briefingmap", {**world.parameters("briefingmap"), "OUTPUT": str(notes)}, r"\.pdf|\.png", world)
    assert notes.read_bytes() == b"the analyst's notes"


# --- shapefile outputs: long field names truncated -----------------------------------------------
def ogr_table(path):
    """(field names, rows of values) of a file's first layer, read by GDAL."""
    dataset = ogr.Open(str(path))
    layer = dataset.GetLayer(0)
    definition = layer.GetLayerDefn()
    names = [definition.GetFieldDefn(i).GetName() for i in range(definition.GetFieldCount())]
    rows = [[feature.GetField(i) for i in range(len(names))] for feature in layer]
    return names, rows


def plan_layer(world):
    rows = [(wkt, [*values, minutes]) for (wkt, values), minutes in zip(hotspot_rows(), (10, 20, 15))]
    return world.layer("plan", "polygon", rows, (*HOTSPOT_FIELDS, ("minutes_per_shift", "int")))


SHAPEFILE = {  # case id: (algorithm, extra parameters, outputs written as shapefiles)
    "optimizedhotspots": ("optimizedhotspots", {"WEIGHT_FIELD": "harm"}, ("OUTPUT",)),
    "hotstreets": ("hotstreets", {"WEIGHT_FIELD": "harm"}, ("OUTPUT",)),
    "patroldosage": ("patroldosage", {}, ("OUTPUT", "OUTPUT_SCHEDULE")),
    "observeddosage:on a plan": ("observeddosage", {"OUTPUT_SHIFTS": "shifts"}, ("OUTPUT", "OUTPUT_SHIFTS")),
    "streetsegments:long input names": ("streetsegments", {}, ("OUTPUT",)),
    "gistar:long input names": ("gistar", {}, ("OUTPUT",)),
}


@pytest.mark.parametrize("name", [case("shapefile", name) for name in SHAPEFILE])
def test_shapefile_outputs_keep_every_column(world, name):
    """Written as shapefiles (10-character field names), the outputs hold every column of the
    GeoPackage output, under distinct names, with the same values in the same order."""
    algorithm, extra, outputs = SHAPEFILE[name]
    parameters = {**world.parameters(algorithm), **extra}
    if name == "observeddosage:on a plan":
        parameters["HOTSPOTS"] = plan_layer(world)
    if name.endswith("long input names"):
        key = "INPUT"
        kind, rows, fields = (
            ("line", street_rows(), STREET_FIELDS) if algorithm == "streetsegments" else ("point", incident_rows(), INCIDENT_FIELDS)
        )
        fields = tuple((f"{field}_recorded_by_the_city", t) for field, t in fields)
        parameters[key] = world.layer("long_names", kind, rows, fields)
        if algorithm == "gistar":
            parameters["FIELD"] = "harm_recorded_by_the_city"
    as_gpkg = {k: (str(world.out / f"{k.lower()}.gpkg") if k in outputs else v) for k, v in parameters.items()}
    as_shp = {k: (str(world.out / f"{k.lower()}.shp") if k in outputs else v) for k, v in parameters.items()}
    for key in outputs:
        as_gpkg.setdefault(key, str(world.out / f"{key.lower()}.gpkg"))
        as_shp.setdefault(key, str(world.out / f"{key.lower()}.shp"))
    geopackage, shapefile = run(algorithm, as_gpkg), run(algorithm, as_shp)
    for key in outputs:
        same_columns(geopackage[key], shapefile[key])


def same_columns(geopackage, shapefile):
    """The shapefile holds the GeoPackage output's columns, under distinct (truncated) names, in
    the same order, with the same values."""
    assert Path(shapefile).exists(), f"the result names {shapefile}, which was not written"
    names, rows = ogr_table(geopackage)
    short_names, short_rows = ogr_table(shapefile)
    if short_names[:1] == ["fid"] and "fid" not in names:  # the GeoPackage input's feature ids, kept as a field
        short_names, short_rows = short_names[1:], [row[1:] for row in short_rows]
    assert len(short_names) == len({n.lower() for n in short_names}) == len(names), (short_names, names)
    for long, short in zip(names, short_names):
        assert long.lower().startswith(short.lower()[:7]), (long, short)
    assert len(rows) == len(short_rows)

    def plain(value):  # a shapefile keeps date-times as text, to the second
        if isinstance(value, float):
            return round(value, 6)
        return value[:-4] if isinstance(value, str) and re.fullmatch(r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.000", value) else value

    for row, short_row in zip(sorted(rows, key=repr), sorted(short_rows, key=repr)):
        assert [plain(v) for v in row] == [plain(v) for v in short_row]


# --- rerunning an algorithm on its own output -----------------------------------------------------
def rerun_local_statistic(world, name):
    """Gi* / Local Moran's I of 'n' on last run's output (of 'harm'): the statistic's fields are
    replaced in place by this run's values, each once, the input's columns untouched."""
    first = run(name, {**world.parameters(name), "OUTPUT": str(world.out / "first.gpkg")})["OUTPUT"]
    second = run(name, {**world.parameters(name), "INPUT": first, "FIELD": "n", "OUTPUT": str(world.out / "second.gpkg")})["OUTPUT"]
    fresh = run(name, {**world.parameters(name), "FIELD": "n", "OUTPUT": str(world.out / "fresh.gpkg")})["OUTPUT"]
    assert field_names(second) == field_names(first)
    same(features(second), features(fresh))


def rerun_with_other_case(world):
    """An input field 'gizscore' (another case) is Gi*'s own: replaced, appearing once, where it was."""
    rows = [(wkt, [*values[:2], -99.0, values[2]]) for wkt, values in incident_rows()]
    fields = (*INCIDENT_FIELDS[:2], ("gizscore", "double"), INCIDENT_FIELDS[2])
    source = world.layer("lower", "point", rows, fields)
    out = run("gistar", with_layer(world, "gistar", "INPUT", source))["OUTPUT"]
    names = field_names(out)
    assert [n.lower() for n in names].count("gizscore") == 1 and names.index(next(n for n in names if n.lower() == "gizscore")) == 3
    fresh = {r["label"]: r["GiZScore"] for r in features(run("gistar", renamed(world.parameters("gistar")))["OUTPUT"])}
    z = next(n for n in names if n.lower() == "gizscore")
    same(sorted((r["label"], r[z]) for r in features(out)), sorted(fresh.items()))


def half_of_the_incidents(world):
    keep = np.arange(len(INCIDENT_XY)) % 2 == 0
    return world.layer("half", "point", incident_rows(INCIDENT_XY[keep], HARM[keep]), INCIDENT_FIELDS), keep


def rerun_counts(world, name, key):
    """Segments counted again from their own output, with half the incidents: fresh counts,
    every field once, in the first output's order."""
    first = run(name, {**world.parameters(name), "OUTPUT": str(world.out / "first.gpkg")})["OUTPUT"]
    half, keep = half_of_the_incidents(world)
    second = run(name, {**world.parameters(name), key: first, "INCIDENTS": half, "OUTPUT": str(world.out / "second.gpkg")})["OUTPUT"]
    assert field_names(second) == field_names(first)
    counts = sorted(r["incident_count"] for r in features(second))
    expected = np.bincount(INCIDENT_SEGMENT[keep], minlength=len(SEGMENTS))
    assert counts == sorted(expected.tolist())
    if name == "assignincidents":
        assert {r["segment_id"]: r["incident_count"] for r in features(second)} == {k + 1: int(c) for k, c in enumerate(expected)}


def rerun_segments(world):
    first = run("streetsegments", {**world.parameters("streetsegments"), "OUTPUT": str(world.out / "first.gpkg")})["OUTPUT"]
    second = run("streetsegments", {"INPUT": first, "OUTPUT": str(world.out / "second.gpkg")})
    assert field_names(second["OUTPUT"]) == field_names(first) and second["SEGMENT_COUNT"] == 24
    rows = features(second["OUTPUT"])
    assert sorted(r["segment_id"] for r in rows) == list(range(1, 25)) and all(r["length"] == pytest.approx(100.0) for r in rows)


def rerun_plan(world):
    first = run("patroldosage", {**world.parameters("patroldosage"), "OUTPUT": str(world.out / "first.gpkg")})["OUTPUT"]
    again = {**world.parameters("patroldosage"), "HOTSPOTS": first, "PATROL_MINUTES": 40.0, "OUTPUT": str(world.out / "second.gpkg")}
    second = run("patroldosage", {**again, "OUTPUT_SCHEDULE": str(world.out / "schedule2.gpkg")})["OUTPUT"]
    assert field_names(second) == field_names(first)
    # 40 minutes for B (30), C (20), A (10): one 10-minute visit each, the rest by risk
    plan = {r["name"]: (r["priority_rank"], r["minutes_per_shift"]) for r in features(second)}
    assert [plan[n][0] for n in "BCA"] == [1, 2, 3] and sum(m for _, m in plan.values()) <= 40 and all(m >= 10 for _, m in plan.values())


def rerun_observed(world):
    first = run("observeddosage", {**world.parameters("observeddosage"), "OUTPUT": str(world.out / "first.gpkg")})["OUTPUT"]
    car1 = world.layer("car1", "point", [r for r in ping_rows() if r[1][0] == "Car 1"], PING_FIELDS)
    second = run(
        "observeddosage", {**world.parameters("observeddosage"), "HOTSPOTS": first, "PINGS": car1, "OUTPUT": str(world.out / "second.gpkg")}
    )
    assert field_names(second["OUTPUT"]) == field_names(first)
    assert {r["name"]: r["minutes_observed"] for r in features(second["OUTPUT"])} == pytest.approx({"A": 0.0, "B": 10.0, "C": 0.0})


RERUN = {
    "gistar": lambda world: rerun_local_statistic(world, "gistar"),
    "localmoran": lambda world: rerun_local_statistic(world, "localmoran"),
    "gistar:field in another case": rerun_with_other_case,
    "hotstreets": lambda world: rerun_counts(world, "hotstreets", "STREETS"),
    "assignincidents": lambda world: rerun_counts(world, "assignincidents", "SEGMENTS"),
    "streetsegments": rerun_segments,
    "patroldosage": rerun_plan,
    "observeddosage": rerun_observed,
}


@pytest.mark.parametrize("name", [case("rerun", name) for name in RERUN])
def test_rerun_on_its_own_output(world, name):
    RERUN[name](world)


# --- briefing map: text printed as given, district names as safe file names ------------------------
def test_briefing_texts_print_literally(world):
    """QGIS expressions in the title, subtitle or note are text the analyst typed, not code."""
    texts = {"TITLE": "Hot spots [% @user_account_name %]", "SUBTITLE": "Week [% 1 + 1 %]", "NOTE": "Ask [% @qgis_version %]"}
    results = run("briefingmap", {**world.parameters("briefingmap"), **texts})
    text = " ".join(pdf_text(results["OUTPUT"]).split())
    for value in texts.values():
        start = text.find(value)
        assert start >= 0, (value, text)
        assert not text[:start].endswith(("'", "[% ")) and not text[start + len(value) :].startswith("'"), text  # printed bare


DISTRICT_NAMES = ("North/East", "North_East", 'Saint "Paul"', "O'Hare", "../up")


def strip(x, width):
    """A north-south strip of the grid, ``width`` wide from ``x``."""
    corners = [(x, 0.0), (x + width, 0.0), (x + width, 300.0), (x, 300.0), (x, 0.0)]
    return "POLYGON ((" + ", ".join(f"{X0 + a!r} {Y0 + b!r}" for a, b in corners) + "))"


UNSAFE = set('<>:"/\\|?*')


def test_district_names_give_safe_distinct_png_names(world):
    """One PNG per district, in the output folder, under names a file system (Windows too) takes,
    no two alike, none escaping the folder."""
    rows = [(strip(60.0 * k, 60.0), [name]) for k, name in enumerate(DISTRICT_NAMES)]
    districts = world.layer("districts", "polygon", rows, (("district", "string"),))
    parameters = {
        **world.parameters("briefingmap"),
        "DISTRICTS": districts,
        "DISTRICT_FIELD": "district",
        "OUTPUT": str(world.out / "pages.png"),
    }
    results = run("briefingmap", parameters)
    pngs = sorted(p.name for p in world.out.rglob("*.png"))
    assert len(pngs) == len(DISTRICT_NAMES), pngs
    assert all(Path(world.out / name).parent == world.out for name in pngs) and not any(UNSAFE & set(name) for name in pngs), pngs
    assert not list(world.root.glob("*.png")) and not list(world.out.parent.parent.glob("*.png"))  # nothing escaped
    assert Path(results["OUTPUT"]).exists()


# --- cases that may crash the interpreter: in a qgis_process subprocess -----------------------------
BOWTIE_B = [(100.0, 100.0), (200.0, 200.0), (200.0, 100.0), (100.0, 200.0), (100.0, 100.0)]  # lobes left and right of (150, 150)
BOWTIE_AREA = [(-50.0, -50.0), (350.0, 343.0), (350.0, -50.0), (-50.0, 343.0), (-50.0, -50.0)]  # no cell centre on an edge


def polygon(corners):
    return "POLYGON ((" + ", ".join(f"{X0 + a!r} {Y0 + b!r}" for a, b in corners) + "))"


def in_bowtie(xy, corners):
    """Even-odd point in polygon: inside either lobe of a bow-tie."""
    corners = np.asarray(corners)
    inside = np.zeros(len(xy), dtype=bool)
    for (ax, ay), (bx, by) in zip(corners[:-1], corners[1:]):
        crosses = (ay > xy[:, 1]) != (by > xy[:, 1])
        x_cross = ax + (xy[:, 1] - ay) * (bx - ax) / np.where(by != ay, by - ay, 1)
        inside ^= crosses & (xy[:, 0] < x_cross)
    return inside


def qgis_process_run(tmp_path, name, parameters, memory_limit=None):
    """(return code, results or None, everything it printed) of qgis_process in its own process."""
    import resource

    environment = {**os.environ, "HOTSPOT_POLICING_QGIS_HOME": str(tmp_path / "qgis")}
    arguments = []
    for key, value in parameters.items():
        for item in value if isinstance(value, list) else [value]:
            arguments.append(f"{key}={item}")
    limit = (lambda: resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))) if memory_limit else None
    command = [os.path.join(ROOT, "scripts", "qgis_process"), "run", f"hotspotpolicing:{name}", "--json", "--", *arguments]
    done = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=120, preexec_fn=limit)
    printed = done.stdout + done.stderr
    results = None
    if done.returncode == 0:
        results = json.loads(done.stdout[done.stdout.index("{") :])["results"]
    return done.returncode, results, printed


def exits_cleanly(tmp_path, name, parameters, pattern, check, memory_limit=None):
    """Exit code 0 with a right answer, or 1 with a message (no traceback) matching ``pattern``."""
    code, results, printed = qgis_process_run(tmp_path, name, parameters, memory_limit)
    assert code in (0, 1), f"qgis_process exited with {code} (a crash):\n{printed[-3000:]}"
    if code == 1:
        assert "Traceback" not in printed and re.search(pattern, printed, re.IGNORECASE), printed[-3000:]
    else:
        check(results)


def bowtie_hotspots(world):
    rows = hotspot_rows()
    rows[1] = (polygon(BOWTIE_B), rows[1][1])
    return world.layer("bowtie", "polygon", rows, HOTSPOT_FIELDS)


def bowtie_evaluation(world, tmp_path):
    hot = world.layer("bowtie_b", "polygon", [(polygon(BOWTIE_B), ["B", 0, 30.0])], HOTSPOT_FIELDS)
    parameters = {**world.parameters("evaluateforecast"), "HOTSPOTS": hot, "UNITS": world.cells}

    def check(results):  # two triangles of 2,500 m² in a 400 m x 400 m study area
        assert results["CAPTURED"] == int(in_bowtie(INCIDENT_XY, BOWTIE_B).sum()) and results["TOTAL"] == len(INCIDENT_XY)
        assert results["AREA_SHARE"] == pytest.approx(5000.0 / 160000.0)

    exits_cleanly(tmp_path, "evaluateforecast", parameters, "bowtie|HOTSPOTS|self-intersect|invalid", check)


def bowtie_observed(world, tmp_path):
    pings = [
        (point(120.0 if unit == "Car 1" and (x, y) == (150.0, 150.0) else x, y), [unit, (2025, 12, 1, *clock(t), 0)])
        for unit, t, x, y in ping_track()
    ]
    parameters = {
        **world.parameters("observeddosage"),
        "HOTSPOTS": bowtie_hotspots(world),
        "PINGS": world.layer("lobe_pings", "point", pings, PING_FIELDS),
    }

    def check(results):  # car 1 waits in B's left lobe
        assert {r["name"]: r["minutes_observed"] for r in features(results["OUTPUT"])} == pytest.approx(OBSERVED)

    exits_cleanly(tmp_path, "observeddosage", parameters, "bowtie|HOTSPOTS|self-intersect|invalid", check)


def bowtie_plan(world, tmp_path):
    parameters = {**world.parameters("patroldosage"), "HOTSPOTS": bowtie_hotspots(world)}
    clean = {
        r["name"]: (r["priority_rank"], r["minutes_per_shift"])
        for r in features(run("patroldosage", renamed(world.parameters("patroldosage")))["OUTPUT"])
    }

    def check(results):  # the plan follows risk; the shape does not matter
        assert {r["name"]: (r["priority_rank"], r["minutes_per_shift"]) for r in features(results["OUTPUT"])} == clean

    exits_cleanly(tmp_path, "patroldosage", parameters, "bowtie|HOTSPOTS|self-intersect|invalid", check)


def bowtie_study_area(world, tmp_path):
    area = world.layer("bowtie_area", "polygon", [(polygon(BOWTIE_AREA), [1])], (("id", "int"),))
    parameters = {**world.parameters("optimizedhotspots"), "STUDY_AREA": area, "CELL_SIZE": 25.0}

    def check(results):  # cells whose centre lies in the study area: in one of its lobes
        rows = features(results["OUTPUT"])
        layer = QgsVectorLayer(results["OUTPUT"], "cells", "ogr")
        centres = np.array(
            [[f.geometry().centroid().asPoint().x() - X0, f.geometry().centroid().asPoint().y() - Y0] for f in layer.getFeatures()]
        )
        assert len(rows) == results["CELL_COUNT"] > 0 and in_bowtie(centres, BOWTIE_AREA).all()

    exits_cleanly(tmp_path, "optimizedhotspots", parameters, "bowtie_area|STUDY_AREA|study area|self-intersect|invalid", check)


def distance_band_beyond_memory(world, tmp_path):
    """Every pair of the sample city's 30,000 incidents within the band (4.5e8 pairs), in 4 GB:
    refused up front naming DISTANCE, or done."""
    from .conftest import SAMPLE_CITY

    parameters = {
        "INPUT": f"{SAMPLE_CITY}|layername=incidents",
        "FIELD": "harm_weight",
        "DISTANCE": 1e9,
        "OUTPUT": str(world.out / "gi.gpkg"),
    }
    exits_cleanly(tmp_path, "gistar", parameters, "DISTANCE", lambda results: None, memory_limit=4 * 1024**3)


def shapefile_counts(world, tmp_path):
    """Counted segments (and the incidents) written as shapefiles: every column, under its
    truncated name. (In-process, this run leaves something behind that crashes the interpreter at
    exit, so it runs here.)"""
    parameters = {**world.parameters("assignincidents"), "WEIGHT_FIELD": "harm"}
    geopackage = run("assignincidents", {**parameters, "OUTPUT_INCIDENTS": str(world.out / "incidents.gpkg")})
    shapefiles = {"OUTPUT": str(world.out / "counts.shp"), "OUTPUT_INCIDENTS": str(world.out / "incidents.shp")}
    code, results, printed = qgis_process_run(tmp_path, "assignincidents", {**parameters, **shapefiles})
    assert code == 0, printed[-3000:]
    for key in shapefiles:
        same_columns(geopackage[key], results[key])


def rerun_shapefile(world, tmp_path):
    """Counted segments written as a shapefile ('incident_c' for incident_count), counted again
    with half the incidents: the truncated field holds this run's counts, once; nothing shifts."""
    first = str(world.out / "first.shp")
    code, _, printed = qgis_process_run(tmp_path, "assignincidents", {**world.parameters("assignincidents"), "OUTPUT": first})
    assert code == 0, printed[-3000:]
    half, keep = half_of_the_incidents(world)
    again = {**world.parameters("assignincidents"), "SEGMENTS": first, "INCIDENTS": half, "OUTPUT": str(world.out / "second.shp")}
    code, results, printed = qgis_process_run(tmp_path, "assignincidents", again)
    assert code == 0, printed[-3000:]
    names, rows = ogr_table(results["OUTPUT"])
    assert names == ogr_table(first)[0]
    counts = {row[names.index("segment_id")]: row[names.index("incident_c")] for row in rows}
    assert counts == {k + 1: int(c) for k, c in enumerate(np.bincount(INCIDENT_SEGMENT[keep], minlength=len(SEGMENTS)))}


SUBPROCESS = {
    "assignincidents:shapefile output": shapefile_counts,
    "assignincidents:rerun on its shapefile output": rerun_shapefile,
    "evaluateforecast:bow-tie HOTSPOTS": bowtie_evaluation,
    "observeddosage:bow-tie HOTSPOTS": bowtie_observed,
    "patroldosage:bow-tie HOTSPOTS": bowtie_plan,
    "optimizedhotspots:bow-tie STUDY_AREA": bowtie_study_area,
    "gistar:DISTANCE 1e9 on 30,000 incidents in 4 GB": distance_band_beyond_memory,
}


@pytest.mark.parametrize("name", [case("subprocess", name) for name in SUBPROCESS])
def test_may_crash_so_runs_in_a_subprocess(world, tmp_path, name):
    SUBPROCESS[name](world, tmp_path)
