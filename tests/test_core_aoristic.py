"""core.aoristic against independent references: windows counted second by second (short
windows) or hour by hour (long ones) with the calendar's own weekday and hour (Python's
datetime), minute-by-minute shifts, hand-worked examples (18:20:30, midnight Sunday to
Monday, whole weeks, zero length) and daylight-saving nights in a zone with offsets."""

import time
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from hotspot_policing.core import InputError, aoristic
from hotspot_policing.core.aoristic import (
    bad_windows,
    check_windows,
    day_shifts,
    non_overlapping_starts,
    peak,
    shares,
    shift_shares,
    visit_hours,
    wall_clock_pieces,
    weekday_hour_weights,
)

MONDAY = datetime(2024, 3, 4, tzinfo=timezone.utc)  # a Monday


def seconds(day_offset, hour, minute=0, second=0):
    """Seconds since 1970 of a wall-clock time ``day_offset`` days after Monday 4 March 2024."""
    return (MONDAY + timedelta(days=day_offset, hours=hour, minutes=minute, seconds=second)).timestamp()


def calendar_cell(hour_since_epoch):
    moment = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(hours=int(hour_since_epoch))
    return moment.weekday() * 24 + moment.hour


def per_second(start, end, weights, group, groups):
    """Each second of each window counted into its calendar hour (integer-second windows)."""
    table = np.zeros((groups, 168))
    for s, e, w, g in zip(start, end, weights, group):
        if g < 0:
            continue
        if e == s:
            table[g, calendar_cell(s // 3600)] += w
            continue
        hours, counts = np.unique(np.arange(int(s), int(e)) // 3600, return_counts=True)
        for h, c in zip(hours, counts):
            table[g, calendar_cell(h)] += w * c / (e - s)
    return table


def per_hour(start, end, weights, group, groups):
    """Each calendar hour a window touches, with the seconds of overlap written out."""
    table = np.zeros((groups, 168))
    for s, e, w, g in zip(start, end, weights, group):
        if g < 0:
            continue
        h = int(np.floor(s / 3600))
        if e == s:
            table[g, calendar_cell(h)] += w
            continue
        while h * 3600 < e:
            overlap = min(e, (h + 1) * 3600) - max(s, h * 3600)
            if overlap > 0:
                table[g, calendar_cell(h)] += w * overlap / (e - s)
            h += 1
    return table


def test_the_18_20_30_example():
    # Monday 18:20:30 to 20:00: 39.5 minutes in the 18:00 cell, 60 in the 19:00 cell
    table = weekday_hour_weights([seconds(0, 18, 20, 30)], [seconds(0, 20)])
    assert table.shape == (1, 168)
    assert table[0, 18] == pytest.approx(39.5 / 99.5, rel=1e-14) and table[0, 19] == pytest.approx(60 / 99.5, rel=1e-14)
    assert table.sum() == pytest.approx(1.0, rel=1e-15) and np.count_nonzero(table) == 2
    assert aoristic.cell_of([seconds(0, 18, 20, 30), seconds(6, 23, 59, 59), 0.0, -1.0]).tolist() == [18, 167, 72, 71]
    # all of a window inside one hour goes to that hour, ending on the hour included
    table = weekday_hour_weights([seconds(0, 18, 20, 30)], [seconds(0, 19)])
    assert table[0, 18] == 1.0 and np.count_nonzero(table) == 1


def test_zero_length_windows_and_no_end():
    at = [seconds(2, 19), seconds(2, 18, 59, 59), seconds(6, 23, 59, 59)]
    with_end = weekday_hour_weights(at, at, [1.0, 2.0, 4.0])
    without = weekday_hour_weights(at, weights=[1.0, 2.0, 4.0])
    assert np.array_equal(with_end, without)
    assert with_end[0, 2 * 24 + 19] == 1.0 and with_end[0, 2 * 24 + 18] == 2.0 and with_end[0, 167] == 4.0
    assert with_end.sum() == 7.0


def test_window_across_midnight_sunday_to_monday():
    table = weekday_hour_weights([seconds(6, 23, 30)], [seconds(7, 0, 30)], [3.0])
    assert table[0, 167] == pytest.approx(1.5) and table[0, 0] == pytest.approx(1.5) and np.count_nonzero(table) == 2
    # Friday 18:00 to Monday 08:00: 62 hours, one 62nd of the weight in each
    table = weekday_hour_weights([seconds(4, 18)], [seconds(7, 8)])
    expected = np.zeros(168)
    expected[4 * 24 + 18 :] = 1 / 62
    expected[:8] = 1 / 62
    assert np.allclose(table[0], expected, rtol=1e-13, atol=0)


def test_windows_of_a_week_and_longer():
    start = seconds(2, 10, 15)
    week = 7 * 86400
    table = weekday_hour_weights([start, start], [start + week, start + 3 * week], [168.0, 168.0 * 3])
    assert np.allclose(table[0], 4.0, rtol=1e-13)  # each whole week spreads evenly over the 168 cells
    # three weeks and 5 hours from Wednesday 10:15: 3 weeks' worth everywhere, 5 more hours from 10:15 on
    span = 3 * week + 5 * 3600
    table = weekday_hour_weights([start], [start + span], [span / 3600])
    expected = np.full(168, 3.0)
    expected[2 * 24 + 10] += 0.75
    expected[2 * 24 + 11 : 2 * 24 + 15] += 1.0
    expected[2 * 24 + 15] += 0.25
    assert np.allclose(table[0], expected, rtol=1e-13)


@pytest.mark.parametrize("seed", range(4))
def test_short_windows_against_a_per_second_count(seed):
    rng = np.random.default_rng(seed)
    n = 300
    start = rng.integers(int(seconds(-30, 0)), int(seconds(30, 0)), n).astype(float)
    length = rng.choice([0, 1, 59, 3599, 3600, 3601, 7199, 10_800], n) * (rng.random(n) < 0.3) + rng.integers(0, 4 * 3600, n) * (
        rng.random(n) >= 0.3
    )
    start[: n // 10] -= start[: n // 10] % 3600  # windows starting on the hour
    end = start + length
    weights = rng.gamma(2.0, 1.0, n)
    group = rng.integers(-1, 5, n)
    table = weekday_hour_weights(start, end, weights, group, groups=5)
    reference = per_second(start, end, weights, group, 5)
    assert np.allclose(table, reference, rtol=1e-12, atol=1e-14)
    assert table.sum() == pytest.approx(weights[group >= 0].sum(), rel=1e-13)


@pytest.mark.parametrize("seed", range(4))
def test_long_windows_against_an_hour_by_hour_overlap(seed):
    rng = np.random.default_rng(100 + seed)
    n = 80
    start = rng.uniform(seconds(-10_000, 0), seconds(400, 0), n)  # before 1970 as well
    length = rng.choice([rng.uniform(0, 72), rng.uniform(160, 180), rng.uniform(0, 900)], n) * 3600.0
    length[:5] = [168 * 3600, 336 * 3600, 167.5 * 3600, 0.0, 168 * 3600 + 0.25]
    end = start + length
    weights = rng.uniform(0.5, 3.0, n)
    group = rng.integers(0, 3, n)
    table = weekday_hour_weights(start, end, weights, group)
    reference = per_hour(start, end, weights, group, 3)
    assert table.shape == (3, 168)
    assert np.allclose(table, reference, rtol=1e-10, atol=0)


def test_passes_give_the_same_table(monkeypatch):
    rng = np.random.default_rng(7)
    n = 5000
    start = rng.uniform(seconds(-100, 0), seconds(100, 0), n)
    end = start + rng.uniform(0, 72 * 3600, n)
    group = rng.integers(0, 40, n)
    whole = weekday_hour_weights(start, end, group=group)
    for size in (1, 997):  # one window per pass; passes cutting across windows
        monkeypatch.setattr(aoristic, "PIECES_PER_PASS", size)
        assert np.allclose(weekday_hour_weights(start, end, group=group), whole, rtol=1e-12, atol=0)


def test_the_machine_clock_zone_does_not_matter(monkeypatch):
    if not hasattr(time, "tzset"):
        pytest.skip("no time.tzset on this platform")
    rng = np.random.default_rng(5)
    start = rng.uniform(seconds(0, 0), seconds(60, 0), 1000)
    end = start + rng.uniform(0, 50 * 3600, 1000)
    here = weekday_hour_weights(start, end)
    for zone in ("Asia/Kolkata", "America/St_Johns", "Pacific/Kiritimati"):
        monkeypatch.setenv("TZ", zone)
        time.tzset()
        assert np.array_equal(weekday_hour_weights(start, end), here)
    monkeypatch.undo()
    time.tzset()


def test_bad_windows_are_found_named_and_refused():
    start = np.array([0.0, 100.0, np.nan, 50.0, 10.0])
    end = np.array([10.0, 90.0, 5.0, np.inf, 10.0])
    assert bad_windows(start, end).tolist() == [False, True, True, True, False]
    assert bad_windows(start).tolist() == [False, False, True, False, False]
    with pytest.raises(InputError, match="no time.*feature 12, 13"):
        check_windows(start, end, ids=[10, 11, 12, 13, 14])
    with pytest.raises(InputError, match="end before they start.*feature 11"):
        check_windows(start[:2], end[:2], ids=[10, 11])
    with pytest.raises(InputError):
        weekday_hour_weights(start, end)
    ok = ~bad_windows(start, end)
    assert weekday_hour_weights(start[ok], end[ok]).sum() == pytest.approx(2.0)


def test_groups_and_weights():
    start = [seconds(0, 9), seconds(0, 9), seconds(1, 9), seconds(1, 9)]
    table = weekday_hour_weights(start, None, [1.0, 2.0, 4.0, 8.0], [0, 2, 2, -1], groups=4)
    assert table.shape == (4, 168)
    assert table[0, 9] == 1 and table[2, 9] == 2 and table[2, 33] == 4 and table[1].sum() == 0 and table[3].sum() == 0
    assert table.sum() == 7
    assert weekday_hour_weights([], []).shape == (1, 168)


def test_shares_and_peak():
    table = np.zeros((3, 168))
    table[0, [10, 50, 100]] = [1.0, 3.0, 1.0]
    table[1, [20, 30]] = [2.0, 2.0]  # a tie: the first cell of the week wins
    share = shares(table)
    assert np.allclose(share[:2].sum(axis=1), 1.0) and np.isnan(share[2]).all()
    weekday, hour, top = peak(table)
    assert weekday.tolist() == [2, 0, -1] and hour.tolist() == [2, 20, -1]
    assert top[:2] == pytest.approx([0.6, 0.5]) and np.isnan(top[2])
    rng = np.random.default_rng(0)
    table = weekday_hour_weights(rng.uniform(0, 1e9, 5000), None, group=rng.integers(0, 7, 5000))
    assert np.allclose(shares(table).sum(axis=1), 1.0, rtol=1e-14)
    weekday, hour, top = peak(table)
    assert (weekday * 24 + hour == table.argmax(axis=1)).all() and np.allclose(top, table.max(axis=1) / table.sum(axis=1))
    # a week-long window: all cells equal up to rounding, so the peak is Monday 00:00
    flat = weekday_hour_weights([seconds(3, 5, 17, 3.3)], [seconds(10, 5, 17, 3.3)])
    assert [int(v[0]) for v in peak(flat)[:2]] == [0, 0] and peak(flat)[2][0] == pytest.approx(1 / 168)


def shift_shares_by_minute(table, start, length):
    """Each minute of the week given its cell's weight / 60 and its shift of the day."""
    starts, lengths = day_shifts(start, length)
    minute = np.arange(168 * 60)
    of_day = (minute % 1440) / 60.0
    since_first = (of_day - start) % 24
    shift = np.minimum((since_first // length).astype(int), len(starts) - 1)
    result = np.zeros((len(table), len(starts)))
    for s in range(len(starts)):
        result[:, s] = table[:, minute[shift == s] // 60].sum(axis=1) / 60
    return result / table.sum(axis=1, keepdims=True)


def test_shift_shares_with_8_hour_shifts_from_8():
    starts, lengths = day_shifts(8, 8)
    assert starts.tolist() == [8, 16, 0] and lengths.tolist() == [8, 8, 8]
    table = np.zeros((4, 168))
    table[0, 24 + 9] = 1.0  # Tuesday 09:00: day shift
    table[1, 6 * 24 + 23] = 1.0  # Sunday 23:00: late shift
    table[2, 3] = 5.0  # Monday 03:00: night shift
    table[3] = 1.0
    assert np.allclose(shift_shares(table, 8, 8), [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1 / 3, 1 / 3, 1 / 3]])


def test_shift_shares_with_10_hour_shifts_from_22():
    starts, lengths = day_shifts(22, 10)
    assert starts.tolist() == [22, 8, 18] and lengths.tolist() == [10, 10, 4]
    table = np.zeros((3, 168))
    table[0] = 1.0
    table[1, 6 * 24 + 23] = 1.0  # Sunday 23:00: the shift that started at 22:00
    table[1, 7] = 1.0  # Monday 07:00: the same night shift, next morning
    table[2, [8, 17, 18, 21]] = 1.0
    assert np.allclose(shift_shares(table, 22, 10), [[10 / 24, 10 / 24, 4 / 24], [1, 0, 0], [0, 0.5, 0.5]])


@pytest.mark.parametrize("seed", range(6))
def test_shift_shares_against_a_minute_by_minute_split(seed):
    rng = np.random.default_rng(seed)
    table = rng.gamma(0.5, 1.0, (4, 168)) * (rng.random((4, 168)) < 0.7)
    start = float(rng.integers(0, 96)) / 4  # quarter hours: "fractional" starts cut cells
    length = float(rng.integers(2, 97)) / 4
    assert np.allclose(shift_shares(table, start, length), shift_shares_by_minute(table, start, length), rtol=1e-12)
    assert np.allclose(shift_shares(table, start, length).sum(axis=1), 1.0)
    # a 07:30 start splits the 07:00 cell between the night shift and the day shift
    one = np.zeros((1, 168))
    one[0, 7] = 1.0
    assert np.allclose(shift_shares(one, 7.5, 8), [[0.5, 0, 0.5]])
    assert np.isnan(shift_shares(np.zeros((1, 168)), 8, 8)).all()


def test_daylight_saving_nights_count_the_hours_that_passed():
    # Europe/Berlin 2023: +1 h until 26 March 01:00 UTC, +2 h until 29 October 01:00 UTC, then +1 h
    change_at = [datetime(2023, 3, 26, 1, tzinfo=timezone.utc).timestamp(), datetime(2023, 10, 29, 1, tzinfo=timezone.utc).timestamp()]
    offsets = [3600.0, 7200.0, 3600.0]
    utc = lambda *args: datetime(*args, tzinfo=timezone.utc).timestamp()  # noqa: E731
    # spring (Sunday 26 March): 01:30 -> 03:30 on the wall is one real hour: half in 01:00, half in 03:00, none in 02:00
    # autumn (Sunday 29 October): 00:30 CEST -> 02:30 CET is three real hours: 0.5 in 00:00, 1 in 01:00, 1.5 in 02:00
    # a zero-length window at the change takes the new offset; a window without a change is one piece
    start = [utc(2023, 3, 26, 0, 30), utc(2023, 10, 28, 22, 30), utc(2023, 10, 29, 1), utc(2023, 6, 1, 10)]
    end = [utc(2023, 3, 26, 1, 30), utc(2023, 10, 29, 1, 30), utc(2023, 10, 29, 1), utc(2023, 6, 1, 12)]
    row, wall_start, wall_end, share = wall_clock_pieces(start, end, change_at, offsets)
    assert row.tolist() == [0, 0, 1, 1, 2, 3]
    assert share.tolist() == pytest.approx([0.5, 0.5, 5 / 6, 1 / 6, 1.0, 1.0])
    table = weekday_hour_weights(wall_start, wall_end, 3.0 * share, row, groups=4)
    sunday = 6 * 24
    assert np.allclose(table[0, sunday : sunday + 4], [0, 1.5, 0, 1.5]) and table[0].sum() == pytest.approx(3)
    assert np.allclose(table[1, sunday : sunday + 4], [0.5, 1.0, 1.5, 0]) and table[1].sum() == pytest.approx(3)
    assert table[2, sunday + 2] == 3.0  # 01:00 UTC = 02:00 CET
    assert np.allclose(table[3, 3 * 24 + 12 : 3 * 24 + 14], [1.5, 1.5])  # Thursday 1 June 12:00-14:00 CEST


def test_daylight_saving_against_the_zone_database_minute_by_minute():
    zoneinfo = pytest.importorskip("zoneinfo")
    try:
        zone = zoneinfo.ZoneInfo("America/New_York")
    except zoneinfo.ZoneInfoNotFoundError:
        pytest.skip("no time zone database")
    # the zone's transitions and offsets for 2022-2024, found from the database hour by hour
    hours = np.arange(datetime(2022, 1, 1, tzinfo=timezone.utc).timestamp(), datetime(2025, 1, 1, tzinfo=timezone.utc).timestamp(), 3600)
    offset = np.array([datetime.fromtimestamp(h, zone).utcoffset().total_seconds() for h in hours])
    changes = np.flatnonzero(np.diff(offset)) + 1
    change_at, offsets = hours[changes], np.concatenate([[offset[0]], offset[changes]])
    rng = np.random.default_rng(11)
    around = np.repeat(change_at, 10) + rng.uniform(-30, 30, 10 * len(change_at)) * 3600
    start = np.floor(around / 60) * 60
    end = start + np.floor(rng.uniform(0, 40, len(start))) * 3600 + rng.integers(0, 60, len(start)) * 60
    row, wall_start, wall_end, share = wall_clock_pieces(start, end, change_at, offsets)
    table = weekday_hour_weights(wall_start, wall_end, share, row, groups=len(start))
    reference = np.zeros_like(table)
    for i, (s, e) in enumerate(zip(start, end)):
        minutes = np.arange(s, e, 60) if e > s else np.array([s])
        for m in minutes:
            wall = datetime.fromtimestamp(m, zone)
            reference[i, wall.weekday() * 24 + wall.hour] += 1 / len(minutes)
    assert np.allclose(table, reference, rtol=1e-9, atol=1e-12)


def test_visit_hours_follow_risk_and_stay_spread():
    friday_18 = 4 * 24 + 18
    profile = np.zeros((5, 168))
    profile[0, friday_18 + 4] = 10.0  # Friday 22:00
    profile[0, friday_18 + 1] = 6.0  # Friday 19:00
    profile[1, friday_18 + 4] = 10.0
    profile[1, friday_18 + 1] = 6.0
    profile[3, 4 * 24 : 5 * 24] = 1.0  # flat over the shift
    profile[4, 5 * 24 + 1] = 1.0  # Saturday 01:00, after midnight
    chosen = visit_hours(profile, [1, 2, 4, 4, 1], friday_18, 8)
    assert chosen.shape == (5, 4)
    assert chosen[0].tolist() == [4, -1, -1, -1]
    assert chosen[1].tolist() == [0, 4, -1, -1]  # gap 8 // 2 = 4 slots: 19:00 is too near 22:00
    assert chosen[2].tolist() == [0, 2, 4, 6]  # no weight: spread evenly from the shift start
    assert chosen[3].tolist() == [0, 2, 4, 6]
    assert chosen[4].tolist() == [7, -1, -1, -1]
    assert visit_hours(profile[:2], [2, 2], friday_18, 8, min_gap=1).tolist() == [[1, 4], [1, 4]]
    # a shift crossing the end of the week (Sunday 22:00 + 8 h) and a half-hour start
    profile = np.zeros((2, 168))
    profile[0, 3] = 1.0  # Monday 03:00
    profile[1, 22] = 1.0  # Monday 22:00
    assert visit_hours(profile[:1], [1], 166, 8).tolist() == [[5]]
    assert visit_hours(profile[1:], [1], 18.5, 8).tolist() == [[3]]  # 21:30-22:30 and 22:30-23:30 tie: the earlier
    # more visits than slots reuse slots; no visits give an empty row
    assert visit_hours(profile[:1], [3], 0, 2).tolist() == [[0, 0, 1]]
    assert visit_hours(profile, [0, 0], 0, 8).shape == (2, 0)


@pytest.mark.parametrize("seed", range(8))
def test_non_overlapping_starts(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 60))
    units = int(rng.integers(1, 5))
    unit = rng.integers(0, units, n)
    minutes = rng.integers(10, 16, n).astype(float)
    shift = 480.0
    while np.bincount(unit, minutes).max() > shift:
        minutes = np.maximum(minutes - 1, 1)
    desired = rng.choice(np.arange(0, 480, 60), n) + rng.integers(0, 60, n)
    start = non_overlapping_starts(unit, desired, minutes, shift)
    assert (start >= 0).all() and (start + minutes <= shift + 1e-9).all()
    for u in range(units):
        mine = np.flatnonzero(unit == u)
        order = mine[np.lexsort((desired[mine],))]
        s, m = start[order], minutes[order]
        assert (s[1:] >= s[:-1] + m[:-1] - 1e-9).all()  # never at two places at once, in the desired order
    alone = non_overlapping_starts([0, 1], [100.0, 100.0], [15.0, 15.0], 480)
    assert alone.tolist() == [100.0, 100.0]  # different units may visit at the same time
    assert non_overlapping_starts([0, 0, 0], [470.0, 0.0, 465.0], [15.0, 15.0, 15.0], 480).tolist() == [465.0, 0.0, 450.0]
    with pytest.raises(InputError):
        non_overlapping_starts([0, 0], [0.0, 0.0], [300.0, 300.0], 480)


def test_inputs_that_do_not_fit_are_refused():
    with pytest.raises(ValueError):
        weekday_hour_weights([0.0, 1.0], [1.0, 2.0], [1.0])
    with pytest.raises(ValueError):
        weekday_hour_weights([0.0, 1.0], None, group=[0, 3], groups=2)
    with pytest.raises(InputError):
        day_shifts(8, 0)
    with pytest.raises(ValueError):
        visit_hours(np.zeros((2, 168)), [1], 0, 8)
    # a zone without incidents has NULL shares: no known risk, visits spread as for an empty profile
    empty = shares(np.zeros((1, 168)))
    assert visit_hours(empty, [4], 8, 8).tolist() == visit_hours(np.zeros((1, 168)), [4], 8, 8).tolist() == [[0, 2, 4, 6]]
