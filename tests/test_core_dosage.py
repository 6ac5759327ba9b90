"""core.dosage invariants: never over budget, every visit 10-15 minutes, riskier hot spots
never get fewer minutes, one visit for every funded hot spot, repeatable schedules."""

import numpy as np
import pytest

from hotspot_policing.core.dosage import allocate, schedule, visit_lengths


@pytest.mark.parametrize("seed", range(40))
def test_allocation_invariants(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 40))
    risk = rng.gamma(1.0, 10.0, n) * (rng.random(n) > 0.1)
    budget = float(rng.integers(0, 2000))
    shift = 60 * float(rng.choice([8, 10, 12]))
    plan = allocate(risk, budget, shift, 10, 15)
    assert plan.minutes.sum() <= budget
    for minutes, visits in zip(plan.minutes, plan.visits):
        if minutes:
            lengths = visit_lengths(minutes, visits)
            assert sum(lengths) == minutes and all(10 <= length <= 15 for length in lengths)
            assert visits <= np.ceil(shift / 120)  # at most one visit per two hours
        else:
            assert visits == 0
    order = np.argsort(-risk, kind="stable")
    assert (np.diff(plan.minutes[order]) <= 0).all()  # riskier never gets fewer minutes
    funded = min(n, int(budget // 10))
    assert plan.funded == funded and (plan.minutes[order[:funded]] >= 10).all()


def test_budget_follows_risk_hand_worked():
    # 3 hot spots, 8-hour shift (cap 4 visits x 15 = 60 min), 90 minutes in proportion to risk
    # 6 : 3 : 1 with a 10-minute floor: the third gets the floor (lambda < 10), the others
    # share 80 as 6 : 3 -> 53.3 and 26.7, rounded down to whole minutes: 53 (4 visits of
    # 13-14 minutes), 26 (2 visits of 13), 10 (1 visit); 89 of the 90 minutes are used.
    plan = allocate([6.0, 3.0, 1.0], 90, 480, 10, 15)
    assert plan.minutes.tolist() == [53, 26, 10]
    assert plan.visits.tolist() == [4, 2, 1]


def test_budget_too_small_funds_the_riskiest():
    plan = allocate([1.0, 5.0, 3.0], 25, 480, 10, 15)
    assert plan.funded == 2 and plan.budget_needed == 30
    assert plan.minutes[0] == 0 and plan.minutes[1] >= 10 and plan.minutes[2] >= 10


def test_minutes_in_a_gap_round_down():
    # 17 minutes cannot be made of 10-15 minute visits (one visit: at most 15; two: at least 20)
    plan = allocate([1.0], 17, 480, 10, 15)
    assert plan.minutes.tolist() == [15] and plan.visits.tolist() == [1]


def schedule_rows(visits):
    """The schedule as rows (shift, unit, order, hot spot, start, minutes)."""
    return list(zip(*(getattr(visits, name).tolist() for name in ("shift", "unit", "order", "spot", "start", "minutes"))))


@pytest.mark.parametrize("units", [1, 2, 3])
def test_schedule_is_repeatable_within_the_shift_and_no_unit_is_in_two_places(units):
    plan = allocate(np.array([9.0, 5.0, 2.0, 1.0, 1.0]), 300, 480, 10, 15)
    first = schedule_rows(schedule(plan, 480, 3, seed=11, units=units))
    assert first == schedule_rows(schedule(plan, 480, 3, seed=11, units=units))
    assert first != schedule_rows(schedule(plan, 480, 3, seed=12, units=units))
    assert {row[0] for row in first} == {1, 2, 3} and {row[1] for row in first} == set(range(1, units + 1))
    for shift in (1, 2, 3):
        for unit in range(1, units + 1):
            rows = sorted((row for row in first if row[:2] == (shift, unit)), key=lambda row: row[2])
            assert [row[2] for row in rows] == list(range(1, len(rows) + 1))
            assert all(0 <= start and start + minutes <= 480 for *_, start, minutes in rows)
            # one after another: a visit starts when the one before has ended, or later
            assert all(a[4] + a[5] <= b[4] for a, b in zip(rows, rows[1:]))
        for spot in range(5):
            visits = [row for row in first if row[0] == shift and row[3] == spot]
            assert len(visits) == plan.visits[spot] and sum(row[5] for row in visits) == plan.minutes[spot]
            assert len({row[1] for row in visits}) == 1  # a place is one unit's


def test_repeat_visits_to_a_place_spread_through_the_shift():
    plan = allocate(np.array([9.0, 5.0, 2.0, 1.0]), 150, 480, 10, 15)
    rows = schedule_rows(schedule(plan, 480, 400, seed=3))
    twice = int(np.flatnonzero(plan.visits == 2)[0])
    first_visits, second_visits = [], []
    for shift in range(1, 401):
        starts = sorted(row[4] for row in rows if row[0] == shift and row[3] == twice)
        first_visits.append(starts[0])
        second_visits.append(starts[1])
    assert np.mean(first_visits) < 240 < np.mean(second_visits)


def test_a_schedule_one_unit_cannot_keep_asks_for_more_units():
    from hotspot_policing.core import InputError

    plan = allocate(np.arange(12, 0, -1.0), 600, 480, 10, 15)  # more minutes than one shift has
    with pytest.raises(InputError, match="use at least 2 units"):
        schedule(plan, 480, 1, seed=1)
    assert len(schedule_rows(schedule(plan, 480, 1, seed=1, units=2))) == plan.visits.sum()


def test_a_schedule_too_large_to_hold_is_refused_up_front():
    from hotspot_policing.core import InputError

    plan = allocate(np.array([9.0, 5.0, 2.0, 1.0]), 150, 480, 10, 15)
    with pytest.raises(InputError, match="2,000,000 shifts .* rows"):
        schedule(plan, 480, 2_000_000, seed=1)


def test_profiled_schedule_follows_the_risk_and_never_doubles_a_unit():
    from hotspot_policing.core.dosage import Plan, profiled_schedule

    plan = Plan(visits=np.array([2, 1, 1, 1]), minutes=np.array([30, 15, 12, 10]), funded=4, budget_needed=67)
    profiles = np.zeros((4, 168))
    profiles[0, [16 + 4, 16 + 5]] = 1.0  # Monday 20:00 and 21:00
    profiles[1, 16 + 7] = 1.0  # Monday 23:00
    profiles[3] = 1.0  # flat
    hours = np.array([16.0, 24 + 16.0])  # Monday and Tuesday 16:00, eight-hour shifts
    result = profiled_schedule(plan, profiles, 480.0, hours, seed=3, units=2)
    assert len(result.shift) == 2 * 5
    monday = result.shift == 1
    first = result.start[monday & (result.spot == 0)]
    slots = sorted(first // 60)  # one visit in its risky hours, the other at least 8 h / 2 visits away
    assert slots[1] in (4, 5) and slots[1] - slots[0] >= 4
    assert result.start[monday & (result.spot == 1)] // 60 == 7
    for shift in (1, 2):
        for unit in (1, 2):
            rows = np.flatnonzero((result.shift == shift) & (result.unit == unit))
            order = rows[np.argsort(result.start[rows])]
            ends = result.start[order] + result.minutes[order]
            assert (result.start[order][1:] >= ends[:-1]).all() and ends.max(initial=0) <= 480 and result.start.min() >= 0
            assert list(result.order[order]) == list(range(1, len(order) + 1))
    again = profiled_schedule(plan, profiles, 480.0, hours, seed=3, units=2)
    assert np.array_equal(again.start, result.start)
