"""Patrol dosage: which hot spots, a patrol budget split into short visits to them, a
randomised schedule of those visits, and shifts (docs/methods.md section 4; Koper 1995:
10-15 minute stops; the Sacramento experiment, Telep et al. 2014: about 15-minute random
visits, at least every two hours).
"""

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from . import InputError
from .concentration import units_for_share

DEFAULT_SHIFT_HOURS = 8.0
DEFAULT_SHIFT_START = 8.0  # hour of day the first shift starts, for the plan and the observed dose alike


class Selection(IntEnum):
    """How hot spots are chosen (the SELECTION enum of patroldosage: only ever append)."""

    TOP_BY_RISK = 0
    SIGNIFICANT = 1
    RISK_SHARE = 2
    AUTOMATIC = 3  # SIGNIFICANT on a layer with significant hot spots, else TOP_BY_RISK (decided by the caller)


def choose_hotspots(risk, rule, limit=0, share=0.5, gi_bin=None):
    """Positions of the hot spots to patrol, riskiest first: the top ``limit`` by risk, the
    significant hot spots (Gi_Bin = 3) by risk, or the fewest holding ``share`` of all
    risk; at most ``limit`` of them (0: no limit). NaN risk is never chosen."""
    risk = np.asarray(risk, dtype=float)
    order = np.argsort(-np.nan_to_num(risk, nan=-np.inf), kind="stable")
    order = order[np.isfinite(risk[order]) & (risk[order] >= 0)]
    if rule == Selection.SIGNIFICANT:
        if gi_bin is None:
            raise InputError("The layer has no Gi_Bin field; run Gi* or optimized hot spots first, or choose by risk.")
        order = order[np.asarray(gi_bin)[order] == 3]
    elif rule == Selection.RISK_SHARE:
        order = order[: units_for_share(risk[order], share)] if len(order) and risk[order].sum() > 0 else order[:0]
    return order[:limit] if limit else order


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
    minutes = _feasible_minutes(minutes, visit_min, visit_max)
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
    whole = np.floor(np.asarray(minutes, dtype=float) + 1e-9).astype(np.int64)
    visits = np.ceil(whole / visit_max).astype(np.int64)
    fits = whole >= visits * visit_min
    result = np.where(fits, whole, (visits - 1) * visit_max)  # in a gap between v - 1 long and v short visits
    return np.where(whole < visit_min, 0, result)


def visit_lengths(minutes, visits):
    """Whole-minute lengths of ``visits`` visits adding up to ``minutes``, differing by at most
    one minute (all within visit_min..visit_max when the plan came from allocate)."""
    base, extra = divmod(int(minutes), int(visits))
    return [base + 1] * extra + [base] * (visits - extra)


MAX_SCHEDULE_ROWS = 10_000_000  # a year of 3 shifts with 9,000 visits each; beyond it memory, not patrols, runs out


@dataclass
class Schedule:
    """One row per planned visit, sorted by shift, unit and start: shift (from 1), unit
    (from 1), order in the unit's shift (from 1), hot spot (position in the plan), start
    (minutes into the shift), minutes."""

    shift: np.ndarray
    unit: np.ndarray
    order: np.ndarray
    spot: np.ndarray
    start: np.ndarray
    minutes: np.ndarray


def units_of(plan, units):
    """The unit (0 .. units - 1) that patrols each hot spot: by rank in turn, so the units'
    loads differ by less than one hot spot's minutes."""
    return np.arange(len(plan.visits)) % units


def schedule(plan, shift_minutes, shifts, seed, units=1):
    """Randomised visits for each shift, ``units`` patrol units sharing them. Each hot spot
    belongs to one unit, and a unit's visits never overlap: in every shift they follow one
    another in an order that spreads a place's repeat visits through the shift (visit k of
    c is placed by (k + u) / c, u uniform in [0, 1)), and the unit's free time falls as
    random gaps between them (sorted uniform draws), so visits are unpredictable yet the
    unit can make every one. The same seed gives the same schedule. A unit with more visit
    minutes than the shift has is an InputError."""
    spot, k, count, length, unit, busy = _visits_of_a_shift(plan, shift_minutes, shifts, units)
    rng = np.random.default_rng(seed)
    size = len(spot)
    shift = np.repeat(np.arange(shifts), size)
    unit_all, spot_all, length_all = np.tile(unit, shifts), np.tile(spot, shifts), np.tile(length, shifts)
    place = (np.tile(k, shifts) + rng.uniform(0.0, 1.0, shifts * size)) / np.tile(np.maximum(count, 1), shifts)
    gap = rng.uniform(0.0, 1.0, shifts * size)
    group = shift * units + unit_all
    in_order = np.lexsort((place, group))  # each unit's visits of each shift, in their order
    gaps_sorted = gap[np.lexsort((gap, group))]  # each group's draws, smallest first, beside its visits
    group_sorted = group[in_order]
    first = np.searchsorted(group_sorted, group_sorted)  # start of each visit's group
    ends = np.cumsum(length_all[in_order])
    before = ends - length_all[in_order] - (ends[first] - length_all[in_order][first])  # busy minutes before it
    slack = shift_minutes - busy[unit_all[in_order]]
    start = before + np.floor(gaps_sorted * slack).astype(np.int64)
    position = np.arange(len(in_order)) - first
    return Schedule(
        shift[in_order] + 1, unit_all[in_order] + 1, position + 1, spot_all[in_order], start.astype(np.int64), length_all[in_order]
    )


def profiled_schedule(plan, profiles, shift_minutes, shift_hours_of_week, seed, units=1):
    """A schedule whose visits follow when crime happens at each place: ``profiles`` (one
    row of 168 weekday-hour weights per hot spot, Monday 00:00 first) send each hot spot's
    visits of a shift to its riskiest hours (aoristic.visit_hours, kept apart by at least
    the shift's hours / its visits), at a random minute of the hour, and each unit's visits
    are then laid out so that it is never at two places at once and all fit the shift.
    ``shift_hours_of_week``: the hour of the week (Monday 00:00 = 0) each shift starts."""
    from .aoristic import non_overlapping_starts, visit_hours

    shifts = len(shift_hours_of_week)
    spot, k, _, length, unit, _ = _visits_of_a_shift(plan, shift_minutes, shifts, units)
    visits = np.asarray(plan.visits, dtype=np.int64)
    rng = np.random.default_rng(seed)
    columns = []
    for shift in range(shifts):  # one pass per shift (a few hundred at most), over all visits at once
        slot = visit_hours(profiles, visits, shift_hours_of_week[shift], shift_minutes / 60.0)[spot, k]
        room = np.maximum(np.minimum(60.0, shift_minutes - 60.0 * slot) - length, 0.0)
        start = non_overlapping_starts(unit, 60.0 * slot + np.floor(rng.uniform(0.0, 1.0, len(spot)) * (room + 1)), length, shift_minutes)
        columns.append((np.full(len(spot), shift), start))
    shift = np.concatenate([c[0] for c in columns])
    start = np.concatenate([c[1] for c in columns]).astype(np.int64)
    unit_all, spot_all, length_all = np.tile(unit, shifts), np.tile(spot, shifts), np.tile(length, shifts)
    in_order = np.lexsort((start, unit_all, shift))
    group = (shift * units + unit_all)[in_order]
    position = np.arange(len(in_order)) - np.searchsorted(group, group)
    return Schedule(shift[in_order] + 1, unit_all[in_order] + 1, position + 1, spot_all[in_order], start[in_order], length_all[in_order])


def _visits_of_a_shift(plan, shift_minutes, shifts, units):
    """Every visit of one shift: its hot spot, which of the spot's visits it is, the spot's
    visit count, its minutes (as visit_lengths: the first ones a minute longer) and its unit,
    with each unit's busy minutes. Refused when a unit cannot make its visits in a shift or
    the schedule would be too long to hold."""
    visits = np.asarray(plan.visits, dtype=np.int64)
    spot = np.repeat(np.arange(len(visits)), visits)  # one entry per visit of one shift
    k = np.arange(len(spot)) - np.repeat(np.cumsum(visits) - visits, visits)  # which visit of its spot
    count = visits[spot]
    base, extra = np.divmod(np.asarray(plan.minutes, dtype=np.int64)[spot], np.maximum(count, 1))
    length = base + (k < extra)
    unit = units_of(plan, units)[spot]
    busy = np.bincount(unit, length, units)
    if busy.max(initial=0) > shift_minutes:
        raise InputError(
            f"One patrol unit would need {int(busy.max())} minutes of visits in a {shift_minutes:.0f}-minute shift: "
            f"use at least {int(np.ceil(length.sum() / shift_minutes))} units (UNITS) or fewer patrol minutes."
        )
    if shifts * len(spot) > MAX_SCHEDULE_ROWS:
        raise InputError(
            f"A schedule of {shifts:,} shifts with {len(spot):,} visits each would have {shifts * len(spot):,} rows "
            f"(at most {MAX_SCHEDULE_ROWS:,}): schedule fewer shifts (SHIFTS) and make the next ones later."
        )
    return spot, k, count, length, unit, busy


def shift_index(seconds, start_hour, shift_hours):
    """The shift each time (seconds since 1970, UTC) falls in: shifts of ``shift_hours``
    one after another from ``start_hour`` o'clock on 1 January 1970."""
    return np.floor((np.asarray(seconds, dtype=float) - 3600.0 * start_hour) / (3600.0 * shift_hours)).astype(np.int64)


def split_by_shift(spot, begin, end, start_hour, shift_hours):
    """Episodes (hot spot, begin, end in seconds) cut at shift ends: (spot, shift, seconds)
    of every piece, and the shift each episode began in."""
    spot, begin, end = np.asarray(spot), np.asarray(begin, dtype=float), np.asarray(end, dtype=float)
    first, last = shift_index(begin, start_hour, shift_hours), shift_index(end, start_hour, shift_hours)
    pieces = last - first + 1
    episode = np.repeat(np.arange(len(spot)), pieces)
    shift = first[episode] + (np.arange(pieces.sum()) - np.repeat(np.cumsum(pieces) - pieces, pieces))
    shift_start = 3600.0 * start_hour + shift * 3600.0 * shift_hours
    seconds = np.minimum(end[episode], shift_start + 3600.0 * shift_hours) - np.maximum(begin[episode], shift_start)
    return spot[episode], shift, seconds, first
