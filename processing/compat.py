"""Enum values that moved between QGIS 3.22 and QGIS 4 (Qt6), in one place.

QGIS 3.30-3.36 moved many enums to ``Qgis.*``; QGIS 4 drops the old spellings. Each name
here takes the new one where this QGIS has it and the 3.22 one otherwise."""

from qgis.core import (
    Qgis,
    QgsCoordinateReferenceSystem,
    QgsProcessing,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterField,
    QgsRasterBandStats,
    QgsUnitTypes,
    QgsWkbTypes,
)


def _pick(new_enum, new_member, old_value):
    enum = getattr(Qgis, new_enum, None)
    return getattr(enum, new_member) if enum is not None else old_value


POINT_SOURCE = _pick("ProcessingSourceType", "VectorPoint", QgsProcessing.SourceType.TypeVectorPoint)
NUMERIC_FIELD = _pick("ProcessingFieldParameterDataType", "Numeric", QgsProcessingParameterField.DataType.Numeric)
ADVANCED = _pick("ProcessingParameterFlag", "Advanced", QgsProcessingParameterDefinition.Flag.FlagAdvanced)
POINT_GEOMETRY = _pick("GeometryType", "Point", QgsWkbTypes.GeometryType.PointGeometry)
METERS = _pick("DistanceUnit", "Meters", QgsUnitTypes.DistanceUnit.DistanceMeters)
UNKNOWN_DISTANCE_UNIT = _pick("DistanceUnit", "Unknown", QgsUnitTypes.DistanceUnit.DistanceUnknownUnit)
STATISTIC_MAX = _pick("RasterBandStatistic", "Max", QgsRasterBandStats.Stats.Max)
WKT_FOR_GDAL = _pick("CrsWktVariant", "PreferredGdal", QgsCoordinateReferenceSystem.WktVariant.WKT_PREFERRED_GDAL)
