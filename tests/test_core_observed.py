"""core.observed: dwell times against hand-computed ping tracks (enter, leave, gaps, two
units at once)."""

import numpy as np
import pytest

from hotspot_policing.core.observed import merge_overlapping, presence


def track(unit, start, end, step=30.0):
    times = np.arange(start, end + 1e-9, step)
    return np.full(len(times), unit), times


def test_dwell_times_by_hand():
    # unit 1: in hot spot 0 from 0 to 600 s (21 pings), out at 630-900, back 930-1230
    u1, t1 = track(1, 0, 1230)
    s1 = np.where((t1 <= 600) | (t1 >= 930), 0, -1)
    # unit 2: in hot spot 0 from 300 to 900 s, overlapping unit 1 from 300 to 600
    u2, t2 = track(2, 300, 900)
    s2 = np.zeros(len(t2), dtype=int)
    # unit 3: in hot spot 1 with a 10-minute GPS gap in the middle: 0-300 and 900-1200
    u3, t3 = np.full(22, 3), np.concatenate([np.arange(0, 301, 30.0), np.arange(900, 1201, 30.0)])
    s3 = np.ones(len(t3), dtype=int)
    unit = np.concatenate([u1, u2, u3])
    seconds = np.concatenate([t1, t2, t3])
    spot = np.concatenate([s1, s2, s3])
    shuffle = np.random.default_rng(0).permutation(len(unit))  # pings out of order are sorted
    result = presence(unit[shuffle], seconds[shuffle], spot[shuffle], 2, max_gap=120.0)
    # hot spot 0: unit 1 [0, 600] and [930, 1230], unit 2 [300, 900]; presence = [0, 900] U
    # [930, 1230] = 900 + 300 s = 20 min, 2 visits; officer minutes 10 + 5 + 10 = 25
    assert result.minutes[0] == pytest.approx(20.0) and result.visits[0] == 2
    assert result.officer_minutes[0] == pytest.approx(25.0)
    # hot spot 1: the 600 s gap breaks the stay into two episodes of 300 s each
    assert result.minutes[1] == pytest.approx(10.0) and result.visits[1] == 2
    # with a 15-minute allowed gap it is one episode of 1200 s
    longer = presence(unit, seconds, spot, 2, max_gap=900.0)
    assert longer.minutes[1] == pytest.approx(20.0) and longer.visits[1] == 1
    # visits shorter than a minimum do not count as visits
    strict = presence(unit, seconds, spot, 2, max_gap=120.0, min_visit=400.0)
    assert strict.visits.tolist() == [1, 0]


def test_merge_overlapping_per_key_by_hand():
    key = np.array([0, 0, 0, 1, 1, 0])
    begin = np.array([0.0, 5.0, 20.0, 3.0, 4.0, 12.0])
    end = np.array([10.0, 8.0, 30.0, 5.0, 9.0, 20.0])
    merged = merge_overlapping(key, begin, end)
    # key 0: [0, 10] holds [5, 8]; [12, 20] touches [20, 30]; key 1: [3, 5] and [4, 9] overlap
    assert [m.tolist() for m in merged] == [[0, 0, 1], [0.0, 12.0, 3.0], [10.0, 30.0, 9.0]]


def test_shifts_on_duty_need_half_a_shift_of_patrols():
    from hotspot_policing.core.observed import duty_shifts

    hour = 3600.0
    # day 0: car A on duty 07:00-13:00 (1 h of the 00-08 shift, 5 h of the 08-16 shift),
    # car B 17:00-23:00 (6 h of the 16-24 shift); car C pings 15:00-15:10 only
    a = np.arange(7 * hour, 13 * hour + 1, 30.0)
    b = np.arange(17 * hour, 23 * hour + 1, 30.0)
    c = np.arange(15 * hour, 15 * hour + 601, 30.0)
    units = np.repeat([0, 1, 2], [len(a), len(b), len(c)])
    seconds = np.concatenate([a, b, c])
    shuffle = np.random.default_rng(0).permutation(len(seconds))
    on_duty, any_duty = duty_shifts(units[shuffle], seconds[shuffle], 120.0, 8.0, 8.0)
    # shifts of 8 h from 08:00: index -1 is 00-08, 0 is 08-16, 1 is 16-24
    assert on_duty.tolist() == [0, 1] and any_duty.tolist() == [-1, 0, 1]
    # a gap longer than max_gap takes a car off duty: two 3-hour spells of car A in the 08-16 shift
    # with a 2-hour gap between are 3 + 3 = 6 h (on duty), one 3-hour spell alone is not
    spells = np.concatenate([np.arange(8 * hour, 11 * hour + 1, 30.0), np.arange(13 * hour, 16 * hour, 30.0)])
    assert duty_shifts(np.zeros(len(spells), int), spells, 120.0, 8.0, 8.0)[0].tolist() == [0]
    assert duty_shifts(np.zeros(len(spells) // 2, int), spells[: len(spells) // 2], 120.0, 8.0, 8.0)[0].tolist() == []
