"""core.emerging against independent references written from METHODS.md section 3 (not from the code):

* space-time Gi*: an explicit dense (L*T x L*T) weight matrix built bin by bin from the definition of
  the backward-looking neighbourhood, and the Ord & Getis (1995) formula written out here; also PySAL
  esda's G_Local(star=True, transform="B") on the same space-time weights;
* Mann-Kendall: the worked values of METHODS 3.2, a brute-force double loop, scipy's kendalltau;
* the 17 categories: one hand-made series per category, the edge cases of the formalisation (3.3),
  and a per-location re-implementation of the rules on many random bin series;
* calendar steps: expected edges built with datetime and calendar from the standard library.
"""

import calendar
import itertools
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from scipy import sparse, stats

from hotspot_policing.core import emerging

# -- helpers: spatial neighbours ------------------------------------------------------------------


def grid_neighbours(rows, cols, kind):
    """Rook or queen contiguity of a rows x cols grid of cells (cell index r * cols + c), dense,
    binary, no self links."""
    r, c = np.divmod(np.arange(rows * cols), cols)
    dr, dc = np.abs(r[:, None] - r[None, :]), np.abs(c[:, None] - c[None, :])
    if kind == "rook":
        adjacency = dr + dc == 1
    else:
        adjacency = (np.maximum(dr, dc) == 1) & (dr + dc > 0)
    return adjacency.astype(float)


def knn_neighbours(n, k, seed):
    """k nearest neighbours of random points: an ASYMMETRIC binary matrix, row s = the neighbours of s."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 100, (n, 2))
    d = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    np.fill_diagonal(d, np.inf)
    adjacency = np.zeros((n, n))
    nearest = np.argsort(d, axis=1)[:, :k]
    adjacency[np.repeat(np.arange(n), k), nearest.ravel()] = 1.0
    assert (adjacency != adjacency.T).any()
    return adjacency


# -- helpers: the space-time Gi* reference --------------------------------------------------------


def space_time_weights(adjacency, steps, n_steps):
    """Dense binary space-time weights over bins k = s * T + t, from the definition (METHODS 3.1):
    the neighbourhood of (s, t) is {(s', t') : s' = s or s' a spatial neighbour of s, t - N <= t' <= t},
    self included."""
    n_locations = len(adjacency)
    size = n_locations * n_steps
    w = np.zeros((size, size))
    for s in range(n_locations):
        spatial = [s] + [other for other in range(n_locations) if adjacency[s, other]]
        for t in range(n_steps):
            for other in spatial:
                for earlier in range(max(0, t - steps), t + 1):
                    w[s * n_steps + t, other * n_steps + earlier] = 1.0
    return w


def textbook_gi_star(x, w):
    """Ord & Getis (1995) Gi*, the ArcGIS form (METHODS 2.1): global mean and population S over all n
    features, sums over j including i (the self weight is already in w)."""
    n = len(x)
    mean = x.sum() / n
    s = np.sqrt((x**2).sum() / n - mean**2)
    z = np.empty(n)
    for i in range(n):
        wi = w[i]
        sum_w, sum_w2 = wi.sum(), (wi**2).sum()
        z[i] = (wi @ x - mean * sum_w) / (s * np.sqrt((n * sum_w2 - sum_w**2) / (n - 1)))
    return z


def reference_cube_z(values, adjacency, steps):
    n_locations, n_steps = values.shape
    w = space_time_weights(adjacency, steps, n_steps)
    return textbook_gi_star(values.ravel(), w).reshape(n_locations, n_steps)


def random_cube(n_locations, n_steps, seed):
    """Poisson counts with a few trending locations and plenty of zeros."""
    rng = np.random.default_rng(seed)
    base = rng.gamma(1.5, 1.5, n_locations)[:, None]
    trend = rng.normal(0, 0.15, n_locations)[:, None] * np.arange(n_steps)[None, :]
    return rng.poisson(np.clip(base + trend, 0, None)).astype(float)


GRIDS = [(3, 4, "rook"), (4, 5, "queen"), (5, 5, "rook"), (4, 6, "queen")]


@pytest.mark.parametrize("rows,cols,kind", GRIDS)
@pytest.mark.parametrize("steps", [0, 1, 2])
def test_space_time_gi_star_equals_the_dense_textbook_reference(rows, cols, kind, steps):
    adjacency = grid_neighbours(rows, cols, kind)
    values = random_cube(rows * cols, 7, seed=rows * 100 + cols * 10 + steps)
    z = emerging.space_time_gi_star(values, sparse.csr_matrix(adjacency), steps)
    assert z.shape == values.shape
    np.testing.assert_allclose(z, reference_cube_z(values, adjacency, steps), rtol=0, atol=1e-9)


@pytest.mark.parametrize("steps", [0, 1, 2, 3, 6, 9])
def test_steps_beyond_the_series_and_a_single_step(steps):
    """N >= T - 1: every bin reaches back to the first step; T = 1 is plain Gi* whatever N."""
    adjacency = grid_neighbours(4, 4, "queen")
    values = random_cube(16, 4, seed=steps)
    np.testing.assert_allclose(
        emerging.space_time_gi_star(values, sparse.csr_matrix(adjacency), steps), reference_cube_z(values, adjacency, steps), atol=1e-9
    )
    single = values[:, :1] + np.arange(16)[:, None]
    np.testing.assert_allclose(
        emerging.space_time_gi_star(single, sparse.csr_matrix(adjacency), steps), reference_cube_z(single, adjacency, steps), atol=1e-9
    )


def test_first_steps_have_fewer_temporal_neighbours_by_hand():
    """One location, no spatial neighbours, N = 1, x = (1, 2, 3, 6): neighbourhoods {0}, {0,1}, {1,2},
    {2,3}; mean 3, S = sqrt(50/4 - 9) = sqrt(3.5); z_t = (sum - 3 W) / (S sqrt((4 W - W^2) / 3))."""
    values = np.array([[1.0, 2.0, 3.0, 6.0]])
    s = np.sqrt(3.5)
    expected = [
        (1 - 3) / (s * np.sqrt((4 - 1) / 3)),
        (3 - 6) / (s * np.sqrt((8 - 4) / 3)),
        (5 - 6) / (s * np.sqrt((8 - 4) / 3)),
        (9 - 6) / (s * np.sqrt((8 - 4) / 3)),
    ]
    z = emerging.space_time_gi_star(values, sparse.csr_matrix((1, 1)), 1)
    np.testing.assert_allclose(z[0], expected, atol=1e-12)


def test_rows_of_the_neighbour_matrix_are_the_neighbours_of_each_location():
    """Asymmetric k-nearest-neighbour weights: row s lists the neighbours of s (as in esda and the rest
    of core), so the direction of each link matters."""
    adjacency = knn_neighbours(12, 3, seed=4)
    values = random_cube(12, 6, seed=8)
    for steps in (0, 1, 2):
        z = emerging.space_time_gi_star(values, sparse.csr_matrix(adjacency), steps)
        np.testing.assert_allclose(z, reference_cube_z(values, adjacency, steps), atol=1e-9)


def test_any_sparse_format_and_dtype_of_the_neighbour_matrix():
    adjacency = grid_neighbours(4, 4, "queen")
    values = random_cube(16, 8, seed=2)
    expected = reference_cube_z(values, adjacency, 1)
    for matrix in (sparse.csr_matrix(adjacency), sparse.csc_matrix(adjacency), sparse.coo_matrix(adjacency.astype(bool))):
        np.testing.assert_allclose(emerging.space_time_gi_star(values, matrix, 1), expected, atol=1e-9)


def test_larger_cube_with_large_counts():
    adjacency = grid_neighbours(6, 7, "queen")
    rng = np.random.default_rng(21)
    values = rng.poisson(rng.uniform(0, 400, (42, 1)) * np.linspace(0.5, 1.5, 12)[None, :]).astype(float)
    for steps in (0, 1, 2):
        z = emerging.space_time_gi_star(values, sparse.csr_matrix(adjacency), steps)
        np.testing.assert_allclose(z, reference_cube_z(values, adjacency, steps), atol=1e-9)


@pytest.mark.filterwarnings("ignore:The weights matrix is not fully connected")  # N = 0: one component per step
@pytest.mark.parametrize("rows,cols,kind", GRIDS + [(7, 6, "queen")])
@pytest.mark.parametrize("steps", [0, 1, 2])
def test_space_time_gi_star_equals_esda(rows, cols, kind, steps):
    esda = pytest.importorskip("esda")
    libpysal_weights = pytest.importorskip("libpysal.weights")
    adjacency = grid_neighbours(rows, cols, kind)
    n_steps = 9
    values = random_cube(rows * cols, n_steps, seed=rows * cols + steps)
    w = space_time_weights(adjacency, steps, n_steps)
    np.fill_diagonal(w, 0.0)  # esda adds the self weight itself with star=True
    pysal_w = libpysal_weights.WSP(sparse.csr_matrix(w)).to_W(silence_warnings=True)
    theirs = esda.G_Local(values.ravel(), pysal_w, transform="B", star=True, permutations=0)
    ours = emerging.space_time_gi_star(values, sparse.csr_matrix(adjacency), steps)
    assert np.abs(ours.ravel() - theirs.Zs).max() <= 1e-9


# -- Mann-Kendall ---------------------------------------------------------------------------------


def reference_mann_kendall(x):
    """S, Var(S) (tie-corrected), continuity-corrected Z, two-sided p, uncorrected Z, by brute force."""
    x = [float(value) for value in x]
    n = len(x)
    s = 0
    for i in range(n):
        for j in range(i + 1, n):
            s += (x[j] > x[i]) - (x[j] < x[i])
    ties = [x.count(value) for value in set(x)]
    var = (n * (n - 1) * (2 * n + 5) - sum(t * (t - 1) * (2 * t + 5) for t in ties)) / 18
    if var == 0:
        return s, var, 0.0, 1.0, 0.0
    z = (s - 1) / np.sqrt(var) if s > 0 else (s + 1) / np.sqrt(var) if s < 0 else 0.0
    return s, var, z, 2 * stats.norm.sf(abs(z)), s / np.sqrt(var)


WORKED = [
    # METHODS 3.2: series, S, Var, corrected Z, uncorrected Z
    (np.arange(1.0, 11.0), 45, 125.0, 3.935480, 4.024922),
    (np.array([-0.5, 1.2, 0.8, 2.1, 1.9, 2.5, 3.3, 2.9, 3.8, 4.1]), 39, 125.0, 3.398823, 3.488266),
    (np.array([3.0, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5]), 16, 159.3333, 1.188332, 1.267555),
]


@pytest.mark.parametrize("series,s,var,z,z_uncorrected", WORKED)
def test_mann_kendall_worked_values(series, s, var, z, z_uncorrected):
    ref = reference_mann_kendall(series)
    assert ref[0] == s and ref[1] == pytest.approx(var, abs=1e-4)
    assert ref[2] == pytest.approx(z, abs=1e-6) and ref[4] == pytest.approx(z_uncorrected, abs=1e-6)
    ours_z, ours_p = emerging.mann_kendall(series[None, :])
    assert ours_z.shape == (1,) and ours_p.shape == (1,)
    assert ours_z[0] == pytest.approx(z, abs=1e-6)
    assert ours_p[0] == pytest.approx(2 * stats.norm.sf(abs(ours_z[0])), rel=1e-9)
    assert ours_p[0] == pytest.approx(ref[3], rel=1e-6)


def test_worked_tied_series_uncorrected_p_is_kendalltau():
    series = WORKED[2][0]
    ours_z, _ = emerging.mann_kendall(series[None, :])
    s = 16
    uncorrected = ours_z[0] * s / (s - 1)  # Z = (S - 1)/sqrt(Var)  ->  S/sqrt(Var)
    assert 2 * stats.norm.sf(uncorrected) == pytest.approx(0.204957, abs=1e-6)
    tau = stats.kendalltau(np.arange(len(series)), series, method="asymptotic")
    assert 2 * stats.norm.sf(uncorrected) == pytest.approx(tau.pvalue, rel=1e-9)


@pytest.mark.parametrize("n_steps", [3, 4, 10, 13, 52])
def test_mann_kendall_brute_force_many_rows(n_steps):
    rng = np.random.default_rng(n_steps)
    continuous = rng.normal(0, 1, (80, n_steps)) + rng.normal(0, 0.3, (80, 1)) * np.arange(n_steps)
    tied = np.round(continuous)  # many ties
    few = rng.integers(0, 2, (40, n_steps)).astype(float)  # two tie groups
    series = np.vstack([continuous, tied, few, np.full((2, n_steps), 1.5)])
    z, p = emerging.mann_kendall(series)
    assert z.shape == p.shape == (len(series),)
    for row, zi, pi in zip(series, z, p):
        _, _, ref_z, ref_p, _ = reference_mann_kendall(row)
        assert zi == pytest.approx(ref_z, abs=1e-12)
        assert pi == pytest.approx(ref_p, rel=1e-9, abs=1e-15)


def test_mann_kendall_uncorrected_p_equals_kendalltau():
    """Recover S / sqrt(Var) from the corrected Z and S; its two-sided p equals scipy's asymptotic
    Kendall tau test against time (the same tie-corrected variance), with and without ties."""
    rng = np.random.default_rng(5)
    series = np.vstack([rng.normal(0, 1, (30, 15)) + 0.1 * np.arange(15), np.round(rng.normal(0, 1.2, (30, 15)))])
    z, _ = emerging.mann_kendall(series)
    checked = 0
    for row, zi in zip(series, z):
        s = reference_mann_kendall(row)[0]
        if abs(s) < 2:
            continue
        uncorrected = zi * s / (s - np.sign(s))
        tau = stats.kendalltau(np.arange(len(row)), row, method="asymptotic")
        assert 2 * stats.norm.sf(abs(uncorrected)) == pytest.approx(tau.pvalue, rel=1e-9)
        checked += 1
    assert checked > 40


def test_mann_kendall_no_trend_and_all_tied():
    series = np.array(
        [
            [2.0, 2.0, 2.0, 2.0, 2.0],  # Var = 0
            [1.0, 2.0, 3.0, 2.0, 1.0],  # S = 0 with ties
            [0.0, 0.0, 0.0, 0.0, 0.0],
            [5.0, 4.0, 3.0, 2.0, 1.0],
        ]
    )
    assert reference_mann_kendall(series[1])[0] == 0
    z, p = emerging.mann_kendall(series)
    assert list(z[:3]) == [0.0, 0.0, 0.0] and list(p[:3]) == [1.0, 1.0, 1.0]
    assert z[3] == pytest.approx(-9 / np.sqrt(50 / 3), abs=1e-12)  # S = -10, Var = 5 * 4 * 15 / 18
    assert z[3] == pytest.approx(reference_mann_kendall(series[3])[2], abs=1e-12)


def test_mann_kendall_reversed_series_flips_the_sign():
    rng = np.random.default_rng(9)
    series = np.round(rng.normal(0, 2, (50, 11)), 1)
    z, p = emerging.mann_kendall(series)
    z_reversed, p_reversed = emerging.mann_kendall(series[:, ::-1])
    np.testing.assert_allclose(z_reversed, -z, atol=1e-12)
    np.testing.assert_allclose(p_reversed, p, atol=1e-12)


# -- categories -----------------------------------------------------------------------------------

NAMES = {
    0: "No Pattern Detected",
    1: "New Hot Spot",
    2: "Consecutive Hot Spot",
    3: "Intensifying Hot Spot",
    4: "Persistent Hot Spot",
    5: "Diminishing Hot Spot",
    6: "Sporadic Hot Spot",
    7: "Oscillating Hot Spot",
    8: "Historical Hot Spot",
}


def test_pattern_names_are_arcgis_codes():
    expected = dict(NAMES)
    expected.update({-code: name.replace("Hot Spot", "Cold Spot") for code, name in NAMES.items() if code})
    assert emerging.PATTERNS == expected
    assert len(emerging.PATTERNS) == 17


def reference_category(bins, trend_z, trend_p, alpha=0.05):
    """METHODS 3.3's formalisation for one location, written independently (integer arithmetic for
    the 90 %: H/T >= 0.9 <=> 10 H >= 9 T)."""
    bins = list(bins)
    n = len(bins)
    hot = [b > 0 for b in bins]
    cold = [b < 0 for b in bins]
    if not any(hot) and not any(cold):
        return 0
    if hot[-1] or 10 * sum(hot) >= 9 * n:
        sign, mine, other = 1, hot, cold
    elif cold[-1] or 10 * sum(cold) >= 9 * n:
        sign, mine, other = -1, cold, hot
    else:
        return 0
    count = sum(mine)
    mostly = 10 * count >= 9 * n
    significant = trend_p <= alpha
    run = 0
    for flag in reversed(mine):
        if not flag:
            break
        run += 1
    if mostly and mine[-1]:
        # the intensity of clustering grows: z up for hot spots, z down (more negative) for cold spots
        if significant and sign * trend_z > 0:
            code = 3
        elif significant and sign * trend_z < 0:
            code = 5
        else:
            code = 4
    elif mostly:
        code = 8
    elif mine[-1] and count == 1:
        code = 1
    elif mine[-1] and run >= 2 and run == count:
        code = 2
    elif mine[-1] and sum(other) >= 1:
        code = 7
    elif mine[-1]:
        code = 6
    else:
        code = 0
    return sign * code


def series(text):
    """'..+-..3' -> bins: '.' 0, '+' 1, '-' -1, digits 1..3 hot, letters a..c cold -1..-3."""
    table = {".": 0, "+": 1, "-": -1, "1": 1, "2": 2, "3": 3, "a": -1, "b": -2, "c": -3}
    return [table[ch] for ch in text]


UP, DOWN, FLAT = (3.5, 0.0005), (-3.5, 0.0005), (0.4, 0.69)

# (name, bins, trend, expected code)
CASES = [
    ("no pattern: all zeros", "..........", FLAT, 0),
    ("new hot", ".........2", FLAT, 1),
    ("consecutive hot", ".......123", FLAT, 2),
    ("intensifying hot", "1223333333", UP, 3),
    ("persistent hot", "2222222222", FLAT, 4),
    ("diminishing hot", "3333333333", DOWN, 5),
    ("sporadic hot", ".+..2.+..+", FLAT, 6),
    ("oscillating hot", "-.+.b..+.+", FLAT, 7),
    ("historical hot", "+++++++++.", FLAT, 8),
    ("new cold", ".........b", FLAT, -1),
    ("consecutive cold", ".......abc", FLAT, -2),
    ("intensifying cold", "abbccccccc", DOWN, -3),
    ("persistent cold", "bbbbbbbbbb", FLAT, -4),
    ("diminishing cold", "cccccccccc", UP, -5),
    ("sporadic cold", ".-..b.-..-", FLAT, -6),
    ("oscillating cold", "+.-.2..-.-", FLAT, -7),
    ("historical cold", "---------.", FLAT, -8),
    # edges of the formalisation
    ("90 % exactly (9 of 10), final hot, flat", ".+++++++++", FLAT, 4),
    ("90 % exactly (9 of 10), final hot, up", "+.++++++++", UP, 3),
    ("90 % exactly (9 of 10) but not final -> historical, trend ignored", "+++++++++.", UP, 8),
    ("80 %: one run of 8 ending at T is consecutive, not persistent", "..++++++++", UP, 2),
    ("80 %, broken, no cold -> sporadic even with a trend", "+.+.++++++", UP, 6),
    ("no pattern: hot earlier, final not hot, < 90 %", ".+.++.....", FLAT, 0),
    ("no pattern: hot and cold earlier, final zero", "+-+-......", DOWN, 0),
    ("new with an earlier cold bin (New comes before Oscillating)", "ab.......+", FLAT, 1),
    ("a final run of one with an earlier hot bin is sporadic, not consecutive", ".+.......+", FLAT, 6),
    ("a hot run broken earlier is not consecutive", ".+.....+++", FLAT, 6),
    ("a hot run broken earlier, with a cold bin: oscillating", ".+a....+++", FLAT, 7),
    ("consecutive with earlier cold bins (Consecutive comes before Oscillating)", "aa.....+++", FLAT, 2),
    ("historical hot, though the final step is cold", "+++++++++a", FLAT, 8),
    ("90 % cold then a final hot: the hot side comes first -> new hot", "aaaaaaaaa+", FLAT, 1),
    ("90 % cold then a final zero -> historical cold", "aaaaaaaaa.", DOWN, -8),
    ("cold side: consecutive cold after earlier hot bins", "++.....aaa", FLAT, -2),
    ("sporadic hot with a significant trend stays sporadic", "+.+.+.+..+", UP, 6),
    ("bin magnitudes do not matter", "3.1.2.3..1", FLAT, 6),
]


@pytest.mark.parametrize("name,text,trend,code", CASES, ids=[case[0] for case in CASES])
def test_each_category_by_hand(name, text, trend, code):
    bins = np.array([series(text)])
    assert reference_category(bins[0], *trend) == code  # the reference agrees with the hand value
    result = emerging.classify(bins, np.array([trend[0]]), np.array([trend[1]]))
    assert result.shape == (1,)
    assert int(result[0]) == code, f"{name}: {text} -> {int(result[0])} ({emerging.PATTERNS.get(int(result[0]))}), expected {code}"


def test_every_category_in_one_call():
    bins = np.array([series(text) for _, text, _, _ in CASES])
    z = np.array([trend[0] for _, _, trend, _ in CASES])
    p = np.array([trend[1] for _, _, trend, _ in CASES])
    result = emerging.classify(bins, z, p)
    assert np.issubdtype(result.dtype, np.integer)
    assert result.tolist() == [code for *_, code in CASES]
    assert set(result.tolist()) == set(NAMES) | {-c for c in NAMES}


@pytest.mark.parametrize("n_steps", [10, 20, 30, 50])
def test_exactly_90_percent_for_several_lengths(n_steps):
    """H = 0.9 T exactly counts as 90 % (and 0.9 T - 1 does not), whatever T."""
    h = 9 * n_steps // 10
    exactly = [0] * (n_steps - h) + [1] * h
    short = [0] * (n_steps - h + 1) + [1] * (h - 1)
    historical = [1] * h + [0] * (n_steps - h)
    bins = np.array([exactly, short, historical, [-b for b in exactly], [-b for b in historical]])
    result = emerging.classify(bins, np.zeros(5), np.ones(5))
    assert result.tolist() == [4, 2, 8, -4, -8]


def test_90_percent_is_a_fraction_not_int_of_0_9_t():
    """T = 12: 10 hot steps are 83 % (int(0.9 * 12) = 10 would call them 90 %); 11 are 92 %."""
    ten = [0, 0] + [1] * 10
    eleven = [0] + [1] * 11
    result = emerging.classify(np.array([ten, eleven]), np.array([3.0, 3.0]), np.array([0.001, 0.001]))
    assert result.tolist() == [2, 3]


def test_trend_significance_threshold_and_alpha():
    bins = np.array([[1] * 10] * 4)
    z = np.array([2.5, 2.5, -2.5, -2.5])
    p = np.array([0.05, 0.0500001, 0.03, 0.03])
    assert emerging.classify(bins, z, p).tolist() == [3, 4, 5, 5]  # p == alpha is significant
    assert emerging.classify(bins, z, p, alpha=0.01).tolist() == [4, 4, 4, 4]
    assert emerging.classify(-bins, z, p, alpha=0.1).tolist() == [-5, -5, -3, -3]


def random_bins(rng, count, n_steps):
    """Bin series of many shapes: sparse noise, mostly hot or cold with gaps, final runs, flips."""
    out = np.zeros((count, n_steps), dtype=int)
    for row in out:
        kind = rng.integers(0, 7)
        if kind == 0:  # sparse noise
            row[:] = rng.choice([-3, -2, -1, 0, 1, 2, 3], n_steps, p=[0.05, 0.05, 0.1, 0.6, 0.1, 0.05, 0.05])
        elif kind in (1, 2):  # mostly one sign, a few gaps or opposite bins
            sign = 1 if kind == 1 else -1
            row[:] = sign * rng.integers(1, 4, n_steps)
            gaps = rng.integers(0, 4)
            where = rng.choice(n_steps, gaps, replace=False)
            row[where] = rng.choice([0, 0, -sign], gaps)
        elif kind == 3:  # a final run, maybe with earlier bins
            length = rng.integers(1, n_steps + 1)
            sign = rng.choice([-1, 1])
            row[n_steps - length :] = sign
            if rng.random() < 0.5:
                earlier = rng.integers(0, max(1, n_steps - length))
                row[earlier] = rng.choice([-1, 1]) if earlier < n_steps - length - 1 else 0
        elif kind == 4:  # a single bin anywhere
            row[rng.integers(n_steps)] = rng.choice([-2, 2])
        elif kind == 5:  # alternating
            row[:] = np.where(rng.random(n_steps) < 0.5, 1, -1) * (rng.random(n_steps) < 0.7)
        else:  # all zeros or all one sign
            row[:] = rng.choice([-1, 0, 1])
    return out


@pytest.mark.parametrize("n_steps", [10, 12, 20, 30])
def test_classify_equals_the_reference_on_random_series(n_steps):
    rng = np.random.default_rng(n_steps)
    bins = random_bins(rng, 4000, n_steps)
    trend_z = rng.normal(0, 2.5, len(bins))
    trend_p = np.where(rng.random(len(bins)) < 0.8, 2 * stats.norm.sf(np.abs(trend_z)), rng.random(len(bins)))
    trend_p[rng.random(len(bins)) < 0.05] = 0.05  # p exactly alpha
    result = emerging.classify(bins, trend_z, trend_p)
    expected = np.array([reference_category(b, z, p) for b, z, p in zip(bins, trend_z, trend_p)])
    wrong = np.flatnonzero(result != expected)
    assert wrong.size == 0, [(bins[i].tolist(), trend_z[i], trend_p[i], int(result[i]), int(expected[i])) for i in wrong[:5]]
    assert set(expected.tolist()) == set(range(-8, 9))  # the random series reach every category


# -- calendar steps -------------------------------------------------------------------------------

UTC = timezone.utc
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def seconds(*args):
    return (datetime(*args, tzinfo=UTC) - EPOCH).total_seconds()


def reference_steps(start, end, step, unit):
    """Calendar-aligned complete steps with datetime: floor the start, add step units until past end."""
    day = (EPOCH + timedelta(seconds=start)).replace(hour=0, minute=0, second=0, microsecond=0)
    first = {
        "day": day,
        "week": day - timedelta(days=day.weekday()),
        "month": day.replace(day=1),
        "year": day.replace(month=1, day=1),
    }[unit]

    def edge(k):
        if unit == "day":
            return first + timedelta(days=k * step)
        if unit == "week":
            return first + timedelta(weeks=k * step)
        if unit == "month":
            months = first.month - 1 + k * step
            return first.replace(year=first.year + months // 12, month=months % 12 + 1)
        return first.replace(year=first.year + k * step)

    edges = []
    for k in itertools.count():
        value = (edge(k) - EPOCH).total_seconds()
        if value > end:
            break
        edges.append(value)
    return edges, bool(edges) and edges[-1] < end


def check_steps(start, end, step, unit, expected_dates, dropped):
    edges, was_dropped = emerging.calendar_steps(start, end, step, unit)
    expected = [seconds(*d) for d in expected_dates]
    np.testing.assert_array_equal(np.asarray(edges, dtype=float), expected)
    assert bool(was_dropped) is dropped
    assert reference_steps(start, end, step, unit) == (expected, dropped)


def test_months_from_january_31():
    # 2023-01-31 10:00 floors to 1 January; February has 28 days; end 2023-05-15 drops May
    check_steps(
        seconds(2023, 1, 31, 10),
        seconds(2023, 5, 15),
        1,
        "month",
        [(2023, 1, 1), (2023, 2, 1), (2023, 3, 1), (2023, 4, 1), (2023, 5, 1)],
        True,
    )


def test_months_across_the_year_change_end_on_an_edge():
    check_steps(
        seconds(2022, 11, 15, 23, 59, 59),
        seconds(2023, 3, 1),
        1,
        "month",
        [(2022, 11, 1), (2022, 12, 1), (2023, 1, 1), (2023, 2, 1), (2023, 3, 1)],
        False,
    )


def test_three_month_steps():
    check_steps(
        seconds(2023, 1, 9), seconds(2024, 1, 1), 3, "month", [(2023, 1, 1), (2023, 4, 1), (2023, 7, 1), (2023, 10, 1), (2024, 1, 1)], False
    )
    # from the start's own month (not a calendar quarter), across the year change, a partial step dropped
    check_steps(
        seconds(2023, 2, 10), seconds(2024, 3, 1), 3, "month", [(2023, 2, 1), (2023, 5, 1), (2023, 8, 1), (2023, 11, 1), (2024, 2, 1)], True
    )


def test_weeks_start_on_monday():
    assert calendar.weekday(2024, 1, 3) == calendar.WEDNESDAY and calendar.weekday(2024, 1, 1) == calendar.MONDAY
    # a Wednesday start floors to Monday 1 January 2024; end Thursday 1 February drops the week of 29 January
    check_steps(
        seconds(2024, 1, 3, 14, 30),
        seconds(2024, 2, 1),
        1,
        "week",
        [(2024, 1, 1), (2024, 1, 8), (2024, 1, 15), (2024, 1, 22), (2024, 1, 29)],
        True,
    )
    # a Sunday start floors to the Monday six days before; 1 January 1970 was a Thursday
    assert calendar.weekday(2023, 12, 31) == calendar.SUNDAY
    check_steps(seconds(2023, 12, 31, 23), seconds(2024, 1, 8), 1, "week", [(2023, 12, 25), (2024, 1, 1), (2024, 1, 8)], False)
    # a Monday 00:00 start is its own edge; two-week steps
    check_steps(seconds(2024, 1, 1), seconds(2024, 2, 5), 2, "week", [(2024, 1, 1), (2024, 1, 15), (2024, 1, 29)], True)


def test_days():
    check_steps(
        seconds(2024, 2, 27, 13, 45),
        seconds(2024, 3, 2),
        1,
        "day",
        [(2024, 2, 27), (2024, 2, 28), (2024, 2, 29), (2024, 3, 1), (2024, 3, 2)],
        False,
    )
    check_steps(seconds(2024, 2, 27, 13, 45), seconds(2024, 3, 1, 12), 2, "day", [(2024, 2, 27), (2024, 2, 29)], True)


def test_years():
    check_steps(seconds(2019, 7, 4, 12), seconds(2024, 1, 1), 1, "year", [(y, 1, 1) for y in range(2019, 2025)], False)
    check_steps(seconds(2019, 7, 4, 12), seconds(2024, 6, 30), 2, "year", [(2019, 1, 1), (2021, 1, 1), (2023, 1, 1)], True)


def test_end_exactly_on_an_edge_and_just_after_it():
    check_steps(seconds(2024, 3, 1), seconds(2024, 6, 1), 1, "month", [(2024, 3, 1), (2024, 4, 1), (2024, 5, 1), (2024, 6, 1)], False)
    check_steps(seconds(2024, 3, 1), seconds(2024, 6, 1) + 0.5, 1, "month", [(2024, 3, 1), (2024, 4, 1), (2024, 5, 1), (2024, 6, 1)], True)
    check_steps(seconds(2024, 3, 1), seconds(2024, 6, 1) - 0.5, 1, "month", [(2024, 3, 1), (2024, 4, 1), (2024, 5, 1)], True)


def test_calendar_steps_equal_the_datetime_reference_on_random_spans():
    rng = np.random.default_rng(12)
    for _ in range(300):
        unit = rng.choice(["day", "week", "month", "year"])
        step = int(rng.integers(1, 5))
        span = {"day": 60, "week": 400, "month": 1500, "year": 6000}[unit] * 86400
        start = float(rng.uniform(seconds(1999, 1, 1), seconds(2030, 1, 1)))
        if rng.random() < 0.3:
            start = float(np.floor(start / 86400) * 86400)  # a midnight start
        first_edges, _ = reference_steps(start, start + 10 * span, step, unit)
        end = start + float(rng.uniform(0.2, 1.0)) * span
        if rng.random() < 0.3:  # an end exactly on an edge
            later = [e for e in first_edges if e > start + 0.2 * span]
            end = later[int(rng.integers(0, min(len(later), 5)))]
        expected, dropped = reference_steps(start, end, step, unit)
        edges, was_dropped = emerging.calendar_steps(start, end, step, unit)
        np.testing.assert_array_equal(np.asarray(edges, dtype=float), expected, err_msg=f"{unit} {step} {start} {end}")
        assert bool(was_dropped) is dropped, (unit, step, start, end)
