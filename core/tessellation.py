"""Square and hexagonal cells for aggregating incidents (fishnets and hexagon grids).

Cells are identified by integer (column, row) keys; a grid object turns points into keys,
keys into centres and centres into polygon rings. Hexagons are flat-topped with a height
(flat to flat) of ``size``, as ArcGIS's Optimized Hot Spot Analysis builds them (width
2 size / sqrt 3), laid out in axial coordinates (q, r).
"""

from dataclasses import dataclass

import numpy as np

SQRT3 = np.sqrt(3.0)


@dataclass(frozen=True)
class SquareGrid:
    size: float
    x0: float  # lower-left corner of cell (0, 0)
    y0: float

    def keys(self, x, y):
        return np.floor((x - self.x0) / self.size).astype(np.int64), np.floor((y - self.y0) / self.size).astype(np.int64)

    def centres(self, col, row):
        return self.x0 + (col + 0.5) * self.size, self.y0 + (row + 0.5) * self.size

    def covering(self, xmin, ymin, xmax, ymax):
        """Keys of every cell that meets the rectangle."""
        c0, r0 = self.keys(np.array([xmin]), np.array([ymin]))
        c1, r1 = self.keys(np.array([xmax]), np.array([ymax]))
        col, row = np.meshgrid(np.arange(c0[0], c1[0] + 1), np.arange(r0[0], r1[0] + 1))
        return col.ravel(), row.ravel()

    def ring(self, cx, cy):
        h = self.size / 2
        return [(cx - h, cy - h), (cx + h, cy - h), (cx + h, cy + h), (cx - h, cy + h), (cx - h, cy - h)]


@dataclass(frozen=True)
class HexagonGrid:
    size: float  # flat-to-flat height
    x0: float  # centre of hexagon (0, 0)
    y0: float

    @property
    def radius(self):  # centre to vertex
        return self.size / SQRT3

    def keys(self, x, y):
        """Axial (q, r) of the hexagon containing each point (cube-coordinate rounding)."""
        px, py = (x - self.x0) / self.radius, (y - self.y0) / self.radius
        q = 2.0 / 3.0 * px
        r = -1.0 / 3.0 * px + SQRT3 / 3.0 * py
        return _cube_round(q, r)

    def centres(self, q, r):
        return self.x0 + self.radius * 1.5 * q, self.y0 + self.radius * SQRT3 * (r + q / 2.0)

    def covering(self, xmin, ymin, xmax, ymax):
        """Keys of every hexagon whose centre lies within the rectangle grown by one hexagon."""
        step_x = 1.5 * self.radius
        q = np.arange(np.floor((xmin - self.x0) / step_x) - 1, np.ceil((xmax - self.x0) / step_x) + 2).astype(np.int64)
        keys_q, keys_r = [], []
        for column in q:  # one numpy range per column of hexagons, not per cell
            low = np.floor((ymin - self.y0) / self.size - column / 2.0) - 1
            high = np.ceil((ymax - self.y0) / self.size - column / 2.0) + 1
            rows = np.arange(low, high + 1).astype(np.int64)
            keys_q.append(np.full(len(rows), column))
            keys_r.append(rows)
        return np.concatenate(keys_q), np.concatenate(keys_r)

    def ring(self, cx, cy):
        angles = np.radians(np.arange(0, 361, 60))
        return list(zip(cx + self.radius * np.cos(angles), cy + self.radius * np.sin(angles)))


def _cube_round(q, r):
    s = -q - r
    rq, rr, rs = np.rint(q), np.rint(r), np.rint(s)
    dq, dr, ds = np.abs(rq - q), np.abs(rr - r), np.abs(rs - s)
    fix_q = (dq > dr) & (dq > ds)
    fix_r = ~fix_q & (dr > ds)
    rq = np.where(fix_q, -rr - rs, rq)
    rr = np.where(fix_r, -rq - rs, rr)
    return rq.astype(np.int64), rr.astype(np.int64)


def count_by_cell(col, row, weights=None):
    """Unique cell keys with their incident counts (and weight sums)."""
    keys, inverse, counts = np.unique(np.column_stack([col, row]), axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.ravel()
    sums = np.bincount(inverse, weights, len(keys)) if weights is not None else counts.astype(float)
    return keys[:, 0], keys[:, 1], counts, sums
