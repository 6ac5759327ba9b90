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

    def rings(self, cx, cy):
        """(n, 5, 2) closed rings of the cells centred at (cx, cy)."""
        h = self.size / 2
        corners = np.array([(-h, -h), (h, -h), (h, h), (-h, h), (-h, -h)])
        return np.column_stack([cx, cy])[:, None, :] + corners[None, :, :]


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

    def rings(self, cx, cy):
        """(n, 7, 2) closed rings of the hexagons centred at (cx, cy)."""
        angles = np.radians(np.arange(0, 361, 60))
        corners = self.radius * np.column_stack([np.cos(angles), np.sin(angles)])
        corners[-1] = corners[0]
        return np.column_stack([cx, cy])[:, None, :] + corners[None, :, :]


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
    """Unique cell keys (sorted by column, then row) with their incident counts (and
    weight sums): a bincount over the keys' bounding range when it is small, else a sort
    of one int64 key per incident."""
    col, row = np.asarray(col, dtype=np.int64), np.asarray(row, dtype=np.int64)
    if len(col) == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, empty, np.empty(0)
    c0, r0 = col.min(), row.min()
    height = int(row.max() - r0) + 1
    span = (int(col.max() - c0) + 1) * height
    key = (col - c0) * height + (row - r0)
    if span <= max(4 * len(key), 1_000_000):
        counts = np.bincount(key, minlength=span)
        keys = np.flatnonzero(counts)
        sums = np.bincount(key, weights, span)[keys] if weights is not None else counts[keys].astype(float)
        counts = counts[keys]
    else:
        keys, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
        sums = np.bincount(inverse.ravel(), weights, len(keys)) if weights is not None else counts.astype(float)
    return keys // height + c0, keys % height + r0, counts, sums


def lookup(keys_col, keys_row, col, row):
    """The position of each (col, row) among the cells (keys_col, keys_row), -1 when absent."""
    base = np.int64(1) << 32
    cells = (np.asarray(keys_col, dtype=np.int64) + base // 2) * base + (np.asarray(keys_row, dtype=np.int64) + base // 2)
    wanted = (np.asarray(col, dtype=np.int64) + base // 2) * base + (np.asarray(row, dtype=np.int64) + base // 2)
    order = np.argsort(cells, kind="stable")
    slot = np.minimum(np.searchsorted(cells[order], wanted), max(len(cells) - 1, 0))
    found = (len(cells) > 0) & (cells[order][slot] == wanted) if len(cells) else np.zeros(len(wanted), dtype=bool)
    return np.where(found, order[slot] if len(cells) else -1, -1)
