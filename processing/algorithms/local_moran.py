"""hotspotpolicing:localmoran: Anselin Local Moran's I clusters and outliers."""

import numpy as np

from ...core import local_stats
from ...core import weights as spatial_weights
from .local_statistic import WEIGHTS_HELP, LocalStatisticAlgorithm


class LocalMoran(LocalStatisticAlgorithm, name="localmoran", methods="2.3"):
    STYLE = "cotype"
    FIELDS = (  # (name, kind, alias) of the fields the statistic adds
        ("LMiIndex", "double", "Local Moran's I"),
        ("LMiZScore", "double", "Local Moran z-score"),
        ("LMiPValue", "double", "Local Moran p-value"),
        ("COType", "string", "Cluster or outlier type"),
    )

    DISPLAY_NAME = "Cluster and outlier analysis (Anselin Local Moran's I)"
    TAGS = "lisa,moran,local moran,cluster,outlier,hot spot,hotspot,anselin,crime"
    HELP = (
        "<p>Finds clusters of high values (HH), clusters of low values (LL) and outliers: a high "
        "value among low ones (HL) or a low value among high ones (LH).</p>"
        "<p><b>Method.</b> Anselin's Local Moran's I (Anselin 1995), as in ArcGIS's Cluster and "
        "Outlier Analysis: I<sub>i</sub> = (z<sub>i</sub>/m<sub>2</sub>) &Sigma;<sub>j&ne;i</sub> "
        "w<sub>ij</sub> z<sub>j</sub> with z the deviations from the mean, m<sub>2</sub> = "
        "&Sigma;z&sup2;/(n &minus; 1) and row-standardised weights; the z-score uses the moments "
        "under total randomisation.</p>" + WEIGHTS_HELP + "<p><b>Output.</b> LMiIndex, LMiZScore, "
        "LMiPValue and COType: HH or LL where the z-score is positive (a cluster), HL or LH where "
        "it is negative (an outlier), empty where not significant at 95 % (with FDR: where the "
        "Benjamini-Hochberg correction at 5 % keeps it).</p>"
    )

    def statistic(self, values, neighbours, p_values, fdr):
        index, z, lag = local_stats.local_moran(values, spatial_weights.row_standardised(neighbours))
        p = local_stats.two_sided_p(z) if p_values is None else p_values
        significant = local_stats.benjamini_hochberg(p, 0.05) if fdr else (p <= 0.05)
        return [index, z, p, np.asarray(local_stats.cluster_types(values, lag, z, significant), dtype=object)]
