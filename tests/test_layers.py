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
