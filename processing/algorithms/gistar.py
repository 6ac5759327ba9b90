"""hotspotpolicing:gistar: Getis-Ord Gi* hot and cold spots."""

from ...core import local_stats
from ...core import weights as spatial_weights
from .local_statistic import WEIGHTS_HELP, LocalStatisticAlgorithm


class GiStar(LocalStatisticAlgorithm, name="gistar", methods="2.2"):
    STYLE = "gi_bin"
    FIELDS = (  # (name, kind, alias) of the fields the statistic adds
        ("GiZScore", "double", "Gi* z-score"),
        ("GiPValue", "double", "Gi* p-value"),
        ("Gi_Bin", "int", "Hot/cold spot confidence"),
        ("NNeighbors", "int", "Number of neighbours"),
    )

    DISPLAY_NAME = "Hot spot analysis (Getis-Ord Gi*)"
    TAGS = "gi*,getis,ord,hot spot,hotspot,cold spot,local statistic,significance,crime"
    HELP = (
        "<p>Which places are hot spots beyond chance? Marks the features (cells, street segments, areas) where a high "
        "value sits among high values around it, with a confidence level, and the cold spots likewise.</p>"
        + WEIGHTS_HELP
        + "<p><b>Reading the result.</b> Gi_Bin 3, 2, 1: a hot spot with 99, 95 or 90 % confidence; -1 to -3: a cold "
        "spot; 0: not significant (the false discovery rate correction changes Gi_Bin, not GiZScore or GiPValue). "
        "GiZScore says how far above or below chance, GiPValue how likely such a value is without a pattern, "
        "NNeighbors how many neighbours a feature had.</p>"
    )

    def statistic(self, values, neighbours, p_values, fdr):
        z = local_stats.gi_star(values, spatial_weights.with_self(neighbours))
        z[spatial_weights.cardinality(neighbours) == 0] = float("nan")  # no test without neighbours
        p = local_stats.two_sided_p(z) if p_values is None else p_values
        return [z, p, local_stats.confidence_bins(z, p, fdr), spatial_weights.cardinality(neighbours)]
