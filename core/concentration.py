"""Crime concentration across units (street segments, cells, addresses): Lorenz curve, Gini,
Bernasco & Steenbeek's generalized Gini for sparse counts, and the share of units holding a
given share of crime (docs/methods.md 3.4; Weisburd 2015's law of crime concentration)."""

from dataclasses import dataclass

import numpy as np


@dataclass
class Concentration:
    units: int
    total: float
    gini: float
    gini_unbiased: float
    generalized_gini: float
    generalized_gini_unbiased: float
    pct_units_with_crime: float
    pct_units_50: float  # % of all units that hold 50 % of the incidents
    pct_units_25: float
    lorenz_x: np.ndarray  # share of units, most affected first
    lorenz_y: np.ndarray  # share of incidents they hold


def concentration(counts):
    """All figures for non-negative counts per unit (zeros included: they are units too)."""
    c = np.asarray(counts, dtype=float)
    if len(c) == 0 or (c < 0).any() or not np.isfinite(c).all():
        raise ValueError("counts must be a non-empty array of finite, non-negative numbers")
    n, total = len(c), c.sum()
    if total <= 0:
        raise ValueError("all counts are zero: there is no crime to be concentrated")
    g = gini(c)
    generalized = max(1.0, n / total) * (g - 1.0) + 1.0
    m = min(n, total)
    descending = np.sort(c)[::-1]
    cumulative = np.cumsum(descending) / total
    return Concentration(
        units=n,
        total=total,
        gini=g,
        gini_unbiased=g * n / (n - 1) if n > 1 else float("nan"),
        generalized_gini=generalized,
        generalized_gini_unbiased=generalized * m / (m - 1) if m > 1 else float("nan"),
        pct_units_with_crime=100.0 * (c > 0).sum() / n,
        pct_units_50=100.0 * units_for_share(c, 0.5) / n,
        pct_units_25=100.0 * units_for_share(c, 0.25) / n,
        lorenz_x=np.concatenate([[0.0], np.arange(1, n + 1) / n]),
        lorenz_y=np.concatenate([[0.0], cumulative]),
    )


def gini(counts):
    """G = (2 sum_i i x_(i) / C - (N + 1)) / N with x sorted ascending (as DescTools::Gini)."""
    x = np.sort(np.asarray(counts, dtype=float))
    n = len(x)
    return float((2.0 * (np.arange(1, n + 1) @ x) / x.sum() - (n + 1)) / n)


def units_for_share(counts, share):
    """The fewest units that together hold at least ``share`` of all incidents."""
    descending = np.sort(np.asarray(counts, dtype=float))[::-1]
    cumulative = np.cumsum(descending)
    return int(np.searchsorted(cumulative, share * cumulative[-1] * (1 - 1e-12)) + 1)
