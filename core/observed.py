"""The patrol dose actually delivered, from GPS pings: the dwell episodes of each patrol
unit in each hot spot (docs/methods.md 4.4)."""

from dataclasses import dataclass

import numpy as np

from .dosage import split_by_shift


@dataclass
class Presence:
    """Per hot spot: minutes of police presence (overlapping units counted once), officer
    minutes (each unit counted) and visits (presence episodes of at least the shortest
    visit); and the presence episodes themselves (hot spot, begin and end in seconds)."""

    minutes: np.ndarray
    officer_minutes: np.ndarray
    visits: np.ndarray
    spot: np.ndarray
    begin: np.ndarray
    end: np.ndarray


def presence(unit, seconds, spot, spots, max_gap, min_visit=0.0):
    """Dwell episodes from pings: a unit's consecutive pings in the same hot spot, no more
    than ``max_gap`` seconds apart, are one episode from its first to its last ping. Pings
    need not be sorted. Episodes of different units that overlap in time at one hot spot
    merge into one presence episode; those of at least ``min_visit`` seconds are visits."""
    unit, seconds, spot = np.asarray(unit), np.asarray(seconds, dtype=float), np.asarray(spot)
    order = np.lexsort((seconds, unit))
    unit, seconds, spot = unit[order], seconds[order], spot[order]
    starts_new = np.ones(len(spot), dtype=bool)
    starts_new[1:] = (unit[1:] != unit[:-1]) | (spot[1:] != spot[:-1]) | (np.diff(seconds) > max_gap)
    episode = np.cumsum(starts_new) - 1
    keep = spot >= 0
    first = np.full(episode[-1] + 1 if len(episode) else 0, np.inf)
    last = np.full(len(first), -np.inf)
    np.minimum.at(first, episode[keep], seconds[keep])
    np.maximum.at(last, episode[keep], seconds[keep])
    where = np.full(len(first), -1)
    where[episode[keep]] = spot[keep]
    valid = where >= 0
    spot_of, begin, end = where[valid], first[valid], last[valid]
    officer = np.bincount(spot_of, end - begin, minlength=spots) / 60.0
    spot_of, begin, end = merge_overlapping(spot_of, begin, end)
    minutes = np.bincount(spot_of, end - begin, minlength=spots) / 60.0
    visits = np.bincount(spot_of, (end - begin) >= min_visit, minlength=spots).astype(int)
    return Presence(minutes, officer, visits, spot_of, begin, end)


def merge_overlapping(key, begin, end):
    """Intervals [begin, end] of the same key that overlap or touch, merged: sorted by key
    and begin, an interval starts a new run unless it begins before the end of every
    earlier one of its key (a running maximum kept apart per key by an integer offset)."""
    if len(key) == 0:
        return key, begin, end
    order = np.lexsort((begin, key))
    key, begin, end = key[order], begin[order], end[order]
    origin = begin.min()
    span = int(np.ceil((end.max() - origin) * 1000)) + 2
    key_rank = np.cumsum(np.concatenate([[0], key[1:] != key[:-1]]))
    running = np.maximum.accumulate(np.round((end - origin) * 1000).astype(np.int64) + key_rank * span)
    begins_run = np.ones(len(key), dtype=bool)
    begins_run[1:] = (key[1:] != key[:-1]) | (np.round((begin[1:] - origin) * 1000).astype(np.int64) + key_rank[1:] * span > running[:-1])
    starts = np.flatnonzero(begins_run)
    return key[starts], begin[starts], np.maximum.reduceat(end, starts)


def duty_shifts(unit, seconds, max_gap, start_hour, shift_hours, least=0.5):
    """The shifts patrols were on duty in: a unit is on duty from its first ping to its last
    while no gap exceeds ``max_gap`` seconds, and a shift counts when some unit was on duty
    for at least ``least`` of it (a car pinging for the last minutes before its shift ends
    does not make the next shift one with patrols). Returns (shifts on duty, shifts with
    any duty at all), as shift indices of dosage.shift_index."""
    unit, seconds = np.asarray(unit), np.asarray(seconds, dtype=float)
    order = np.lexsort((seconds, unit))
    unit, seconds = unit[order], seconds[order]
    starts_new = np.ones(len(unit), dtype=bool)
    starts_new[1:] = (unit[1:] != unit[:-1]) | (np.diff(seconds) > max_gap)
    starts = np.flatnonzero(starts_new)
    anyone = np.zeros(len(starts), dtype=np.int64)  # on duty: any unit, overlaps counted once
    _, begin, end = merge_overlapping(anyone, seconds[starts], np.maximum.reduceat(seconds, starts))
    _, shift, on_duty, _ = split_by_shift(np.zeros(len(begin), dtype=np.int64), begin, end, start_hour, shift_hours)
    shifts, position = np.unique(shift, return_inverse=True)
    duty = np.bincount(position.ravel(), on_duty, len(shifts))
    return shifts[duty >= least * 3600.0 * shift_hours], shifts[duty > 0]
