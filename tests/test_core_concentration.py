"""core.concentration against the lorenzgini reference values (METHODS.md 4.4) and hand-worked
examples."""

import numpy as np
import pytest

from hotspot_policing.core.concentration import concentration, gini, units_for_share

# counts, G, G unbiased, G', G' unbiased (Bernasco & Steenbeek's lorenzgini R package examples)
LORENZGINI = [
    ([10, 8, 2] + [0] * 7, 0.78, 0.866667, 0.78, 0.866667),
    ([5, 2, 1] + [0] * 7, 0.80, 0.888889, 0.75, 0.857143),
    ([10] + [0] * 9, 0.90, 1.00, 0.90, 1.00),
    ([10] + [0] * 99, 0.99, 1.00, 0.90, 1.00),
    ([3, 1, 1] + [0] * 7, 0.78, 0.866667, 0.56, 0.70),
    ([22, 18, 17, 12, 11, 8, 6, 3, 2, 1], 0.392, 0.435556, 0.392, 0.435556),
]


@pytest.mark.parametrize("counts,g,g_unbiased,generalized,generalized_unbiased", LORENZGINI)
def test_gini_and_generalized_gini_match_lorenzgini(counts, g, g_unbiased, generalized, generalized_unbiased):
    result = concentration(counts)
    assert result.gini == pytest.approx(g, abs=1e-6)
    assert result.gini_unbiased == pytest.approx(g_unbiased, abs=1e-6)
    assert result.generalized_gini == pytest.approx(generalized, abs=1e-6)
    assert result.generalized_gini_unbiased == pytest.approx(generalized_unbiased, abs=1e-6)


def test_gini_by_mean_absolute_difference():
    # An independent textbook form: G = sum_i sum_j |x_i - x_j| / (2 n^2 mean).
    rng = np.random.default_rng(1)
    x = rng.poisson(1.5, 300).astype(float)
    expected = np.abs(x[:, None] - x[None, :]).sum() / (2 * len(x) ** 2 * x.mean())
    assert gini(x) == pytest.approx(expected, rel=1e-12)


def test_generalized_gini_ignores_added_empty_units_when_sparse():
    base = concentration([4, 2, 1] + [0] * 20)
    more = concentration([4, 2, 1] + [0] * 200)
    assert base.generalized_gini == pytest.approx(more.generalized_gini)
    assert more.gini > base.gini


def test_shares_of_units_hand_worked():
    # 10 units, 100 incidents: 40, 20, 15, 10, 5, 4, 3, 2, 1, 0.
    # 25 %: the first unit (40) -> 1 unit = 10 %; 50 %: 40 + 20 = 60 -> 2 units = 20 %.
    counts = [5, 40, 0, 15, 2, 20, 10, 1, 4, 3]
    result = concentration(counts)
    assert units_for_share(counts, 0.25) == 1 and units_for_share(counts, 0.5) == 2
    assert result.pct_units_25 == pytest.approx(10.0) and result.pct_units_50 == pytest.approx(20.0)
    assert result.pct_units_with_crime == pytest.approx(90.0)
    # a share reached exactly counts: two of four equal units hold exactly half
    assert units_for_share([25, 25, 25, 25], 0.5) == 2
    np.testing.assert_allclose(result.lorenz_y[:3], [0, 0.40, 0.60])
    np.testing.assert_allclose(result.lorenz_x[-1], 1.0)


def test_bad_counts_are_refused():
    for counts in ([], [0, 0], [1, -1], [1, np.nan]):
        with pytest.raises(ValueError):
            concentration(counts)
