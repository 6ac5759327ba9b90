"""core.harm: the one rule for incident weights, every bad value named."""

import numpy as np
import pytest

from hotspot_policing.core import InputError
from hotspot_policing.core.harm import checked_weights


def test_good_weights_come_back_as_floats():
    np.testing.assert_array_equal(checked_weights([1, 0, 2.5], "harm"), [1.0, 0.0, 2.5])


@pytest.mark.parametrize(
    "values,message",
    [
        ([1.0, np.inf, 2.0], "1 incidents have an infinite weight in 'harm' \\(e.g. feature 11\\)"),
        ([1.0, np.nan, np.nan], "2 incidents have no value in the weight field 'harm' \\(e.g. feature 11, 12\\)"),
        ([1.0, -3.0, 2.0], "1 incidents have a negative weight in 'harm' \\(e.g. feature 11\\)"),
        ([0.0, 0.0, 0.0], "All weights in 'harm' are zero"),
    ],
)
def test_each_bad_weight_is_refused_naming_the_field_and_the_feature(values, message):
    with pytest.raises(InputError, match=message):
        checked_weights(values, "harm", ids=np.array([10, 11, 12]))


def test_counts_and_risks_keep_missing_values_and_refuse_infinite_or_negative_ones():
    from hotspot_policing.core.harm import checked_amounts

    kept = checked_amounts([1.0, np.nan, 0.0], "n", "count")
    assert np.isnan(kept[1]) and kept[0] == 1.0
    with pytest.raises(InputError, match="1 features have an infinite risk in 'harm' \\(e.g. feature 12\\)"):
        checked_amounts([1.0, 2.0, np.inf], "harm", "risk", ids=np.array([10, 11, 12]))
    with pytest.raises(InputError, match="negative count in 'n' \\(e.g. feature 10\\)"):
        checked_amounts([-1.0, 2.0], "n", "count", ids=np.array([10, 11]))
