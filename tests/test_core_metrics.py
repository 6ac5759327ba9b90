"""core.metrics against the ptools worked example (METHODS.md 5) and hand-worked cases."""

import numpy as np
import pytest

from hotspot_policing.core.metrics import hit_rate, pai, pei, rri

# ptools roxygen data: observed and predicted per unit, equal areas, units ranked by prediction
OBSERVED = np.array([6, 7, 3, 2, 1, 0], dtype=float)


@pytest.mark.parametrize(
    "flagged,expected_hit,expected_pai,expected_pei",
    [
        ([0], 0.315789, 1.894737, 0.857143),  # top 1: the unit predicted 8 (obs 6)
        ([0, 2], 0.473684, 1.421053, 0.692308),  # top 2: ties at pred 4 go to the lower obs (3)
        ([0, 2, 1], 0.842105, 1.684211, 1.0),
        ([0, 2, 1, 3], 0.947368, 1.421053, 1.0),
        ([0, 2, 1, 3, 4], 1.0, 1.2, 1.0),
    ],
)
def test_ptools_worked_example(flagged, expected_hit, expected_pai, expected_pei):
    captured, total = OBSERVED[flagged].sum(), OBSERVED.sum()
    areas = np.ones(len(OBSERVED))
    assert hit_rate(captured, total) == pytest.approx(expected_hit, abs=1e-6)
    assert pai(captured, total, len(flagged), len(OBSERVED)) == pytest.approx(expected_pai, abs=1e-6)
    assert pei(captured, OBSERVED, areas, float(len(flagged))) == pytest.approx(expected_pei, abs=1e-6)


def test_pei_with_unequal_areas_takes_the_densest_units_first():
    counts = np.array([10.0, 9.0, 1.0])
    areas = np.array([2.0, 1.0, 1.0])  # densities 5, 9, 1
    # with 2 units of area the oracle takes unit 1 (9 in 1) then half of unit 0 (5): 14
    assert pei(7.0, counts, areas, 2.0) == pytest.approx(7.0 / 14.0)
    assert pei(20.0, counts, areas, 10.0) == pytest.approx(1.0)


def test_rri_hand_worked():
    # 40 of 200 incidents in the hot spots before, 30 of 250 after: (30/40) / (250/200) = 0.6
    assert rri(40, 200, 30, 250) == pytest.approx(0.6)
    assert np.isnan(rri(0, 200, 30, 250))


def test_degenerate_inputs_give_nan():
    assert np.isnan(hit_rate(0, 0)) and np.isnan(pai(1, 0, 1, 1)) and np.isnan(pai(1, 5, 0, 10))
