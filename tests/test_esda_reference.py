"""Our local statistics against PySAL esda on the same data (esda is a test dependency only):
analytical z-scores to 1e-9, permutation p-values within Monte Carlo error."""

import esda  # a required test dependency (requirements-test.txt), never skipped
import numpy as np
from libpysal import weights as libpysal_weights

from hotspot_policing.core import local_stats, weights


def lattice(rows=14, cols=17, spacing=100.0, seed=6):
    gx, gy = np.meshgrid(np.arange(cols) * spacing, np.arange(rows) * spacing)
    x, y = gx.ravel(), gy.ravel()
    rng = np.random.default_rng(seed)
    values = rng.poisson(2.0, len(x)).astype(float) + 8 * np.exp(-((x - 600) ** 2 + (y - 500) ** 2) / 2e5)
    return x, y, values


def to_pysal(matrix):
    return libpysal_weights.WSP(matrix.tocsr()).to_W(silence_warnings=True)


def test_gi_star_and_local_moran_equal_esda():
    x, y, values = lattice()
    band = weights.distance_band(x, y, 250.0)
    w = to_pysal(band)
    ours = local_stats.gi_star(values, weights.with_self(band))
    theirs = esda.G_Local(values, w, transform="B", star=True, permutations=0)
    np.testing.assert_allclose(ours, theirs.Zs, atol=1e-9)

    w.transform = "R"
    moran = esda.Moran_Local(values, w, transformation="R", permutations=0)
    index, _, lag = local_stats.local_moran(values, weights.row_standardised(band))
    np.testing.assert_allclose(index, moran.Is, atol=1e-9)
    # esda's quadrants: 1 HH, 2 LH, 3 LL, 4 HL, from the signs of z_i and its lag
    deviation = values - values.mean()
    quadrant = np.select([(deviation > 0) & (lag > 0), (deviation <= 0) & (lag > 0), (deviation <= 0) & (lag <= 0)], [1, 2, 3], 4)
    np.testing.assert_array_equal(quadrant, moran.q)


def test_permutation_p_values_agree_with_esda_within_monte_carlo_error():
    x, y, values = lattice(10, 12, seed=9)
    band = weights.distance_band(x, y, 150.0)
    permutations = 9999
    ours = local_stats.permutation_p(values, band, permutations, seed=5)
    theirs = esda.G_Local(values, to_pysal(band), transform="B", star=True, permutations=permutations, seed=11)
    # esda folds to the smaller tail: p_sim = (min(k_greater, R - k_greater) + 1) / (R + 1),
    # half of our two-sided p (ties aside).
    q = np.minimum(theirs.p_sim, 0.5)
    tolerance = 4 * 2 * np.sqrt(q * (1 - q) * 2 / permutations) + 3e-3
    assert (np.abs(ours - np.minimum(1.0, 2 * theirs.p_sim)) <= tolerance).all()
