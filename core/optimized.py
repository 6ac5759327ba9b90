"""Automatic scale for optimized hot spot analysis (docs/methods.md 2.6): the cell size of the
aggregation grid and the distance band of Gi*."""

import numpy as np
from scipy.spatial import cKDTree

from . import silent
from . import weights as spatial_weights

CELLS_ON_SHORTER_SIDE = 50
ISA_STEPS = 20
ISOLATION = 3.0  # a cell this many times the typical spacing from any other is isolated
WIDEST_BAND = 0.2  # an automatic band reaches at most this share of the area's shorter side


def automatic_cell_size(width, height):
    """The shorter side of the extent / 50, as R's sfhotspot does by default (Ashby 2023)."""
    return min(width, height) / CELLS_ON_SHORTER_SIDE


def global_moran(values, weights):
    """Global Moran's I and its z-score under the normality assumption (Cliff & Ord 1981)."""
    x = np.asarray(values, dtype=float)
    n = len(x)
    z = x - x.mean()
    s0 = weights.sum()
    index = n / s0 * (z @ (weights @ z)) / (z @ z)
    symmetric = weights + weights.T
    s1 = 0.5 * symmetric.multiply(symmetric).sum()
    s2 = ((np.asarray(weights.sum(axis=1)).ravel() + np.asarray(weights.sum(axis=0)).ravel()) ** 2).sum()
    expected = -1.0 / (n - 1)
    variance = (n * n * s1 - n * s2 + 3 * s0 * s0) / ((n * n - 1) * s0 * s0) - expected**2
    return index, (index - expected) / np.sqrt(variance)


def starting_distance(x, y):
    """The first band to try and the cells it leaves isolated: ArcGIS's band giving every
    cell a neighbour, unless a few cells lie more than ISOLATION times the typical (90th
    percentile) nearest-neighbour distance from any other: their distance would set the
    scale of the whole map, so the band starts at the typical one and they stay without
    neighbours (their results NULL). Returns (distance, number of isolated cells)."""
    nearest, _ = cKDTree(np.column_stack([x, y])).query(np.column_stack([x, y]), k=2)
    nearest = nearest[:, 1]
    typical = float(np.percentile(nearest, 90))
    isolated = nearest > ISOLATION * typical
    return (typical, int(isolated.sum())) if isolated.any() else (float(nearest.max()), 0)


def automatic_distance(x, y, values, start, progress=None):
    """ArcGIS's rule: the first peak of global Moran's z over increasing distance bands
    (Incremental Spatial Autocorrelation, from ``start`` in steps of start/2; bands that add
    no neighbour are skipped, so a lattice's plateaus are no peaks); without a peak, the
    mean distance to the k-th nearest neighbour, k = 5 % of the features within
    [3, 30]. Returns (distance, how it was chosen, the z-scores tried)."""
    report = progress or silent
    tried, scores, links = [], [], -1
    for step, d in enumerate(start * (1 + 0.5 * np.arange(ISA_STEPS))):
        report(step / ISA_STEPS)
        w = spatial_weights.distance_band(x, y, d)
        if w.nnz == 0 or w.nnz == links:  # no neighbours yet, or the same neighbours as before
            continue
        links = w.nnz
        tried.append(float(d))
        scores.append(global_moran(values, w)[1])
        if len(scores) >= 3 and scores[-2] > scores[-3] and scores[-2] > scores[-1]:
            return tried[-2], "first peak of spatial autocorrelation", scores
    k = int(np.clip(0.05 * len(x), 3, 30))
    k = min(k, len(x) - 1)
    nearest, _ = cKDTree(np.column_stack([x, y])).query(np.column_stack([x, y]), k=k + 1)
    return float(nearest[:, k].mean()), f"mean distance to the {k}th nearest neighbour (no peak of spatial autocorrelation)", scores
