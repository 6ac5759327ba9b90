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
        "<p>Finds statistically significant hot spots (clusters of high values) and cold spots "
        "(clusters of low values): where a feature and its neighbours together hold far more "
        "(or less) than chance would give them.</p>"
        "<p><b>Method.</b> Getis-Ord Gi* (Getis &amp; Ord 1992; Ord &amp; Getis 1995), as in "
        "ArcGIS's Hot Spot Analysis: G*<sub>i</sub> = (&Sigma;<sub>j</sub> w<sub>ij</sub>x<sub>j</sub> "
        "&minus; X&#772; &Sigma;<sub>j</sub> w<sub>ij</sub>) / (S &radic;[(n &Sigma;w<sub>ij</sub>&sup2; "
        "&minus; (&Sigma;w<sub>ij</sub>)&sup2;)/(n &minus; 1)]), sums including the feature itself "
        "(self weight 1); G* is a z-score.</p>" + WEIGHTS_HELP + "<p><b>Output.</b> GiZScore, GiPValue, "
        "Gi_Bin (3 / 2 / 1: hot spot with 99 / 95 / 90 % confidence; -3 / -2 / -1: cold spot; 0: "
        "not significant) and NNeighbors (neighbours, the feature itself not counted). The "
        "z-score and p-value are not FDR-adjusted; Gi_Bin is when FDR is on.</p>"
    )

    def statistic(self, values, neighbours, p_values, fdr):
        z = local_stats.gi_star(values, spatial_weights.with_self(neighbours))
        z[spatial_weights.cardinality(neighbours) == 0] = float("nan")  # no test without neighbours
        p = local_stats.two_sided_p(z) if p_values is None else p_values
        return [z, p, local_stats.confidence_bins(z, p, fdr), spatial_weights.cardinality(neighbours)]
