"""Patrol dosage: a patrol budget split into short visits to hot spots, and a randomised
schedule of those visits (METHODS.md 6.3; Koper 1995: 10-15 minute stops; the Sacramento
experiment, Telep et al. 2014: about 15-minute random visits, at least every two hours).
"""

from dataclasses import dataclass

import numpy as np


@dataclass
class Plan:
    minutes: np.ndarray  # whole minutes per shift for each hot spot (0 = not patrolled)
    visits: np.ndarray  # visits per shift
    funded: int  # hot spots given at least one visit
    budget_needed: float  # minutes one VISIT_MIN visit to every hot spot would take


def allocate(risk, budget, shift_minutes, visit_min=10, visit_max=15, revisit_gap=120):
    """Minutes and visits per shift for hot spots with the given risk.

    Every funded hot spot gets at least one visit of ``visit_min`` minutes; the rest of the
    budget follows risk (water-filling: minutes = clip(lambda * risk, visit_min, cap)), each
    hot spot capped at one visit of ``visit_max`` per ``revisit_gap`` minutes of the shift.
    Minutes are then rounded down to what whole-minute visits of ``visit_min`` to
    ``visit_max`` can make, so the plan never exceeds the budget and a riskier hot spot never
    gets fewer minutes. When the budget cannot give every hot spot one short visit, the
    riskiest ones that fit are funded."""
    risk = np.asarray(risk, dtype=float)
    n = len(risk)
    cap = int(np.ceil(shift_minutes / revisit_gap)) * visit_max
    order = np.argsort(-risk, kind="stable")
    funded = int(min(n, budget // visit_min))
    minutes = np.zeros(n)
    chosen = order[:funded]
    if funded:
        target = min(budget, funded * cap)
        minutes[chosen] = _water_fill(risk[chosen], target, visit_min, cap)
    minutes = np.array([_feasible_minutes(m, visit_min, visit_max) for m in minutes])
    visits = np.ceil(minutes / visit_max).astype(int)
    return Plan(minutes.astype(int), visits, funded, n * visit_min)


def _water_fill(risk, total, low, high):
    """Amounts clip(lambda * risk, low, high) summing to ``total`` (found by bisection)."""
    if total >= high * len(risk):
        return np.full(len(risk), float(high))
    scale_low, scale_high = 0.0, 1.0
    weights = np.maximum(risk, 1e-12)
    while np.clip(scale_high * weights, low, high).sum() < total:
        scale_high *= 2.0
    for _ in range(100):
        middle = 0.5 * (scale_low + scale_high)
        if np.clip(middle * weights, low, high).sum() > total:
            scale_high = middle
        else:
            scale_low = middle
    return np.clip(scale_low * weights, low, high)


def _feasible_minutes(minutes, visit_min, visit_max):
    """The largest whole number of minutes <= ``minutes`` that some number of visits of
    visit_min..visit_max whole minutes adds up to (0 if below one short visit)."""
    whole = int(np.floor(minutes + 1e-9))
    if whole < visit_min:
        return 0
    visits = int(np.ceil(whole / visit_max))
    if whole >= visits * visit_min:
        return whole
    return (visits - 1) * visit_max  # in a gap between v - 1 long and v short visits


def visit_lengths(minutes, visits):
    """Whole-minute lengths of ``visits`` visits adding up to ``minutes``, differing by at most
    one minute (all within visit_min..visit_max when the plan came from allocate)."""
    base, extra = divmod(int(minutes), int(visits))
    return [base + 1] * extra + [base] * (visits - extra)


def schedule(plan, shift_minutes, shifts, seed):
    """Randomised visits for each shift: the shift is split into as many equal windows as a
    hot spot has visits and each visit starts at a random time in its own window, so visits
    are unpredictable yet spread through the shift (two visits to one place are at most two
    windows apart). Rows (shift, order, hot spot index, start minute, minutes), sorted by
    shift and start; the same seed gives the same schedule."""
    rng = np.random.default_rng(seed)
    rows = []
    for shift in range(shifts):
        visits_this_shift = []
        for spot in np.flatnonzero(plan.visits):
            count = int(plan.visits[spot])
            window = shift_minutes / count
            for k, length in enumerate(visit_lengths(plan.minutes[spot], count)):
                latest = max(window - length, 0.0)
                start = int(np.floor(k * window + rng.uniform(0.0, latest)))
                visits_this_shift.append((start, int(spot), length))
        visits_this_shift.sort()
        rows.extend((shift + 1, order, spot, start, length) for order, (start, spot, length) in enumerate(visits_this_shift, start=1))
    return rows
