"""Emerging hot spots: a space-time cube of counts, Gi* over the whole cube, a Mann-Kendall
trend of each location's z-scores and ArcGIS's 17 categories (docs/methods.md section 2.7).

The cube is an (L, T) array: L locations, T calendar steps. The neighbourhood of bin (s, t)
is location s and its spatial neighbours, at step t and the ``steps`` steps before it
(ArcGIS's neighbourhood time step), all with weight 1, self included."""

import calendar
from datetime import datetime, timezone

import numpy as np
from scipy import sparse, stats

_HOT = {
    1: "New",
    2: "Consecutive",
    3: "Intensifying",
    4: "Persistent",
    5: "Diminishing",
    6: "Sporadic",
    7: "Oscillating",
    8: "Historical",
}
PATTERNS = {0: "No Pattern Detected"} | {c: f"{n} Hot Spot" for c, n in _HOT.items()} | {-c: f"{n} Cold Spot" for c, n in _HOT.items()}
NEW, CONSECUTIVE, INTENSIFYING, PERSISTENT, DIMINISHING, SPORADIC, OSCILLATING, HISTORICAL = range(1, 9)
MOST_OF_THE_TIME = 0.9  # "ninety percent of the time-step intervals", as a fraction of the steps
UNITS = ("day", "week", "month", "year")


def space_time_gi_star(values, neighbours, steps):
    """Gi* z-score of every bin of the cube (Ord & Getis 1995 with binary weights, the mean
    and spread of all L x T bins), without building the (LT x LT) weights: the neighbourhood
    sum is (A + I) X B' with B the lower band of ``steps`` + 1 steps."""
    x = np.asarray(values, dtype=float)
    n_loc, n_steps = x.shape
    n = x.size
    space = (sparse.csr_matrix(neighbours, dtype=float) + sparse.identity(n_loc, format="csr")).tocsr()
    spatial = space @ x  # (L, T): each location with its neighbours, per step
    running = np.cumsum(spatial, axis=1)
    earlier = np.zeros_like(running)
    if steps + 1 < n_steps:
        earlier[:, steps + 1 :] = running[:, : n_steps - steps - 1]
    window_sum = running - earlier
    reach = np.asarray(space.sum(axis=1)).ravel()[:, None] * np.minimum(np.arange(1, n_steps + 1), steps + 1)[None, :]
    mean = x.mean()
    spread = np.sqrt(max((x * x).mean() - mean * mean, 0.0))
    denominator = spread * np.sqrt(np.maximum((n * reach - reach**2) / (n - 1), 0.0))
    return np.divide(window_sum - mean * reach, denominator, out=np.full(x.shape, np.nan), where=denominator > 0)


def mann_kendall(series):
    """Mann-Kendall trend test of each row (Mann 1945; Kendall 1975): the continuity-corrected
    z of S = sum over i < j of sign(x_j - x_i), with the variance corrected for ties, and its
    two-sided normal p. A row without any two distinct values has z = 0, p = 1."""
    x = np.asarray(series, dtype=float)
    n_loc, t = x.shape
    s = np.zeros(n_loc)
    for lag in range(1, t):  # T is small (steps); each lag compares all later-earlier pairs at once
        s += np.sign(x[:, lag:] - x[:, :-lag]).sum(axis=1)
    ordered = np.sort(x, axis=1)
    starts = np.concatenate([np.ones((n_loc, 1), dtype=bool), ordered[:, 1:] != ordered[:, :-1]], axis=1)
    run_id = np.cumsum(starts, axis=1) - 1  # tie group of each sorted value within its row
    rows = np.repeat(np.arange(n_loc), t)
    tie_sizes = np.zeros((n_loc, t))
    np.add.at(tie_sizes, (rows, run_id.ravel()), 1.0)
    ties = (tie_sizes * (tie_sizes - 1) * (2 * tie_sizes + 5)).sum(axis=1)
    variance = (t * (t - 1) * (2 * t + 5) - ties) / 18.0
    corrected = s - np.sign(s)
    z = np.divide(corrected, np.sqrt(variance), out=np.zeros(n_loc), where=variance > 0)
    return z, 2.0 * stats.norm.sf(np.abs(z))


def classify(bins, trend_z, trend_p, alpha=0.05):
    """ArcGIS's categories (PATTERNS codes) from each location's Gi_Bin series, the trend of
    its z-scores and the trend's significance level ``alpha``; the rules and their order are
    in docs/methods.md section 2.7."""
    bins = np.asarray(bins)
    hot = _one_side(bins > 0, bins < 0, np.asarray(trend_z) > 0, np.asarray(trend_z) < 0, np.asarray(trend_p) <= alpha)
    cold = _one_side(bins < 0, bins > 0, np.asarray(trend_z) < 0, np.asarray(trend_z) > 0, np.asarray(trend_p) <= alpha)
    t = bins.shape[1]
    hot_side = bins[:, -1] > 0
    hot_side |= (bins > 0).sum(axis=1) >= MOST_OF_THE_TIME * t
    cold_side = ~hot_side & ((bins[:, -1] < 0) | ((bins < 0).sum(axis=1) >= MOST_OF_THE_TIME * t))
    return np.where(hot_side, hot, np.where(cold_side, -cold, 0))


def _one_side(this, other, rising, falling, significant):
    """Codes 0-8 for one side (hot, or cold with the signs mirrored)."""
    t = this.shape[1]
    count = this.sum(axis=1)
    last = this[:, -1]
    most = count >= MOST_OF_THE_TIME * t
    final_run = np.where(last, t - 1 - _last_index(~this), 0)  # length of the run of steps ending at the last one
    code = np.zeros(len(this), dtype=int)
    rules = [  # first true rule wins
        (most & last & significant & rising, INTENSIFYING),
        (most & last & significant & falling, DIMINISHING),
        (most & last, PERSISTENT),
        (most & ~last, HISTORICAL),
        (last & (count == 1), NEW),
        (last & (final_run >= 2) & (final_run == count), CONSECUTIVE),
        (last & other.any(axis=1), OSCILLATING),
        (last, SPORADIC),
    ]
    for condition, value in reversed(rules):
        code[condition] = value
    return code


def _last_index(mask):
    """Index of the last True in each row, -1 where none."""
    t = mask.shape[1]
    flipped = np.argmax(mask[:, ::-1], axis=1)
    return np.where(mask.any(axis=1), t - 1 - flipped, -1)


def calendar_steps(start, end, step, unit):
    """Edges (seconds since 1970, the data's own clock) of the complete calendar steps from
    ``start`` floored to its day, Monday, 1st of the month or 1 January, ``step`` units long,
    up to ``end`` (exclusive). Returns (edges, dropped): dropped is True when a last step
    begun before ``end`` would end after it and was left out."""
    if unit not in UNITS or step < 1:
        raise ValueError(f"unit must be one of {UNITS} and step at least 1")
    first = datetime.fromtimestamp(start, timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "week":
        first = datetime.fromtimestamp(first.timestamp() - 86400 * first.weekday(), timezone.utc)
    elif unit == "month":
        first = first.replace(day=1)
    elif unit == "year":
        first = first.replace(month=1, day=1)
    origin = first.timestamp()
    if unit in ("day", "week"):
        length = 86400.0 * step * (7 if unit == "week" else 1)
        count = int(np.floor((end - origin) / length))
        edges = origin + length * np.arange(count + 1)
    else:
        months = step * (12 if unit == "year" else 1)
        edges = [origin]
        while True:
            month_index = first.month - 1 + months * len(edges)
            edge = calendar.timegm((first.year + month_index // 12, month_index % 12 + 1, 1, 0, 0, 0))
            if edge > end:
                break
            edges.append(float(edge))
        edges = np.array(edges)
    return edges, bool(edges[-1] < end)
