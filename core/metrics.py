"""How well hot spots captured crime (docs/methods.md section 5): hit rate, PAI (Chainey, Tompson &
Uhlig 2008), PEI (Hunt 2016; its oracle as White, Hunt & Green 2023's PEI*) and RRI (Levine
2008's recapture rate index)."""

import numpy as np


def hit_rate(captured, total):
    """Share of all incidents that fell in the hot spots: n / N."""
    return captured / total if total else float("nan")


def pai(captured, total, hot_area, total_area):
    """Predictive Accuracy Index: (n / N) / (a / A); 'area' may be a length or a unit count."""
    if not total or not total_area or not hot_area:
        return float("nan")
    return (captured / total) / (hot_area / total_area)


def pei(captured, counts, areas, hot_area):
    """Prediction Efficiency Index: n / n*, n* the most incidents any choice of units of the
    same total size could have captured: units taken by decreasing incident density until
    their size reaches ``hot_area`` (the last one pro rata, so a fraction of a unit counts
    as its share)."""
    counts, areas = np.asarray(counts, dtype=float), np.asarray(areas, dtype=float)
    order = np.lexsort((-counts, -np.divide(counts, areas, out=np.zeros_like(counts), where=areas > 0)))
    cumulative_area = np.cumsum(areas[order])
    cumulative_count = np.cumsum(counts[order])
    if hot_area >= cumulative_area[-1]:
        best = cumulative_count[-1]
    else:
        k = int(np.searchsorted(cumulative_area, hot_area))
        before_area = cumulative_area[k - 1] if k else 0.0
        before_count = cumulative_count[k - 1] if k else 0.0
        best = before_count + counts[order][k] * (hot_area - before_area) / areas[order][k]
    return captured / best if best > 0 else float("nan")


def rri(captured_before, total_before, captured_after, total_after):
    """Recapture Rate Index (Levine 2008): (n2 / n1) / (N2 / N1), how much of the hot spots'
    crime recurred, adjusted for the change in overall volume."""
    if not captured_before or not total_before or not total_after:
        return float("nan")
    return (captured_after / captured_before) / (total_after / total_before)
