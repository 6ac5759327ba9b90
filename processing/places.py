"""Places named as people know them: a street segment by its street and cross streets
("15th Avenue between Elm St and Oak St"), anything else by a name-like field. Used
wherever a person reads a list of hot spots (briefing tables, patrol schedules)."""

import numpy as np
from qgis.core import QgsWkbTypes

from ..core.network import cross_streets, place_name
from .compat import LINE_GEOMETRY

STREET_NAMES = ("street_name", "street", "name", "st_name", "full_name", "fullname", "road_name", "streetname")
PLACE_NAMES = ("place", "place_name", "name", "location", "beat_id", "cell_id", "segment_id")


def street_field(fields):
    """The field holding street names (any case), or None."""
    by_lower = {name.lower(): name for name in fields.names()}
    return next((by_lower[n] for n in STREET_NAMES if n in by_lower), None)


def place_field(fields):
    """The field naming the places, or None."""
    by_lower = {name.lower(): name for name in fields.names()}
    return next((by_lower[n] for n in PLACE_NAMES if n in by_lower), None)


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
        touching = 1e-7 * max(float(np.ptp(ends[..., 0])), float(np.ptp(ends[..., 1])), 1.0)  # ends meet: scale-free
        crossing = cross_streets(ends, names, touching, network)
        return [place_name("" if name is None else str(name), pair) for name, pair in zip(names, crossing)]
    field = place_field(features.fields)
    if field is None or field not in features.columns:
        return [""] * len(features)
    return ["" if value is None else str(value) for value in features.values(field)]


def _lines(features):
    return QgsWkbTypes.geometryType(features.wkb_type) == LINE_GEOMETRY and features.vertices is not None
