"""Local statistics of spatial association: Getis-Ord Gi* and Anselin's Local Moran's I,
their significance (analytical, or conditional permutation) and confidence bins with an
optional Benjamini-Hochberg false discovery rate correction (docs/methods.md 2.2-2.5).
"""

import numpy as np
from scipy import stats

from . import InputError, silent
from .weights import cardinality

CONFIDENCE_LEVELS = ((3, 0.01), (2, 0.05), (1, 0.10))
MAX_DRAWS = 50_000_000  # random draws (and simulated sums) held in memory at once: about 400 MB
MAX_SIMULATIONS = 1_000_000_000  # permutations x features: about ten seconds of work


def gi_star(values, weights):
    """Gi* z-scores (Ord & Getis 1995, as ArcGIS's Hot Spot Analysis); ``weights`` must
    already hold the self weight (see weights.with_self). NaN where a feature's weights
    make the statistic undefined (every feature in its neighbourhood)."""
    x = np.asarray(values, dtype=float)
    n = len(x)
    mean = x.mean()
    spread = np.sqrt(max((x * x).mean() - mean * mean, 0.0))
    w_sum = np.asarray(weights.sum(axis=1)).ravel()
    w_sum2 = np.asarray(weights.multiply(weights).sum(axis=1)).ravel()
    numerator = weights @ x - mean * w_sum
    variance_term = (n * w_sum2 - w_sum**2) / (n - 1)
    denominator = spread * np.sqrt(np.maximum(variance_term, 0.0))
    return np.divide(numerator, denominator, out=np.full(n, np.nan), where=denominator > 0)


def local_moran(values, weights):
    """Anselin's Local Moran's I with its z-score under total randomisation (ArcGIS's
    moments, m2 and b2 with divisor n - 1). Returns (I, z, spatial lag of the deviations)."""
    x = np.asarray(values, dtype=float)
    n = len(x)
    z = x - x.mean()
    m2 = (z * z).sum() / (n - 1)
    b2 = ((z**4).sum() / (n - 1)) / m2**2
    lag = weights @ z
    index = z / m2 * lag
    w_sum = np.asarray(weights.sum(axis=1)).ravel()
    w_sum2 = np.asarray(weights.multiply(weights).sum(axis=1)).ravel()
    expected = -w_sum / (n - 1)
    variance = w_sum2 * (n - b2) / (n - 1) + (w_sum**2 - w_sum2) * (2 * b2 - n) / ((n - 1) * (n - 2)) - w_sum**2 / (n - 1) ** 2
    score = np.divide(index - expected, np.sqrt(np.maximum(variance, 0.0)), out=np.full(n, np.nan), where=variance > 0)
    return index, score, lag


def two_sided_p(z):
    """Two-sided normal p-value of a z-score."""
    return 2.0 * stats.norm.sf(np.abs(z))


def cluster_types(values, lag, z_score, significant):
    """ArcGIS's COType: HH or LL for clusters (positive z of I), HL or LH for outliers,
    '' where not significant."""
    high = np.asarray(values) >= np.mean(values)
    cluster = z_score > 0
    labels = np.where(cluster, np.where(lag >= 0, "HH", "LL"), np.where(high & (lag < 0), "HL", "LH"))
    return np.where(significant, labels, "")


def confidence_bins(z, p, fdr=False):
    """Gi_Bin: +-3 (99 %), +-2 (95 %), +-1 (90 %), 0; signed by z. With ``fdr`` the p-values
    must pass the Benjamini-Hochberg step-up at each level (as ArcGIS's FDR option)."""
    p = np.asarray(p, dtype=float)
    bins = np.zeros(len(p), dtype=int)
    for level, alpha in reversed(CONFIDENCE_LEVELS):
        passed = benjamini_hochberg(p, alpha) if fdr else (p <= alpha)
        bins[passed] = level
    return bins * np.sign(np.nan_to_num(z)).astype(int)


def benjamini_hochberg(p, alpha):
    """Which tests the Benjamini-Hochberg (1995) step-up rejects at false discovery rate alpha:
    all ranks up to the largest k with p_(k) <= k * alpha / m (NaN p-values never pass)."""
    p = np.asarray(p, dtype=float)
    valid = np.flatnonzero(np.isfinite(p))
    order = valid[np.argsort(p[valid], kind="stable")]
    m = len(order)
    passed = np.zeros(len(p), dtype=bool)
    below = np.flatnonzero(p[order] <= alpha * np.arange(1, m + 1) / m)
    if len(below):
        passed[order[: below[-1] + 1]] = True
    return passed


def permutation_p(values, neighbours, permutations=999, seed=None, chunk=4096, progress=None, order=None):
    """Two-sided pseudo p-values by conditional permutation (Anselin 1995; esda's scheme):
    x_i stays, its neighbours' values are replaced by draws without replacement from the
    other n - 1 values. ``neighbours`` is binary, without self weights.

    Gi* and Local Moran's I with binary or row-standardised weights are monotone in the sum
    of the neighbours' values, so the test runs on that sum; p = 2 (k + 1) / (R + 1) with k
    the simulations in the smaller tail, as ArcGIS (capped at 1).

    One set of R draws is shared by all features, as esda does. A uniform draw of c of the
    others is made from c + 1 draws of all n values: drop i if it was drawn, else the last
    draw (every c-subset of the others then has probability c! n / (n)_(c+1)).

    ``order`` (e.g. the features sorted by their ids) fixes which feature takes which draws,
    so the p-values do not depend on the order the features were read in (a database returns
    rows in no fixed order)."""
    if order is not None:
        order = np.asarray(order)
        p = np.empty(len(order))
        p[order] = permutation_p(np.asarray(values)[order], neighbours[order][:, order], permutations, seed, chunk, progress)
        return p
    x = np.asarray(values, dtype=float)
    n = len(x)
    count = cardinality(neighbours)
    observed = neighbours @ x
    rng = np.random.default_rng(seed)
    widest = min(int(count.max()) + 1, n)
    if permutations * widest > MAX_DRAWS:
        raise InputError(
            f"{permutations:,} permutations of up to {widest - 1:,} neighbours need {permutations * widest:,} random draws "
            f"(at most {MAX_DRAWS:,}): use fewer permutations (999 is usual) or fewer neighbours."
        )
    if permutations * n > MAX_SIMULATIONS:
        raise InputError(
            f"{permutations:,} permutations for {n:,} features are {permutations * n:,} simulated statistics (at most "
            f"{MAX_SIMULATIONS:,}, about ten seconds): use at most {MAX_SIMULATIONS // n:,} permutations (PERMUTATIONS), "
            "or analytical p-values."
        )
    chunk = max(1, min(chunk, MAX_DRAWS // (4 * permutations)))  # sites x permutations held at once
    draws = np.stack([rng.choice(n, size=widest, replace=False) for _ in range(permutations)])
    prefix = np.concatenate([np.zeros((permutations, 1)), np.cumsum(x[draws], axis=1)], axis=1)
    # position of each drawn feature in its row (features drawn in row r: draws[r])
    row_of_draw = np.repeat(np.arange(permutations), widest)
    position = np.tile(np.arange(widest), permutations)
    drawn_feature = draws.ravel()

    report = progress or silent
    p = np.ones(n)
    testable = np.flatnonzero((count > 0) & (count < n - 1))
    for start in range(0, len(testable), chunk):
        report(start / max(len(testable), 1))
        sites = testable[start : start + chunk]
        c = count[sites]
        # default: the first c + 1 draws minus the last of them
        simulated = prefix[:, c + 1].T - x[draws[:, c]].T
        # where site i itself is among its first c + 1 draws, drop i instead
        local = np.full(n, -1)
        local[sites] = np.arange(len(sites))
        hit = local[drawn_feature] >= 0
        hit[hit] &= position[hit] <= count[drawn_feature[hit]]
        rows, site_index = row_of_draw[hit], local[drawn_feature[hit]]
        simulated[site_index, rows] = prefix[rows, c[site_index] + 1] - x[sites[site_index]]
        above = (simulated >= observed[sites, None] - 1e-9 * np.abs(observed[sites, None])).sum(axis=1)
        below = (simulated <= observed[sites, None] + 1e-9 * np.abs(observed[sites, None])).sum(axis=1)
        p[sites] = np.minimum(1.0, 2.0 * (np.minimum(above, below) + 1) / (permutations + 1))
    return p
