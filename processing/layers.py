"""QGIS layers to numpy arrays, read once: the one reader.

Every input goes through :class:`Reader`, which asks Processing for the parameter's feature
source (so "selected features only", feature limits and model outputs are honoured) and
reads it into a :class:`Features` table: the attributes asked for, the geometries as WKB (to
write back) and their vertices decoded by numpy in the working CRS.

Whole file layers (GeoPackage, shapefile, ... with no selection, filter, edits or virtual
fields) are read through GDAL's Arrow stream (``GetArrowStreamAsNumPy``, GDAL >= 3.6): about
0.14 s per million points against 3.8 s through ``getFeatures()``. Everything else (PostGIS,
memory layers, selections, model outputs) goes through the feature iterator. Features
without a geometry are left out and counted; multipoints, multilines and multipolygons keep
their parts."""

import math
import os
import struct
from dataclasses import dataclass, field

import numpy as np
from osgeo import gdal, ogr
from qgis.core import (
    NULL,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsDataSourceUri,
    QgsFeatureRequest,
    QgsFields,
    QgsGeometry,
    QgsLineString,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeatureSource,
    QgsProcessingFeatureSourceDefinition,
    QgsProcessingParameterDefinition,
    QgsProviderRegistry,
    QgsVectorLayer,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import QDate, QDateTime, Qt, QTime, QVariant

from ..core import InputError, geometry, silent
from ..core.network import nearest_segments
from .compat import DATE, DATE_TIME, LINE_GEOMETRY, METERS, POINT_GEOMETRY, POLYGON_GEOMETRY, STRING, UNKNOWN_DISTANCE_UNIT

ALL_FIELDS = "all"  # read every field (outputs that keep the input's fields)
POINTS, LINES, POLYGONS = POINT_GEOMETRY, LINE_GEOMETRY, POLYGON_GEOMETRY
GEOMETRY_NAMES = {POINTS: "points", LINES: "lines", POLYGONS: "polygons"}
POINT, LINE, POLYGON = 1, 2, 3  # WKB base types of single geometries
OPTIONAL = QgsProcessingParameterDefinition.Flag.FlagOptional
# Fields a tool takes when its field parameter is left empty, by the names analysts give them
COUNT_NAMES = ("incident_count", "count", "incidents", "weight_sum")
RISK_NAMES = ("weight_sum", "harm", "risk", "incident_count", "count")
UNIT_NAMES = ("unit_id", "unit", "vehicle_id", "vehicle", "car", "callsign", "officer_id")
TIME_NAMES = ("occurred_at", "pinged_at", "datetime", "date_time", "timestamp", "time", "date")


def is_count(field):
    """Numeric fields named like counts or harm (n_incidents, burglary_count, harm_total)."""
    name = field.name().lower()
    return field.isNumeric() and (any(word in name for word in ("incident", "count", "harm", "risk", "weight")) or name.startswith("n_"))


def is_time(field):
    """Date and date-time fields, and text fields named like times."""
    name = field.name().lower()
    return field.type() in (DATE, DATE_TIME) or (field.type() == STRING and ("time" in name or "date" in name or name.endswith("_at")))


def latest_time(source):
    """The latest value of the first time field of ``source`` (named as TIME_NAMES, else any
    date or time field), as ISO text; None without one. Providers answer with one query."""
    fields = list(source.fields())
    by_name = {f.name().lower(): i for i, f in enumerate(fields)}
    index = next((by_name[n] for n in TIME_NAMES if n in by_name), None)
    if index is None:
        index = next((i for i, f in enumerate(fields) if is_time(f)), None)
    if index is None:
        return None
    value = source.maximumValue(index)
    if isinstance(value, (QDateTime, QDate)):
        return value.toString(Qt.DateFormat.ISODate) if value.isValid() else None
    return str(value) if value not in (None, NULL) and str(value) else None


def is_identifier(name):
    """Names of identifiers (fid, id, cell_id, ...): never a risk or a count."""
    name = name.lower()
    return name in ("fid", "id", "ogc_fid", "objectid") or name.endswith("_id")


class Reader:
    """The inputs of one algorithm run: each parameter's feature source, read on request."""

    def __init__(self, algorithm, parameters, context, feedback):
        self.algorithm, self.parameters, self.context, self.feedback = algorithm, parameters, context, feedback
        self._sources = {}
        self.inputs = []  # {parameter, layer, features} of each layer read, for the outputs' provenance

    def source(self, key, needs=None):
        """The feature source of parameter ``key``; None for an optional one left empty.
        ``needs``: the geometry type (POINTS, LINES, POLYGONS or a tuple of them) the layer
        must hold; another is refused, naming the layer."""
        if key not in self._sources:
            source = self.algorithm.parameterAsSource(self.parameters, key, self.context)
            if source is None and not self.algorithm.parameterDefinition(key).flags() & OPTIONAL:
                raise QgsProcessingException(self.algorithm.invalidSourceError(self.parameters, key))
            self._sources[key] = source
        source = self._sources[key]
        kinds = needs if isinstance(needs, tuple) else (needs,)
        if source is not None and needs is not None and QgsWkbTypes.geometryType(source.wkbType()) not in kinds:
            held = QgsWkbTypes.geometryDisplayString(QgsWkbTypes.geometryType(source.wkbType())).lower()
            wanted = " or ".join(GEOMETRY_NAMES[kind] for kind in kinds)
            raise QgsProcessingException(
                f"The layer '{source.sourceName()}' holds {held} geometries; this tool needs {wanted}. "
                "Choose another layer (or convert it, e.g. with 'Centroids' for points)."
            )
        return source

    def field(self, key, layer_key, names=(), accept=None):
        """The field chosen for parameter ``key`` or, when it was left empty (qgis_process,
        models and scripts may leave it out), the layer's first field named as one of
        ``names`` (any case), else the first ``accept(field)`` allows; the log says which."""
        chosen = self.algorithm.parameterAsString(self.parameters, key, self.context)
        source = self.source(layer_key)
        default = self.algorithm.parameterDefinition(key).defaultValue()
        if source is None:
            return chosen
        if chosen and (chosen != default or source.fields().lookupField(chosen) >= 0):
            return self.existing_field(chosen, key, source)  # chosen by the user (or the default, which the layer has)
        fields = list(source.fields())
        by_name = {f.name().lower(): f.name() for f in fields}
        found = next((by_name[n.lower()] for n in names if n.lower() in by_name), None)
        if found is None and accept is not None:
            found = next((f.name() for f in fields if accept(f) and not is_identifier(f.name())), None)
        label = self.algorithm.parameterDefinition(key).description()
        if found is None:
            raise QgsProcessingException(
                f"Choose the {label.lower()} ({key}): the layer '{source.sourceName()}' has no field the tool recognises "
                f"({', '.join(names)}). Its fields: {', '.join(f.name() for f in fields[:20])}."
            )
        self.feedback.pushInfo(f"{label}: '{found}' ({key} was left empty).")
        return found

    def amount_field(self, key, layer_key, names=(), accept=None):
        """A field of counts, harm or risk (see ``field``); an identifier (fid, cell_id,
        segment_id, ...) counts nothing and is refused, naming it."""
        chosen = self.field(key, layer_key, names, accept)
        if chosen and is_identifier(chosen):
            label = self.algorithm.parameterDefinition(key).description()
            raise QgsProcessingException(
                f"'{chosen}' identifies the features of '{self.source(layer_key).sourceName()}'; it is no amount. Choose a count, "
                f"harm or risk field such as incident_count or weight_sum as the {label.lower()} ({key})."
            )
        return chosen

    def existing_field(self, name, key, source):
        """The layer's own spelling of field ``name`` (any case); a field it lacks is refused."""
        names = source.fields().names()
        if name in names:
            return name
        same = [n for n in names if n.lower() == name.lower()]
        if same:
            return same[0]
        raise QgsProcessingException(
            f"The layer '{source.sourceName()}' has no field '{name}' ({key}). Its fields: {', '.join(names[:30]) or 'none'}."
        )

    def crs(self, key):
        """The CRS to measure the layer of ``key`` in (see :func:`working_crs`)."""
        return working_crs(self.source(key), self.context, self.feedback)

    def read(self, key, crs, fields=(), keep=False, geometry=True, progress=None):
        """Read parameter ``key`` into :class:`Features` (None for an optional parameter left
        empty). ``fields``: names to read, or ALL_FIELDS; ``keep``: keep the geometries as
        WKB to write them back; ``crs``: the CRS the vertices are measured in."""
        source = self.source(key)
        if source is None:
            return None
        layer = self.algorithm.parameterAsVectorLayer(self.parameters, key, self.context)
        features = read(source, layer, self.parameters.get(key), crs, self.context, fields, keep, geometry, progress)
        if geometry and len(features) == 0:
            raise QgsProcessingException(
                f"The layer '{source.sourceName()}' ({key}) has no features with a geometry"
                + (f" ({features.skipped} without one)" if features.skipped else "")
                + ". Check the layer, its filter or the selection."
            )
        entry = {"parameter": key, "layer": source.sourceName(), "features": len(features) + features.skipped}
        if QgsWkbTypes.geometryType(source.wkbType()) == POINT_GEOMETRY:
            entry["latest_time"] = latest_time(source)  # the data date a briefing map prints
        self.inputs.append(entry)
        return features


def layer_numbers(layer, field):
    """One numeric field of a map layer (NaN for NULL), read as an algorithm would read it."""
    context = QgsProcessingContext()
    return read(QgsProcessingFeatureSource(layer, context), layer, None, None, context, [field], geometry=False).numbers(field)


def read(source, layer, parameter_value, crs, context, fields=(), keep=False, geometry=True, progress=None):
    """Read a feature source into :class:`Features` (see Reader.read). ``layer`` is the
    QgsVectorLayer behind it when Processing names one and ``parameter_value`` the raw
    parameter: together they tell whether GDAL may read the whole file directly."""
    if geometry and crs is not None and not has_crs(source.sourceCrs()):
        raise QgsProcessingException(
            f"The layer '{source.sourceName()}' has no valid CRS, so its coordinates cannot be measured or matched with the "
            "other layers. Set its CRS (Layer Properties > Source, or 'Assign projection') and run again."
        )
    names = source.fields().names() if fields == ALL_FIELDS else [f for f in fields if f]
    missing = [name for name in names if source.fields().lookupField(name) < 0]
    if missing:
        raise QgsProcessingException(
            f"The layer '{source.sourceName()}' has no field '{missing[0]}'. Choose one of its fields: "
            f"{', '.join(source.fields().names()[:20])}."
        )
    direct = _gdal_readable(layer, parameter_value, names)
    report = progress or silent
    features = None
    if direct is not None:
        try:
            features = _read_arrow(*direct, source, names, geometry, report)
        except (TypeError, UnicodeError, KeyError):  # e.g. latin1 field names GDAL hands over undecoded
            features = None
    if features is None:  # not a source GDAL reads directly (or it could not): QGIS's iterator
        features = _read_features(source, names, geometry, report)
    if geometry:
        features.decode(source.sourceCrs(), crs, context, keep)
    report(1.0)
    return features


@dataclass
class Features:
    """One source's features (those with a geometry, when geometry is read): attributes as
    read, geometries as WKB in the source CRS (when kept) and decoded in the working CRS.

    Vertices are flat: ``vertices`` (m, 2), ``sizes`` the vertex count of each point, line
    or ring, ``ring_part`` the part of each ring (a polygon part's first ring is its outer
    one), ``part_owner`` the row of each part."""

    name: str
    fields: QgsFields
    wkb_type: int
    ids: np.ndarray  # feature id of each row, to name rows in messages
    columns: dict  # field name -> values (masked numpy array from Arrow, or a list)
    wkb: list = None
    skipped: int = 0  # features without a geometry, left out
    fast: bool = False
    vertices: np.ndarray = None
    sizes: np.ndarray = None
    ring_part: np.ndarray = None
    part_owner: np.ndarray = None
    crs: QgsCoordinateReferenceSystem = None  # of the vertices
    source_crs: QgsCoordinateReferenceSystem = None  # of the WKB
    _blobs: list = field(default=None, repr=False)

    def __len__(self):
        return len(self.ids)

    # --- attributes ----------------------------------------------------------------------
    def numbers(self, name):
        """A numeric field as floats, NaN where NULL (text that is no number is refused)."""
        column = self.columns[name]
        if isinstance(column, np.ma.MaskedArray):
            if column.dtype.kind in "biuf":
                return np.where(np.ma.getmaskarray(column), np.nan, np.ma.getdata(column).astype(float))
            column = self.values(name)
        out = np.empty(len(column))
        for i, value in enumerate(column):
            if value is None or value == NULL or value == "":
                out[i] = np.nan
                continue
            try:
                out[i] = float(value)
            except (TypeError, ValueError):
                raise QgsProcessingException(
                    f"'{name}' of feature {self.ids[i]} in '{self.name}' is '{value}', not a number. Correct it or choose a numeric field."
                ) from None
        return out

    def texts(self, name):
        """A field as text (numbers as written, NULL as "")."""
        values = self.values(name)
        return np.array(["" if v is None else (format(v, "g") if isinstance(v, float) else str(v)) for v in values], dtype=str)

    def seconds(self, name):
        """A time field as seconds since 1970: QDateTime, QDate, ISO text, date-only text,
        epoch seconds or milliseconds all give the same number for the same time, on every
        reader and whatever this machine's time zone. A time without a zone is the data's own
        clock reading (taken as UTC); one with an offset or zone is that instant (08:30+02:00
        is 06:30 UTC). NaN where NULL; a value that is no time is refused, naming its feature."""
        column = self.columns[name]
        if isinstance(column, np.ma.MaskedArray) and column.dtype.kind == "M":
            data = np.ma.getdata(column)
            seconds = data.astype("datetime64[ms]").astype(np.int64) / 1000.0
            return np.where(np.ma.getmaskarray(column) | np.isnat(data), np.nan, seconds)
        values = self.values(name) if isinstance(column, np.ma.MaskedArray) else list(column)  # QDateTimes as read: their clock
        seconds = np.array([_epoch(v) for v in values], dtype=float)
        bad = np.flatnonzero(np.isinf(seconds))
        if len(bad):
            raise InputError(
                f"'{name}' of '{self.name}' holds {values[bad[0]]!r} (feature {self.ids[bad[0]]}), which is no date or time "
                f"({len(bad)} such values). Use date-times, ISO 8601 text such as 2025-06-01T08:30:00, or epoch seconds."
            )
        return seconds

    def clocks(self, name):
        """A time field as (instants, offsets, zones): ``seconds`` for each value, its offset
        east of UTC in seconds (0 without a zone) and the IANA id of its time zone ("" when it
        has none, or only a fixed offset). instant + offset is the wall clock the time was
        written in. GDAL hands a whole GeoPackage's date-times over as written, without their
        offsets: they are their own wall clock there."""
        instants = self.seconds(name)
        column = self.columns[name]
        if isinstance(column, np.ma.MaskedArray) and column.dtype.kind == "M":
            return instants, np.zeros(len(instants)), [""] * len(instants)
        values = self.values(name) if isinstance(column, np.ma.MaskedArray) else list(column)
        readings = [_zone_of(v) for v in values]
        return instants, np.array([offset for offset, _ in readings], dtype=float), [zone for _, zone in readings]

    def values(self, name):
        """A field's values as plain Python (None for NULL), as a list: what writers take."""
        column = self.columns[name]
        if not isinstance(column, np.ma.MaskedArray):
            return [None if v is None or (isinstance(v, QVariant) and v.isNull()) else _plain(v) for v in column]
        data = np.ma.getdata(column)
        if data.dtype.kind == "S":  # text: each distinct value decoded once
            distinct, position = np.unique(data, return_inverse=True)
            text = np.char.decode(distinct, "utf-8").astype(object)
            values = text[position.ravel()]
        else:
            values = data.astype(object)
        values[np.ma.getmaskarray(column)] = None
        return values.tolist()

    # --- geometry --------------------------------------------------------------------------
    @property
    def x(self):
        """x of every point (multipoints give several; ``part_owner`` maps them to rows)."""
        return self.vertices[:, 0]

    @property
    def y(self):
        return self.vertices[:, 1]

    def centroids(self):
        """(x, y) of each row: the point itself (the first part of a multipoint), the
        length-weighted centroid of a line, the area-weighted centroid of a polygon."""
        kind = QgsWkbTypes.geometryType(self.wkb_type)
        n = len(self)
        if kind == QgsWkbTypes.GeometryType.PointGeometry:
            first = self.first_points()
            return self.vertices[first, 0], self.vertices[first, 1]
        if kind == QgsWkbTypes.GeometryType.LineGeometry:
            _, centre = geometry.line_lengths_and_centroids(self.vertices, self.sizes, self.part_owner, n)
        else:
            _, centre = geometry.polygon_areas_and_centroids(self.vertices, self.sizes, self.ring_part, self.part_owner, n)
        return centre[:, 0], centre[:, 1]

    def first_points(self):
        """The index (into x, y) of each row's first point."""
        first = np.full(len(self), -1)
        first[self.part_owner[::-1]] = np.arange(len(self.part_owner))[::-1]
        return first

    def edges(self):
        """(k, 4) straight edges ax, ay, bx, by of every line part, and the row of each."""
        ax, ay, bx, by, part = geometry.ring_edges(self.vertices, self.sizes)
        return np.column_stack([ax, ay, bx, by]), self.part_owner[self.ring_part[part]]

    def ring_owner(self):
        """The row of each ring (polygons) or line part."""
        return self.part_owner[self.ring_part]

    def locate(self, x, y, tolerance, progress=None):
        """The row each point falls in: the polygon holding it, or the nearest line within
        ``tolerance`` (the same rule as 'Assign incidents to street segments'); -1 for none."""
        if QgsWkbTypes.geometryType(self.wkb_type) == LINE_GEOMETRY:
            edges, owner = self.edges()
            return nearest_segments(x, y, edges, owner, tolerance, progress=progress).segment
        return geometry.points_in_polygons(x, y, self.vertices, self.sizes, self.ring_owner(), len(self), progress)

    def subset(self, rows):
        """The table restricted to ``rows`` (a boolean mask or indices), parts renumbered."""
        rows = np.flatnonzero(rows) if np.asarray(rows).dtype == bool else np.asarray(rows, dtype=np.int64)
        renumber = np.full(len(self), -1)
        renumber[rows] = np.arange(len(rows))
        part_keep = renumber[self.part_owner] >= 0
        ring_keep = part_keep[self.ring_part]
        part_renumber = np.cumsum(part_keep) - 1
        columns = {
            name: (column[rows] if isinstance(column, np.ndarray) else [column[i] for i in rows]) for name, column in self.columns.items()
        }
        return Features(
            self.name,
            self.fields,
            self.wkb_type,
            self.ids[rows],
            columns,
            [self.wkb[i] for i in rows] if self.wkb is not None else None,
            self.skipped,
            self.fast,
            self.vertices[np.repeat(ring_keep, self.sizes)],
            self.sizes[ring_keep],
            part_renumber[self.ring_part[ring_keep]],
            renumber[self.part_owner[part_keep]],
            self.crs,
            self.source_crs,
        )

    def decode(self, source_crs, crs, context, keep):
        """Decode the WKB blobs read into vertex arrays in ``crs``; rows without a usable
        geometry are dropped and counted in ``skipped``."""
        vertices, sizes, ring_part, part_owner = decode_wkb(self._blobs)
        usable = np.bincount(part_owner, minlength=len(self.ids)) > 0
        if not usable.all():
            self.skipped += int((~usable).sum())
            renumber = np.cumsum(usable) - 1
            part_owner = renumber[part_owner]
            self.ids = self.ids[usable]
            self.columns = {
                name: (column[usable] if isinstance(column, np.ndarray) else [v for v, u in zip(column, usable) if u])
                for name, column in self.columns.items()
            }
            self._blobs = self._blobs[usable] if isinstance(self._blobs, np.ndarray) else [b for b, u in zip(self._blobs, usable) if u]
        if source_crs != crs and len(vertices):
            vertices = np.column_stack(transform_xy(vertices[:, 0], vertices[:, 1], source_crs, crs, context))
        self.vertices, self.sizes, self.ring_part, self.part_owner = vertices, sizes, ring_part, part_owner
        self.crs, self.source_crs = crs, source_crs
        self.wkb = (rows_as_bytes(self._blobs) if isinstance(self._blobs, np.ndarray) else self._blobs) if keep else None
        self._blobs = None


def _plain(value):
    """A QGIS attribute as a plain Python value (date-times as timezone-aware datetimes)."""
    if isinstance(value, QDateTime):
        return value.toPyDateTime() if value.timeSpec() == 0 else _aware(value)
    if isinstance(value, QDate):
        return value.toPyDate() if value.isValid() else None
    if isinstance(value, QTime):
        return value.toPyTime() if value.isValid() else None
    return value


def _aware(value):
    """A QDateTime with a time zone or offset as an aware datetime (UTC)."""
    from datetime import datetime, timezone

    return datetime.fromtimestamp(value.toMSecsSinceEpoch() / 1000.0, tz=timezone.utc) if value.isValid() else None


def _epoch(value):
    """Seconds since 1970 of one time value, its clock reading when it has no zone (NaN when
    NULL, inf when it is no time at all)."""
    from datetime import date, datetime, timezone

    if value is None or (isinstance(value, QVariant) and value.isNull()):
        return np.nan
    if isinstance(value, QDateTime):
        if not value.isValid():
            return np.nan
        if value.timeSpec() == Qt.TimeSpec.LocalTime:  # no zone: its clock reading, not this machine's zone
            value = QDateTime(value.date(), value.time(), Qt.TimeSpec.UTC)
        return value.toMSecsSinceEpoch() / 1000.0
    if isinstance(value, QDate):
        return QDateTime(value, QTime(0, 0), Qt.TimeSpec.UTC).toMSecsSinceEpoch() / 1000.0 if value.isValid() else np.nan
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).timestamp()
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc).timestamp()
    if isinstance(value, (int, float, np.integer, np.floating)):
        if not math.isfinite(value):
            return np.inf
        return float(value) / 1000.0 if abs(value) > 1e11 else float(value)  # epoch milliseconds beyond the year 5000
    text = str(value).strip()
    if not text:
        return np.nan
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T", 1) if len(text) > 10 else text)
    except ValueError:
        try:
            return _epoch(float(text))  # epoch numbers stored as text
        except ValueError:
            return np.inf
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).timestamp()


def _zone_of(value):
    """(offset east of UTC in seconds, IANA zone id or "") of one time value."""
    from datetime import datetime

    if isinstance(value, QDateTime) and value.isValid():
        if value.timeSpec() == Qt.TimeSpec.TimeZone:
            return value.offsetFromUtc(), bytes(value.timeZone().id()).decode()
        return (value.offsetFromUtc(), "") if value.timeSpec() == Qt.TimeSpec.OffsetFromUTC else (0, "")
    if isinstance(value, datetime):
        return (value.utcoffset().total_seconds() if value.tzinfo else 0), ""
    text = str(value).strip() if isinstance(value, str) else ""
    if len(text) > 10:
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T", 1))
        except ValueError:
            return 0, ""
        return (parsed.utcoffset().total_seconds() if parsed.tzinfo else 0), ""
    return 0, ""


def unit_name(crs):
    """The CRS's distance unit as a log line says it: metres, feet, ... ("map units" if unknown)."""
    from qgis.core import QgsUnitTypes

    unit = crs.mapUnits() if crs is not None else None
    return "metres" if unit == METERS else QgsUnitTypes.toString(unit) if unit not in (None, UNKNOWN_DISTANCE_UNIT) else "map units"


def has_crs(crs):
    """A CRS that places coordinates on the earth: not invalid, and not the 'Undefined
    geographic/cartesian SRS' a GeoPackage stores as srs_id 0 or -1 (QGIS calls them valid)."""
    return crs.isValid() and "undefined" not in crs.description().lower()


def working_crs(source, context, feedback):
    """The CRS to measure distances in: the source's own, or its UTM zone when it is
    geographic (degrees are no distance), with a note in the log."""
    crs = source.sourceCrs()
    if not has_crs(crs):
        raise QgsProcessingException(
            f"The layer '{source.sourceName()}' has no valid CRS. Set its CRS (Layer Properties > Source) and run again."
        )
    if not crs.isGeographic():
        return crs
    wgs84 = QgsCoordinateReferenceSystem("EPSG:4326")
    centre = QgsCoordinateTransform(crs, wgs84, context.transformContext()).transform(source.sourceExtent().center())
    if not (math.isfinite(centre.x()) and math.isfinite(centre.y())):
        raise QgsProcessingException(f"The layer '{source.sourceName()}' is empty or its extent is invalid.")
    zone = min(int((centre.x() + 180) // 6) + 1, 60)
    utm = QgsCoordinateReferenceSystem(f"EPSG:{(32600 if centre.y() >= 0 else 32700) + zone}")
    feedback.pushInfo(
        f"'{source.sourceName()}' is in a geographic CRS ({crs.authid()}); it is measured in {utm.authid()} "
        f"({utm.description()}) and distances are read in metres."
    )
    return utm


def transform_xy(x, y, source_crs, target_crs, context):
    """Transform coordinate arrays in one batched PROJ call, with the project's datum
    transformations: through a QgsLineString, whose QPolygonF buffer numpy reads back."""
    transform = QgsCoordinateTransform(source_crs, target_crs, context.transformContext())
    line = QgsLineString(np.ascontiguousarray(x, dtype=float).tolist(), np.ascontiguousarray(y, dtype=float).tolist())
    line.transform(transform)
    polygon = line.asQPolygonF()
    buffer = polygon.data()
    buffer.setsize(len(polygon) * 16)
    xy = np.frombuffer(buffer, dtype=float).reshape(-1, 2).copy()
    return xy[:, 0], xy[:, 1]


def union_of(features, crs, context):
    """The geometries of a :class:`Features` table read with ``keep=True``, dissolved into
    one QGIS geometry in ``crs`` (for areas: overlapping hot spots count once)."""
    parts = [QgsGeometry() for _ in features.wkb]
    for part, blob in zip(parts, features.wkb):
        part.fromWkb(blob)
    # GEOS cannot union a self-intersecting polygon (a hand-drawn bow-tie): repair those first
    parts = [part if part.isGeosValid() else part.makeValid() for part in parts]
    union = QgsGeometry.unaryUnion(parts)
    if features.source_crs != crs:
        union.transform(QgsCoordinateTransform(features.source_crs, crs, context.transformContext()))
    return union


# --- the two ways in ---------------------------------------------------------------------
def _gdal_readable(layer, parameter_value, names):
    """(GDAL dataset name, layer name, SQL filter) when GDAL may read the layer directly and
    fast: a plain OGR file read whole, or a PostGIS table or view (its SQL filter included);
    no selection, feature limit, unsaved edits, or fields the data source does not have."""
    if not isinstance(layer, QgsVectorLayer) or layer.providerType() not in ("ogr", "postgres") or layer.isModified():
        return None
    if isinstance(parameter_value, QgsProcessingFeatureSourceDefinition):
        if parameter_value.selectedFeaturesOnly or parameter_value.featureLimit not in (-1, None):
            return None
        if getattr(parameter_value, "filterExpression", ""):
            return None
    provider_fields = layer.dataProvider().fields().names()
    if any(name not in provider_fields for name in names):  # virtual or joined fields
        return None
    if layer.providerType() == "postgres":
        return _postgis_table(layer)
    if layer.subsetString():
        return None
    parts = QgsProviderRegistry.instance().decodeUri("ogr", layer.source())
    path = parts.get("path")
    if not path or parts.get("layerId") not in (None, "") or path.lower().endswith((".csv", ".txt")):
        return None  # CSV columns are text to OGR but typed to QGIS
    if os.path.exists(path + "-wal"):
        return None  # QGIS has it open in WAL mode (a filtered or edited layer): leave the file to QGIS's connection
    return path, parts.get("layerName") or None, None


def _postgis_table(layer):
    """GDAL's name of a PostGIS table or view: its PostgreSQL driver streams the rows in
    C++ (Arrow batches), several times faster than a Python loop over QGIS features. Query
    layers (a SELECT as the table) stay with QGIS."""
    uri = QgsDataSourceUri(layer.source())
    if not uri.table() or uri.table().lstrip().startswith("("):
        return None
    table = f"{uri.schema()}.{uri.table()}" if uri.schema() else uri.table()
    if uri.geometryColumn():
        table = f"{table}({uri.geometryColumn()})"
    return "PG:" + uri.connectionInfo(True), table, uri.sql() or None


def _read_arrow(path, layer_name, sql_filter, source, names, with_geometry, report):
    try:
        options = ["LIST_ALL_TABLES=YES"] if path.startswith("PG:") else []
        dataset = gdal.OpenEx(path, gdal.OF_VECTOR | gdal.OF_READONLY, open_options=options)
    except RuntimeError:  # GDAL in exception mode
        dataset = None
    if dataset is None:
        return None  # QGIS's reader will try (and name the problem if there is one)
    ogr_layer = dataset.GetLayerByName(layer_name) if layer_name else dataset.GetLayer(0)
    if ogr_layer is None and layer_name and layer_name.endswith(")"):  # a table with one geometry column is named without it
        ogr_layer = dataset.GetLayerByName(layer_name[: layer_name.rindex("(")])
    if ogr_layer is None:
        return None
    if sql_filter and ogr_layer.SetAttributeFilter(sql_filter) != 0:
        return None
    fid_column = ogr_layer.GetFIDColumn() or "OGC_FID"
    geometry_column = ogr_layer.GetGeometryColumn() or "wkb_geometry"
    definition = ogr_layer.GetLayerDefn()
    wanted = set(names)
    ogr_layer.SetIgnoredFields(
        [
            definition.GetFieldDefn(i).GetName()
            for i in range(definition.GetFieldCount())
            if definition.GetFieldDefn(i).GetName() not in wanted
        ]
        + ([] if with_geometry else ["OGR_GEOMETRY"])
    )
    total = max(ogr_layer.GetFeatureCount(), 1)
    ids, blobs, parts = [], [], {name: [] for name in names}
    done = 0
    # Not INCLUDE_FID=NO: GDAL 3.6 then returns equal-length geometries as empty bytes.
    stream = ogr_layer.GetArrowStreamAsNumPy()
    for batch in stream:
        count = len(batch[fid_column])
        ids.append(np.asarray(batch[fid_column]))
        if with_geometry:
            blobs.append(_blob_column(batch[geometry_column]))
        for name in names:
            parts[name].append(batch[fid_column] if name == fid_column else batch[name])
        done += count
        report(0.9 * done / total)
    del stream, ogr_layer, dataset  # closed now, not whenever Python collects them
    columns = {name: np.ma.concatenate([np.ma.asarray(p) for p in chunks]) if chunks else np.ma.array([]) for name, chunks in parts.items()}
    features = Features(
        source.sourceName(), source.fields(), source.wkbType(), np.concatenate(ids) if ids else np.empty(0, np.int64), columns
    )
    features.fast = True
    if all(isinstance(b, np.ndarray) for b in blobs) and len({b.shape[1] for b in blobs}) == 1:
        features._blobs = np.concatenate(blobs)
    else:
        features._blobs = [blob for batch in blobs for blob in (rows_as_bytes(batch) if isinstance(batch, np.ndarray) else batch)]
    return features


def _blob_column(column):
    """An Arrow geometry column as an (n, size) uint8 array when GDAL hands equal-length
    blobs over as one fixed-width buffer (the usual case for points), else a list of WKB
    bytes (None where NULL)."""
    column = np.ma.asarray(column)
    mask = np.ma.getmaskarray(column)
    data = np.ma.getdata(column)
    if data.dtype.kind == "V" and not mask.any():
        return np.ascontiguousarray(data).view(np.uint8).reshape(len(data), data.dtype.itemsize)
    blobs = data.tolist() if data.dtype.kind == "V" else list(data)
    return [None if m else bytes(b) for b, m in zip(blobs, mask)]


def rows_as_bytes(raw):
    """The rows of an (n, size) uint8 array as bytes objects."""
    return raw.view(f"V{raw.shape[1]}").ravel().tolist() if len(raw) else []


def _read_features(source, names, with_geometry, report):
    fields = source.fields()
    indexes = [fields.lookupField(name) for name in names]
    request = QgsFeatureRequest().setSubsetOfAttributes(indexes)
    if not with_geometry:
        request.setFlags(QgsFeatureRequest.Flag.NoGeometry)
    total = max(source.featureCount(), 1)
    ids, blobs, rows = [], [], []
    for n, feature in enumerate(source.getFeatures(request, QgsProcessingFeatureSource.Flag.FlagSkipGeometryValidityChecks)):
        if n % 10000 == 0:
            report(0.9 * n / total)
        ids.append(feature.id())
        attributes = feature.attributes()
        rows.append([attributes[i] for i in indexes])
        if with_geometry:
            shape = feature.geometry()
            blobs.append(None if shape.isNull() else bytes(shape.asWkb()))
    columns = {name: list(values) for name, values in zip(names, zip(*rows))} if rows else {name: [] for name in names}
    features = Features(source.sourceName(), fields, source.wkbType(), np.array(ids, dtype=np.int64), columns)
    features._blobs = blobs
    return features


# --- WKB ---------------------------------------------------------------------------------
def decode_wkb(blobs):
    """Vertices of WKB blobs, a list (None for no geometry) or an (n, size) uint8 array of
    equal-length ones: (vertices, sizes, ring_part, part_owner), as :class:`Features` holds
    them. Points give one vertex each (empty ones none); curves are linearised. Uniform
    little-endian points, lines and one-ring polygons (the usual case) are decoded in one
    numpy pass; anything else blob by blob."""
    if isinstance(blobs, np.ndarray):
        n, size = blobs.shape
        if size == 21 and (blobs[:, 0] == 1).all() and (blobs[:, 1:5].copy().view("<u4") == POINT).all():
            xy = blobs[:, 5:].copy().view("<f8")  # little-endian 2-D points, read in place
            keep = np.isfinite(xy).all(axis=1)  # POINT EMPTY is NaN, NaN
            return xy[keep], np.ones(int(keep.sum()), dtype=np.int64), np.arange(int(keep.sum())), np.flatnonzero(keep)
        fast = _decode_uniform(blobs.ravel(), np.full(n, size, dtype=np.int64))
        if fast is not None:
            return fast
        blobs = rows_as_bytes(blobs)
    elif blobs and not any(b is None for b in blobs):
        fast = _decode_uniform(np.frombuffer(b"".join(blobs), dtype=np.uint8), np.fromiter(map(len, blobs), np.int64, len(blobs)))
        if fast is not None:
            return fast
    vertices, sizes, ring_part, part_owner = [], [], [], []
    part = 0
    for row, blob in enumerate(blobs):
        if blob is None:
            continue
        for rings in _parts(blob):
            for ring in rings:
                vertices.append(ring)
                sizes.append(len(ring))
                ring_part.append(part)
            part_owner.append(row)
            part += 1
    if not vertices:
        empty = np.empty(0, dtype=np.int64)
        return np.empty((0, 2)), empty, empty, empty
    return (
        np.concatenate(vertices),
        np.array(sizes, dtype=np.int64),
        np.array(ring_part, dtype=np.int64),
        np.array(part_owner, dtype=np.int64),
    )


def _decode_uniform(joined, sizes):
    """decode_wkb for blobs laid end to end in ``joined``, when all are little-endian and of
    one simple kind; None otherwise."""
    starts = np.cumsum(sizes) - sizes
    if (sizes < 9).any() or not (joined[starts] == 1).all():
        return None
    kinds = joined[starts[:, None] + np.arange(1, 5)].copy().view("<u4").ravel()
    n = len(sizes)
    rows = np.arange(n)
    if (kinds == POINT).all() and (sizes == 21).all():
        xy = joined.reshape(n, 21)[:, 5:].copy().view("<f8")
        keep = np.isfinite(xy).all(axis=1)  # POINT EMPTY is NaN, NaN
        return xy[keep], np.ones(int(keep.sum()), dtype=np.int64), np.arange(int(keep.sum())), rows[keep]
    if (kinds == LINE).all():
        header = 9
    elif (kinds == POLYGON).all():
        if not (joined[starts[:, None] + np.arange(5, 9)].copy().view("<u4").ravel() == 1).all():
            return None  # holes: blob by blob
        header = 13
    else:
        return None
    counts = joined[starts[:, None] + np.arange(header - 4, header)].copy().view("<u4").ravel().astype(np.int64)
    if not (sizes == header + 16 * counts).all():
        return None
    keep = counts > 0
    coordinates = np.delete(joined, (starts[:, None] + np.arange(header)).ravel()).view("<f8").reshape(-1, 2)
    return coordinates, counts[keep], np.arange(int(keep.sum())), rows[keep]


def _parts(blob):
    """The parts of one WKB geometry, each a list of (k, 2) rings or lines (a point is a
    one-vertex line)."""
    geometries, _ = _walk(memoryview(blob), 0)
    return geometries


def _walk(wkb, offset):
    order = "<" if wkb[offset] == 1 else ">"
    (kind,) = struct.unpack_from(order + "I", wkb, offset + 1)
    has_z, has_m = bool(kind & 0x80000000), bool(kind & 0x40000000)
    srid = 4 if kind & 0x20000000 else 0
    kind &= 0x0FFFFFFF
    base, flag = kind % 1000, kind // 1000
    has_z, has_m = has_z or flag in (1, 3), has_m or flag in (2, 3)
    dims = 2 + has_z + has_m
    offset += 5 + srid
    if base == POINT:
        coordinates = np.frombuffer(wkb, dtype=order + "f8", count=dims, offset=offset)[:2].reshape(1, 2)
        return ([[coordinates]] if np.isfinite(coordinates).all() else []), offset + 8 * dims
    (count,) = struct.unpack_from(order + "I", wkb, offset)
    offset += 4
    if base == LINE:
        coordinates = np.frombuffer(wkb, dtype=order + "f8", count=count * dims, offset=offset).reshape(count, dims)[:, :2]
        return ([[coordinates]] if count else []), offset + 8 * dims * count
    if base == POLYGON:
        rings = []
        for _ in range(count):
            (points,) = struct.unpack_from(order + "I", wkb, offset)
            offset += 4
            rings.append(np.frombuffer(wkb, dtype=order + "f8", count=points * dims, offset=offset).reshape(points, dims)[:, :2])
            offset += 8 * dims * points
        return ([rings] if rings and len(rings[0]) else []), offset
    if base in (4, 5, 6, 7):  # multipoint, multiline, multipolygon, collection
        parts = []
        for _ in range(count):
            inner, offset = _walk(wkb, offset)
            parts.extend(inner)
        return parts, offset
    # curves and anything else: linearised by OGR
    start = offset - 9 - srid
    curve = ogr.CreateGeometryFromWkb(bytes(wkb[start:]))
    inner, _ = _walk(memoryview(curve.GetLinearGeometry().ExportToIsoWkb()), 0)
    return inner, start + curve.WkbSize()
