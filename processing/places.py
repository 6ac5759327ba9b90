"""Places named as people know them: a street segment by its street and cross streets
("15th Avenue between Elm St and Oak St"), anything else by a name-like field. Used
wherever a person reads a list of hot spots (briefing tables, patrol schedules)."""

import numpy as np
from qgis.core import QgsWkbTypes
from scipy.spatial import cKDTree

from ..core.network import cross_streets, place_name, split_at_junctions
from .compat import LINE_GEOMETRY, STRING

STREET_NAMES = ("street_name", "street", "name", "st_name", "full_name", "fullname", "road_name", "streetname")
PLACE_NAMES = ("place", "place_name", "name", "location", "beat_id", "cell_id", "segment_id")
# Text fields that name a zone as people know it, best first (a beat code such as "B01" is a name; a number is an id)
ZONE_NAMES = ("name", "place_name", "place", "location", "district", "district_name", "beat", "beat_name", "beat_id", "zone", "zone_id")


def street_field(fields):
    """The field holding street names (any case), or None."""
    by_lower = {name.lower(): name for name in fields.names()}
    return next((by_lower[n] for n in STREET_NAMES if n in by_lower), None)


def place_field(fields):
    """The field naming the places, or None."""
    by_lower = {name.lower(): name for name in fields.names()}
    return next((by_lower[n] for n in PLACE_NAMES if n in by_lower), None)


def name_field(layer, unique=True, names_only=False):
    """The text field naming the features of ``layer`` (a vector layer or feature source): a
    name-like field (ZONE_NAMES) first, then (unless ``names_only``) any other text field;
    with ``unique``, only one whose values differ from feature to feature, when there is one.
    Never a number (an id such as fid or cell_id). None without such a field."""
    rank = {name: position for position, name in enumerate(ZONE_NAMES)}
    texts = [f.name() for f in layer.fields() if int(f.type()) == STRING and (f.name().lower() in rank or not names_only)]
    texts.sort(key=lambda name: rank.get(name.lower(), len(rank)))
    if unique:
        count = layer.featureCount()
        distinct = [name for name in texts if len(layer.uniqueValues(layer.fields().lookupField(name))) == count]
        texts = distinct or texts
    return texts[0] if texts else None


def near_crossings(x, y, network):
    """For each point (x, y): "near A / B", the nearest place where two differently named
    streets of ``network`` (ends, names) meet; "" where the network has no such place."""
    ends, names = network
    crossing = cross_streets(ends, names, _touching(ends)).reshape(-1)
    street = np.repeat(np.array(["" if n is None else str(n).strip() for n in names], dtype=object), 2)
    found = np.flatnonzero((crossing != "") & (street != ""))
    if not len(found) or not len(x):
        return [""] * len(x)
    _, nearest = cKDTree(np.asarray(ends, dtype=float).reshape(-1, 2)[found]).query(np.column_stack([x, y]))
    return ["near " + " / ".join(sorted((street[found[i]], crossing[found[i]]))) for i in nearest]


def street_network(streets, name):
    """``streets`` (layers.Features of centre-lines, read with their name field ``name``) cut
    at every crossing: (ends, names) of the pieces, whose ends are then the junctions where
    cross streets are found, also where the lines run on through a crossing."""
    pieces = split_at_junctions(streets.vertices, streets.sizes, _touching(line_ends(streets)))
    last = np.cumsum(pieces.sizes) - 1
    ends = np.stack([pieces.vertices[last - pieces.sizes + 1], pieces.vertices[last]], axis=1)
    return ends, np.array(streets.values(name), dtype=object)[streets.part_owner[pieces.part]].tolist()


def _touching(ends):
    """How close two line ends must be to meet: scale-free, a hair of the extent."""
    return 1e-7 * max(float(np.ptp(ends[..., 0])), float(np.ptp(ends[..., 1])), 1.0)


def line_ends(lines):
    """(n, 2, 2) the first and the last point of each line of ``lines`` (layers.Features)."""
    starts = np.cumsum(lines.sizes) - lines.sizes
    first_part = np.unique(lines.part_owner, return_index=True)[1]
    last_part = len(lines.part_owner) - 1 - np.unique(lines.part_owner[::-1], return_index=True)[1]
    last_vertex = starts[last_part] + lines.sizes[last_part] - 1
    return np.stack([lines.vertices[starts[first_part]], lines.vertices[last_vertex]], axis=1)


def place_names(features, network=None):
    """A name for every feature of ``features`` (layers.Features, read with the name fields
    and their geometry): street segments by street and cross streets, looked up among
    ``network`` (ends, names) or the features themselves; other features by a name-like
    field; "" where there is none."""
    street = street_field(features.fields)
    if street is not None and street in features.columns and _lines(features):
        names = np.array(features.values(street), dtype=object)
        ends = line_ends(features)
        crossing = cross_streets(ends, names, _touching(ends), network)
        return [place_name("" if name is None else str(name), pair) for name, pair in zip(names, crossing)]
    field = place_field(features.fields)
    if field is None or field not in features.columns:
        return [""] * len(features)
    return ["" if value is None else str(value) for value in features.values(field)]


def _lines(features):
    return QgsWkbTypes.geometryType(features.wkb_type) == LINE_GEOMETRY and features.vertices is not None
