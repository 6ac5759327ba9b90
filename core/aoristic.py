"""Aoristic time profiles: when in the week crime happens at a place, from incidents known
only to have happened somewhere in a window [from, to) (Ratcliffe & McCullagh 1998;
Ratcliffe 2000, 2002). Each incident's weight is spread over the 168 weekday-hour cells in
proportion to the part of its window in each cell, exact to the second; the profiles then
give shares per cell, the peak cell, shares per shift, and the hours of a shift in which to
place a hot spot's patrol visits (docs/methods.md, "Aoristic time profiles").

Times are float seconds since 1970-01-01 00:00 of the data's own wall clock, read as if it
were UTC (no time zone is applied here; see ``wall_clock_pieces`` for times that carry one).
1 January 1970 was a Thursday. Cell = weekday * 24 + hour, weekday 0 = Monday.
"""

import numpy as np

from . import InputError

HOUR = 3600.0
DAY_HOURS = 24
WEEK_HOURS = 168  # also the number of weekday-hour cells
EPOCH_CELL = 3 * DAY_HOURS  # hour 0 of 1970-01-01, a Thursday (weekday 3)
PIECES_PER_PASS = 4_000_000  # whole hours spelled out at once: about 100 MB of temporaries
PEAK_TIE = 1e-9  # cells within this relative distance of the maximum tie for the peak (rounding, not risk)


def cell_of(seconds):
    """The weekday-hour cell (0..167) each time falls in."""
    return (_hour_index(np.asarray(seconds, dtype=float)) + EPOCH_CELL) % WEEK_HOURS


def bad_windows(start, end=None):
    """Which windows cannot be spread: a missing (NaN or infinite) time, or an end before the
    start. The caller refuses them, naming the rows, or skips and counts them."""
    start = np.asarray(start, dtype=float)
    if end is None:
        return ~np.isfinite(start)
    end = np.asarray(end, dtype=float)
    with np.errstate(invalid="ignore"):
        return ~np.isfinite(start) | ~np.isfinite(end) | (end < start)


def check_windows(start, end=None, ids=None):
    """Refuse windows ``bad_windows`` flags, naming the first three by ``ids`` (feature ids;
    positions when None) and saying what to change."""
    start = np.asarray(start, dtype=float)
    end = start if end is None else np.asarray(end, dtype=float)
    missing = np.flatnonzero(~np.isfinite(start) | ~np.isfinite(end))
    where = _names(ids)
    if len(missing):
        raise InputError(
            f"{len(missing)} incidents have no time in the window fields (e.g. feature {where(missing)}): "
            "fill them, filter them out, or tick SKIP_BAD_ROWS to skip them."
        )
    reversed_ = np.flatnonzero(end < start)
    if len(reversed_):
        raise InputError(
            f"{len(reversed_)} incidents end before they start (e.g. feature {where(reversed_)}): "
            "correct the from and to times, or tick SKIP_BAD_ROWS to skip them."
        )


def weekday_hour_weights(start, end=None, weights=None, group=None, groups=None):
    """A (groups, 168) table: each incident's weight split over the weekday-hour cells in
    proportion to the seconds of its [start, end) window in each cell.

    A window within one hour, or of zero length (``end`` None: every window is), puts its
    whole weight in its hour. Whole weeks of a long window spread evenly over all 168 cells;
    the rest follows the clock. ``group`` gives each incident's zone (0 .. groups - 1; -1 =
    in no zone, left out); without it there is one row for all incidents. Bad windows raise
    InputError (see ``check_windows``: the caller names or skips them first).

    Work is per incident plus one entry per whole hour of each window short of a week (at
    most 167), spelled out in passes; every contribution is a positive amount added into its
    cell, so a cell's weight carries only the rounding of adding positive numbers."""
    start = np.asarray(start, dtype=float)
    end = start if end is None else np.asarray(end, dtype=float)
    check_windows(start, end)
    w = np.ones(len(start)) if weights is None else np.asarray(weights, dtype=float)
    g = np.zeros(len(start), dtype=np.int64) if group is None else np.asarray(group, dtype=np.int64)
    if not (len(w) == len(start) == len(end) == len(g)):
        raise ValueError("start, end, weights and group must have one value per incident")
    if group is None:
        groups = 1
    else:
        groups = int(g.max(initial=-1)) + 1 if groups is None else int(groups)
        if g.max(initial=-1) >= groups:
            raise ValueError("a group index is not below the number of groups")
        inside = g >= 0
        start, end, w, g = start[inside], end[inside], w[inside], g[inside]
    size = groups * WEEK_HOURS
    first_hour, last_hour = _hour_index(start), _hour_index(end)
    length = end - start
    same = last_hour == first_hour  # also every zero-length window
    rate = np.divide(w, length, out=np.zeros(len(w)), where=length > 0)  # weight per second
    first = np.where(same, w, ((first_hour + 1) * HOUR - start) * rate)
    last = np.where(same, 0.0, (end - last_hour * HOUR) * rate)
    table = np.bincount(g * WEEK_HOURS + _cell(first_hour), first, size)
    table += np.bincount(g * WEEK_HOURS + _cell(last_hour), last, size)
    whole = np.maximum(last_hour - first_hour - 1, 0)  # whole hours strictly between the end hours
    weeks, rest = np.divmod(whole, WEEK_HOURS)
    per_hour = HOUR * rate
    table = table.reshape(groups, WEEK_HOURS)
    table += np.bincount(g, weeks * per_hour, groups)[:, None]
    flat = table.reshape(-1)
    has_rest = np.flatnonzero(rest > 0)
    next_cell, rest, per_hour, g = _cell(first_hour[has_rest] + 1), rest[has_rest], per_hour[has_rest], g[has_rest]
    spelled = np.cumsum(rest)
    begin = 0
    while begin < len(rest):  # passes of about PIECES_PER_PASS whole hours, not a loop per incident
        done = spelled[begin - 1] if begin else 0
        stop = max(int(np.searchsorted(spelled, done + PIECES_PER_PASS, "right")), begin + 1)
        count = rest[begin:stop]
        window = begin + np.repeat(np.arange(len(count)), count)
        offset = np.arange(len(window)) - np.repeat(np.cumsum(count) - count, count)
        cells = g[window] * WEEK_HOURS + (next_cell[window] + offset) % WEEK_HOURS
        flat += np.bincount(cells, per_hour[window], size)
        begin = stop
    return table


def wall_clock_pieces(start, end, change_at, offsets):
    """Windows of real instants (UTC seconds) in a zone whose offset changes, cut where it
    changes, as wall-clock pieces: (row, wall_start, wall_end, share). ``change_at`` are the
    zone's transitions (sorted UTC seconds) and ``offsets`` the seconds east of UTC in force
    before the first change and after each (one more than ``change_at``). ``share`` is the
    piece's part of its window's real duration (1 for a zero-length window), so
    ``weekday_hour_weights(wall_start, wall_end, weights[row] * share, group[row])`` counts
    the hours that really passed, each labelled by the wall clock (a spring-forward night
    has no 02:00 hour, an autumn one has two)."""
    start, end = np.asarray(start, dtype=float), np.asarray(end, dtype=float)
    change_at, offsets = np.asarray(change_at, dtype=float), np.asarray(offsets, dtype=float)
    if len(offsets) != len(change_at) + 1:
        raise ValueError("offsets needs one value more than change_at: the offset before the first change, then after each")
    check_windows(start, end)
    first = np.searchsorted(change_at, start, "right")  # offset index in force at the start
    inner = np.maximum(np.searchsorted(change_at, end, "left") - first, 0)  # changes strictly inside
    pieces = inner + 1
    row = np.repeat(np.arange(len(start)), pieces)
    j = np.arange(pieces.sum()) - np.repeat(np.cumsum(pieces) - pieces, pieces)
    index = first[row] + j
    bounds = np.concatenate([change_at, [np.inf]])
    lower = np.where(j == 0, start[row], bounds[np.maximum(index - 1, 0)])
    upper = np.where(j == inner[row], end[row], bounds[np.minimum(index, len(change_at))])
    length = end - start
    share = np.divide(upper - lower, length[row], out=np.ones(len(row)), where=length[row] > 0)
    shift = offsets[index]
    return row, lower + shift, upper + shift, share


def shares(table):
    """Each row's weights as shares of its total, summing to 1; NaN for a row with no weight
    (no incident: its profile is unknown, not flat)."""
    table = np.asarray(table, dtype=float)
    total = table.sum(axis=-1, keepdims=True)
    return np.divide(table, total, out=np.full(table.shape, np.nan), where=total > 0)


def peak(table):
    """(weekday, hour, share) of each row's busiest cell; ties (within 1e-9 of the maximum,
    i.e. rounding) go to the first cell of the week. A row with no weight gives -1, -1, NaN."""
    table = np.atleast_2d(np.asarray(table, dtype=float))
    top = table.max(axis=1, initial=0.0)
    cell = np.argmax(table >= top[:, None] * (1 - PEAK_TIE), axis=1)
    total = table.sum(axis=1)
    empty = total <= 0
    share = np.divide(table[np.arange(len(table)), cell], total, out=np.full(len(table), np.nan), where=~empty)
    return np.where(empty, -1, cell // DAY_HOURS), np.where(empty, -1, cell % DAY_HOURS), share


def day_shifts(shift_start_hour, shift_hours):
    """The shifts of a day: (start hour of day, length in hours) of each, one after another
    from ``shift_start_hour``. When 24 is not a multiple of the length, the last shift is
    cut short where the next day's first shift starts (10 h from 22:00: 22-08, 08-18, 18-22)."""
    shift_hours = float(shift_hours)
    if not 0 < shift_hours <= DAY_HOURS:
        raise InputError(f"A shift must last more than 0 and at most 24 hours; it is {shift_hours}.")
    count = int(np.ceil(DAY_HOURS / shift_hours - 1e-9))
    offsets = np.arange(count) * shift_hours
    return (float(shift_start_hour) + offsets) % DAY_HOURS, np.minimum(shift_hours, DAY_HOURS - offsets)


def shift_shares(table, shift_start_hour, shift_hours):
    """Each row's share of weight in each shift of the day (columns in the order of
    ``day_shifts``), over all seven days; a shift that starts or ends inside an hour takes
    that hour's weight in proportion to the minutes it covers. Rows sum to 1 (NaN with no
    weight)."""
    table = np.atleast_2d(np.asarray(table, dtype=float))
    starts, lengths = day_shifts(shift_start_hour, shift_hours)
    days = np.arange(7) * DAY_HOURS
    cover = _week_overlap((days[None, :] + starts[:, None]).ravel(), np.repeat(lengths, 7))
    cover = cover.reshape(len(starts), 7, WEEK_HOURS).sum(axis=1)  # hours of each cell in each shift
    return shares(table @ cover.T)


def visit_hours(profiles, visits, shift_start, shift_hours, min_gap=None):
    """The hours of one shift in which to place each hot spot's visits: (spots, most visits)
    slot numbers, ascending, -1 where a hot spot has fewer visits. Slot j is the hour from
    j to j + 1 hours after the shift starts (the last one shorter when the shift is not a
    whole number of hours).

    ``profiles`` (spots, 168) are weekday-hour weights or shares, ``visits`` the visits per
    shift, ``shift_start`` the hour of the week the shift starts (weekday * 24 + hour of day,
    fractions allowed). A slot's risk is the hot spot's weight per hour in it. Visits go one
    at a time to the riskiest slot not within ``min_gap`` slots of one already chosen (default:
    the shift's slots divided by the visits, rounded down, at least 1), so visits follow
    risk yet stay spread; ties go to the earlier slot, so a hot spot with no weight gets its
    visits spread evenly from the shift start. When no slot respects the gap, the riskiest
    unchosen one is taken; with more visits than slots, slots are reused."""
    profiles = np.nan_to_num(np.atleast_2d(np.asarray(profiles, dtype=float)))  # a NULL share (no incident) is no known risk
    visits = np.asarray(visits, dtype=np.int64)
    if len(profiles) != len(visits):
        raise ValueError("profiles and visits need one row per hot spot")
    shift_hours = float(shift_hours)
    if not 0 < shift_hours <= WEEK_HOURS:
        raise InputError(f"A shift must last more than 0 and at most 168 hours; it is {shift_hours}.")
    slots = int(np.ceil(shift_hours - 1e-9))
    length = np.minimum(1.0, shift_hours - np.arange(slots))
    risk = profiles @ _week_overlap(float(shift_start) + np.arange(slots), length).T / length
    if min_gap is None:
        gap = np.maximum(slots // np.maximum(visits, 1), 1)
    else:
        gap = np.full(len(visits), max(int(min_gap), 1))
    most = int(visits.max(initial=0))
    chosen = np.full((len(visits), most), -1, dtype=np.int64)
    position = np.arange(slots)
    taken = np.zeros((len(visits), slots), dtype=bool)
    blocked = np.zeros((len(visits), slots), dtype=bool)
    rows = np.arange(len(visits))
    for k in range(most):  # one pass per visit of the busiest hot spot (a few), over all hot spots at once
        taken[taken.all(axis=1)] = False  # more visits than slots: reuse
        blocked |= taken
        stuck = blocked.all(axis=1)
        blocked[stuck] = taken[stuck]  # nothing respects the gap: only avoid reuse
        pick = np.argmax(np.where(blocked, -np.inf, risk), axis=1)
        needs = k < visits
        chosen[needs, k] = pick[needs]
        taken[rows[needs], pick[needs]] = True
        blocked |= np.abs(position[None, :] - pick[:, None]) < gap[:, None]
    chosen = np.where(chosen < 0, slots + 1, chosen)
    chosen.sort(axis=1)
    return np.where(chosen > slots, -1, chosen)


def non_overlapping_starts(unit, desired, minutes, shift_minutes):
    """Start minutes of visits, as near the ``desired`` ones as each unit can make them
    without being at two places at once: a unit's visits in order of desired start, each at
    its desired minute or when its previous visit ends, whichever is later; a unit whose last
    visit would run past the shift's end has its latest visits pulled earlier, packed end to
    end. Visits keep their order and none starts before minute 0. InputError when a unit has
    more visit minutes than the shift."""
    unit, desired, minutes = np.asarray(unit), np.asarray(desired, dtype=float), np.asarray(minutes, dtype=float)
    order = np.lexsort((desired, unit))
    u, d, m = unit[order], desired[order], minutes[order]
    values, rank = np.unique(u, return_inverse=True)
    rank = rank.ravel()
    busy = np.bincount(rank, m, len(values))
    if len(busy) and busy.max() > shift_minutes:
        raise InputError(
            f"One patrol unit would need {busy.max():.0f} minutes of visits in a {shift_minutes:.0f}-minute shift: "
            "use more units or fewer patrol minutes."
        )
    before = np.cumsum(m) - m
    before -= (np.cumsum(np.concatenate([[0.0], busy]))[:-1])[rank]  # busy minutes of the unit before each visit
    key = np.maximum(d, 0.0) - before
    span = 2.0 * (np.abs(key).max(initial=0.0) + 1.0)
    running = np.maximum.accumulate(key + rank * span) - rank * span  # latest constraint so far, per unit
    start = before + np.minimum(running, shift_minutes - busy[rank])
    result = np.empty(len(start))
    result[order] = start
    return result


def _hour_index(seconds):
    """Whole hours since 1970 before each time (floor), exact even where the division rounds."""
    hours = np.floor(seconds / HOUR).astype(np.int64)
    hours -= hours * HOUR > seconds
    hours += (hours + 1) * HOUR <= seconds
    return hours


def _cell(hours):
    return (hours + EPOCH_CELL) % WEEK_HOURS


def _week_overlap(start_hours, length_hours):
    """Hours of overlap of intervals [start, start + length) on the week's clock (hours
    since Monday 00:00, wrapping at 168; lengths up to 168) with each of the 168 cells."""
    start = np.asarray(start_hours, dtype=float) % WEEK_HOURS
    end = start + np.asarray(length_hours, dtype=float)
    cells = np.arange(2 * WEEK_HOURS)
    cover = np.clip(np.minimum(end[:, None], cells + 1) - np.maximum(start[:, None], cells), 0.0, 1.0)
    return cover[:, :WEEK_HOURS] + cover[:, WEEK_HOURS:]


def _names(ids):
    return lambda rows: ", ".join(str(ids[r] if ids is not None else r) for r in rows[:3])
