"""processing/layers.py: the GDAL Arrow path and the generic feature path read the same
points; multipoints explode; null and empty geometries are skipped and counted."""

import numpy as np
import pytest
from osgeo import ogr, osr
from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsProcessingContext,
    QgsProcessingFeatureSource,
    QgsProcessingFeatureSourceDefinition,
    QgsProject,
    QgsVectorLayer,
    QgsVectorLayerSelectedFeatureSource,
)

from hotspot_policing.processing.layers import read


def make_layer(path, rows):
    """rows: (wkt or None, value or None)."""
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32630)
    dataset = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
    layer = dataset.CreateLayer("pts", srs, ogr.wkbUnknown)
    layer.CreateField(ogr.FieldDefn("harm", ogr.OFTReal))
    for wkt, value in rows:
        feature = ogr.Feature(layer.GetLayerDefn())
        if value is not None:
            feature.SetField("harm", value)
        if wkt is not None:
            feature.SetGeometry(ogr.CreateGeometryFromWkt(wkt))
        layer.CreateFeature(feature)
    dataset = None
    return QgsVectorLayer(str(path), "pts", "ogr")


def read_points(layer, definition=None, crs=None):
    """Read as an algorithm would: the feature source honours "selected features only"."""
    context = QgsProcessingContext()
    context.setProject(QgsProject.instance())
    selected = QgsVectorLayerSelectedFeatureSource(layer)  # kept alive while the source reads it
    if definition is not None and definition.selectedFeaturesOnly:
        source = QgsProcessingFeatureSource(selected, context)
    else:
        source = QgsProcessingFeatureSource(layer, context)
    return read(source, layer, definition, crs or layer.crs(), context, ["harm"])


ROWS = [
    ("POINT (1 2)", 1.0),
    ("POINT (3 4)", None),
    (None, 2.0),
    ("POINT EMPTY", 3.0),
    ("MULTIPOINT ((5 6), (7 8))", 4.0),
    ("POINT (9 10)", 5.0),
]


def test_arrow_path_reads_points_values_and_counts_skipped(tmp_path):
    points = read_points(make_layer(tmp_path / "a.gpkg", ROWS))
    assert points.fast
    order = np.argsort(points.x)
    np.testing.assert_array_equal(points.x[order], [1, 3, 5, 7, 9])
    np.testing.assert_array_equal(points.y[order], [2, 4, 6, 8, 10])
    np.testing.assert_array_equal(points.numbers("harm")[points.part_owner][order], [1, np.nan, 4, 4, 5])
    assert points.skipped == 2


def test_feature_path_gives_the_same_arrays(tmp_path, qgis_new_project):
    layer = make_layer(tmp_path / "b.gpkg", ROWS)
    QgsProject.instance().addMapLayer(layer)
    layer.selectAll()
    points = read_points(layer, QgsProcessingFeatureSourceDefinition(layer.id(), selectedFeaturesOnly=True))
    assert not points.fast
    order = np.argsort(points.x)
    np.testing.assert_array_equal(points.x[order], [1, 3, 5, 7, 9])
    np.testing.assert_array_equal(points.numbers("harm")[points.part_owner][order], [1, np.nan, 4, 4, 5])
    assert points.skipped == 2


def test_equal_length_blobs_keep_trailing_zero_bytes(tmp_path):
    # x = 0.0 and y = 0.0 end their WKB in zero bytes; GDAL hands equal-length blobs over as
    # one fixed-width buffer, which must not be trimmed.
    rows = [(f"POINT ({x} 0)", 1.0) for x in (0.0, 2.0, 4.0)]
    points = read_points(make_layer(tmp_path / "c.gpkg", rows))
    np.testing.assert_array_equal(np.sort(points.x), [0, 2, 4])
    np.testing.assert_array_equal(points.y, [0, 0, 0])


def test_points_are_transformed_to_the_requested_crs(tmp_path):
    layer = make_layer(tmp_path / "d.gpkg", [("POINT (440000 4470000)", 1.0)])
    points = read_points(layer, crs=QgsCoordinateReferenceSystem("EPSG:4326"))
    # UTM 30N (440000, 4470000) is about 3.7040 W, 40.3819 N (independent value from PROJ via osr).
    src, dst = osr.SpatialReference(), osr.SpatialReference()
    src.ImportFromEPSG(32630)
    dst.ImportFromEPSG(4326)
    dst.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    lon, lat, _ = osr.CoordinateTransformation(src, dst).TransformPoint(440000.0, 4470000.0)
    assert points.x[0] == pytest.approx(lon, abs=1e-9) and points.y[0] == pytest.approx(lat, abs=1e-9)


def write_shapes(path, kind, wkts):
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32630)
    dataset = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
    layer = dataset.CreateLayer("shapes", srs, kind)
    layer.CreateField(ogr.FieldDefn("name", ogr.OFTString))
    for i, wkt in enumerate(wkts):
        feature = ogr.Feature(layer.GetLayerDefn())
        feature.SetField("name", f"shape {i}")
        if wkt is not None:
            feature.SetGeometry(ogr.CreateGeometryFromWkt(wkt))
        layer.CreateFeature(feature)
    dataset = None
    return QgsVectorLayer(str(path), "shapes", "ogr")


SHAPES = {
    "polygons": (
        ogr.wkbUnknown,
        [
            "POLYGON ((0 0, 10 0, 10 10, 0 10, 0 0), (2 2, 4 2, 4 4, 2 4, 2 2))",
            None,
            "MULTIPOLYGON (((20 0, 30 0, 30 5, 20 0)), ((40 0, 50 0, 50 5, 40 0)))",
            "POLYGON Z ((0 20 1, 5 20 2, 5 25 3, 0 20 1))",
            "CURVEPOLYGON (CIRCULARSTRING (100 0, 110 10, 120 0, 110 -10, 100 0))",
        ],
    ),
    "lines": (
        ogr.wkbUnknown,
        [
            "LINESTRING (0 0, 5 5, 9 1)",
            "MULTILINESTRING ((0 10, 10 10), (20 10, 30 10, 30 20))",
            "LINESTRING EMPTY",
            "LINESTRING M (0 30 1, 10 30 2)",
        ],
    ),
}


@pytest.mark.parametrize("kind", sorted(SHAPES))
def test_both_readers_decode_the_same_parts_and_rings(tmp_path, qgis_new_project, kind):
    geometry_type, wkts = SHAPES[kind]
    layer = write_shapes(tmp_path / f"{kind}.gpkg", geometry_type, wkts)
    QgsProject.instance().addMapLayer(layer)
    layer.selectAll()
    context = QgsProcessingContext()
    whole = read(QgsProcessingFeatureSource(layer, context), layer, None, layer.crs(), context, ["name"], keep=True)
    selected = QgsVectorLayerSelectedFeatureSource(layer)
    chosen = read(
        QgsProcessingFeatureSource(selected, context),
        layer,
        QgsProcessingFeatureSourceDefinition(layer.id(), selectedFeaturesOnly=True),
        layer.crs(),
        context,
        ["name"],
    )
    assert whole.fast and not chosen.fast
    for name in ("vertices", "sizes", "ring_part", "part_owner"):
        np.testing.assert_allclose(getattr(whole, name), getattr(chosen, name), err_msg=name)
    assert whole.values("name") == chosen.values("name") == [f"shape {i}" for i, w in enumerate(wkts) if w is not None and "EMPTY" not in w]
    assert whole.skipped == chosen.skipped == 1
    assert len(whole.wkb) == len(whole)
    if kind == "polygons":
        # parts: the square (outer + hole), two triangles of one feature, the 3-D triangle, the circle
        assert whole.part_owner.tolist() == [0, 1, 1, 2, 3] and whole.ring_part.tolist() == [0, 0, 1, 2, 3, 4]
        circle = whole.vertices[np.repeat(whole.ring_part, whole.sizes) == 4]
        assert len(circle) > 20 and np.hypot(circle[:, 0] - 110, circle[:, 1]).max() == pytest.approx(10.0)
        x, y = whole.centroids()
        assert (x[0], y[0]) == pytest.approx(((100 * 5 - 4 * 3) / 96, (100 * 5 - 4 * 3) / 96))
    else:
        assert whole.part_owner.tolist() == [0, 1, 1, 2] and whole.sizes.tolist() == [3, 2, 3, 2]


def test_a_field_left_empty_is_found_by_its_name_or_type(tmp_path, qgis_new_project):
    """Reader.field: the user's choice, else a recognised name, else a field of the right
    kind, never an identifier; the parameter's default only when the layer has it."""
    from qgis.core import QgsProcessingAlgorithm, QgsProcessingFeedback, QgsProcessingParameterFeatureSource, QgsProcessingParameterField

    from hotspot_policing.processing.layers import COUNT_NAMES, Reader, is_count

    class Holder(QgsProcessingAlgorithm):
        def initAlgorithm(self, config=None):
            self.addParameter(QgsProcessingParameterFeatureSource("INPUT", "Input"))
            self.addParameter(QgsProcessingParameterField("FIELD", "Count field", "incident_count", "INPUT", optional=True))

    layer = QgsVectorLayer("Point?crs=EPSG:32630&field=cell_id:integer&field=n_burglaries:integer&field=label:string", "cells", "memory")
    QgsProject.instance().addMapLayer(layer)
    holder = Holder()
    holder.initAlgorithm()
    context = QgsProcessingContext()
    context.setProject(QgsProject.instance())
    feedback = QgsProcessingFeedback()
    for given, expected in ((None, "n_burglaries"), ("incident_count", "n_burglaries"), ("label", "label")):
        reader = Reader(holder, {"INPUT": layer.id(), "FIELD": given}, context, feedback)
        assert reader.field("FIELD", "INPUT", COUNT_NAMES, accept=is_count) == expected
    assert "n_burglaries" in feedback.textLog() and "FIELD was left empty" in feedback.textLog()


@pytest.mark.parametrize("zone", ["UTC", "Europe/Madrid", "America/New_York"])
def test_every_form_of_a_time_gives_its_wall_clock_on_every_reader_in_any_time_zone(tmp_path, zone, monkeypatch):
    """The same time as a GeoPackage date-time, ISO text with and without an offset, epoch
    seconds and milliseconds: one number, read whole (GDAL) or through a filter (QGIS),
    whatever the machine's time zone."""
    import time

    from qgis.core import QgsVectorLayer

    from hotspot_policing.processing.layers import read

    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        path = str(tmp_path / "times.gpkg")
        srs = osr.SpatialReference()
        srs.ImportFromEPSG(32630)
        dataset = ogr.GetDriverByName("GPKG").CreateDataSource(path)
        layer = dataset.CreateLayer("t", srs, ogr.wkbPoint)
        kinds = (("stamp", ogr.OFTDateTime), ("text", ogr.OFTString), ("epoch", ogr.OFTInteger64), ("epoch_ms", ogr.OFTInteger64))
        for name, kind in kinds:
            layer.CreateField(ogr.FieldDefn(name, kind))
        rows = [  # the stamp field holds 2025-12-01 08:30 on every row
            ("2025-12-01T08:30:00", 1764577800, 1764577800000),
            ("2025-12-01T10:30:00+02:00", 1764577800, 1764577800000),  # the same instant, written in another zone
            ("2025-12-01 08:30:00Z", 1764577800, 1764577800000),
        ]
        for k, (text, epoch, epoch_ms) in enumerate(rows):
            feature = ogr.Feature(layer.GetLayerDefn())
            feature.SetField("stamp", 2025, 12, 1, 8, 30, 0, 0)
            feature.SetField("text", text)
            feature.SetField("epoch", epoch)
            feature.SetField("epoch_ms", epoch_ms)
            feature.SetGeometry(ogr.CreateGeometryFromWkt(f"POINT ({k} 0)"))
            layer.CreateFeature(feature)
        dataset = None
        expected = 1764577800.0  # 2025-12-01 08:30 on the data's clock
        for subset in ("", '"fid" > 0'):  # whole file: GDAL's reader; a filter: QGIS's
            qgis_layer = QgsVectorLayer(f"{path}|layername=t" + (f"|subset={subset}" if subset else ""), "t", "ogr")
            source = QgsProcessingFeatureSource(qgis_layer, QgsProcessingContext())
            table = read(source, qgis_layer, None, qgis_layer.crs(), QgsProcessingContext(), ["stamp", "text", "epoch", "epoch_ms"])
            for field in ("stamp", "text", "epoch", "epoch_ms"):
                np.testing.assert_array_equal(table.seconds(field), expected, err_msg=f"{field}, {subset or 'whole'}, {zone}")
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_a_value_that_is_no_time_is_refused_naming_its_feature(tmp_path):
    from qgis.core import QgsFeature, QgsGeometry, QgsVectorLayer

    from hotspot_policing.core import InputError
    from hotspot_policing.processing.layers import read

    layer = QgsVectorLayer("Point?crs=EPSG:32630&field=when:string", "pings", "memory")
    for k, text in enumerate(["2025-12-01", "", "last tuesday"]):
        feature = QgsFeature(layer.fields())
        feature.setGeometry(QgsGeometry.fromWkt(f"POINT ({k} 0)"))
        feature.setAttributes([text])
        layer.dataProvider().addFeatures([feature])
    table = read(QgsProcessingFeatureSource(layer, QgsProcessingContext()), layer, None, layer.crs(), QgsProcessingContext(), ["when"])
    with pytest.raises(InputError, match="'when' of 'pings' holds 'last tuesday' \\(feature 3\\)"):
        table.seconds("when")
