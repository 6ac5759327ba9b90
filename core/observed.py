"""The patrol dose actually delivered, from GPS pings: which hot spot each ping is in, and
the dwell episodes of each patrol unit there (METHODS.md 6)."""

from dataclasses import dataclass

import numpy as np


def points_in_polygons(x, y, polygons):
    """Index of the polygon holding each point (-1 for none; the first one if several).
    ``polygons`` is a list of lists of rings ((k, 2) arrays, the first the outer one).
    Points on an edge count as inside. Points are sorted by x once; each polygon looks only
    at the points in its bounding box, then casts rays against its edges (numpy over points)."""
    with np.errstate(divide="ignore", invalid="ignore"):  # horizontal edges divide by zero
        return _points_in_polygons(np.asarray(x, dtype=float), np.asarray(y, dtype=float), polygons)


def _points_in_polygons(x, y, polygons):
    result = np.full(len(x), -1, dtype=np.int64)
    order = np.argsort(x, kind="stable")
    xs = x[order]
    for index, rings in enumerate(polygons):
        outer = rings[0]
        lo = np.searchsorted(xs, outer[:, 0].min(), side="left")
        hi = np.searchsorted(xs, outer[:, 0].max(), side="right")
        candidates = order[lo:hi]
        candidates = candidates[(y[candidates] >= outer[:, 1].min()) & (y[candidates] <= outer[:, 1].max()) & (result[candidates] < 0)]
        if len(candidates) == 0:
            continue
        px, py = x[candidates, None], y[candidates, None]
        edges = np.concatenate([np.column_stack([ring[:-1], ring[1:]]) for ring in rings])
        ax, ay, bx, by = (edges[:, i] for i in range(4))
        crosses = (ay > py) != (by > py)  # candidates x edges, all edges of all rings at once
        at = ax + (py - ay) * (bx - ax) / (by - ay)
        inside = (crosses & (px < at)).sum(axis=1) % 2 == 1
        cross = (bx - ax) * (py - ay) - (by - ay) * (px - ax)
        between = (np.minimum(ax, bx) <= px) & (px <= np.maximum(ax, bx)) & (np.minimum(ay, by) <= py) & (py <= np.maximum(ay, by))
        on_edge = (between & (np.abs(cross) <= 1e-9 * np.maximum(np.abs(bx - ax) + np.abs(by - ay), 1e-12))).any(axis=1)
        result[candidates[inside | on_edge]] = index
    return result


@dataclass
class Presence:
    """Per hot spot: minutes of police presence (overlapping units counted once), officer
    minutes (each unit counted), visits (presence episodes) and the episodes themselves."""

    minutes: np.ndarray
    officer_minutes: np.ndarray
    visits: np.ndarray
    episodes: list  # (hot spot, start second, end second) after merging units


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

    minutes, visits, merged = np.zeros(spots), np.zeros(spots, dtype=int), []
    by_spot = np.lexsort((begin, spot_of))
    for s, b, e in zip(spot_of[by_spot], begin[by_spot], end[by_spot]):
        if merged and merged[-1][0] == s and b <= merged[-1][2]:
            merged[-1][2] = max(merged[-1][2], e)
        else:
            merged.append([s, b, e])
    for s, b, e in merged:
        minutes[s] += (e - b) / 60.0
        visits[s] += (e - b) >= min_visit
    return Presence(minutes, officer, visits, [tuple(m) for m in merged])
