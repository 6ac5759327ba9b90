"""core.weights and core.local_stats against independent computations: the textbook formulas
written out densely here, esda/ArcGIS reference values on Columbus (METHODS.md 2.8), a
brute-force permutation test and a hand-worked Benjamini-Hochberg example."""

import csv
import json
import os

import numpy as np
import pytest
from scipy import sparse, stats

from hotspot_policing.core import local_stats, weights

REFERENCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


@pytest.fixture(scope="module")
def columbus():
    with open(os.path.join(REFERENCE, "columbus.csv"), encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    with open(os.path.join(REFERENCE, "columbus_queen_gal.json"), encoding="utf-8") as handle:
        gal = json.load(handle)
    with open(os.path.join(REFERENCE, "reference_values_esda.json"), encoding="utf-8") as handle:
        reference = json.load(handle)
    position = {polygon: i for i, polygon in enumerate(gal["id_order"])}
    pairs = [(position[int(k)], position[m]) for k, ns in gal["neighbors"].items() for m in ns]
    rows_, cols_ = zip(*pairs)
    queen = sparse.csr_matrix((np.ones(len(pairs)), (rows_, cols_)), shape=(49, 49))
    column = lambda name: np.array([float(r[name]) for r in rows])  # noqa: E731
    return {"crime": column("CRIME"), "x": column("X"), "y": column("Y"), "queen": queen, "reference": reference}


def textbook_gi_star(x, w):
    """Ord & Getis (1995) Gi*, dense, self weight already in w (METHODS.md 2.1)."""
    n = len(x)
    mean = x.mean()
    s = np.sqrt((x**2).mean() - mean**2)
    out = []
    for i in range(n):
        wi = w[i]
        out.append((wi @ x - mean * wi.sum()) / (s * np.sqrt((n * (wi**2).sum() - wi.sum() ** 2) / (n - 1))))
    return np.array(out)


def textbook_local_moran(x, w):
    """Anselin (1995) Local Moran with ArcGIS's moments, dense (METHODS.md 2.6)."""
    n = len(x)
    z = x - x.mean()
    m2 = (z**2).sum() / (n - 1)
    b2 = ((z**4).sum() / (n - 1)) / m2**2
    index, score = [], []
    for i in range(n):
        wi = w[i]
        ii = z[i] / m2 * sum(wi[j] * z[j] for j in range(n) if j != i)
        w1, w2 = wi.sum(), (wi**2).sum()
        e = -w1 / (n - 1)
        v = w2 * (n - b2) / (n - 1) + (w1**2 - w2) * (2 * b2 - n) / ((n - 1) * (n - 2)) - w1**2 / (n - 1) ** 2
        index.append(ii)
        score.append((ii - e) / np.sqrt(v))
    return np.array(index), np.array(score)


def grid_points(rows=12, cols=15, spacing=100.0):
    gx, gy = np.meshgrid(np.arange(cols) * spacing, np.arange(rows) * spacing)
    return gx.ravel(), gy.ravel()


def test_gi_star_matches_esda_and_arcgis_reference_on_columbus(columbus):
    reference = columbus["reference"]
    crime, x, y = columbus["crime"], columbus["x"], columbus["y"]
    cases = {
        "columbus_gistar_queen_binary_selfweight1": columbus["queen"],
        "columbus_gistar_distband10_binary": weights.distance_band(x, y, 10.0),
        "columbus_gistar_knn5_binary": weights.k_nearest(x, y, 5),
    }
    for key, w in cases.items():
        np.testing.assert_allclose(local_stats.gi_star(crime, weights.with_self(w)), reference[key], atol=1e-9, err_msg=key)


def test_gi_star_equals_the_textbook_formula_on_an_irregular_pattern():
    rng = np.random.default_rng(4)
    x, y = rng.random(150) * 1000, rng.random(150) * 1000
    values = rng.gamma(2.0, 3.0, 150)
    w = weights.with_self(weights.distance_band(x, y, 160.0))
    np.testing.assert_allclose(local_stats.gi_star(values, w), textbook_gi_star(values, w.toarray()), atol=1e-6)
    # Row standardisation (self weight in the row) changes nothing, as ArcGIS notes.
    np.testing.assert_allclose(local_stats.gi_star(values, weights.row_standardised(w)), textbook_gi_star(values, w.toarray()), atol=1e-6)


def test_local_moran_matches_reference_and_textbook(columbus):
    reference = columbus["reference"]
    w = weights.row_standardised(columbus["queen"])
    index, score, _ = local_stats.local_moran(columbus["crime"], w)
    np.testing.assert_allclose(index, reference["columbus_local_moran_arcgis_style_R"]["LMiIndex"], atol=1e-9)
    np.testing.assert_allclose(score, reference["columbus_local_moran_arcgis_style_R"]["LMiZScore"], atol=1e-6)
    np.testing.assert_allclose(index, reference["columbus_local_moran_queen_R"]["Is"], atol=1e-9)
    dense_index, dense_score = textbook_local_moran(columbus["crime"], w.toarray())
    np.testing.assert_allclose(index, dense_index, atol=1e-9)
    np.testing.assert_allclose(score, dense_score, atol=1e-9)


def test_local_moran_on_a_grid_equals_the_textbook_formula():
    x, y = grid_points()
    values = np.random.default_rng(8).poisson(3.0, len(x)).astype(float)
    w = weights.row_standardised(weights.distance_band(x, y, 150.0))
    index, score, _ = local_stats.local_moran(values, w)
    dense_index, dense_score = textbook_local_moran(values, w.toarray())
    np.testing.assert_allclose(index, dense_index, atol=1e-9)
    np.testing.assert_allclose(score, dense_score, atol=1e-6)


def test_cluster_types_follow_arcgis(columbus):
    w = weights.row_standardised(columbus["queen"])
    index, score, lag = local_stats.local_moran(columbus["crime"], w)
    significant = local_stats.two_sided_p(score) <= 0.05
    types = local_stats.cluster_types(columbus["crime"], lag, score, significant)
    # METHODS.md 2.8: analytic COType at p <= 0.05 on Columbus: 6 HH, 4 LL, 1 LH, 38 not significant.
    labels, counts = np.unique(types, return_counts=True)
    assert dict(zip(labels.tolist(), counts.tolist())) == {"": 38, "HH": 6, "LL": 4, "LH": 1}


def test_confidence_bins_with_and_without_fdr(columbus):
    reference = columbus["reference"]
    z = local_stats.gi_star(columbus["crime"], weights.with_self(columbus["queen"]))
    p = local_stats.two_sided_p(z)
    np.testing.assert_array_equal(local_stats.confidence_bins(z, p), reference["columbus_gibin_queen_noFDR"])
    np.testing.assert_array_equal(local_stats.confidence_bins(z, p, fdr=True), reference["columbus_gibin_queen_FDR"])


def test_benjamini_hochberg_hand_worked():
    # m = 10 sorted p-values; alpha = 0.05 -> cut-offs k * 0.005:
    # 0.001 <= .005, 0.008 <= .010, 0.039 > .015, 0.041 > .020, 0.042 > .025, 0.060 > .030 ...
    # largest k with p_(k) <= k alpha / m is k = 2 -> the two smallest are rejected.
    p = np.array([0.042, 0.001, 0.60, 0.039, 0.008, 0.041, 0.06, 0.074, 0.205, 0.5])
    assert np.flatnonzero(local_stats.benjamini_hochberg(p, 0.05)).tolist() == [1, 4]
    # alpha = 0.10 -> cut-offs k * 0.01: k = 6 (0.060 <= 0.06) is the largest passing rank,
    # so ranks 1..6 pass even though rank 3 (0.039 > 0.03) alone would not: step-up.
    assert sorted(np.flatnonzero(local_stats.benjamini_hochberg(p, 0.10)).tolist()) == [0, 1, 3, 4, 5, 6]
    assert not local_stats.benjamini_hochberg(p, 0.001).any()


def test_permutation_p_values_agree_with_a_brute_force_permutation_test(columbus):
    crime, queen = columbus["crime"], columbus["queen"]
    ours = local_stats.permutation_p(crime, queen, permutations=9999, seed=3)
    rng = np.random.default_rng(99)
    draws = 20000
    for i in range(len(crime)):
        neighbours = queen[i].indices
        others = np.delete(crime, i)
        observed = crime[neighbours].sum()
        shuffled = rng.permuted(np.tile(others, (draws, 1)), axis=1)
        sums = shuffled[:, : len(neighbours)].sum(axis=1)
        tail = min((sums >= observed).sum(), (sums <= observed).sum())
        reference = min(1.0, 2 * (tail + 1) / (draws + 1))
        # Monte Carlo error of both estimates: p = 2 q with q a binomial proportion; 4 standard errors.
        q = min(reference / 2, 0.5)
        tolerance = 4 * 2 * np.sqrt(q * (1 - q) * (1 / 9999 + 1 / draws)) + 2e-3
        assert abs(ours[i] - reference) <= tolerance, (i, ours[i], reference)


def test_permutation_p_repeats_with_a_seed_and_handles_isolated_features():
    x, y = grid_points(6, 6)
    values = np.arange(36, dtype=float)
    w = weights.distance_band(x, y, 100.0)
    first = local_stats.permutation_p(values, w, 199, seed=7)
    assert np.array_equal(first, local_stats.permutation_p(values, w, 199, seed=7))
    assert not np.array_equal(first, local_stats.permutation_p(values, w, 199, seed=8))
    isolated = weights.distance_band(np.append(x, 5000.0), np.append(y, 5000.0), 100.0)
    p = local_stats.permutation_p(np.append(values, 3.0), isolated, 99, seed=1)
    assert p[-1] == 1.0


def test_analytic_p_is_two_sided_normal():
    assert local_stats.two_sided_p(np.array([1.96]))[0] == pytest.approx(0.05, abs=1e-4)
    assert local_stats.two_sided_p(np.array([-2.575829]))[0] == pytest.approx(2 * stats.norm.sf(2.575829))


def test_distance_band_is_closed_and_symmetric():
    # esda doctest points: the pair at exactly 15 is a neighbour under a band of 15.
    x = np.array([10.0, 20.0, 40.0, 15.0, 30.0, 30.0])
    y = np.array([10.0, 10.0, 10.0, 20.0, 20.0, 30.0])
    w = weights.distance_band(x, y, 15.0).toarray()
    dense = (np.hypot(x[:, None] - x, y[:, None] - y) <= 15.0) & ~np.eye(6, dtype=bool)
    np.testing.assert_array_equal(w, dense.astype(float))
    # The esda doctest's Gi and Gi* with that band (METHODS.md 2.8).
    values = np.array([2, 3, 3.2, 5, 8, 7])
    np.testing.assert_allclose(
        local_stats.gi_star(values, weights.with_self(weights.distance_band(x, y, 15.0))),
        [-1.39727626, -0.28917762, 0.65064964, -0.28917762, 1.23452088, 2.02424331],
        atol=1e-7,
    )


def test_k_nearest_and_contiguity():
    x, y = grid_points(3, 3, 1.0)
    knn = weights.k_nearest(x, y, 4)
    assert (weights.cardinality(knn) == 4).all()
    distances = np.hypot(x[:, None] - x, y[:, None] - y)
    for i in range(9):
        chosen = knn[i].indices
        assert i not in chosen and distances[i, chosen].max() <= np.sort(distances[i])[4] + 1e-12
    # 3 x 3 unit squares: queen neighbours share a corner or an edge.
    vx, vy, owner = [], [], []
    for i, (cx, cy) in enumerate(zip(x, y)):
        for dx, dy in ((0, 0), (1, 0), (1, 1), (0, 1)):
            vx.append(cx + dx)
            vy.append(cy + dy)
            owner.append(i)
    queen = weights.contiguity(np.array(vx), np.array(vy), np.array(owner), 9).toarray()
    expected = (np.maximum(np.abs(x[:, None] - x), np.abs(y[:, None] - y)) == 1).astype(float)
    np.testing.assert_array_equal(queen, expected)
    assert weights.distance_for_one_neighbour(np.array([0.0, 1.0, 5.0]), np.zeros(3)) == 4.0


def test_permutation_p_values_do_not_depend_on_the_row_order_given_an_order():
    from scipy import sparse

    from hotspot_policing.core.local_stats import permutation_p
    from hotspot_policing.core.weights import k_nearest

    rng = np.random.default_rng(4)
    x, y, values = rng.uniform(0, 100, 300), rng.uniform(0, 100, 300), rng.poisson(3, 300).astype(float)
    ids = rng.permutation(10_000)[:300]  # feature ids, as a layer's
    neighbours = k_nearest(x, y, 6)
    first = permutation_p(values, neighbours, 199, seed=5, order=np.argsort(ids))
    shuffle = rng.permutation(300)  # the same features read in another order
    moved = sparse.csr_matrix(neighbours.toarray()[shuffle][:, shuffle])
    second = permutation_p(values[shuffle], moved, 199, seed=5, order=np.argsort(ids[shuffle]))
    np.testing.assert_array_equal(second, first[shuffle])
    # without an order the draws follow the rows, so the p-values move with them
    assert not np.array_equal(permutation_p(values[shuffle], moved, 199, seed=5), first[shuffle])


def test_permutations_beyond_memory_are_refused_and_large_ones_work_in_small_chunks():
    from hotspot_policing.core import InputError
    from hotspot_policing.core.local_stats import MAX_DRAWS, permutation_p
    from hotspot_policing.core.weights import k_nearest

    rng = np.random.default_rng(2)
    x, y, values = rng.uniform(0, 100, 200), rng.uniform(0, 100, 200), rng.poisson(3, 200).astype(float)
    neighbours = k_nearest(x, y, 8)
    with pytest.raises(InputError, match="permutations of up to 8 neighbours"):
        permutation_p(values, neighbours, MAX_DRAWS // 9 + 1, seed=1)
    # many permutations: the same p-values whatever the chunk (memory stays bounded)
    np.testing.assert_array_equal(permutation_p(values, neighbours, 9999, seed=3), permutation_p(values, neighbours, 9999, seed=3, chunk=7))
