"""Kernel density surfaces for crime mapping (docs/methods.md section 1).

The value at each cell centre is the exact kernel sum  sum_i w_i K_h(u - x_i)  with a
normalised kernel, so the surface integrates to the total weight (an intensity per square
map unit). It is computed in time that grows with cells, not incidents x cells:

1. linear binning of the incidents onto a lattice ``s`` times finer than the output cells
   (Wand & Jones 1995, 182-192), ``s`` chosen from bandwidth / cell size so that the binning
   error stays below about 1e-3 of one incident's peak;
2. the fine lattice is split into its s*s phases, each convolved by FFT with the kernel
   sampled at the matching offsets, and the products are summed in the frequency domain, so
   only output cells are ever transformed (polyphase convolution);
3. the uniform and Epanechnikov kernels jump or kink at their edge, where binning cannot
   follow them. They are polynomials in the offset of an incident from its cell's centre, so
   for the cells wholly inside an incident's disc the exact sum is a convolution of a few
   per-cell moment images (count, sum of offsets, sum of squared offsets); only the thin ring
   of cells the disc's edge crosses is summed per incident (about 2*pi*h/cell cells each);
4. the triangular cone is binned like (1) and then corrected exactly, per incident, on the
   ring of cells its edge crosses and near its tip.
"""

from dataclasses import dataclass

import numpy as np
from scipy import fft

from . import InputError, fractions, silent

# Order matters: it is the KERNEL enum of hotspotpolicing:kerneldensity (public interface).
KERNELS = ("quartic", "gaussian", "epanechnikov", "triangular", "uniform")

# The Gaussian is evaluated out to this many standard deviations, as spatstat does (exp(-32) ~ 1e-14 of its peak).
GAUSSIAN_TRUNCATION = 8.0
# Finest lattice spacing, as a fraction of the bandwidth, that keeps linear binning within
# ~1e-3 of one incident's peak (measured: quartic 1.1e-3 at h/30, Gaussian 6e-4 at sigma/20).
_BINNING_STEPS_PER_BANDWIDTH = {
    "quartic": 36,
    "gaussian": 20,
    "triangular": 48,
}
# Lattice nodes we allow for the fine binning grid before lowering the oversampling.
_MAX_FINE_NODES = 150_000_000


@dataclass(frozen=True)
class Grid:
    """A north-up raster: cell centres at xmin + (i + 0.5) * cell, ymin + (j + 0.5) * cell.

    Arrays on this grid have shape (nrows, ncols) with row 0 at the *south* edge."""

    xmin: float
    ymin: float
    cell: float
    ncols: int
    nrows: int

    @property
    def xmax(self):
        return self.xmin + self.ncols * self.cell

    @property
    def ymax(self):
        return self.ymin + self.nrows * self.cell

    def centres(self):
        """Cell-centre coordinates as two 1-D arrays (x of columns, y of rows)."""
        return (
            self.xmin + (np.arange(self.ncols) + 0.5) * self.cell,
            self.ymin + (np.arange(self.nrows) + 0.5) * self.cell,
        )


def kernel_values(kernel, r2, bandwidth):
    """Normalised 2-D kernel K_h at squared distances ``r2`` (docs/methods.md 1.2), in the
    precision of ``r2`` (float32 in, float32 out).

    ``bandwidth`` is the search radius for the compact kernels and the standard deviation
    for the Gaussian. Computed in place: the direct sum calls this on millions of pairs."""
    h2 = float(bandwidth) ** 2
    values = np.array(r2, dtype=np.result_type(np.asarray(r2).dtype, np.float32))  # a copy: u^2, then the kernel, in place
    values /= h2
    if kernel == "gaussian":
        outside = values > GAUSSIAN_TRUNCATION**2
        values *= -0.5
        np.exp(values, out=values)
        values[outside] = 0.0
        values *= 1.0 / (2 * np.pi * h2)
        return values
    if kernel == "uniform":
        return (values < 1.0) * values.dtype.type(1.0 / (np.pi * h2))
    if kernel == "triangular":
        np.sqrt(values, out=values)
    elif kernel not in ("quartic", "epanechnikov"):
        raise ValueError(f"unknown kernel {kernel!r}; choose one of {', '.join(KERNELS)}")
    np.subtract(1.0, values, out=values)
    np.maximum(values, 0.0, out=values)  # zero from the edge on
    if kernel == "quartic":
        values *= values
    values *= {"quartic": 3.0, "epanechnikov": 2.0, "triangular": 3.0}[kernel] / (np.pi * h2)
    return values


def support_radius(kernel, bandwidth):
    """Distance beyond which the kernel is zero (the Gaussian is truncated)."""
    return bandwidth * (GAUSSIAN_TRUNCATION if kernel == "gaussian" else 1.0)


def automatic_bandwidth(x, y, weights=None, kernel="quartic"):
    """ArcGIS's spatial variant of Silverman's rule (docs/methods.md 1.4), robust to outliers:
    0.9 * min(SD, sqrt(1/ln 2) * Dm) * n^-0.2, with SD the (weighted) standard distance,
    Dm the (weighted) median distance to the (weighted) mean centre and n the number of
    incidents (or the total weight). That is a search radius; for the Gaussian, whose
    bandwidth is a standard deviation, it is divided by 2 sqrt 2 (the quartic's ratio of
    radius to standard deviation), so the automatic surfaces are equally smooth. All
    incidents at one place give no bandwidth: InputError."""
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    total = w.sum()
    cx, cy = (w * x).sum() / total, (w * y).sum() / total
    standard_distance = np.sqrt((w * ((x - cx) ** 2 + (y - cy) ** 2)).sum() / total)
    median_distance = weighted_median(np.hypot(x - cx, y - cy), w)
    n = len(x) if weights is None else total
    radius = 0.9 * min(standard_distance, np.sqrt(1 / np.log(2)) * median_distance) * n**-0.2
    if not radius > 0:
        raise InputError("All incidents are at the same place, so no bandwidth can be chosen automatically. Give a bandwidth.")
    return radius / (2 * np.sqrt(2)) if kernel == "gaussian" else radius


def weighted_median(values, weights):
    """Median of ``values`` under ``weights``; interpolates when the cumulative weight
    splits exactly at one half, as ArcGIS does (equals numpy.median for unit weights)."""
    order = np.argsort(values)
    v, w = values[order], weights[order]
    cumulative = np.cumsum(w)
    half = cumulative[-1] / 2.0
    i = int(np.searchsorted(cumulative, half))
    if np.isclose(cumulative[i], half) and i + 1 < len(v):
        return 0.5 * (v[i] + v[i + 1])
    return float(v[i])


def automatic_cell_size(width, height):
    """ArcGIS's default: the shorter side of the output extent divided by 250."""
    return min(width, height) / 250.0


def grid_for_extent(xmin, ymin, xmax, ymax, cell):
    """The grid of ``cell``-sized cells that covers the extent, anchored at its lower left."""
    ncols = max(int(np.ceil((xmax - xmin) / cell - 1e-9)), 1)
    nrows = max(int(np.ceil((ymax - ymin) / cell - 1e-9)), 1)
    return Grid(float(xmin), float(ymin), float(cell), ncols, nrows)


def oversampling(kernel, bandwidth, cell, ncells):
    """Fine binning steps per output cell (see _BINNING_STEPS_PER_BANDWIDTH; 1 for the
    kernels summed exactly through cell moments)."""
    if kernel not in _BINNING_STEPS_PER_BANDWIDTH:
        return 1
    wanted = int(np.ceil(_BINNING_STEPS_PER_BANDWIDTH[kernel] * cell / bandwidth))
    affordable = int(np.sqrt(_MAX_FINE_NODES / max(ncells, 1)))
    return max(1, min(wanted, affordable))


def density(x, y, grid, kernel="quartic", bandwidth=None, weights=None, progress=None):
    """Kernel density (per square map unit) at the centres of ``grid``.

    ``progress(fraction)`` is called as work advances (it may raise Canceled to stop)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    report = progress or silent
    margin = int(np.ceil(support_radius(kernel, bandwidth) / grid.cell)) + 1
    s = oversampling(kernel, bandwidth, grid.cell, (grid.ncols + 2 * margin) * (grid.nrows + 2 * margin))
    if direct_is_cheaper(len(x), kernel, bandwidth, grid, s):
        result = _direct_density(x, y, w, grid, kernel, bandwidth, report)
        report(1.0)
        return result
    if kernel in ("uniform", "epanechnikov"):
        result = _moment_density(x, y, w, grid, kernel, bandwidth, report)
    else:
        fine = _bin_linear(x, y, w, grid, s, margin)
        report(0.2)
        result = _polyphase_convolve(fine, grid, kernel, bandwidth, s, margin, fractions(report, 0.2, 0.6))
        report(0.6)
        if kernel == "triangular":
            _add_tip_and_edge_correction(result, x, y, w, grid, bandwidth, s, report)
    result[result < 1e-12 * max(result.max(), 0.0)] = 0.0  # FFT round-off where no incident reaches
    report(1.0)
    return result


# Seconds per unit of work, measured on the benchmark machine (tests/../benchmarks): one
# (incident, cell) kernel evaluation summed directly, and one padded grid node of one FFT
# convolution phase.
DIRECT_PAIR_SECONDS = 8e-9
FFT_NODE_SECONDS = 16e-9


def direct_is_cheaper(n, kernel, bandwidth, grid, s):
    """Whether summing each incident's kernel over the cells within its reach costs less
    than the binned FFT, whose work grows with the cells, not the incidents: few incidents
    on a large grid are summed directly (exactly). The kernels with an edge are corrected
    per incident on the ring of cells the edge crosses, which the FFT pays too."""
    reach = support_radius(kernel, bandwidth) / grid.cell
    direct = n * len(_direct_offsets(kernel, bandwidth, grid.cell)[0]) * DIRECT_PAIR_SECONDS
    nodes = (grid.ncols + 2 * reach + 2) * (grid.nrows + 2 * reach + 2)
    phases = 4 if kernel in ("uniform", "epanechnikov") else s * s
    ring = n * (7 * reach + 8) * DIRECT_PAIR_SECONDS if kernel in ("uniform", "epanechnikov", "triangular") else 0.0
    return direct < nodes * (phases + 1) * FFT_NODE_SECONDS + ring


def _direct_offsets(kernel, bandwidth, cell):
    """Cell offsets (columns, rows) an incident's kernel can reach from anywhere in its
    home cell."""
    reach = int(np.ceil(support_radius(kernel, bandwidth) / cell))
    ox, oy = (a.ravel() for a in np.meshgrid(np.arange(-reach, reach + 1), np.arange(-reach, reach + 1)))
    near = np.hypot(np.maximum(np.abs(ox) - 0.5, 0), np.maximum(np.abs(oy) - 0.5, 0)) * cell
    keep = near < support_radius(kernel, bandwidth)
    return ox[keep], oy[keep]


def _direct_density(x, y, w, grid, kernel, bandwidth, report):
    """The kernel sum at every cell centre within each incident's reach, incidents taken
    in chunks so that about a million (incident, cell) pairs are held at once. Offsets and
    kernel values are float32, three times faster and within 1e-6 of the exact sum (float64
    for the uniform kernel, whose jump at its edge float32 could misplace); sums are float64."""
    precision = np.float64 if kernel == "uniform" else np.float32
    ox, oy = _direct_offsets(kernel, bandwidth, grid.cell)
    hx, hy, dx, dy = _home_cells(x, y, grid)
    dx, dy, w = dx.astype(precision), dy.astype(precision), w.astype(precision)
    cx, cy = (ox * grid.cell).astype(precision), (oy * grid.cell).astype(precision)
    flat = np.zeros(grid.nrows * grid.ncols)
    span = int(max(np.abs(ox).max(), np.abs(oy).max()))
    whole = (hx >= span) & (hx < grid.ncols - span) & (hy >= span) & (hy < grid.nrows - span)  # every cell reached is on the grid
    home, offset = hy * grid.ncols + hx, oy * grid.ncols + ox
    # incidents wholly on the grid first, by home cell, so that each chunk adds into a narrow band of rows
    interior = np.flatnonzero(whole)
    order = np.concatenate([interior[np.argsort(home[interior], kind="stable")], np.flatnonzero(~whole)])
    chunk = max(1, 1_000_000 // len(ox))
    for start in range(0, len(order), chunk):
        report(start / max(len(order), 1))
        part = order[start : start + chunk]
        r2 = (cx - dx[part, None]) ** 2
        r2 += (cy - dy[part, None]) ** 2
        values = kernel_values(kernel, r2, bandwidth)
        values *= w[part, None]
        if whole[part].all():
            low, high = home[part].min() + offset.min(), home[part].max() + offset.max() + 1
            flat[low:high] += np.bincount(((home[part] - low)[:, None] + offset).ravel(), values.ravel(), high - low)
        else:
            tx, ty = hx[part, None] + ox, hy[part, None] + oy
            inside = (tx >= 0) & (tx < grid.ncols) & (ty >= 0) & (ty < grid.nrows)
            flat += np.bincount((ty * grid.ncols + tx)[inside], values[inside], flat.size)
    return flat.reshape(grid.nrows, grid.ncols)


def _bin_linear(x, y, w, grid, s, margin, chunk=2_000_000):
    """Spread each weight over the four surrounding nodes of a lattice with spacing cell/s
    whose nodes include every cell centre; ``margin`` cells of padding on each side. Taken
    ``chunk`` incidents at a time, so ten million incidents need no more memory than two."""
    f = grid.cell / s
    shape = (s * (grid.nrows + 2 * margin), s * (grid.ncols + 2 * margin))
    fine = np.zeros(shape[0] * shape[1])
    for start in range(0, len(x), chunk):
        part = slice(start, start + chunk)
        tx = (x[part] - (grid.xmin + 0.5 * grid.cell)) / f + s * margin
        ty = (y[part] - (grid.ymin + 0.5 * grid.cell)) / f + s * margin
        keep = (tx >= 0) & (tx < shape[1] - 1) & (ty >= 0) & (ty < shape[0] - 1)
        tx, ty, wk = tx[keep], ty[keep], w[part][keep]
        jx, jy = np.floor(tx).astype(np.int64), np.floor(ty).astype(np.int64)
        ax, ay = tx - jx, ty - jy
        base = jy * shape[1] + jx
        corners = np.concatenate([base, base + 1, base + shape[1], base + shape[1] + 1])
        shares = np.concatenate([wk * (1 - ax) * (1 - ay), wk * ax * (1 - ay), wk * (1 - ax) * ay, wk * ax * ay])
        fine += np.bincount(corners, shares, fine.size)
    return fine.reshape(shape)


def _moment_density(x, y, w, grid, kernel, bandwidth, report):
    """Exact uniform or Epanechnikov density (step 3 of the module docstring).

    With delta the incident's offset from its home cell's centre and D the offset of an
    output centre from that home centre, |D - delta|^2 = |D|^2 - 2 D.delta + |delta|^2, so
    K(D - delta) = c * (1 - |D|^2/h^2 + 2 D.delta/h^2 - |delta|^2/h^2) inside the disc
    (Epanechnikov, c = 2/(pi h^2)) or c (uniform, c = 1/(pi h^2))."""
    h2 = float(bandwidth) ** 2
    hx, hy, dx, dy = _home_cells(x, y, grid)
    m = int(np.ceil(bandwidth / grid.cell)) + 1
    o = np.arange(-m, m + 1) * grid.cell
    ox, oy = np.meshgrid(o, o)  # [row, col] = (dy, dx) offsets of output centres
    near, far = _distance_span(ox, oy, 0.5 * grid.cell)
    whole = far < bandwidth  # every incident of the home cell is inside the disc
    c = kernel_values(kernel, 0.0, bandwidth)
    if kernel == "uniform":
        terms = [(w, c * whole)]
    else:
        terms = [
            (w, c * (1 - (ox * ox + oy * oy) / h2) * whole),
            (w * dx, c * 2 * ox / h2 * whole),
            (w * dy, c * 2 * oy / h2 * whole),
            (w * (dx * dx + dy * dy), -c / h2 * whole),
        ]
    rows, cols = grid.nrows + 2 * m, grid.ncols + 2 * m
    keep = (hx >= -m) & (hx < grid.ncols + m) & (hy >= -m) & (hy < grid.nrows + m)
    home = (hy[keep] + m) * cols + (hx[keep] + m)
    moments = [np.bincount(home, values[keep], rows * cols).reshape(rows, cols) for values, _ in terms]
    result = _convolve_sum(moments, [kern for _, kern in terms], grid, m, fractions(report, 0.0, 0.3))
    report(0.3)
    ring = np.flatnonzero((near < bandwidth) & ~whole)
    _add_exact_offsets(result, ox.ravel()[ring], oy.ravel()[ring], hx, hy, dx, dy, w, grid, kernel, bandwidth, report)
    return result


def _home_cells(x, y, grid):
    """Each incident's home cell (column, row of the nearest centre) and its offset from
    that centre."""
    ux = (x - grid.xmin) / grid.cell - 0.5
    uy = (y - grid.ymin) / grid.cell - 0.5
    hx, hy = np.rint(ux), np.rint(uy)
    return hx.astype(np.int64), hy.astype(np.int64), (ux - hx) * grid.cell, (uy - hy) * grid.cell


def _distance_span(ox, oy, reach):
    """Nearest and farthest distance from the origin to the squares of half-width ``reach``
    centred at the offsets (ox, oy)."""
    ax, ay = np.abs(ox), np.abs(oy)
    near = np.hypot(np.maximum(ax - reach, 0), np.maximum(ay - reach, 0))
    return near, np.hypot(ax + reach, ay + reach)


def _convolve_sum(images, kernels, grid, margin, progress):
    """sum_k images[k] * kernels[k] (full linear convolutions, one inverse FFT), cropped to
    the grid; images carry ``margin`` cells of padding, kernels are (2*margin+1) square."""
    rows, cols = images[0].shape
    klen = kernels[0].shape[0]
    shape = (fft.next_fast_len(rows + klen - 1, real=True), fft.next_fast_len(cols + klen - 1, real=True))
    total = None
    for done, (image, kern) in enumerate(zip(images, kernels)):
        progress(done / len(images))
        product = fft.rfft2(image, shape, workers=-1) * fft.rfft2(kern, shape, workers=-1)
        total = product if total is None else total + product
    full = fft.irfft2(total, shape, workers=-1)
    offset = 2 * margin
    return np.ascontiguousarray(full[offset : offset + grid.nrows, offset : offset + grid.ncols])


def _add_exact_offsets(result, ox, oy, hx, hy, dx, dy, w, grid, kernel, bandwidth, report, minus=None):
    """Add each incident's exact kernel value at the output centres home + (ox, oy)."""
    flat = result.reshape(-1)
    size = flat.size
    for n in range(len(ox)):
        step_x, step_y = int(round(ox[n] / grid.cell)), int(round(oy[n] / grid.cell))
        tx, ty = hx + step_x, hy + step_y
        inside = (tx >= 0) & (tx < grid.ncols) & (ty >= 0) & (ty < grid.nrows)
        rx, ry = ox[n] - dx[inside], oy[n] - dy[inside]
        values = w[inside] * kernel_values(kernel, rx * rx + ry * ry, bandwidth)
        if minus is not None:
            values -= minus(n, inside)
        flat += np.bincount(ty[inside] * grid.ncols + tx[inside], values, size)
        if n % 4 == 0:
            report(0.3 + 0.7 * n / len(ox))


def _polyphase_convolve(fine, grid, kernel, bandwidth, s, margin, progress):
    """Convolve the fine lattice with the kernel, evaluated only at the output cell centres:
    the sum over the s*s lattice phases of (phase image * kernel at that phase's offsets)."""
    phases = fine.reshape(grid.nrows + 2 * margin, s, grid.ncols + 2 * margin, s)
    offsets = np.arange(-margin, margin + 1) * s  # whole-cell lattice offsets, in fine steps
    f = grid.cell / s
    images, kernels = [], []
    for py in range(s):
        for px in range(s):
            dy2, dx2 = ((offsets - py) * f) ** 2, ((offsets - px) * f) ** 2
            images.append(phases[:, py, :, px])
            kernels.append(kernel_values(kernel, dy2[:, None] + dx2[None, :], bandwidth))
    return _convolve_sum(images, kernels, grid, margin, progress)


def _add_tip_and_edge_correction(result, x, y, w, grid, bandwidth, s, report):
    """Triangular kernel: where its edge (r = h) or its tip (r = 0) falls between an incident
    and its binning nodes, replace the binned value w * sum_nodes b * K(D - node) by the
    exact w * K(D - delta)."""
    f = grid.cell / s
    hx, hy, dx, dy = _home_cells(x, y, grid)
    kx, ky = np.floor(dx / f), np.floor(dy / f)  # lower-left binning node, in fine steps
    ax, ay = dx / f - kx, dy / f - ky

    # Linear binning errs by about f^2 / (8 r h) of the peak at distance r from the tip:
    # handle exactly where that exceeds 2e-4, and wherever the edge is within reach.
    tip = f * f / (8 * bandwidth * 2e-4)
    m = int(np.ceil(bandwidth / grid.cell)) + 1
    o = np.arange(-m, m + 1) * grid.cell
    ox, oy = (a.ravel() for a in np.meshgrid(o, o))
    near, far = _distance_span(ox, oy, 0.5 * grid.cell + f)
    ring = np.flatnonzero(((near <= bandwidth) & (far >= bandwidth)) | (near <= tip))

    def binned(n, inside):
        total = 0.0
        for ex in (0, 1):
            for ey in (0, 1):
                nx = ox[ring[n]] - (kx[inside] + ex) * f
                ny = oy[ring[n]] - (ky[inside] + ey) * f
                share = (ax[inside] if ex else 1 - ax[inside]) * (ay[inside] if ey else 1 - ay[inside])
                total = total + share * kernel_values("triangular", nx * nx + ny * ny, bandwidth)
        return w[inside] * total

    _add_exact_offsets(result, ox[ring], oy[ring], hx, hy, dx, dy, w, grid, "triangular", bandwidth, report, binned)
