"""Square or hexagonal cells over incidents, shared by the tools that count incidents in a
grid: the shape and size parameters, the automatic size, the limit on cells, and which cell
each incident falls in (with a study area: every cell whose centre lies in it)."""

from enum import IntEnum

import numpy as np
from qgis.core import QgsProcessingException

from ...core import optimized, tessellation
from ...core.geometry import points_in_polygons
from ..reports import number

CELL_SHAPES = ("Square (fishnet)", "Hexagon")
MAX_CELLS = 2_000_000


class CellShape(IntEnum):
    """The CELL_SHAPE enum (positions are public)."""

    SQUARE = 0
    HEXAGON = 1


def make_grid(shape, size, x, y, area, feedback, tr):
    """The grid over the study area (or the incidents' extent): ``size`` 0 is the shorter side
    / 50 (sfhotspot's default); more than MAX_CELLS cells is refused. Returns (grid, size,
    bounds)."""
    box = area.vertices if area is not None else np.column_stack([x, y])
    xmin, ymin = box.min(axis=0)
    xmax, ymax = box.max(axis=0)
    if size == 0:
        size = optimized.automatic_cell_size(max(xmax - xmin, 1e-9), max(ymax - ymin, 1e-9))
        if size <= 0:
            raise QgsProcessingException(tr("All incidents are at one place: give a cell size."))
        feedback.pushInfo(tr("Automatic cell size (shorter side of the area / 50): {}.").format(number(size)))
    estimated = (xmax - xmin) * (ymax - ymin) / size**2
    if estimated > MAX_CELLS:
        raise QgsProcessingException(
            tr("About {:,.0f} cells would be made (more than {:,}). Use a cell size of at least {}.").format(
                estimated, MAX_CELLS, number(float(np.sqrt((xmax - xmin) * (ymax - ymin) / MAX_CELLS)))
            )
        )
    grid = tessellation.HexagonGrid(size, xmin, ymin) if shape == CellShape.HEXAGON else tessellation.SquareGrid(size, xmin, ymin)
    return grid, size, (xmin, ymin, xmax, ymax)


def cells_of(grid, x, y, area, bounds):
    """(keys_a, keys_b, cell): the cells analysed and the cell of each incident (-1 outside
    them). Without a study area the cells holding incidents; with one, every cell whose
    centre lies in it, empty ones included."""
    col, row = grid.keys(x, y)
    if area is None:
        keys_a, keys_b, _, _ = tessellation.count_by_cell(col, row)
    else:
        all_a, all_b = grid.covering(*bounds)
        cx, cy = grid.centres(all_a, all_b)
        inside = points_in_polygons(cx, cy, area.vertices, area.sizes, area.ring_owner(), len(area)) >= 0
        keys_a, keys_b = all_a[inside], all_b[inside]
    return keys_a, keys_b, tessellation.lookup(keys_a, keys_b, col, row)
