"""processing/sinks.py, the one writer: a GeoPackage (written by GDAL) and a memory layer
(written through the Processing sink) hold the same fields, values and geometries as the
input; a new field named like an input field replaces it; a run that fails leaves nothing."""

import datetime

import numpy as np
import pytest
from osgeo import ogr, osr
from qgis.core import (
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFeatureSource,
    QgsVectorLayer,
)

from hotspot_policing.processing.algorithms.base import HotspotAlgorithm, stage
from hotspot_policing.processing.layers import ALL_FIELDS
from hotspot_policing.processing.sinks import Column

TYPES = [
    ("count", ogr.OFTInteger, None),
    ("big", ogr.OFTInteger64, None),
    ("harm", ogr.OFTReal, None),
    ("name", ogr.OFTString, None),
    ("day", ogr.OFTDate, None),
    ("at", ogr.OFTDateTime, None),
    ("flag", ogr.OFTInteger, ogr.OFSTBoolean),
    ("GiZScore", ogr.OFTString, None),  # last week's run left a text field of an output's name
]
ROWS = [
    (
        "MULTIPOLYGON (((0 0, 10 0, 10 10, 0 10, 0 0), (2 2, 4 2, 4 4, 2 4, 2 2)), ((20 0, 30 0, 30 5, 20 0)))",
        1,
        2**40,
        1.5,
        "Élan",
        "2025-03-01",
        "2025-03-01T10:20:30Z",
        1,
        "old",
    ),
    ("MULTIPOLYGON (((100 100, 110 100, 110 110, 100 100)))", None, None, None, None, None, None, None, None),
    (
        "MULTIPOLYGON (((50 50, 60 50, 60 60, 50 60, 50 50)))",
        -7,
        -(2**35),
        -0.25,
        "a 'quoted' \"name\"",
        "1999-12-31",
        "2024-02-29T23:59:59Z",
        0,
        "x",
    ),
]


def write_input(path):
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32630)
    dataset = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
    layer = dataset.CreateLayer("places", srs, ogr.wkbMultiPolygon)
    for name, kind, subtype in TYPES:
        definition = ogr.FieldDefn(name, kind)
        if subtype is not None:
            definition.SetSubType(subtype)
        layer.CreateField(definition)
    for wkt, *values in ROWS:
        feature = ogr.Feature(layer.GetLayerDefn())
        for (name, _, _), value in zip(TYPES, values):
            if value is not None:
                feature.SetField(name, value)
        feature.SetGeometry(ogr.CreateGeometryFromWkt(wkt))
        layer.CreateFeature(feature)
    dataset = None
    return str(path)


class WriteBack(HotspotAlgorithm):
    """Reads INPUT with every field and writes it back with three new columns."""

    ROWS = None  # which rows to write (None: all)
    FAIL = False

    def name(self):
        return "writeback"

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterFeatureSource("INPUT", "Input"))
        self.addParameter(QgsProcessingParameterFeatureSink("OUTPUT", "Output"))

    def process(self, parameters, context, feedback):
        source = self.reader.source("INPUT")
        base = self.reader.read("INPUT", source.sourceCrs(), ALL_FIELDS, keep=True)
        n = len(base) if self.ROWS is None else len(self.ROWS)
        columns = [
            Column("GiZScore", "double", np.where(np.arange(n) == 1, np.nan, np.arange(n) + 0.5)),
            Column("rank", "int", np.arange(1, n + 1)),
            Column("label", "string", [None if i == 0 else f"row {i}" for i in range(n)]),
        ]
        destination = self.writer.features("OUTPUT", columns, base=base, rows=self.ROWS, progress=stage(feedback, 0, 100))
        if self.FAIL:
            raise QgsProcessingException("failed after writing")
        return {"OUTPUT": destination}


def run(algorithm, source, output):
    context, feedback = QgsProcessingContext(), QgsProcessingFeedback()
    results, ok = algorithm.run({"INPUT": source, "OUTPUT": output}, context, feedback)
    assert ok, feedback.textLog()
    layer = results["OUTPUT"]
    if isinstance(layer, str):
        held = context.getMapLayer(layer)  # a memory layer lives in the context: take it out before the context goes
        layer = context.temporaryLayerStore().takeMapLayer(held) if held is not None else QgsVectorLayer(layer, "out", "ogr")
    return layer, feedback.textLog()


def table(layer):
    """Field names, then (geometry WKT, values) per feature, in order."""
    rows = [(f.geometry().asWkt(6), [_plain(v) for v in f.attributes()]) for f in layer.getFeatures()]
    return layer.fields().names(), rows


def _plain(value):
    if hasattr(value, "isNull") and value.isNull():
        return None
    if hasattr(value, "toPyDateTime"):
        return value.toPyDateTime().replace(tzinfo=None) if value.timeSpec() == 0 else value.toUTC().toPyDateTime().replace(tzinfo=None)
    if hasattr(value, "toPyDate"):
        return value.toPyDate()
    return value


def test_geopackage_and_memory_outputs_hold_the_same_table(tmp_path, qgis_new_project):
    source = write_input(tmp_path / "in.gpkg")
    from_file, log = run(WriteBack(), source, str(tmp_path / "out.gpkg"))
    in_memory, _ = run(WriteBack(), source, "memory:")
    names, rows = table(from_file)
    assert names == ["fid", "count", "big", "harm", "name", "day", "at", "flag", "GiZScore", "rank", "label"]
    assert table(in_memory)[0][1:] == names[1:]  # a memory layer has no fid column
    assert [r[1][1:] for r in table(in_memory)[1]] == [r[1][1:] for r in rows]
    assert [r[0] for r in table(in_memory)[1]] == [r[0] for r in rows]
    original = QgsVectorLayer(source, "in", "ogr")
    for (wkt, values), feature in zip(rows, original.getFeatures()):
        assert wkt == feature.geometry().asWkt(6)
        assert values[:8] == [_plain(v) for v in feature.attributes()][:8]
    assert rows[0][1][1:8] == [1, 2**40, 1.5, "Élan", datetime.date(2025, 3, 1), datetime.datetime(2025, 3, 1, 10, 20, 30), True]
    assert rows[1][1][1:8] == [None] * 7
    # the new GiZScore replaced last week's text field in its place: one field, new values
    assert [r[1][8] for r in rows] == [0.5, None, 2.5] and "GiZScore" in log and "replaced" in log
    assert [r[1][9:] for r in rows] == [[1, None], [2, "row 1"], [3, "row 2"]]


def test_geopackage_output_has_its_spatial_index_and_extent(tmp_path):
    source = write_input(tmp_path / "in.gpkg")
    run(WriteBack(), source, str(tmp_path / "out.gpkg"))
    dataset = ogr.Open(str(tmp_path / "out.gpkg"))
    layer = dataset.GetLayer(0)
    assert layer.GetName() == "out" and layer.GetFeatureCount() == 3
    assert layer.TestCapability(ogr.OLCFastSpatialFilter)
    assert layer.GetExtent() == pytest.approx((0.0, 110.0, 0.0, 110.0))
    layer.SetSpatialFilterRect(49, 49, 61, 61)
    assert [f.GetFID() for f in layer] == [3]


def test_pieces_of_one_feature_get_new_ids_and_a_subset_keeps_its_own(tmp_path):
    source = write_input(tmp_path / "in.gpkg")
    pieces = type("Pieces", (WriteBack,), {"ROWS": [0, 0, 2]})
    layer, _ = run(pieces(), source, str(tmp_path / "pieces.gpkg"))
    assert [f["count"] for f in layer.getFeatures()] == [1, 1, -7] and len({f.id() for f in layer.getFeatures()}) == 3
    subset = type("Subset", (WriteBack,), {"ROWS": [2, 0]})
    layer, _ = run(subset(), source, str(tmp_path / "subset.gpkg"))
    assert [(f.id(), f["count"]) for f in layer.getFeatures()] == [(1, 1), (3, -7)]  # fids of the input kept


@pytest.mark.parametrize("output", ["out.gpkg", "out.shp"])
def test_a_failed_run_leaves_no_output(tmp_path, output):
    source = write_input(tmp_path / "in.gpkg")
    failing = type("Failing", (WriteBack,), {"FAIL": True})
    context, feedback = QgsProcessingContext(), QgsProcessingFeedback()
    _, ok = failing().run({"INPUT": source, "OUTPUT": str(tmp_path / output)}, context, feedback)
    assert not ok
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.gpkg"]
    assert context.layersToLoadOnCompletion() == {}


def test_the_packed_spatial_index_is_a_valid_r_tree_that_finds_every_feature(tmp_path):
    import sqlite3

    from qgis.core import QgsCoordinateReferenceSystem, QgsWkbTypes

    from hotspot_policing.processing import geopackage
    from hotspot_policing.processing.compat import field
    from hotspot_policing.processing.sinks import polygons_wkb

    rng = np.random.default_rng(3)
    n = 6000  # more than 51 x 51 cells: a root, a level of inner nodes and the leaves
    x, y = rng.uniform(0, 10_000, n), rng.uniform(0, 10_000, n)
    w, h = rng.uniform(1, 200, n), rng.uniform(1, 200, n)
    rings = np.stack([np.column_stack(c) for c in ((x, y), (x + w, y), (x + w, y + h), (x, y + h), (x, y))], axis=1)
    path = str(tmp_path / "boxes.gpkg")
    crs = QgsCoordinateReferenceSystem("EPSG:32630")
    geopackage.write(path, [field("n", "int")], [list(range(n))], None, polygons_wkb(rings), QgsWkbTypes.Type.Polygon, crs)
    connection = sqlite3.connect(path)
    assert connection.execute("SELECT rtreecheck('rtree_boxes_geom')").fetchone() == ("ok",)
    assert connection.execute("SELECT count(*) FROM rtree_boxes_geom").fetchone() == (n,)
    connection.close()
    dataset = ogr.Open(path)  # kept: its layer dies with it
    layer = dataset.GetLayer(0)
    assert layer.GetFeatureCount() == n and layer.GetExtent() == pytest.approx((x.min(), (x + w).max(), y.min(), (y + h).max()))
    for qx, qy, size in rng.uniform(0, 10_000, (30, 3)) * [1, 1, 0.05]:
        layer.SetSpatialFilterRect(qx, qy, qx + size, qy + size)
        found = sorted(f["n"] for f in layer)
        expected = np.flatnonzero((x <= qx + size) & (x + w >= qx) & (y <= qy + size) & (y + h >= qy)).tolist()
        assert found == expected
