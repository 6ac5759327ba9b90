"""Enum values that moved between QGIS 3.22 and QGIS 4 (Qt6), in one place.

QGIS 3.30-3.36 moved many enums to ``Qgis.*``; QGIS 4 drops the old spellings. Each name
here takes the new one where this QGIS has it and the 3.22 one otherwise."""

import qgis.core
from qgis.core import (
    Qgis,
    QgsCoordinateReferenceSystem,
    QgsFeatureSink,
    QgsProcessing,
    QgsProcessingParameterDateTime,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterField,
    QgsRasterBandStats,
    QgsUnitTypes,
    QgsWkbTypes,
)


def _pick(new_enum, new_member, old_value):
    enum = getattr(Qgis, new_enum, None)
    return getattr(enum, new_member) if enum is not None else old_value


SOURCE = QgsProcessing.SourceType
POINT_SOURCE, LINE_SOURCE, POLYGON_SOURCE, ANY_VECTOR = (
    _pick("ProcessingSourceType", new, old)
    for new, old in (
        ("VectorPoint", SOURCE.TypeVectorPoint),
        ("VectorLine", SOURCE.TypeVectorLine),
        ("VectorPolygon", SOURCE.TypeVectorPolygon),
        ("Vector", SOURCE.TypeVector),
    )
)
GEOMETRY = QgsWkbTypes.GeometryType
POINT_GEOMETRY, LINE_GEOMETRY, POLYGON_GEOMETRY = (
    _pick("GeometryType", new, old)
    for new, old in (("Point", GEOMETRY.PointGeometry), ("Line", GEOMETRY.LineGeometry), ("Polygon", GEOMETRY.PolygonGeometry))
)
METERS, UNKNOWN_DISTANCE_UNIT = (
    _pick("DistanceUnit", new, old)
    for new, old in (("Meters", QgsUnitTypes.DistanceUnit.DistanceMeters), ("Unknown", QgsUnitTypes.DistanceUnit.DistanceUnknownUnit))
)
NUMERIC_FIELD = _pick("ProcessingFieldParameterDataType", "Numeric", QgsProcessingParameterField.DataType.Numeric)
DATE_PARAMETER = _pick("ProcessingDateTimeParameterDataType", "Date", QgsProcessingParameterDateTime.Type.Date)
ADVANCED = _pick("ProcessingParameterFlag", "Advanced", QgsProcessingParameterDefinition.Flag.FlagAdvanced)
STATISTIC_MAX = _pick("RasterBandStatistic", "Max", QgsRasterBandStats.Stats.Max)
FAST_INSERT = QgsFeatureSink.Flag.FastInsert
# QgsMapLayerType is gone in QGIS 4: look it up only where Qgis.LayerType is missing
RASTER_LAYER = Qgis.LayerType.Raster if hasattr(Qgis, "LayerType") else qgis.core.QgsMapLayerType.RasterLayer
# QgsField.type() of the kinds the plugin reads and writes (QVariant and QMetaType ids agree)
BOOL, INT, UINT, INT64, UINT64, DOUBLE, STRING, BYTES, DATE, TIME, DATE_TIME = 1, 2, 3, 4, 5, 6, 10, 12, 14, 15, 16
WKT_FOR_GDAL = _pick("CrsWktVariant", "PreferredGdal", QgsCoordinateReferenceSystem.WktVariant.WKT_PREFERRED_GDAL)


def field(name, kind, alias=None):
    """A QgsField of kind "double", "int", "int64", "string", "date", "datetime" or "bool":
    QMetaType types from QGIS 3.38 on (QGIS 4 needs them), QVariant types before (3.22
    rejects QMetaType)."""
    from qgis.core import QgsField

    if Qgis.QGIS_VERSION_INT >= 33800:
        from qgis.PyQt.QtCore import QMetaType as Types

        names = {"double": "Double", "int": "Int", "int64": "LongLong", "string": "QString", "date": "QDate", "datetime": "QDateTime"}
        types = {kind: getattr(Types.Type, member) for kind, member in names.items()} | {"bool": Types.Type.Bool}
    else:
        from qgis.PyQt.QtCore import QVariant as Types

        names = {"double": "Double", "int": "Int", "int64": "LongLong", "string": "String", "date": "Date", "datetime": "DateTime"}
        types = {kind: getattr(Types, member) for kind, member in names.items()} | {"bool": Types.Bool}
    created = QgsField(name, types[kind])
    if alias:
        created.setAlias(alias)
    return created
