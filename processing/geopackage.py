"""Writing a GeoPackage layer fast, for the one writer (sinks.py).

GDAL creates the file and the empty layer (schema, SRS, spatial index table and its
triggers), so the file is exactly what GDAL and QGIS expect. The rows then go in through
Python's sqlite3 in one ``executemany`` per chunk, with the layer's triggers set aside, and
the spatial index is bulk-loaded: the R-tree nodes are packed by numpy along a Z-order
curve and written to SQLite's R-tree tables directly. Inserting rows one by one into the
R-tree, as GDAL 3.6 does when it builds the index, takes about 13 s per million features;
packing it takes well under one."""

import datetime
import json
import os
import sqlite3
import struct

import numpy as np
from osgeo import ogr, osr
from qgis.core import QgsWkbTypes

from ..core import silent
from ..core.geometry import bounding_boxes
from .compat import BOOL, BYTES, DATE, DATE_TIME, DOUBLE, INT, INT64, STRING, TIME, UINT, UINT64, WKT_FOR_GDAL

CHUNK = 100_000  # rows per executemany, between progress reports
# QgsField type -> (OGR type, OGR subtype); anything else is written as JSON text
OGR_TYPES = {
    BOOL: (ogr.OFTInteger, ogr.OFSTBoolean),
    INT: (ogr.OFTInteger, ogr.OFSTNone),
    UINT: (ogr.OFTInteger64, ogr.OFSTNone),
    INT64: (ogr.OFTInteger64, ogr.OFSTNone),
    UINT64: (ogr.OFTInteger64, ogr.OFSTNone),
    DOUBLE: (ogr.OFTReal, ogr.OFSTNone),
    STRING: (ogr.OFTString, ogr.OFSTNone),
    BYTES: (ogr.OFTBinary, ogr.OFSTNone),
    DATE: (ogr.OFTDate, ogr.OFSTNone),
    TIME: (ogr.OFTTime, ogr.OFSTNone),
    DATE_TIME: (ogr.OFTDateTime, ogr.OFSTNone),
}


def write(path, fields, values, fid, geometry, wkb_type, crs, progress=None, metadata=None):
    """Write one layer, named after the file, into a new GeoPackage at ``path``.

    ``fields`` are QgsFields' fields and ``values`` one list per field (plain Python, None
    for NULL); ``fid`` the position of the field holding unique feature ids, or None for
    1, 2, ...; ``geometry`` WKB blobs (None for no geometry) of QGIS type ``wkb_type``;
    ``metadata`` the layer's GDAL metadata items (QGIS shows DESCRIPTION as its abstract)."""
    report = progress or silent
    table = os.path.splitext(os.path.basename(path))[0]
    has_geometry = geometry is not None and wkb_type is not None
    _create(path, table, fields, fid, wkb_type if has_geometry else None, crs, metadata)
    count = len(values[0]) if values else len(geometry or [])
    ids = values[fid] if fid is not None else list(range(1, count + 1))
    columns = [_for_geopackage(f, v) for i, (f, v) in enumerate(zip(fields, values)) if i != fid]
    names = ['"fid"'] + (['"geom"'] if has_geometry else []) + [_quoted(f.name()) for i, f in enumerate(fields) if i != fid]
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA synchronous = OFF")
        triggers = [sql for (sql,) in connection.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?", (table,))]
        for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?", (table,)).fetchall():
            connection.execute(f"DROP TRIGGER {_quoted(name)}")
        blobs = _geopackage_blobs(connection, table, geometry) if has_geometry else None
        statement = f"INSERT INTO {_quoted(table)} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
        for start in range(0, count, CHUNK):
            end = min(start + CHUNK, count)
            parts = [ids[start:end]] + ([blobs[start:end]] if has_geometry else []) + [column[start:end] for column in columns]
            connection.executemany(statement, zip(*parts))
            report(0.8 * end / max(count, 1))
        if has_geometry:
            _index(connection, table, ids, geometry)
        connection.execute("UPDATE gpkg_ogr_contents SET feature_count = ? WHERE lower(table_name) = lower(?)", (count, table))
        for sql in triggers:
            connection.execute(sql)
        connection.commit()
    finally:
        connection.close()
    report(1.0)


def _create(path, table, fields, fid, wkb_type, crs, metadata=None):
    """The empty GeoPackage layer, made by GDAL."""
    srs = None
    if crs is not None and crs.isValid():
        srs = osr.SpatialReference()
        srs.ImportFromWkt(crs.toWkt(WKT_FOR_GDAL))
        srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    dataset = ogr.GetDriverByName("GPKG").CreateDataSource(path)
    if dataset is None:
        raise OSError(f"GDAL cannot create {path}")
    geometry_type = ogr.wkbNone if wkb_type is None else _ogr_type(wkb_type)
    layer = dataset.CreateLayer(table, srs, geometry_type, ["FID=fid", "GEOMETRY_NAME=geom"])
    if metadata:
        layer.SetMetadata(metadata)
    for index, field in enumerate(fields):
        if index == fid:
            continue
        kind, subtype = OGR_TYPES.get(field.type(), (ogr.OFTString, ogr.OFSTJSON))
        definition = ogr.FieldDefn(field.name(), kind)
        definition.SetSubType(subtype)
        if kind == ogr.OFTString and field.length() > 0:
            definition.SetWidth(field.length())
        if layer.CreateField(definition) != 0:
            raise OSError(f"GDAL cannot create the field {field.name()} in {path}")
    dataset = None


def _ogr_type(wkb_type):
    """OGR's code of a QGIS geometry type (OGR marks Z with a high bit, QGIS adds 1000)."""
    flat = int(QgsWkbTypes.flatType(wkb_type))
    if QgsWkbTypes.hasM(wkb_type):
        return flat + (3000 if QgsWkbTypes.hasZ(wkb_type) else 2000)
    return flat + 1000 if QgsWkbTypes.hasZ(wkb_type) else flat  # ISO codes: GDAL takes them, SWIG has no room for 0x80000000


def _geopackage_blobs(connection, table, geometry):
    """WKB blobs with the GeoPackage header (version 0, little-endian, no envelope)."""
    (srs_id,) = connection.execute("SELECT srs_id FROM gpkg_geometry_columns WHERE lower(table_name) = lower(?)", (table,)).fetchone()
    header = b"GP\x00\x01" + struct.pack("<i", srs_id)
    return [None if blob is None else header + blob for blob in geometry]


def _index(connection, table, ids, geometry):
    """The layer's R-tree and its extent in gpkg_contents, bulk-loaded."""
    from .layers import decode_wkb

    vertices, sizes, ring_part, part_owner = decode_wkb(geometry)
    boxes = bounding_boxes(vertices, np.repeat(part_owner[ring_part], sizes), len(geometry))
    present = np.flatnonzero(np.isfinite(boxes[:, 0]))
    if len(present):
        xmin, ymin = boxes[present, 0].min(), boxes[present, 2].min()
        xmax, ymax = boxes[present, 1].max(), boxes[present, 3].max()
        connection.execute(
            "UPDATE gpkg_contents SET min_x = ?, min_y = ?, max_x = ?, max_y = ? WHERE lower(table_name) = lower(?)",
            (float(xmin), float(ymin), float(xmax), float(ymax), table),
        )
    if not len(present):
        return  # no geometry: the empty R-tree GDAL made is right
    rtree = f"rtree_{table}_geom"
    (node_size,) = connection.execute(f"SELECT length(data) FROM {_quoted(rtree + '_node')} WHERE nodeno = 1").fetchone()
    nodes, leaf_of, parent_of = rtree_nodes(np.asarray(ids, dtype=np.int64)[present], boxes[present], node_size)
    for suffix in ("_node", "_rowid", "_parent"):
        connection.execute(f"DELETE FROM {_quoted(rtree + suffix)}")
    connection.executemany(f"INSERT INTO {_quoted(rtree + '_node')} VALUES (?, ?)", nodes)
    connection.executemany(f"INSERT INTO {_quoted(rtree + '_rowid')} VALUES (?, ?)", leaf_of)
    connection.executemany(f"INSERT INTO {_quoted(rtree + '_parent')} VALUES (?, ?)", parent_of)


def rtree_nodes(ids, boxes, node_size):
    """SQLite R-tree nodes holding ``boxes`` (minx, maxx, miny, maxy) of the rows ``ids``.

    Rows are ordered along a Z-order curve of their box centres and cut into nodes of
    nearly equal size (never under half full), level by level up to one root. Returns
    (nodeno, blob) of every node (the root is 1), (rowid, leaf nodeno) of every row and
    (nodeno, parent nodeno) of every node but the root, as SQLite's R-tree module keeps
    them: a node is a big-endian 16-bit depth (root only) and cell count, then per cell a
    64-bit id and four 32-bit floats, min rounded down and max up."""
    per_node = (node_size - 4) // 24
    boxes = _float32_outward(boxes)
    order = np.argsort(_z_order((boxes[:, 0] + boxes[:, 1]) / 2, (boxes[:, 2] + boxes[:, 3]) / 2), kind="stable")
    levels = []  # per level from the leaves up: (the children's boxes, the node of each child)
    children = boxes[order]
    while True:
        count = len(children)
        nodes = max(-(-count // per_node), 1)
        node_of_child = np.repeat(np.arange(nodes), np.diff((np.arange(nodes + 1) * count) // nodes))
        levels.append((children, node_of_child))
        if nodes == 1:
            break
        starts = np.flatnonzero(np.r_[True, node_of_child[1:] != node_of_child[:-1]])
        children = np.column_stack(
            [
                np.minimum.reduceat(children[:, 0], starts),
                np.maximum.reduceat(children[:, 1], starts),
                np.minimum.reduceat(children[:, 2], starts),
                np.maximum.reduceat(children[:, 3], starts),
            ]
        )
    # number the nodes from the root down: root 1, then each level in order
    sizes = [int(level[1].max()) + 1 for level in levels]
    first = np.cumsum([1] + sizes[::-1][:-1])[::-1]  # first node number of each level (leaves first)
    rows, parents = [], []
    for depth, (children, node_of_child) in enumerate(levels):
        numbers = first[depth] + np.arange(sizes[depth])
        child_ids = ids[order] if depth == 0 else first[depth - 1] + np.arange(len(children))
        blobs = _blobs(child_ids, children, node_of_child, sizes[depth], per_node, node_size, depth == len(levels) - 1, len(levels) - 1)
        rows.extend(zip(numbers.tolist(), blobs))
        if depth > 0:
            parents.extend(zip(child_ids.tolist(), numbers[node_of_child].tolist()))
    leaf_of = list(zip(ids[order].tolist(), (first[0] + levels[0][1]).tolist()))
    return rows, leaf_of, parents


def _blobs(child_ids, boxes, node_of_child, nodes, per_node, node_size, is_root, tree_depth):
    """The node blobs of one level."""
    cell = np.dtype([("id", ">i8"), ("box", ">f4", 4)])
    cells = np.zeros((nodes, per_node), dtype=cell)
    slot = np.arange(len(node_of_child)) - np.searchsorted(node_of_child, node_of_child)
    cells["id"][node_of_child, slot] = child_ids
    cells["box"][node_of_child, slot] = boxes
    raw = np.zeros((nodes, node_size), dtype=np.uint8)
    header = np.zeros((nodes, 2), dtype=">u2")
    header[:, 0] = tree_depth if is_root else 0  # the tree's depth is kept in the root
    header[:, 1] = np.bincount(node_of_child, minlength=nodes)
    raw[:, :4] = header.view(np.uint8).reshape(nodes, 4)
    raw[:, 4 : 4 + 24 * per_node] = cells.view(np.uint8).reshape(nodes, -1)
    return [bytes(row) for row in raw]


def _float32_outward(boxes):
    """Boxes as float32, min rounded down and max up (so the box still holds the shape)."""
    rounded = boxes.astype(np.float32)
    low = rounded[:, [0, 2]] > boxes[:, [0, 2]]
    high = rounded[:, [1, 3]] < boxes[:, [1, 3]]
    rounded[:, [0, 2]] = np.where(low, np.nextafter(rounded[:, [0, 2]], np.float32(-np.inf)), rounded[:, [0, 2]])
    rounded[:, [1, 3]] = np.where(high, np.nextafter(rounded[:, [1, 3]], np.float32(np.inf)), rounded[:, [1, 3]])
    return rounded


def _z_order(x, y):
    """Morton codes of points (16 bits a coordinate over their extent)."""

    masks = ((16, 0x0000FFFF0000FFFF), (8, 0x00FF00FF00FF00FF), (4, 0x0F0F0F0F0F0F0F0F), (2, 0x3333333333333333), (1, 0x5555555555555555))

    def spread(v):
        v = v.astype(np.uint64)
        for shift, mask in masks:
            v = (v | (v << np.uint64(shift))) & np.uint64(mask)
        return v

    def scaled(v):
        span = np.ptp(v) if len(v) else 0.0
        return np.zeros(len(v)) if span == 0 else (v - v.min()) / span * 65535

    return spread(scaled(x)) | (spread(scaled(y)) << np.uint64(1))


def _for_geopackage(field, values):
    """Values as GDAL stores them in a GeoPackage."""
    kind = field.type()
    if kind == DATE_TIME:
        return [_datetime_text(v) if isinstance(v, datetime.datetime) else v for v in values]
    if kind in (DATE, TIME):
        return [v.isoformat() if hasattr(v, "isoformat") else v for v in values]
    if kind in OGR_TYPES:
        return values
    return [None if v is None else json.dumps(v, default=str) for v in values]


def _datetime_text(value):
    """GeoPackage date-time text: UTC with a Z when the time zone is known."""
    if value.tzinfo is not None:
        value = value.astimezone(datetime.timezone.utc)
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}"


def _quoted(name):
    return '"' + name.replace('"', '""') + '"'
