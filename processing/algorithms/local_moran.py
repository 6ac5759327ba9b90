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
        "<p>Where do high values cluster, where do low ones, and which places stand out from their surroundings? "
        "Marks clusters of high values (HH) and of low values (LL), and outliers: a high value among low ones (HL) or a "
        "low value among high ones (LH).</p>"
        + WEIGHTS_HELP
        + "<p><b>Reading the result.</b> COType: HH, LL, HL or LH where the pattern is significant at 95 % (after the false "
        "discovery rate correction, if ticked), empty elsewhere. LMiIndex, LMiZScore and LMiPValue give the strength and significance "
        "of each feature's pattern.</p>"
    )

    def statistic(self, values, neighbours, p_values, fdr):
        index, z, lag = local_stats.local_moran(values, spatial_weights.row_standardised(neighbours))
        p = local_stats.two_sided_p(z) if p_values is None else p_values
        significant = local_stats.benjamini_hochberg(p, 0.05) if fdr else (p <= 0.05)
        return [index, z, p, np.asarray(local_stats.cluster_types(values, lag, z, significant), dtype=object)]
