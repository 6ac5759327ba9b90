"""Incident weights such as a crime harm index (docs/methods.md section 6): one rule for
every tool that weights incidents."""

import numpy as np

from . import InputError


def checked_weights(values, field, ids=None):
    """The weights as floats, refused when one is missing or negative or all are zero (a
    map of nothing). ``ids`` name the first offending features in the message."""
    values = np.asarray(values, dtype=float)
    where = _names(ids)
    infinite = np.flatnonzero(np.isinf(values))
    if len(infinite):
        raise InputError(
            f"{len(infinite)} incidents have an infinite weight in '{field}' (e.g. feature {where(infinite)}). "
            "Correct them (Field Calculator) or filter them out."
        )
    missing = np.flatnonzero(np.isnan(values))
    if len(missing):
        raise InputError(
            f"{len(missing)} incidents have no value in the weight field '{field}' (e.g. feature {where(missing)}). "
            "Fill them (Field Calculator), filter them out, or leave the weight field empty."
        )
    negative = np.flatnonzero(values < 0)
    if len(negative):
        raise InputError(
            f"{len(negative)} incidents have a negative weight in '{field}' (e.g. feature {where(negative)}). "
            "Weights must be zero or positive."
        )
    if len(values) and values.sum() <= 0:
        raise InputError(f"All weights in '{field}' are zero: there is nothing to map. Choose another weight field or none.")
    return values


def checked_amounts(values, field, what, ids=None):
    """Counts or risks (NaN stays: the caller says what a missing value means), refused when
    one is infinite or negative, naming the first offending features."""
    values = np.asarray(values, dtype=float)
    where = _names(ids)
    infinite = np.flatnonzero(np.isinf(values))
    if len(infinite):
        raise InputError(f"{len(infinite)} features have an infinite {what} in '{field}' (e.g. feature {where(infinite)}). Correct them.")
    negative = np.flatnonzero(values < 0)
    if len(negative):
        raise InputError(
            f"{len(negative)} features have a negative {what} in '{field}' (e.g. feature {where(negative)}): it must be zero or more "
            "(counts or harm, not z-scores)."
        )
    return values


def _names(ids):
    return lambda rows: ", ".join(str(ids[r] if ids is not None else r) for r in rows[:3])
