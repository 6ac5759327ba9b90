"""Near repeat: the Knox test of space-time clustering, as Ratcliffe's Near Repeat Calculator
and the R package NearRepeat (Steenbeek) compute it, and the risk window that follows a new
incident (docs/methods.md, the near-repeat section).

Every pair of events is put in a distance band and a time band; the table of pair counts is
compared with the tables given when the event times are permuted among the event places
(places fixed). Bands are right-open, [from, to), as NearRepeat's ``cut(..., right = FALSE)``;
pairs outside every band (nearer than the first edge, or as far as the last finite edge when
the bands have no open end) are not tabulated. An edge ``inf`` at the end gives an open last
band, as ``Inf`` does in NearRepeat's breaks.

Time differences are whole calendar days: the difference of the events' dates (their day
number since 1970 on the clock the times are stored in), as NearRepeat computes them from R
dates and the Near Repeat Calculator from its dates.

The exact pair counts are found once with a KD-tree within the largest finite distance edge;
each permutation re-bins the time differences of those pairs only (vectorised). Pairs
farther apart, for an open last distance band, are counted without being listed: the pairs
of all events with each time difference do not change when times are permuted, so the open
band holds what the other bands leave of them."""

import math
import re
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from . import InputError, fractions, silent

MANHATTAN, EUCLIDEAN = "manhattan", "euclidean"
METRICS = (MANHATTAN, EUCLIDEAN)  # the DISTANCE enum's order
SECONDS_PER_DAY = 86400.0
MAX_EDGES = 40  # band edges per dimension: a table analysts can read
MAX_PAIRS = 40_000_000  # pairs held in memory, 9 bytes each: about 0.4 GB
MAX_WORK = 5_000_000_000  # pairs x permutations (plus events x permutations): about a minute here (10 ns each)
MAX_SIMULATED_CELLS = 25_000_000  # permutations x table cells kept for the medians: 200 MB
PAIRS_PER_CHUNK = 2_000_000  # ordered pairs gathered at once from the KD-tree
PAIRS_PER_BLOCK = 1 << 20  # pairs re-binned at once in a permutation (work arrays of 12 MB)
_REACH = 1e-9  # relative slack of the KD-tree's radius; the band test is exact afterwards


def parse_edges(text, name, unit):
    """Band edges from text such as "0,1,101,201,301,401" (commas, semicolons or spaces
    between them): at least two, none negative, strictly increasing, finite except a last
    ``inf`` (an open last band). Anything else is refused naming the value and ``name``."""
    tokens = [token for token in re.split(r"[\s,;]+", str(text or "").strip()) if token]
    if len(tokens) < 2:
        raise InputError(
            f"{name} needs at least two band edges in {unit}, separated by commas (e.g. '0,7,14,21,28'); it is '{text or ''}'."
        )
    if len(tokens) > MAX_EDGES:
        raise InputError(f"{name} has {len(tokens)} band edges; at most {MAX_EDGES} make a table one can read. Use wider bands.")
    edges = []
    for position, token in enumerate(tokens):
        try:
            value = float(token)
        except ValueError:
            raise InputError(f"{name}: '{token}' is not a number. Give band edges in {unit}, e.g. '0,7,14,21,28'.") from None
        if math.isnan(value) or value < 0 or (math.isinf(value) and position < len(tokens) - 1):
            raise InputError(
                f"{name}: '{token}' cannot be a band edge. Edges are numbers of {unit}, 0 or more; only the last may be 'inf' "
                "(an open last band)."
            )
        if edges and value <= edges[-1]:
            raise InputError(
                f"{name}: the edge '{token}' is not larger than the one before it ({edges[-1]:g}). List edges in increasing order."
            )
        edges.append(value)
    if math.isinf(edges[0]):
        raise InputError(f"{name}: the first edge cannot be 'inf'.")
    return np.array(edges, dtype=float)


def calendar_days(seconds):
    """Day numbers since 1970-01-01 of times given as seconds since 1970 (the date part of
    the stored clock reading)."""
    return np.floor(np.asarray(seconds, dtype=float) / SECONDS_PER_DAY).astype(np.int64)


def distances(x, y, i, j, metric):
    """Distances between the points i and j: |dx| + |dy| (Manhattan) or sqrt(dx² + dy²)
    (Euclidean), as R's dist() computes them."""
    dx, dy = x[i] - x[j], y[i] - y[j]
    if metric == MANHATTAN:
        return np.abs(dx) + np.abs(dy)
    return np.sqrt(dx * dx + dy * dy)


def _tree(x, y):
    return cKDTree(np.column_stack([x, y]))


def _minkowski(metric):
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, not {metric!r}")
    return 1 if metric == MANHATTAN else 2


def neighbour_counts(x, y, limit, metric, progress=None, chunk=4096, most=None):
    """For every point, how many points (itself included) lie within ``limit`` (a little
    more, never less): what the pairs will cost, counted without listing them. Counting
    stops once the pairs exceed ``most`` (the counts of the points not reached are 0)."""
    p = _minkowski(metric)
    tree = _tree(x, y)
    reach = limit * (1 + _REACH)
    report = progress or silent
    xy = tree.data
    counts = np.zeros(len(xy), dtype=np.int64)
    for start in range(0, len(xy), chunk):
        report(start / len(xy))
        part = tree.query_ball_point(xy[start : start + chunk], reach, p=p, return_length=True)
        counts[start : start + chunk] = part
        if most is not None and (counts.sum() - start - len(part)) // 2 > most:
            break
    report(1.0)
    return counts


def close_pairs(x, y, limit, metric, counts=None, progress=None):
    """Every pair i < j of points closer than ``limit`` (strictly), with its distance, in
    chunks: (i, j, d) arrays, i and j int32 (int64 beyond 2**31 points), in no particular
    order. ``counts``: neighbour_counts() when known (it sets the chunks)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n = len(x)
    p = _minkowski(metric)
    report = progress or silent
    index = np.int32 if n < 2**31 else np.int64
    if n < 2 or not limit > 0:
        return
    tree = _tree(x, y)
    if counts is None:
        counts = neighbour_counts(x, y, limit, metric)
    reach = limit * (1 + _REACH)
    bounds = np.searchsorted(np.cumsum(counts), np.arange(1, int(counts.sum()) // PAIRS_PER_CHUNK + 1) * PAIRS_PER_CHUNK)
    bounds = np.unique(np.concatenate([[0], bounds, [n]]))
    for start, end in zip(bounds[:-1], bounds[1:]):
        report(start / n)
        part = cKDTree(tree.data[start:end]).sparse_distance_matrix(tree, reach, p=p, output_type="ndarray")
        i = part["i"].astype(index) + index(start)
        j = part["j"].astype(index)
        del part
        keep = i < j
        i, j = i[keep], j[keep]
        d = distances(x, y, i, j, metric)
        near = d < limit
        yield i[near], j[near], d[near]
    report(1.0)


def pairs_by_gap(days, most):
    """Pairs of all events by their time difference in days: counts[k] pairs exactly k days
    apart for k = 0 .. most, counts[most + 1] pairs more than ``most`` days apart."""
    days = np.asarray(days, dtype=np.int64)
    n = len(days)
    per_day = np.bincount(days - days.min())
    gaps = np.zeros(most + 2, dtype=np.int64)
    gaps[0] = int((per_day * (per_day - 1) // 2).sum())
    span = len(per_day) - 1
    for k in range(1, min(most, span) + 1):
        gaps[k] = int(np.dot(per_day[:-k], per_day[k:]))
    gaps[most + 1] = n * (n - 1) // 2 - int(gaps[: most + 1].sum())
    return gaps


@dataclass
class Knox:
    """The Knox test's table: ``observed`` pair counts per distance band (rows) and time band
    (columns), the mean (``expected``) and median over the permutations, and how many
    permutations gave at least the observed count (``at_least``)."""

    space_edges: np.ndarray
    time_edges: np.ndarray
    observed: np.ndarray
    expected: np.ndarray
    median: np.ndarray
    at_least: np.ndarray
    permutations: int
    pairs_listed: int  # pairs found within the largest finite distance edge

    @property
    def p_values(self):
        """(1 + permutations at least as large as observed) / (1 + permutations)."""
        return (1.0 + self.at_least) / (1.0 + self.permutations)

    @property
    def ratio(self):
        """Knox ratio: observed / mean of the permutations; NaN where that mean is 0."""
        return _ratio(self.observed, self.expected)

    @property
    def ratio_median(self):
        """observed / median of the permutations; NaN where that median is 0."""
        return _ratio(self.observed, self.median)

    def significant(self, alpha):
        """Bands with more pairs than chance gives: p <= alpha."""
        return self.p_values <= alpha


def _ratio(observed, reference):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(reference > 0, observed / np.where(reference > 0, reference, 1.0), np.nan)


def knox_test(x, y, days, space_edges, time_edges, metric=MANHATTAN, permutations=999, seed=None, progress=None):
    """The Knox test of events at (x, y) on day numbers ``days`` (calendar_days), with the
    band edges of parse_edges (distances in the units of x and y, times in days).

    The permutations shuffle the days among the events (events first put in a fixed order,
    by day, x and y, so that the layer's row order does not change the result for a seed).
    Work beyond memory or reasonable time is refused before it starts."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    days = np.asarray(days, dtype=np.int64)
    space_edges, time_edges = np.asarray(space_edges, dtype=float), np.asarray(time_edges, dtype=float)
    n = len(x)
    permutations = int(permutations)
    if n < 2:
        raise InputError(f"The near-repeat test compares pairs of incidents: it needs at least 2, and there {'is' if n else 'are'} {n}.")
    if permutations < 1:
        raise InputError("The near-repeat test needs at least 1 permutation (999 is usual).")
    report = progress or silent
    order = np.lexsort((y, x, days))
    x, y, days = x[order], y[order], days[order]

    open_space = bool(np.isinf(space_edges[-1]))
    finite_space = space_edges[np.isfinite(space_edges)]
    limit = float(finite_space[-1])
    rows = len(finite_space) - 1  # finite distance bands; then the hidden "nearer than the first edge" row and the open band
    hidden = open_space and space_edges[0] > 0
    n_space, n_time = len(space_edges) - 1, len(time_edges) - 1
    cells = n_space * n_time
    if permutations * cells > MAX_SIMULATED_CELLS:
        raise InputError(
            f"{permutations:,} permutations of a table of {cells} bands are too many to keep for the medians (at most "
            f"{MAX_SIMULATED_CELLS:,}): use at most {MAX_SIMULATED_CELLS // cells:,} permutations (PERMUTATIONS) or fewer bands."
        )

    if limit > 0:
        counts = neighbour_counts(x, y, limit, metric, fractions(report, 0.0, 0.05), most=MAX_PAIRS)
    else:
        counts = np.ones(n, dtype=np.int64)
    listed = int((counts.sum() - n) // 2)  # an upper bound of the pairs nearer than the limit
    if listed > MAX_PAIRS:
        raise InputError(
            f"More than {MAX_PAIRS:,} pairs of incidents lie within {limit:g} of each other (at most {MAX_PAIRS:,} can be "
            "tested): use a smaller largest distance band (SPATIAL_BANDS), or fewer incidents (a shorter period, a smaller "
            "area or one offence)."
        )
    if permutations * (listed + n) > MAX_WORK:
        most = max(MAX_WORK // (listed + n), 1)
        raise InputError(
            f"{permutations:,} permutations of {listed:,} pairs of incidents within {limit:g} are {permutations * (listed + n):,} "
            f"re-binned pairs (at most {MAX_WORK:,}, about a minute): use at most {most:,} permutations (PERMUTATIONS), a "
            "smaller largest distance band (SPATIAL_BANDS) or fewer incidents."
        )
    # the pairs within the limit and their distance band (held compactly: 9 bytes a pair)
    index = np.int32 if n < 2**31 else np.int64
    i, j, band = np.empty(listed, index), np.empty(listed, index), np.empty(listed, np.int8)
    found = 0
    for chunk_i, chunk_j, chunk_d in close_pairs(x, y, limit, metric, counts, fractions(report, 0.05, 0.15)):
        chunk_band = np.searchsorted(space_edges, chunk_d, side="right") - 1  # right-open bands: edges[k] <= d < edges[k + 1]
        if hidden:
            chunk_band[chunk_band < 0] = rows  # nearer than the first edge: counted, so that the open band does not hold them
        keep = (chunk_band >= 0) & (chunk_band < rows + hidden)
        kept = int(keep.sum())
        i[found : found + kept], j[found : found + kept], band[found : found + kept] = chunk_i[keep], chunk_j[keep], chunk_band[keep]
        found += kept
    i, j, band = i[:found], j[:found], band[:found]

    # time differences: whole days 0 .. most, and one bin for all larger ones
    relative = days - days.min()
    span = int(relative.max())
    finite_time = time_edges[np.isfinite(time_edges)]
    most = int(min(math.floor(finite_time[-1]), span))
    small = np.int16 if span < 2**15 - 1 else np.int32
    relative = relative.astype(small)
    width = most + 2
    gap_values = np.arange(width, dtype=float)
    time_band = np.searchsorted(time_edges, gap_values, side="right") - 1
    membership = np.zeros((width, n_time), dtype=np.int64)  # which time band each day difference falls in
    inside = (time_band >= 0) & (time_band < n_time)
    membership[np.flatnonzero(inside), time_band[inside]] = 1
    n_rows = rows + hidden
    all_gaps = pairs_by_gap(days, most) if open_space else None
    ceiling = small(most + 1)
    block = min(len(i), PAIRS_PER_BLOCK)
    gap, other, code = np.empty(block, small), np.empty(block, small), np.empty(block, np.intp)  # reused by every permutation

    def table(times):
        fine = np.zeros(n_rows * width, dtype=np.int64)
        for start in range(0, len(i), PAIRS_PER_BLOCK):
            end = min(start + PAIRS_PER_BLOCK, len(i))
            a, b, c = gap[: end - start], other[: end - start], code[: end - start]
            np.take(times, i[start:end], out=a)
            np.take(times, j[start:end], out=b)
            np.subtract(a, b, out=a)
            np.abs(a, out=a)
            np.minimum(a, ceiling, out=a)
            np.multiply(band[start:end], width, out=c, dtype=np.intp)
            np.add(c, a, out=c)
            fine += np.bincount(c, minlength=n_rows * width)
        fine = fine.reshape(n_rows, width)
        out = np.empty((n_space, n_time), dtype=np.int64)
        out[:rows] = fine[:rows] @ membership
        if open_space:
            out[rows] = (all_gaps - fine.sum(axis=0)) @ membership
        return out

    observed = table(relative)
    rng = np.random.default_rng(seed)
    simulated = np.empty((permutations, n_space, n_time), dtype=np.int64)
    report_perm = fractions(report, 0.15, 1.0)
    for r in range(permutations):
        report_perm(r / permutations)  # each permutation: at most about 0.4 s with the most pairs allowed
        simulated[r] = table(relative[rng.permutation(n)])
    report_perm(1.0)
    return Knox(
        space_edges=space_edges,
        time_edges=time_edges,
        observed=observed,
        expected=simulated.mean(axis=0),
        median=np.median(simulated, axis=0),
        at_least=(simulated >= observed).sum(axis=0),
        permutations=permutations,
        pairs_listed=len(i),
    )


@dataclass
class RiskWindow:
    """How far and how long risk is raised after an event: zones of ``radius`` (ascending)
    last ``days[k]`` whole days after the event (the event's day is day 0, so the raised risk
    ends on day ``days[k] - 1``). Empty when no band is significant."""

    radius: np.ndarray
    days: np.ndarray

    def __len__(self):
        return len(self.radius)


def risk_window(knox, alpha):
    """The near-repeat window: the significant bands (p <= alpha, Knox ratio above 1, finite
    ends) joined to the nearest and soonest band through significant bands side by side
    (sharing an edge in the table); a significant band standing alone farther out or later is
    left out (with many bands tested, some are significant by chance). The nearest band is
    the first distance band, or the second when the first is a "same place" band (from 0 to
    at most 1 unit), which joins the window when it is significant itself. A place is at
    raised risk until the latest end of any band of the window that reaches at least as far
    as it: a band [from, to) x [days_from, days_to) raises the risk within ``to`` for
    ``days_to`` days (whole days: less than days_to days after)."""
    significant = knox.significant(alpha) & (knox.ratio > 1)
    space_to, time_to = knox.space_edges[1:], knox.time_edges[1:]
    significant &= np.isfinite(space_to)[:, None] & np.isfinite(time_to)[None, :]
    same_place = knox.space_edges[0] == 0 and knox.space_edges[1] <= 1 and len(space_to) > 1
    joined = np.zeros_like(significant)
    stack = [cell for cell in ((0, 0), (1, 0) if same_place else (0, 0)) if significant[cell]]
    while stack:
        s, t = stack.pop()
        if joined[s, t]:
            continue
        joined[s, t] = True
        for a, b in ((s - 1, t), (s + 1, t), (s, t - 1), (s, t + 1)):
            if 0 <= a < joined.shape[0] and 0 <= b < joined.shape[1] and significant[a, b] and not joined[a, b]:
                stack.append((a, b))
    rows, columns = np.nonzero(joined)
    if not len(rows):
        return RiskWindow(np.empty(0), np.empty(0, dtype=np.int64))
    radius = space_to[rows]
    lasting = np.ceil(time_to[columns]).astype(np.int64)
    radii = np.unique(radius)[::-1]  # farthest first
    envelope = np.array([lasting[radius >= r].max() for r in radii])
    keep = np.ones(len(radii), dtype=bool)
    keep[1:] = envelope[1:] > envelope[:-1]  # a nearer zone matters only when it lasts longer
    return RiskWindow(radii[keep][::-1].copy(), envelope[keep][::-1].copy())


def risk_zones(days, window, recent_days=None):
    """The zones of the events of the last ``recent_days`` (day difference to the latest event
    less than that; default: the window's longest duration): (event, zone of the window, last
    day of raised risk), by event then zone."""
    days = np.asarray(days, dtype=np.int64)
    if not len(window) or not len(days):
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    if recent_days is None or recent_days <= 0:
        recent_days = int(window.days.max())
    latest = days.max()
    events = np.flatnonzero(latest - days < recent_days)
    event = np.repeat(events, len(window))
    zone = np.tile(np.arange(len(window)), len(events))
    return event, zone, days[event] + window.days[zone] - 1
