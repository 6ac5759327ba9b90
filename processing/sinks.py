"""Numpy columns back to QGIS: the one writer.

Every output of every algorithm is written through :class:`Writer`: vector layers (the
input's own fields and geometries, when the output keeps them, plus the algorithm's new
columns), tables without geometry, GeoTIFF rasters and HTML reports. It reports progress,
stops on Cancel, and remembers what it wrote so that a cancelled or failed run leaves no
partial output behind (:meth:`Writer.discard`).

A new column whose name the input already has (a rerun over last week's output) replaces
the input's values; the field appears once and the log says so.

GeoPackage files are written in bulk (geopackage.py: GDAL makes the layer, SQLite takes the
rows, the spatial index is packed by numpy), several times faster than a QgsFeature per
row. Every other destination (memory layers, PostGIS, shapefiles, ...) goes through the
Processing feature sink."""

import datetime
import html
import json
import operator
import os
import re
import sqlite3
from dataclasses import dataclass

import numpy as np
from osgeo import gdal
from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsFeature,
    QgsFeatureRequest,
    QgsField,
    QgsFields,
    QgsGeometry,
    QgsProcessingException,
    QgsProcessingOutputLayerDefinition,
    QgsProcessingUtils,
    QgsRasterLayer,
    QgsVectorLayer,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import QDate, QDateTime, Qt, QTime

from ..core import Canceled, silent
from . import geopackage, provenance
from .compat import DATE, DATE_TIME, FAST_INSERT, TIME, WKT_FOR_GDAL
from .compat import field as make_field
from .layers import rows_as_bytes
from .styles import apply_style, on_completion

NO_GEOMETRY = QgsFeatureRequest.Flag.NoGeometry
BATCH = 10_000  # features per addFeatures call (generic path)
# fast DEFLATE (what any GIS reads), on every core: a tenth of the size of a plain GeoTIFF for sparse maps
GEOTIFF_OPTIONS = ["COMPRESS=DEFLATE", "ZLEVEL=1", "TILED=YES", "NUM_THREADS=ALL_CPUS", "BIGTIFF=IF_SAFER"]
# Raster outputs by extension: formats that keep 32-bit floats and a georeference
RASTER_FORMATS = {".tif": "GTiff", ".tiff": "GTiff", ".asc": "AAIGrid", ".img": "HFA"}


@dataclass
class Column:
    """One new output field: its name, kind ("int", "int64", "double", "string", "date",
    "datetime", "bool"), its values (numpy or a list; NaN and None become NULL) and an
    optional alias."""

    name: str
    kind: str
    values: object
    alias: str = None


class Writer:
    """The outputs of one algorithm run."""

    def __init__(self, algorithm, parameters, context, feedback):
        self.algorithm, self.parameters, self.context, self.feedback = algorithm, parameters, context, feedback
        self.written = []  # (destination, file path or None) of every output begun
        self.choices = {}  # what the algorithm chose itself (automatic values), for the provenance

    def check_destinations(self):
        """Before anything is read or written: no output may be an input's file (it would be
        overwritten, and inputs are never modified), and every output's folder must exist
        and take files."""
        inputs = {}
        for definition in self.algorithm.parameterDefinitions():
            if definition.isDestination() or self.parameters.get(definition.name()) in (None, ""):
                continue
            for layer in self._input_layers(definition):
                path = layer.source().split("|")[0]
                if os.path.isfile(path):
                    inputs[os.path.realpath(path)] = layer.name()
        for definition in self.algorithm.destinationParameterDefinitions():
            path = self._destination_file(definition)
            if not path:
                continue
            label = f"{definition.description()} ({definition.name()})"
            if os.path.realpath(path) in inputs:
                raise QgsProcessingException(
                    f"{label} would overwrite the input '{inputs[os.path.realpath(path)]}' ({path}). "
                    "Choose another file name: inputs are never overwritten."
                )
            extension = os.path.splitext(path)[1].lower()
            if definition.type() == "rasterDestination" and extension not in RASTER_FORMATS:
                raise QgsProcessingException(
                    f"{label} cannot be a '{extension or 'no extension'}' file: a density needs a format that keeps decimal values "
                    f"and a map position. Use {', '.join(sorted(RASTER_FORMATS))} (GeoTIFF .tif is best)."
                )
            folder = os.path.dirname(os.path.abspath(path))
            if not os.path.isdir(folder):
                raise QgsProcessingException(f"The folder {folder} of {label} does not exist: create it or choose another folder.")
            if not os.access(folder, os.W_OK):
                raise QgsProcessingException(f"The folder {folder} of {label} cannot be written to: choose a folder you can write in.")

    def _input_layers(self, definition):
        kind = definition.type()
        if kind == "multilayer":
            return self.algorithm.parameterAsLayerList(self.parameters, definition.name(), self.context) or []
        if kind in ("source", "vector", "raster", "layer"):
            layer = self.algorithm.parameterAsLayer(self.parameters, definition.name(), self.context)
            return [layer] if layer is not None else []
        return []

    def _destination_file(self, definition):
        """The file an output will be written to, or None (not asked for, memory, database)."""
        value = self.parameters.get(definition.name())
        if value is None or value == "":
            return None
        if definition.type() == "fileDestination":
            path = self.algorithm.parameterAsFileOutput(self.parameters, definition.name(), self.context)
        else:
            path = self.algorithm.parameterAsOutputLayer(self.parameters, definition.name(), self.context)
        if not path or path.startswith(("memory:", "postgres:", "postgis:")) or path == "TEMPORARY_OUTPUT":
            return None
        database = re.match(r"^\w+:dbname='([^']+)'", path)  # "ogr:dbname='file.gpkg' table=..." adds a layer to a file
        return database[1] if database else path.split("|")[0]

    def provenance(self):
        """This run's provenance record (provenance.py), as of now."""
        reader = getattr(self.algorithm, "reader", None)
        return provenance.record(self.algorithm, self.parameters, self.context, reader.inputs if reader else [], self.choices)

    # --- vector outputs ------------------------------------------------------------------
    def features(self, key, columns, base=None, rows=None, geometry=None, wkb_type=None, crs=None, style=None, progress=None):
        """Write the output ``key``: the rows ``rows`` of ``base`` (a layers.Features read
        with ALL_FIELDS and keep=True; all rows by default) with their fields and
        geometries, followed by ``columns``. ``geometry`` (WKB blobs) replaces the base's
        geometries or gives new ones; ``wkb_type`` and ``crs`` default to the base's.
        Returns the destination (what the algorithm returns for ``key``)."""
        self._not_cancelled()
        fields, values = self._assemble(columns, base, rows)
        if geometry is None and base is not None and base.wkb is not None:
            geometry = base.wkb if rows is None else _pick(base.wkb, rows)
        if wkb_type is None:
            wkb_type = base.wkb_type if base is not None else QgsWkbTypes.Type.NoGeometry
        if crs is None and base is not None:
            crs = base.source_crs
        fid = next((i for i, f in enumerate(fields) if f.name().lower() == "fid"), None)
        if fid is not None and not _usable_ids(values[fid]):  # the destination numbers the features itself
            fields, values = fields[:fid] + fields[fid + 1 :], values[:fid] + values[fid + 1 :]
        elif fid is not None:
            values[fid] = [int(v) for v in values[fid]]
        record = self.provenance()
        path = self._geopackage_path(key)
        if path is not None:
            destination = self._write_geopackage(key, path, fields, values, geometry, wkb_type, crs, progress or silent, record)
        else:
            destination = self._write_sink(key, fields, values, geometry, wkb_type, crs, progress or silent)
        self._keep_with_output(destination, style, record)
        return destination

    def table(self, key, columns, style=None, progress=None):
        """A table without geometry (e.g. a schedule) for the output ``key``."""
        return self.features(key, columns, wkb_type=QgsWkbTypes.Type.NoGeometry, style=style, progress=progress)

    def _assemble(self, columns, base, rows):
        """The output's QgsFields and one list of values per field: the base's fields first
        (a same-named new column takes its place), then the new columns."""
        names = {column.name.lower(): column for column in columns}
        fields, values, replaced = [], [], []
        if base is not None:
            duplicated_rows = rows is not None and len(np.unique(rows)) < len(rows)
            for index in range(base.fields.count()):
                source_field = base.fields.at(index)
                name = source_field.name()
                if name.lower() not in names and len(name) == 10:  # a shapefile's cut of a longer name (incident_c)
                    name = next((full for full in names if len(full) > 10 and full[:10] == name.lower()), name)
                if name.lower() in names:
                    column = names.pop(name.lower())
                    replaced.append(name)
                    fields.append(make_field(column.name, column.kind, column.alias))
                    values.append(_plain_values(column))
                    continue
                column_values = base.values(name) if name in base.columns else [None] * len(base)
                if rows is not None:
                    column_values = _pick(column_values, rows)
                if name.lower() == "fid" and duplicated_rows:
                    continue  # pieces of one feature (street segments of a centre-line) get new ids
                fields.append(QgsField(source_field))
                values.append(column_values)
        for column in columns:
            if column.name.lower() in names:
                fields.append(make_field(column.name, column.kind, column.alias))
                values.append(_plain_values(column))
        if replaced:
            self.feedback.pushInfo(f"The input already has the field(s) {', '.join(replaced)}: their values are replaced by this run's.")
        lengths = {len(v) for v in values}
        if len(lengths) > 1:
            raise ValueError(f"output columns differ in length: {sorted(lengths)}")
        return fields, values

    def _geopackage_path(self, key):
        """The file path when the output ``key`` is a plain GeoPackage file, else None."""
        value = self.parameters.get(key)
        if isinstance(value, QgsProcessingOutputLayerDefinition):
            value, _ = value.sink.valueAsString(self.context.expressionContext())
        if not isinstance(value, str) or not value.lower().endswith(".gpkg") or re.match(r"^[A-Za-z]{2,}:", value):
            return None  # a memory layer, a database, or a layer inside a GeoPackage ("ogr:dbname=...")
        return value

    def _write_sink(self, key, fields, values, geometry, wkb_type, crs, progress):
        qgs_fields = QgsFields()
        for f in fields:
            qgs_fields.append(f)
        sink, destination = self.algorithm.parameterAsSink(
            self.parameters, key, self.context, qgs_fields, wkb_type, crs or QgsCoordinateReferenceSystem()
        )
        cut = [f.name() for f in fields if len(f.name()) > 10]
        if destination.lower().endswith((".shp", ".dbf")) and cut:
            self.feedback.pushWarning(
                "A shapefile keeps 10 characters of a field name: "
                + ", ".join(f"{name} becomes {name[:10]}" for name in cut[:6])
                + ". Write a GeoPackage (.gpkg) to keep the names models and other tools expect."
            )
        if sink is None:
            raise QgsProcessingException(self.algorithm.invalidSinkError(self.parameters, key))
        self.written.append((destination, _file_of(destination)))
        converted = [_for_qgis(f, v) for f, v in zip(fields, values)]
        total = len(converted[0]) if converted else len(geometry or [])
        rows = zip(*converted) if converted else iter(lambda: (), None)
        batch = []
        for i in range(total):
            feature = QgsFeature(qgs_fields)
            if geometry is not None and geometry[i] is not None:
                shape = QgsGeometry()
                shape.fromWkb(geometry[i])
                feature.setGeometry(shape)
            feature.setAttributes(list(next(rows)))
            batch.append(feature)
            if len(batch) == BATCH:
                self._add(sink, batch)
                batch = []
                progress((i + 1) / total)
        self._add(sink, batch)
        sink.flushBuffer()
        del sink  # finished: a database has the rows now
        if destination.lower().endswith(".shp") and not os.path.exists(destination):  # a table: a shapefile's .dbf alone
            dbf = os.path.splitext(destination)[0] + ".dbf"
            if os.path.exists(dbf):
                self.written.append((dbf, dbf))
                destination = dbf
        self._check_count(destination, total)
        progress(1.0)
        return destination

    def _check_count(self, destination, total):
        """Every row arrived. QGIS 3.22's sinks do not report rows a database refuses (e.g. a
        NULL key): count what the destination holds and fail loudly if rows are missing."""
        layer = _output_layer(destination, _file_of(destination), self.context, raster=False)
        if layer is None or not layer.isValid() or layer.featureCount() == total:
            return
        request = QgsFeatureRequest().setFlags(NO_GEOMETRY).setNoAttributes()
        held = sum(1 for _ in layer.getFeatures(request))  # featureCount() may be an estimate
        if held != total:
            raise QgsProcessingException(
                f"The destination {destination.split(' password=')[0]} accepted {held:,} of {total:,} features (the "
                "database refused the others; its log says why). Choose another destination, e.g. a GeoPackage."
            )

    def _add(self, sink, batch):
        if batch and not sink.addFeatures(batch, FAST_INSERT):
            error = sink.lastError() if hasattr(sink, "lastError") else ""
            raise QgsProcessingException(f"Could not write the output: {error or 'the destination refused the features'}.")

    def _write_geopackage(self, key, path, fields, values, geometry, wkb_type, crs, progress, record):
        destination = self.algorithm.parameterAsOutputLayer(self.parameters, key, self.context)
        folder = os.path.dirname(os.path.abspath(destination))
        if not os.path.isdir(folder):
            raise QgsProcessingException(f"The folder {folder} does not exist: choose an existing folder for the output.")
        self.written.append((destination, destination))
        for suffix in ("", "-wal", "-shm", "-journal"):
            if os.path.exists(destination + suffix):
                os.remove(destination + suffix)
        fid = next((i for i, f in enumerate(fields) if f.name().lower() == "fid"), None)
        if geometry is None or wkb_type == QgsWkbTypes.Type.NoGeometry:
            geometry, wkb_type = None, None
        try:
            metadata = {
                "IDENTIFIER": record["algorithm_name"],
                "DESCRIPTION": provenance.as_text(record),
                provenance.KEY: provenance.as_json(record),
            }
            geopackage.write(destination, fields, values, fid, geometry, wkb_type, crs, progress, metadata)
        except (OSError, sqlite3.Error) as error:
            raise QgsProcessingException(f"Could not write {destination}: {error}") from None
        return destination

    # --- rasters and reports -------------------------------------------------------------
    def raster(self, key, surface, grid, crs, description, style=None):
        """A north-up Float32 GeoTIFF (row 0 of ``surface`` is the south edge) with a band
        ``description`` and the run's provenance in its metadata."""
        self._not_cancelled()
        path = self.algorithm.parameterAsOutputLayer(self.parameters, key, self.context)
        self.written.append((path, path))
        driver = RASTER_FORMATS[os.path.splitext(path)[1].lower()]
        if driver == "GTiff":
            dataset = gdal.GetDriverByName("GTiff").Create(path, grid.ncols, grid.nrows, 1, gdal.GDT_Float32, GEOTIFF_OPTIONS)
        else:  # built in memory, then copied into the format the extension asks for
            dataset = gdal.GetDriverByName("MEM").Create("", grid.ncols, grid.nrows, 1, gdal.GDT_Float32)
        if dataset is None:
            raise QgsProcessingException(f"Cannot write the raster {path}: check the folder exists and is writable.")
        dataset.SetGeoTransform((grid.xmin, grid.cell, 0.0, grid.ymax, 0.0, -grid.cell))
        dataset.SetProjection(crs.toWkt(WKT_FOR_GDAL))
        record = self.provenance()
        dataset.SetMetadata({k: json.dumps(v) for k, v in {**record, **record["choices"]}.items()}, "HOTSPOT_POLICING")
        dataset.SetMetadataItem("DESCRIPTION", provenance.as_text(record))
        band = dataset.GetRasterBand(1)
        band.SetDescription(description)
        band.WriteArray(surface[::-1])  # GDAL converts to Float32 as it writes
        band.FlushCache()
        if driver != "GTiff" and gdal.GetDriverByName(driver).CreateCopy(path, dataset) is None:
            raise QgsProcessingException(f"GDAL could not write {path} as {driver}: choose a .tif file.")
        dataset = None
        self._keep_with_output(path, style, record, raster=True)
        return path

    def text(self, key, content):
        """An HTML report for the file output ``key``, its provenance in a footer (and in full
        as a comment); None when not asked for."""
        self._not_cancelled()
        path = self.algorithm.parameterAsFileOutput(self.parameters, key, self.context)
        if not path:
            return None
        self.written.append((path, path))
        record = self.provenance()
        footer = f'<footer class="provenance"><p><small>{html.escape(provenance.as_text(record))}</small></p></footer>\n'
        footer += f"<!-- {provenance.KEY}\n{provenance.as_json(record).replace('--', '- -')}\n-->\n"
        content = content.replace("</body>", footer + "</body>") if "</body>" in content else content + footer
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(content)
        return path

    def file_path(self, key):
        """The path of the file output ``key``, recorded so that a failed run removes it."""
        path = self.algorithm.parameterAsFileOutput(self.parameters, key, self.context)
        if path:
            self.written.append((path, path))
        return path

    def _keep_with_output(self, destination, style, record, raster=False):
        """Store the style and the provenance with the output itself, so that it opens styled
        and documented in any QGIS (not only when this run loads it): as the GeoPackage's or
        database's default style, else a .qml beside the file; provenance inside GeoPackages
        and GeoTIFFs, else a .json beside the file. Loaded in QGIS, it gets both too."""
        path = _file_of(destination)
        layer = _output_layer(destination, path, self.context, raster)
        if layer is not None and layer.isValid():
            layer.setMetadata(provenance.layer_metadata(layer, record))
            if style:
                apply_style(layer, style, record)
                if not raster and layer.dataProvider().isSaveAndLoadStyleToDatabaseSupported():
                    error = layer.saveStyleToDatabase(style, "Hot Spot Policing default style", True, "")
                    if error:
                        self.feedback.pushWarning(f"The style could not be stored with the output: {error}")
                elif path:
                    layer.saveNamedStyle(os.path.splitext(path)[0] + ".qml")
        del layer  # let go of the file before Processing opens it
        if path and (raster or not path.lower().endswith(".gpkg")):
            with open(path + ".json", "w", encoding="utf-8") as handle:
                handle.write(provenance.as_json(record))
        on_completion(self.context, destination, style, record)

    # --- leaving nothing behind ----------------------------------------------------------
    def _not_cancelled(self):
        """Nothing is begun once the user has pressed Cancel."""
        if self.feedback.isCanceled():
            raise Canceled()

    def discard(self):
        """Remove what this run wrote: files deleted, layers no longer loaded on completion."""
        loading = self.context.layersToLoadOnCompletion()
        for destination, path in self.written:
            loading.pop(destination, None)
            if path and os.path.isfile(path):
                for sidecar in [path + suffix for suffix in ("", "-wal", "-shm", ".json", ".aux.xml")] + [
                    os.path.splitext(path)[0] + ".qml"
                ]:
                    if os.path.exists(sidecar):
                        os.remove(sidecar)
                if path.lower().endswith((".shp", ".asc")):  # a shapefile's or an ASCII grid's own files
                    for extension in (".shx", ".dbf", ".prj", ".cpg", ".qix"):
                        sidecar = os.path.splitext(path)[0] + extension
                        if os.path.exists(sidecar):
                            os.remove(sidecar)
        self.context.setLayersToLoadOnCompletion(loading)
        self.written = []


def memory_layer(name, columns, geometry=None, wkb_type=QgsWkbTypes.Type.NoGeometry, crs=None):
    """A QGIS memory layer holding ``columns`` (and WKB ``geometry``): for layouts and
    dialogs that show derived rows without writing a file."""
    uri = QgsWkbTypes.displayString(wkb_type) if wkb_type != QgsWkbTypes.Type.NoGeometry else "None"
    if crs is not None and crs.isValid():
        uri += f"?crs={crs.authid() or 'wkt:' + crs.toWkt()}"
    layer = QgsVectorLayer(uri, name, "memory")
    fields = [make_field(c.name, c.kind, c.alias) for c in columns]
    layer.dataProvider().addAttributes(fields)
    layer.updateFields()
    values = [_for_qgis(f, _plain_values(c)) for f, c in zip(fields, columns)]
    features = []
    for i, row in enumerate(zip(*values)):
        feature = QgsFeature(layer.fields())
        feature.setAttributes(list(row))
        if geometry is not None and geometry[i] is not None:
            shape = QgsGeometry()
            shape.fromWkb(geometry[i])
            feature.setGeometry(shape)
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    layer.updateExtents()
    return layer


# --- geometries as WKB -------------------------------------------------------------------
def points_wkb(x, y):
    """Little-endian WKB points."""
    raw = np.empty((len(x), 21), dtype=np.uint8)
    raw[:, 0], raw[:, 1:5] = 1, np.frombuffer(np.uint32(1).tobytes(), np.uint8)
    raw[:, 5:] = np.column_stack([np.asarray(x, float), np.asarray(y, float)]).view(np.uint8).reshape(-1, 16)
    return rows_as_bytes(raw)


def polygons_wkb(rings):
    """Little-endian WKB polygons of one ring each: ``rings`` is (n, k, 2), closed."""
    rings = np.ascontiguousarray(rings, dtype=float)
    n, k = rings.shape[:2]
    raw = np.empty((n, 13 + 16 * k), dtype=np.uint8)
    raw[:, 0] = 1
    raw[:, 1:13] = np.frombuffer(np.array([3, 1, k], dtype="<u4").tobytes(), np.uint8)
    raw[:, 13:] = rings.view(np.uint8).reshape(n, -1)
    return rows_as_bytes(raw)


def linestrings_wkb(vertices, sizes):
    """Little-endian WKB linestrings, one per run of ``sizes`` vertices."""
    vertices = np.ascontiguousarray(vertices, dtype=float)
    sizes = np.asarray(sizes, dtype=np.int64)
    headers = np.zeros((len(sizes), 9), dtype=np.uint8)
    headers[:, 0], headers[:, 1] = 1, 2
    headers[:, 5:9] = sizes.astype("<u4").view(np.uint8).reshape(-1, 4)
    coordinates = vertices.view(np.uint8).reshape(-1, 16)
    out, start = [], 0
    for header, size in zip(headers, sizes.tolist()):
        out.append(header.tobytes() + coordinates[start : start + size].tobytes())
        start += size
    return out


# --- values ------------------------------------------------------------------------------
def _pick(values, rows):
    rows = np.asarray(rows, dtype=np.int64).tolist()
    if not rows:
        return []
    picked = operator.itemgetter(*rows)(values)
    return list(picked) if len(rows) > 1 else [picked]


def _plain_values(column):
    """A new column's values as a list of Python values of its kind, None for NULL (NaN
    included)."""
    values = column.values
    if isinstance(values, np.ndarray):
        if values.dtype.kind == "f":
            finite = np.isfinite(values)
            objects = (np.where(finite, values, 0).astype(np.int64) if column.kind in ("int", "int64") else values).astype(object)
            objects[~finite] = None
            return objects.tolist()
        return values.tolist()
    return [None if isinstance(v, float) and not np.isfinite(v) else (v.item() if isinstance(v, np.generic) else v) for v in values]


def _for_qgis(qgs_field, values):
    """Values as QgsFeature takes them: Python dates and times as Qt's (PyQt would store
    them as text), aware date-times in UTC."""
    kind = qgs_field.type()
    if kind == DATE_TIME:
        return [_qdatetime(v) if isinstance(v, datetime.datetime) else v for v in values]
    if kind == DATE:
        return [QDate(v) if isinstance(v, datetime.date) else v for v in values]
    if kind == TIME:
        return [QTime(v) if isinstance(v, datetime.time) else v for v in values]
    return values


def _qdatetime(value):
    if value.tzinfo is None:
        return QDateTime(value)
    return QDateTime.fromMSecsSinceEpoch(int(round(value.timestamp() * 1000)), Qt.TimeSpec.UTC)


def _usable_ids(values):
    """Whether ``values`` can be feature ids: whole numbers (a shapefile hands 64-bit integers
    back as reals), none missing, none twice."""
    ids = [v for v in values if v is not None]
    whole = all(isinstance(v, int) or (isinstance(v, float) and v.is_integer()) for v in ids)
    return len(ids) == len(values) and whole and len(set(ids)) == len(ids)


def _output_layer(destination, path, context, raster):
    """A layer on a written output: the memory layer Processing holds, the file, or the
    provider URI a database destination names ("postgres://...")."""
    if raster:
        return QgsRasterLayer(path, "output", "gdal")
    held = QgsProcessingUtils.mapLayerFromString(destination, context, False)
    if held is not None:
        return held
    if path:
        return QgsVectorLayer(path, "output", "ogr")
    match = re.match(r"^(\w+)://(.+)$", destination)
    return QgsVectorLayer(match[2], "output", match[1]) if match else None


def _file_of(destination):
    """The file behind a sink destination, when it is one (to remove it after a failure)."""
    path = destination.split("|")[0]
    return path if os.path.isfile(path) else None
