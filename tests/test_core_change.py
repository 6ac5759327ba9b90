"""core.change against independent references: scipy.stats.binomtest one test at a time,
a Benjamini-Hochberg step-up written out here (and statsmodels when installed), and the
relative effect size, WDQ and TNE computed by hand from their published formulas."""

import math

import numpy as np
import pytest
from scipy.stats import binomtest

from hotspot_policing.core import InputError
from hotspot_policing.core.change import (
    DECREASE,
    INCREASE,
    NO_BEFORE,
    NO_CHANGE,
    NO_INCIDENTS,
    bh_q_values,
    change_per_unit,
    exact_p_values,
    intervention,
    wdq_reading,
)
from hotspot_policing.core.local_stats import benjamini_hochberg


def reference_p(k, n, p):
    return binomtest(int(k), int(n), float(p)).pvalue


@pytest.mark.parametrize("seed", range(6))
def test_exact_p_values_equal_binomtest(seed):
    rng = np.random.default_rng(seed)
    size = 1000
    n = rng.integers(1, [20, 200, 2000, 50, 10, 100_000][seed], size)
    p = rng.uniform(0.001, 0.999, size)
    p[: size // 4] = rng.choice([0.5, 0.25, 1 / 3, 0.2, 0.75, 2 / 3, 0.1], size // 4)  # k == p n and symmetric ties happen
    k = rng.binomial(n, p)
    k[::7] = rng.integers(0, n[::7] + 1)  # far tails as well
    k[::11] = 0
    k[::13] = n[::13]
    ours = exact_p_values(k, n, p)
    for i in range(size):
        assert ours[i] == pytest.approx(reference_p(k[i], n[i], p[i]), rel=1e-12, abs=1e-300), (k[i], n[i], p[i])


def test_exact_p_value_edge_cases():
    cases = [(0, 1, 0.5), (1, 1, 0.5), (5, 10, 0.5), (0, 10, 0.5), (10, 10, 0.5), (3, 6, 0.5), (1, 3, 1 / 3), (2, 6, 1 / 3)]
    cases += [(0, 1, 0.999), (1, 1, 0.001), (0, 1_000_000, 1e-6), (5, 1_000_000, 1e-6), (499_000, 1_000_000, 0.5)]
    cases += [(400, 1000, 0.5), (999_999, 1_000_000, 0.999_999), (7, 40, 0.175)]
    k, n, p = (np.array(column) for column in zip(*cases))
    ours = exact_p_values(k, n, p)
    for i, (kk, nn, pp) in enumerate(cases):
        assert ours[i] == pytest.approx(reference_p(kk, nn, pp), rel=1e-12, abs=1e-300), cases[i]
    assert np.isnan(exact_p_values([0], [0], [0.5])[0])


def test_binomtest_for_every_outcome_of_small_n():
    for n in range(1, 31):
        for p in (0.5, 0.3, 1 / 3, 0.6, 0.05):
            k = np.arange(n + 1)
            ours = exact_p_values(k, np.full(n + 1, n), p)
            assert ours.tolist() == pytest.approx([reference_p(kk, n, p) for kk in k], rel=1e-12)


def step_up(p, alpha):
    """Benjamini-Hochberg written out: reject the k smallest, k the largest rank with p_(k) <= k alpha / m."""
    finite = [(value, i) for i, value in enumerate(p) if not math.isnan(value)]
    finite.sort()
    m = len(finite)
    k = 0
    for rank, (value, _) in enumerate(finite, start=1):
        if value <= rank * alpha / m:
            k = rank
    rejected = [False] * len(p)
    for _, i in finite[:k]:
        rejected[i] = True
    return rejected


def adjusted(p):
    """BH q-values written out: q_(i) = min_{j >= i} m p_(j) / j, capped at 1."""
    finite = sorted((value, i) for i, value in enumerate(p) if not math.isnan(value))
    m = len(finite)
    q = [math.nan] * len(p)
    for position, (_, i) in enumerate(finite):
        q[i] = min(1.0, min(m * finite[j][0] / (j + 1) for j in range(position, m)))
    return q


@pytest.mark.parametrize("seed", range(10))
def test_q_values_match_a_written_out_step_up(seed):
    rng = np.random.default_rng(seed)
    size = int(rng.integers(1, 200))
    p = np.concatenate([rng.uniform(0, 0.02, size // 3), rng.uniform(0, 1, size - size // 3)])
    p[rng.random(size) < 0.1] = np.nan
    p[rng.random(size) < 0.2] = 0.01  # ties
    q = bh_q_values(p)
    assert np.allclose(q, adjusted(p), rtol=1e-13, equal_nan=True)
    for alpha in (0.01, 0.05, 0.1, 0.2):
        rejected = step_up(p, alpha)
        assert (np.nan_to_num(q, nan=2) <= alpha).tolist() == rejected
        assert benjamini_hochberg(p, alpha).tolist() == rejected


def test_q_values_hand_worked():
    # m = 4: p sorted 0.01, 0.02, 0.03, 0.5 -> m p / rank 0.04, 0.04, 0.04, 0.5 -> running minimum from the top
    assert bh_q_values([0.03, 0.5, 0.01, np.nan, 0.02]).tolist() == pytest.approx([0.04, 0.5, 0.04, np.nan, 0.04], nan_ok=True)
    assert bh_q_values([0.9, 0.8]).tolist() == pytest.approx([0.9, 0.9])
    assert bh_q_values([]).tolist() == []


def test_q_values_match_statsmodels():
    multitest = pytest.importorskip("statsmodels.stats.multitest")
    rng = np.random.default_rng(3)
    p = np.concatenate([rng.uniform(0, 0.01, 30), rng.uniform(0, 1, 300)])
    assert np.allclose(bh_q_values(p), multitest.multipletests(p, method="fdr_bh")[1], rtol=1e-12)


def test_change_per_unit_hand_worked():
    # a 60-day before period against a 30-day after period: p = 30 / 90 = 1/3
    before = [30, 10, 0, 0, 12, 20]
    after = [2, 5, 0, 9, 6, 30]
    result = change_per_unit(before, after, 60, 30, alpha=0.05)
    assert result.count_before.tolist() == before and result.count_after.tolist() == after
    rr = result.rate_ratio
    assert rr[0] == pytest.approx((2 / 30) / (30 / 60)) and rr[1] == pytest.approx(1.0) and rr[4] == pytest.approx(1.0)
    assert rr[5] == pytest.approx(3.0)
    assert np.isnan(rr[2]) and np.isnan(rr[3])
    assert result.ratio_note.tolist() == ["", "", NO_INCIDENTS, NO_BEFORE, "", ""]
    expected_p = [reference_p(a, b + a, 1 / 3) if a + b else np.nan for b, a in zip(before, after)]
    assert np.allclose(result.p_value, expected_p, equal_nan=True, rtol=1e-12)
    assert np.allclose(result.q_value, adjusted(expected_p), equal_nan=True, rtol=1e-12)
    assert result.change.tolist() == [DECREASE, NO_CHANGE, NO_CHANGE, INCREASE, NO_CHANGE, INCREASE]
    assert result.direction.tolist() == [-1, 0, 0, 1, 0, 1]


@pytest.mark.parametrize("seed", range(5))
def test_change_labels_follow_q_and_the_rates(seed):
    rng = np.random.default_rng(seed)
    size = 500
    days_before, days_after = float(rng.integers(7, 400)), float(rng.integers(7, 400))
    rate = rng.gamma(1.0, 0.1, size)
    before = rng.poisson(rate * days_before * rng.choice([0.2, 1, 1, 1, 5], size))
    after = rng.poisson(rate * days_after)
    alpha = float(rng.choice([0.01, 0.05, 0.1]))
    result = change_per_unit(before, after, days_before, days_after, alpha)
    n = before + after
    share = days_after / (days_before + days_after)
    p = np.array([reference_p(a, m, share) if m else np.nan for a, m in zip(after, n)])
    assert np.allclose(result.p_value, p, rtol=1e-12, equal_nan=True)
    assert np.allclose(result.q_value, adjusted(p), rtol=1e-12, equal_nan=True)
    significant = np.array(step_up(p, alpha))
    up = after / days_after > before / days_before
    expected = np.where(significant & up, INCREASE, np.where(significant, DECREASE, NO_CHANGE))
    assert result.change.tolist() == expected.tolist()
    assert (result.change[n == 0] == NO_CHANGE).all()


def test_change_refuses_what_it_cannot_test():
    with pytest.raises(InputError):
        change_per_unit([1, -1], [1, 1], 10, 10)
    with pytest.raises(InputError):
        change_per_unit([1, 1.5], [1, 1], 10, 10)
    with pytest.raises(InputError):
        change_per_unit([1, np.nan], [1, 1], 10, 10)
    with pytest.raises(InputError):
        change_per_unit([1], [1], 0, 10)
    with pytest.raises(InputError):
        change_per_unit([1], [1], 10, 10, alpha=0)
    empty = change_per_unit([], [], 10, 10)
    assert len(empty.change) == 0 and len(empty.q_value) == 0


def test_relative_effect_size_hand_worked():
    # Rb = 100, Ra = 60, Cb = 200, Ca = 190
    # RES = 100 * 190 / (60 * 200) = 1.583333; var ln RES = 1/100 + 1/60 + 1/200 + 1/190 = 0.0369298
    # interval exp(0.4595323 -+ 1.959964 * 0.1921713) = 1.086415 .. 2.307538
    result = intervention(rb=100, ra=60, db=80, da=70, cb=200, ca=190)
    assert result.res == pytest.approx(19000 / 12000, rel=1e-15)
    se = math.sqrt(1 / 100 + 1 / 60 + 1 / 200 + 1 / 190)
    assert result.res_low == pytest.approx(math.exp(math.log(19000 / 12000) - 1.959964 * se), rel=1e-13)
    assert result.res_high == pytest.approx(math.exp(math.log(19000 / 12000) + 1.959964 * se), rel=1e-13)
    assert (result.res_low, result.res_high) == pytest.approx((1.086415, 2.307538), abs=1e-6)
    # success = 60/190 - 100/200 = -0.184211; displacement = 70/190 - 80/200 = -0.031579
    # WDQ = -0.031579 / -0.184211 = 0.171429 (= 6/35): diffusion of benefits
    assert result.success == pytest.approx(60 / 190 - 100 / 200) and result.displacement == pytest.approx(70 / 190 - 80 / 200)
    assert result.wdq == pytest.approx((70 / 190 - 80 / 200) / (60 / 190 - 100 / 200), rel=1e-13)
    assert result.wdq == pytest.approx(6 / 35, rel=1e-13)
    assert "Diffusion" in result.wdq_reading
    # TNE = (100 * 190/200 - 60) + (80 * 190/200 - 70) = 35 + 6 = 41 incidents prevented
    assert result.tne == pytest.approx(41.0)
    assert result.missing == {}


def test_wdq_displacement_hand_worked():
    # targets 100 -> 50, catchment 100 -> 150, controls 100 -> 100: every incident prevented moved next door
    result = intervention(rb=100, ra=50, db=100, da=150, cb=100, ca=100)
    assert result.success == pytest.approx(-0.5) and result.displacement == pytest.approx(0.5)
    assert result.wdq == pytest.approx(-1.0)
    assert result.tne == pytest.approx(0.0)
    assert result.res == pytest.approx(2.0)
    assert wdq_reading(-1.0, -0.5).startswith("Displacement smaller")
    # controls doubled: success = 40/200 - 100/100 = -0.8; displacement = 260/200 - 100/100 = 0.3; WDQ = -0.375
    result = intervention(rb=100, ra=40, db=100, da=260, cb=100, ca=200)
    assert result.wdq == pytest.approx(-0.375)
    assert result.tne == pytest.approx((100 * 2 - 40) + (100 * 2 - 260))


def test_wdq_readings():
    assert wdq_reading(1.5, -0.2).startswith("Diffusion of benefits larger")
    assert wdq_reading(0.5, -0.2).startswith("Diffusion of benefits:")
    assert wdq_reading(0.0, -0.2).startswith("Neither")
    assert wdq_reading(-0.5, -0.2).startswith("Displacement smaller")
    assert wdq_reading(-1.5, -0.2).startswith("Displacement larger")
    assert wdq_reading(-1.5, 0.2).startswith("Crime in the targets did not fall")


def test_figures_that_cannot_be_computed_are_left_out_with_a_reason():
    result = intervention(rb=10, ra=0, db=5, da=4, cb=20, ca=18)
    assert result.res is None and result.res_low is None and result.res_high is None
    assert "Ra is 0" in result.missing["RES"]
    assert result.wdq is not None and result.tne == pytest.approx((10 * 18 / 20 - 0) + (5 * 18 / 20 - 4))
    result = intervention(rb=10, ra=5, db=5, da=4, cb=0, ca=0)
    assert set(result.missing) == {"RES", "WDQ", "TNE"} and result.wdq is None and result.tne is None
    assert "Cb and Ca are 0" in result.missing["RES"]
    result = intervention(rb=10, ra=5, db=5, da=4, cb=20, ca=10)  # 5/10 == 10/20: no relative change in the targets
    assert result.wdq is None and "denominator" in result.missing["WDQ"] and result.res == pytest.approx(1.0)
    with pytest.raises(InputError):
        intervention(rb=-1, ra=5, db=5, da=4, cb=20, ca=10)


def test_exact_p_values_of_nothing():
    assert exact_p_values([], [], []).shape == (0,)
    assert exact_p_values([2, 0], [4, 0], 0.5).tolist()[0] == 1.0
