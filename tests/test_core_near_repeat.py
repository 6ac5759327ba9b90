"""core.near_repeat against independent computations: a brute-force tabulation of every pair
written out here, the Near Repeat Calculator's published tables (NearRepeat's extdata, METHODS.md
7.1), the calculator's own simulated tables, and the distribution of the permutation p-values."""

import csv
import itertools
import os

import numpy as np
import pytest

from hotspot_policing.core import Canceled, InputError
from hotspot_policing.core import near_repeat as nr

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
INF = np.inf


def load(name):
    """x, y and day numbers of a NearRepeat example file (X, Y, date; no header)."""
    with open(os.path.join(DATA, f"nearrepeat_{name}.csv"), encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    x = np.array([float(r[0]) for r in rows])
    y = np.array([float(r[1]) for r in rows])
    days = np.array([r[2] for r in rows], dtype="datetime64[D]").astype(np.int64)
    return x, y, days


def nrc_verbose(name):
    """The Near Repeat Calculator 1.3's verbose output: its observed table and, per cell,
    the simulated counts ("Expected" lines) it drew."""
    with open(os.path.join(DATA, f"nearrepeat_{name}_NRverbose.csv"), encoding="utf-8") as handle:
        lines = [line.rstrip("\r\n") for line in handle]
    start = lines.index("Observed frequencies distribution") + 3
    observed = []
    for line in lines[start:]:
        if not line.strip() or not line[0].isdigit():
            break
        observed.append([int(v) if v else 0 for v in line.split(",")[2:-1]])
    simulated = {}
    for k, line in enumerate(lines):
        if line.startswith("Row ") and " Column " in line:
            row, column = (int(v) - 1 for v in line.split()[1::2])
            values, m = [], k + 1
            while not lines[m].startswith("Observed"):
                values += [int(v) for v in lines[m].split(",")[1:] if v.strip()]
                m += 1
            simulated[row, column] = np.array(values)
    return np.array(observed), simulated


def brute_table(x, y, days, space_edges, time_edges, metric):
    """Every pair i < j, one at a time: distance and day difference, each put in the first
    band [a, b) that holds it (no band: not counted)."""
    table = np.zeros((len(space_edges) - 1, len(time_edges) - 1), dtype=np.int64)
    for i, j in itertools.combinations(range(len(x)), 2):
        dx, dy = x[i] - x[j], y[i] - y[j]
        d = abs(dx) + abs(dy) if metric == "manhattan" else np.sqrt(dx * dx + dy * dy)
        dt = abs(int(days[i]) - int(days[j]))
        s = [k for k in range(len(space_edges) - 1) if space_edges[k] <= d < space_edges[k + 1]]
        t = [k for k in range(len(time_edges) - 1) if time_edges[k] <= dt < time_edges[k + 1]]
        if s and t:
            table[s[0], t[0]] += 1
    return table


def lattice_events(n, seed, side=12, step=50.0, span=40):
    """Events on a 50 m lattice (many distances fall exactly on band edges) with integer days."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, side, n) * step + 440000.0
    y = rng.integers(0, side, n) * step + 4470000.0
    return x, y, rng.integers(0, span, n) + 19000


EDGE_SETS = [
    ([0, 1, 101, 201, 301, 401], [0, 7, 14, 21, 28]),  # the defaults: pairs beyond 401 m / 28 days not counted
    ([0, 1, 100, 200, 300, INF], [0, 7, 14, 21, INF]),  # open last bands (NRC's "more than")
    ([50, 150, 250], [3, 10]),  # first edges above 0: nearer / sooner pairs not counted
    ([25, 100, INF], [0, 2.5, 6.5, INF]),  # fractional day edges, an open band above a hidden one
    ([0, INF], [0, INF]),  # one band: every pair
]


@pytest.mark.parametrize("metric", nr.METRICS)
@pytest.mark.parametrize("edges", EDGE_SETS, ids=[str(k) for k in range(len(EDGE_SETS))])
def test_observed_counts_equal_a_brute_force_tabulation(metric, edges):
    x, y, days = lattice_events(150, seed=3)
    space_edges, time_edges = (np.array(e, dtype=float) for e in edges)
    knox = nr.knox_test(x, y, days, space_edges, time_edges, metric, permutations=1, seed=1)
    expected = brute_table(x, y, days, space_edges, time_edges, metric)
    np.testing.assert_array_equal(knox.observed, expected)
    assert expected.sum() > 0


def test_simulated_tables_equal_a_brute_force_tabulation_of_the_same_permutations():
    """Each permutation's table, re-tabulated pair by pair from the permuted days (the same
    draws: the events in day, x, y order, then numpy's permutation of them)."""
    x, y, days = lattice_events(60, seed=5)
    space_edges, time_edges = np.array([0, 1, 101, 201, INF]), np.array([0, 3, 7, INF])
    permutations = 15
    knox = nr.knox_test(x, y, days, space_edges, time_edges, "euclidean", permutations, seed=42)
    order = np.lexsort((y, x, days))
    xs, ys, ds = x[order], y[order], days[order]
    rng = np.random.default_rng(42)
    tables = np.array([brute_table(xs, ys, ds[rng.permutation(len(xs))], space_edges, time_edges, "euclidean") for _ in range(15)])
    np.testing.assert_allclose(knox.expected, tables.mean(axis=0))
    np.testing.assert_allclose(knox.median, np.median(tables, axis=0))
    np.testing.assert_array_equal(knox.at_least, (tables >= knox.observed).sum(axis=0))
    np.testing.assert_allclose(knox.p_values, (1 + (tables >= knox.observed).sum(axis=0)) / (1 + permutations))
    # every permutation keeps the pairs: each table sums to n(n-1)/2 with open bands
    assert (tables.sum(axis=(1, 2)) == 60 * 59 // 2).all()


def test_chicago_burglaries_reproduce_the_near_repeat_calculator_table():
    """970 burglaries, Manhattan, NRC 'same location, 1 to 100, ... / 0 to 7, ...' = [0,1), [1,100),
    ... (the NRC's labels are one off: NearRepeat vignette 'NRC')."""
    x, y, days = load("chicago_be_month1")
    published, _ = nrc_verbose("chicago_be_month1")
    knox = nr.knox_test(x, y, days, [0, 1, 100, 200, 300, INF], [0, 7, 14, 21, INF], "manhattan", permutations=19, seed=1)
    np.testing.assert_array_equal(knox.observed, published)
    assert published.tolist() == [[28, 5, 5, 2], [44, 13, 8, 4], [97, 56, 19, 16], [77, 67, 45, 20], [182194, 146149, 95237, 45879]]
    assert knox.observed.sum() == 970 * 969 // 2


def test_chicago_arson_reproduces_the_table_in_single_precision():
    """The NRC measures in single precision: one pair at 399.961 m in float64 crosses 400 m."""
    x, y, days = load("chicago_arson")
    published, _ = nrc_verbose("chicago_arson")
    space, time = [0, 0.01, 200, 400, 600, INF], [0, 1, 2, 3, INF]
    single = nr.knox_test(x.astype(np.float32).astype(float), y.astype(np.float32).astype(float), days, space, time, permutations=1)
    np.testing.assert_array_equal(single.observed, published)
    double = nr.knox_test(x, y, days, space, time, permutations=1)
    assert double.observed[2:4, 3].tolist() == [141, 233] and published[2:4, 3].tolist() == [140, 234]
    np.testing.assert_array_equal(np.delete(double.observed, [2, 3], axis=0), np.delete(published, [2, 3], axis=0))


@pytest.mark.parametrize(
    "name,space,time",
    [
        ("chicago_be_month1", [0, 1, 100, 200, 300, INF], [0, 7, 14, 21, INF]),
        ("chicago_arson", [0, 0.01, 200, 400, 600, INF], [0, 1, 2, 3, INF]),
    ],
)
def test_expected_counts_agree_with_the_calculators_own_simulations(name, space, time):
    """Our mean over 999 permutations against the mean of the NRC's 19 or 99 simulated tables:
    within 4.5 standard errors of the difference (a one in 10^5 chance per cell by luck)."""
    x, y, days = load(name)
    x, y = x.astype(np.float32).astype(float), y.astype(np.float32).astype(float)
    _, simulated = nrc_verbose(name)
    knox = nr.knox_test(x, y, days, space, time, permutations=999, seed=7)
    checked = 0
    for (row, column), values in simulated.items():
        spread = values.std(ddof=1)
        if spread == 0:
            assert abs(knox.expected[row, column] - values.mean()) < 0.05 + 1e-6 * values.mean(), (row, column)
            continue
        error = spread * np.sqrt(1 / len(values) + 1 / 999)
        assert abs(knox.expected[row, column] - values.mean()) < 4.5 * error, (row, column, knox.expected[row, column], values.mean())
        checked += 1
    assert checked >= 12


def test_arson_same_day_pairs_within_200_m_are_a_near_repeat():
    """NRC: 1-200 m, 0-1 day: observed 9 against a mean of 0.12 expected, p = 0.01 with 99 runs."""
    x, y, days = load("chicago_arson")
    knox = nr.knox_test(x, y, days, [0, 0.01, 200, 400, 600, INF], [0, 1, 2, 3, INF], permutations=999, seed=3)
    assert knox.observed[1, 0] == 9 and 0.05 < knox.expected[1, 0] < 0.4
    assert knox.p_values[1, 0] == pytest.approx(1 / 1000) and knox.ratio[1, 0] > 20


# --- the permutation p-values ----------------------------------------------------------------
def planted_chains(seed, chains=25, background=300):
    """Background events uniform over 5 x 5 km and a year, and chains of 4 burglaries within
    80 m and 6 days of their first."""
    rng = np.random.default_rng(seed)
    x, y, days = list(rng.uniform(0, 5000, background)), list(rng.uniform(0, 5000, background)), list(rng.integers(0, 365, background))
    for _ in range(chains):
        cx, cy, cd = rng.uniform(0, 5000), rng.uniform(0, 5000), rng.integers(0, 358)
        for _ in range(4):
            x.append(cx + rng.uniform(-40, 40))
            y.append(cy + rng.uniform(-40, 40))
            days.append(cd + rng.integers(0, 7))
    return np.array(x), np.array(y), np.array(days)


def test_a_seed_repeats_a_run_and_the_row_order_does_not_matter():
    x, y, days = planted_chains(1)
    edges = ([0, 1, 101, 201, 301, 401], [0, 7, 14, 21, 28])
    first = nr.knox_test(x, y, days, *edges, permutations=99, seed=11)
    again = nr.knox_test(x, y, days, *edges, permutations=99, seed=11)
    shuffled = np.random.default_rng(0).permutation(len(x))
    reordered = nr.knox_test(x[shuffled], y[shuffled], days[shuffled], *edges, permutations=99, seed=11)
    other = nr.knox_test(x, y, days, *edges, permutations=99, seed=12)
    for run in (again, reordered):
        np.testing.assert_array_equal(run.at_least, first.at_least)
        np.testing.assert_array_equal(run.expected, first.expected)
    assert not np.array_equal(other.expected, first.expected)


def test_p_values_lie_between_one_over_r_plus_one_and_one():
    x, y, days = planted_chains(2)
    knox = nr.knox_test(x, y, days, [0, 1, 101, 201, 301, 401], [0, 7, 14, 21, 28], permutations=49, seed=1)
    assert (knox.p_values >= 1 / 50 - 1e-12).all() and (knox.p_values <= 1).all()
    assert set(np.round(knox.p_values * 50).astype(int).ravel()) <= set(range(1, 51))


def test_a_planted_near_repeat_chain_is_significant():
    x, y, days = planted_chains(3)
    knox = nr.knox_test(x, y, days, [0, 1, 101, 201, 301, 401], [0, 7, 14, 21, 28], permutations=999, seed=1)
    assert knox.p_values[1, 0] == pytest.approx(0.001) and knox.ratio[1, 0] > 5
    assert knox.significant(0.05)[1, 0]
    # far and late bands hold no chains: none of them is strongly significant
    assert (knox.p_values[3:, 1:] > 0.01).all()


def test_a_random_pattern_is_significant_about_as_often_as_alpha_says():
    """200 patterns without space-time interaction: the near, soon band is significant at 0.05
    in about 5 % of them (binomial: 10 expected, at most 20 in a million tries), and the
    p-values average about 0.5."""
    rng = np.random.default_rng(2024)
    p = []
    for _ in range(200):
        x, y, days = rng.uniform(0, 1000, 80), rng.uniform(0, 1000, 80), rng.integers(0, 100, 80)
        knox = nr.knox_test(x, y, days, [0, 200, INF], [0, 20, INF], "euclidean", permutations=99, seed=int(rng.integers(1 << 30)))
        p.append(knox.p_values[0, 0])
    p = np.array(p)
    assert 2 <= (p <= 0.05).sum() <= 22
    assert 0.4 < p.mean() < 0.62


def test_events_at_one_place_on_one_day_are_counted_and_never_significant():
    n = 12
    knox = nr.knox_test(np.full(n, 5.0), np.full(n, 5.0), np.full(n, 19000), [0, 1, 101], [0, 7], permutations=20, seed=1)
    assert knox.observed.tolist() == [[n * (n - 1) // 2], [0]]
    assert knox.p_values[0, 0] == 1.0 and knox.ratio[0, 0] == 1.0
    assert knox.p_values[1, 0] == 1.0 and np.isnan(knox.ratio[1, 0]) and np.isnan(knox.ratio_median[1, 0])


# --- the risk window and zones -------------------------------------------------------------------
def hand_made(p, ratio, space, time):
    p, ratio = np.array(p, dtype=float), np.array(ratio, dtype=float)
    permutations = 999
    at_least = np.round(p * (permutations + 1) - 1)
    return nr.Knox(
        np.array(space, float), np.array(time, float), ratio * 10, np.full(p.shape, 10.0), np.full(p.shape, 10.0), at_least, permutations, 0
    )


def test_the_risk_window_is_the_envelope_of_the_bands_joined_to_the_nearest_and_soonest():
    space, time = [0, 1, 101, 201, 301, INF], [0, 7, 14, 21, INF]
    p = [
        [0.001, 0.001, 0.5, 0.5],  # same place: 14 days
        [0.001, 0.5, 0.5, 0.5],  # up to 101 m: 7 days
        [0.01, 0.5, 0.5, 0.5],  # up to 201 m: 7 days (the 101 m zone then adds nothing)
        [0.5, 0.5, 0.5, 0.5],
        [0.001, 0.5, 0.5, 0.5],  # open distance band: never a zone
    ]
    ratio = np.ones((5, 4)) * 1.5
    window = nr.risk_window(hand_made(p, ratio, space, time), 0.05)
    assert window.radius.tolist() == [1.0, 201.0] and window.days.tolist() == [14, 7]
    p[3][2] = 0.001  # alone at 201-301 m, 14-21 days: left out
    assert nr.risk_window(hand_made(p, ratio, space, time), 0.05).radius.tolist() == [1.0, 201.0]
    p[2][1] = p[2][2] = 0.04  # joined now through 101-201 m: 301 m for 21 days covers everything
    window = nr.risk_window(hand_made(p, ratio, space, time), 0.05)
    assert window.radius.tolist() == [301.0] and window.days.tolist() == [21]
    ratio[3, 2] = 0.8  # fewer pairs than chance: never a zone; 201 m for 21 days covers the rest
    window = nr.risk_window(hand_made(p, ratio, space, time), 0.05)
    assert window.radius.tolist() == [201.0] and window.days.tolist() == [21]
    p[1][0] = 0.5  # the nearest band (after the same place) is not significant: only the same place
    window = nr.risk_window(hand_made(p, ratio, space, time), 0.05)
    assert window.radius.tolist() == [1.0] and window.days.tolist() == [14]
    assert len(nr.risk_window(hand_made(p, ratio, space, time), 0.0001)) == 0
    # without a same-place band the nearest band starts the window
    window = nr.risk_window(hand_made(np.array(p)[1:], ratio[1:], space[1:], time), 0.05)
    assert len(window) == 0


def test_risk_zones_follow_the_latest_incidents():
    window = nr.RiskWindow(np.array([1.0, 201.0]), np.array([14, 7]))
    days = np.array([100, 93, 94, 87, 86, 60])
    event, zone, until = nr.risk_zones(days, window)  # default: the last 14 days (day differences 0..13)
    assert event.tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    assert zone.tolist() == [0, 1] * 4
    assert until.tolist() == [113, 106, 106, 99, 107, 100, 100, 93]
    event, _, _ = nr.risk_zones(days, window, recent_days=7)
    assert event.tolist() == [0, 0, 2, 2]


# --- refusals and limits ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "text,pattern",
    [
        ("0,7,x", "'x' is not a number"),
        ("0", "at least two"),
        ("", "at least two"),
        ("0,-1", "'-1' cannot be a band edge"),
        ("0,7,7", "'7' is not larger"),
        ("0,14,7", "'7' is not larger"),
        ("0,inf,30", "'inf' cannot be a band edge"),
        ("0,nan", "'nan' cannot be a band edge"),
        (",".join(str(k) for k in range(60)), "at most"),
    ],
)
def test_bad_band_text_is_refused_naming_the_value(text, pattern):
    with pytest.raises(InputError, match=pattern) as error:
        nr.parse_edges(text, "Time band edges (TEMPORAL_BANDS)", "days")
    assert "TEMPORAL_BANDS" in str(error.value)


def test_band_text_is_read_with_commas_spaces_or_semicolons():
    assert nr.parse_edges(" 0, 1;101 201\t401,Inf ", "x", "m").tolist() == [0, 1, 101, 201, 401, INF]


def test_fewer_than_two_events_are_refused():
    with pytest.raises(InputError, match="at least 2"):
        nr.knox_test([1.0], [1.0], [19000], [0, 100], [0, 7])


def test_work_beyond_the_limits_is_refused_up_front_saying_what_to_change(monkeypatch):
    x, y, days = lattice_events(200, seed=1)
    monkeypatch.setattr(nr, "MAX_PAIRS", 100)
    with pytest.raises(InputError, match=r"More than 100 pairs of incidents lie within 401.*SPATIAL_BANDS"):
        nr.knox_test(x, y, days, [0, 1, 101, 201, 301, 401], [0, 7], permutations=9)
    monkeypatch.setattr(nr, "MAX_PAIRS", 10**9)
    monkeypatch.setattr(nr, "MAX_WORK", 100_000)
    with pytest.raises(InputError, match=r"use at most \d+ permutations \(PERMUTATIONS\)"):
        nr.knox_test(x, y, days, [0, 1, 101, 201, 301, 401], [0, 7], permutations=999)
    monkeypatch.setattr(nr, "MAX_SIMULATED_CELLS", 1000)
    with pytest.raises(InputError, match="fewer bands"):
        nr.knox_test(x, y, days, [0, 1, 101, 201, 301, 401], [0, 7, 14], permutations=999)


def test_progress_is_reported_through_the_run_and_cancel_stops_it():
    x, y, days = planted_chains(4)
    seen = []
    nr.knox_test(x, y, days, [0, 101, 201], [0, 7], permutations=200, progress=seen.append)
    assert seen[-1] == 1.0 and len(seen) > 50 and all(b >= a for a, b in zip(seen, seen[1:]))

    def cancel_half_way(fraction):
        if fraction > 0.5:
            raise Canceled()

    with pytest.raises(Canceled):
        nr.knox_test(x, y, days, [0, 101, 201], [0, 7], permutations=200, progress=cancel_half_way)


def test_pairs_by_gap_counts_every_pair_once():
    days = np.array([3, 3, 4, 9, 3, 20, 4])
    gaps = nr.pairs_by_gap(days, 5)
    brute = np.zeros(7, dtype=int)
    for i, j in itertools.combinations(range(len(days)), 2):
        brute[min(abs(days[i] - days[j]), 6)] += 1
    assert gaps.tolist() == brute.tolist()


def test_calendar_days_are_the_dates_of_the_clock_readings():
    seconds = np.array([0.0, 86399.0, 86400.0, -1.0, 1767225599.0])  # 1970-01-01 00:00, 23:59:59, 01-02 00:00, 1969-12-31, 2025-12-31
    last = int(np.datetime64("2025-12-31", "D").astype(np.int64))
    assert nr.calendar_days(seconds).tolist() == [0, 0, 1, -1, last]


def test_small_chunks_and_blocks_give_the_same_tables(monkeypatch):
    """Pairs gathered from the KD-tree in many chunks and re-binned in many blocks (as with
    millions of pairs): the same observed table as a brute force, the same permutations."""
    x, y, days = lattice_events(150, seed=8)
    edges = (np.array([0, 1, 101, 201, INF]), np.array([0, 7, 14, INF]))
    whole = nr.knox_test(x, y, days, *edges, permutations=30, seed=4)
    monkeypatch.setattr(nr, "PAIRS_PER_CHUNK", 50)
    monkeypatch.setattr(nr, "PAIRS_PER_BLOCK", 7)
    pieces = nr.knox_test(x, y, days, *edges, permutations=30, seed=4)
    np.testing.assert_array_equal(pieces.observed, brute_table(x, y, days, *edges, "manhattan"))
    np.testing.assert_array_equal(pieces.at_least, whole.at_least)
    np.testing.assert_array_equal(pieces.expected, whole.expected)
