"""Did it work: where crime changed beyond chance between two periods, and the effect of a
hot spots operation on its targets and the streets around them (docs/methods.md, "Change
per place" and "Intervention effect and displacement").

Change per unit is the exact conditional test of two Poisson counts (given the total, the
after count is binomial), two-sided as scipy.stats.binomtest, with Benjamini-Hochberg
q-values over the units. The operation's effect is Farrington & Welsh's relative effect
size (an odds ratio of targets against controls); displacement is Bowers & Johnson's (2003)
weighted displacement quotient and Guerette's (2009) total net effect.
"""

from dataclasses import dataclass, field

import numpy as np
from scipy.stats import binom

from . import InputError

INCREASE, DECREASE, NO_CHANGE = "Significant increase", "Significant decrease", "No significant change"
LABELS = {1: INCREASE, -1: DECREASE, 0: NO_CHANGE}
Z_95 = 1.959964  # two-sided 95 % normal quantile, as the issue and Farrington & Welsh's intervals use
RELATIVE_ERROR = 1 + 1e-7  # scipy.stats.binomtest: probabilities within this factor of the observed one count as "as extreme"
NO_BEFORE = "no incidents before: the rate ratio is infinite"
NO_INCIDENTS = "no incidents in either period"


@dataclass
class Change:
    """Per unit: the counts, RATE_RATIO (after per day / before per day; NaN where it is
    undefined, ``ratio_note`` says why), P_VALUE (NaN where n = 0), Q_VALUE (NaN where n =
    0), direction (+1 more crime per day after, -1 less, 0 the same) and the CHANGE label."""

    count_before: np.ndarray
    count_after: np.ndarray
    rate_ratio: np.ndarray
    ratio_note: np.ndarray
    p_value: np.ndarray
    q_value: np.ndarray
    direction: np.ndarray
    change: np.ndarray


def change_per_unit(before, after, days_before, days_after, alpha=0.05):
    """Change in crime per unit between a before and an after period of possibly different
    lengths. Given n = before + after, under no change the after count is
    Binomial(n, days_after / (days_before + days_after)); P_VALUE is that test's two-sided
    exact p-value (as scipy.stats.binomtest), Q_VALUE its Benjamini-Hochberg adjustment over
    the units with n > 0, and a unit is a significant increase or decrease when Q_VALUE <=
    ``alpha``, by the direction of its rate per day. A unit with no incident in either period
    has NaN p and q and no significant change."""
    before, after = _counts(before, "before"), _counts(after, "after")
    if before.shape != after.shape:
        raise ValueError("before and after need one count per unit")
    days_before, days_after = float(days_before), float(days_after)
    if not (np.isfinite(days_before) and np.isfinite(days_after) and days_before > 0 and days_after > 0):
        raise InputError(f"Both periods must last more than 0 days; they last {days_before:g} and {days_after:g} days.")
    if not 0 < alpha < 1:
        raise InputError(f"ALPHA must lie between 0 and 1 (e.g. 0.05); it is {alpha}.")
    n = before + after
    share = days_after / (days_before + days_after)
    p = exact_p_values(after, n, np.full(len(n), share))
    q = bh_q_values(p)
    direction = np.sign(after * days_before - before * days_after).astype(int)  # rates compared without dividing
    significant = np.nan_to_num(q, nan=np.inf) <= alpha
    direction_shown = np.where(significant, direction, 0)
    ratio = np.divide(after * days_before, before * days_after, out=np.full(len(n), np.nan), where=before > 0)
    note = np.where(before > 0, "", np.where(after > 0, NO_BEFORE, NO_INCIDENTS)).astype(object)
    labels = np.array([LABELS[d] for d in (-1, 0, 1)], dtype=object)[direction_shown + 1]
    return Change(before, after, ratio, note, p, q, direction, labels)


def exact_p_values(k, n, p):
    """Two-sided exact binomial p-values for k successes in n trials with probability p,
    element by element, equal to scipy.stats.binomtest(k, n, p).pvalue: the probability of
    every outcome no more likely than k (within a relative 1e-7), found on the far side of
    the mode by the same bisection as scipy, run for all tests at once. NaN where n = 0."""
    k, n = np.asarray(k, dtype=np.int64), np.asarray(n, dtype=np.int64)
    p = np.broadcast_to(np.asarray(p, dtype=float), k.shape)
    result = np.full(k.shape, np.nan)
    valid = n > 0
    result[valid] = 1.0
    d = binom.pmf(k, n, p)
    expected = p * n
    low = np.flatnonzero(valid & (k < expected))  # k == p * n: p = 1, as scipy's shortcut
    if len(low):
        nl, pl, dl = n[low], p[low], d[low] * RELATIVE_ERROR
        ix = _bisect(lambda x, i: -binom.pmf(x, nl[i], pl[i]), -dl, np.ceil(pl * nl).astype(np.int64), nl.copy())
        y = nl - ix + (dl == binom.pmf(ix, nl, pl))
        result[low] = binom.cdf(k[low], nl, pl) + binom.sf(nl - y, nl, pl)
    high = np.flatnonzero(valid & (k > expected))
    if len(high):
        nh, ph, dh = n[high], p[high], d[high] * RELATIVE_ERROR
        ix = _bisect(lambda x, i: binom.pmf(x, nh[i], ph[i]), dh, np.zeros(len(high), dtype=np.int64), np.floor(ph * nh).astype(np.int64))
        result[high] = binom.cdf(ix, nh, ph) + binom.sf(k[high] - 1, nh, ph)
    return np.minimum(result, 1.0)


def _bisect(a, d, lo, hi):
    """scipy's _binary_search_for_binom_tst for many searches at once: the i in [lo - 1, hi]
    with a(i) <= d < a(i + 1), ``a`` increasing; a(x, i) evaluates search i at x."""
    result = np.zeros(len(d), dtype=np.int64)
    done = np.zeros(len(d), dtype=bool)
    active = np.flatnonzero(lo < hi)
    while len(active):
        mid = lo[active] + (hi[active] - lo[active]) // 2
        value = a(mid, active)
        below, above = value < d[active], value > d[active]
        lo[active[below]] = mid[below] + 1
        hi[active[above]] = mid[above] - 1
        hit = ~below & ~above
        result[active[hit]], done[active[hit]] = mid[hit], True
        active = active[~hit]
        active = active[lo[active] < hi[active]]
    rest = np.flatnonzero(~done)
    result[rest] = np.where(a(lo[rest], rest) <= d[rest], lo[rest], lo[rest] - 1)
    return result


def bh_q_values(p):
    """Benjamini-Hochberg (1995) adjusted p-values (q-values): q_(i) = min over j >= i of
    p_(j) m / j, capped at 1, over the m finite p-values (NaN stays NaN). A test is rejected
    at false discovery rate alpha exactly when q <= alpha (the step-up rule)."""
    p = np.asarray(p, dtype=float)
    q = np.full(p.shape, np.nan)
    valid = np.flatnonzero(np.isfinite(p))
    order = valid[np.argsort(p[valid], kind="stable")]
    m = len(order)
    if m:
        scaled = p[order] * m / np.arange(1, m + 1)
        q[order] = np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 1.0)
    return q


@dataclass
class Intervention:
    """The figures of an operation's evaluation. A figure that cannot be computed is None
    and ``missing`` maps its name to the reason (never inf or NaN)."""

    res: float = None  # relative effect size (Farrington & Welsh): above 1, crime fell in the targets relative to the controls
    res_low: float = None
    res_high: float = None
    success: float = None  # Ra/Ca - Rb/Cb: negative when the targets improved relative to the controls
    displacement: float = None  # Da/Ca - Db/Cb: positive when the catchment worsened relative to the controls
    wdq: float = None  # displacement / success (Bowers & Johnson 2003)
    wdq_reading: str = ""
    tne: float = None  # total net effect in incidents prevented (Guerette 2009)
    missing: dict = field(default_factory=dict)


def intervention(rb, ra, db, da, cb, ca, z=Z_95):
    """Counts in the targets (R), the catchment around them (D) and the controls (C),
    before (b) and after (a) the operation, to its effect and displacement:

    RES = (Rb Ca) / (Ra Cb) with the interval exp(ln RES -+ z sqrt(1/Ra + 1/Rb + 1/Ca + 1/Cb))
    (needs all four counts > 0); WDQ = (Da/Ca - Db/Cb) / (Ra/Ca - Rb/Cb) (needs Ca, Cb > 0
    and a non-zero denominator), evaluated as (Da Cb - Db Ca) / (Ra Cb - Rb Ca), the same
    number with one rounding; TNE = (Rb Ca/Cb - Ra) + (Db Ca/Cb - Da) (needs Cb > 0).
    The periods need not be equally long: every figure compares the targets or catchment
    with the controls over the same periods."""
    rb, ra, db, da, cb, ca = (float(_counts(v, name)) for v, name in zip((rb, ra, db, da, cb, ca), ("Rb", "Ra", "Db", "Da", "Cb", "Ca")))
    result = Intervention()
    zero = [name for name, v in (("Rb", rb), ("Ra", ra), ("Cb", cb), ("Ca", ca)) if v == 0]
    if zero:
        result.missing["RES"] = f"RES and its interval need incidents in the targets and the controls in both periods; {_listed(zero)} 0."
    else:
        result.res = rb * ca / (ra * cb)
        spread = z * np.sqrt(1 / ra + 1 / rb + 1 / ca + 1 / cb)
        result.res_low, result.res_high = float(np.exp(np.log(result.res) - spread)), float(np.exp(np.log(result.res) + spread))
    if ca == 0 or cb == 0:
        zero = [name for name, v in (("Cb", cb), ("Ca", ca)) if v == 0]
        result.missing["WDQ"] = f"The WDQ compares with the controls in both periods; {_listed(zero)} 0."
    else:
        result.success, result.displacement = ra / ca - rb / cb, da / ca - db / cb
        if ra * cb == rb * ca:
            result.missing["WDQ"] = (
                "The WDQ's denominator (Ra/Ca - Rb/Cb) is 0: crime in the targets changed exactly as in the controls, "
                "so there is no effect to set displacement against."
            )
        else:
            result.wdq = (da * cb - db * ca) / (ra * cb - rb * ca)
            result.wdq_reading = wdq_reading(result.wdq, result.success)
    if cb == 0:
        result.missing["TNE"] = "The TNE scales by the controls' change (Ca/Cb); Cb is 0."
    else:
        result.tne = (rb * ca / cb - ra) + (db * ca / cb - da)
    return result


def wdq_reading(wdq, success):
    """The plain-language reading of a WDQ (Bowers & Johnson 2003; Guerette 2009, appendix C).
    It measures the catchment against the targets' success, so it is read only when the
    targets improved relative to the controls (success measure < 0)."""
    if success >= 0:
        return "Crime in the targets did not fall relative to the controls, so the WDQ does not measure displacement or diffusion."
    if wdq > 1:
        return "Diffusion of benefits larger than the effect in the targets: the catchment improved even more."
    if wdq > 0:
        return "Diffusion of benefits: the catchment improved too."
    if wdq == 0:
        return "Neither displacement nor diffusion: the catchment changed as the controls did."
    if wdq >= -1:
        return "Displacement smaller than the effect in the targets: some crime moved next door, but there was a net benefit."
    return "Displacement larger than the effect in the targets: more crime moved next door than the operation prevented."


def _counts(values, name):
    """Counts as floats, refused when negative, fractional or missing (the tests are for counts of incidents)."""
    values = np.asarray(values, dtype=float)
    bad = ~np.isfinite(values) | (values < 0) | (values != np.round(values))
    if np.any(bad):
        raise InputError(f"The {name} counts must be whole numbers of incidents, 0 or more.")
    return values


def _listed(names):
    return names[0] + " is" if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1] + " are"
