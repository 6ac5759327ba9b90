"""hotspotpolicing:hotstreets: raw street centre-lines and incidents to significant hot streets,
in one run: cut the lines at junctions, count incidents per segment, Gi* over the network."""

import numpy as np
from qgis.core import (
    QgsProcessingException,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFeatureSource,
    QgsUnitTypes,
)

from ...core import local_stats
from ...core import weights as spatial_weights
from ...core.geometry import line_lengths_and_centroids
from ...core.network import junctions, nearest_segments, segments_within
from ..compat import LINE_SOURCE, METERS
from ..layers import ALL_FIELDS, LINES
from ..reports import log_figures, number
from ..sinks import Column
from .base import IncidentAlgorithm, stage
from .street_segments import street_segments, usable_lines, write_segments


class HotStreets(IncidentAlgorithm, name="hotstreets", methods="3.5", icon="hot_street"):
    INCIDENTS, STREETS, SNAP_TOLERANCE, NEIGHBORHOOD = "INCIDENTS", "STREETS", "SNAP_TOLERANCE", "NEIGHBORHOOD"
    PERMUTATIONS, FDR, SEED, NODE_TOLERANCE, OUTPUT = "PERMUTATIONS", "FDR", "SEED", "NODE_TOLERANCE", "OUTPUT"

    DISPLAY_NAME = "Hot streets (Gi* on street segments)"
    TAGS = "hot streets,street segment,gi*,getis,ord,network,centreline,centerline,micro places,hot spot"
    HELP = (
        "<p>Which streets are hot beyond chance? Finds the street segments (junction to junction) where crime "
        "concentrates more than chance would give, straight from the street centre-lines a city publishes and the "
        "incident points.</p>"
        "<p>The centre-lines are cut at junctions, each incident goes to the nearest street within the <i>Snapping "
        "tolerance</i> (farther ones are counted in the log and left out), and each segment is compared with the "
        "segments near it along the streets: by default those meeting it at either end. A larger <i>Neighbourhood "
        "along the network</i> finds hot areas rather than hot streets. The <i>False discovery rate (FDR) "
        "correction</i>, on by default, keeps chance hot streets out when thousands of segments are tested; with "
        "<i>Permutations</i>, give many (e.g. 9999), or the correction may confirm none (the log warns).</p>"
        "<p><b>Reading the result.</b> The street segments with their centre-line's fields, segment_id, "
        "incident_count, weight_sum, incidents_per_km and Gi_Bin 3, 2, 1: a hot street with 99, 95 or 90 % "
        "confidence; negative: cold; 0: not significant (and GiZScore, GiPValue, NNeighbors). An isolated piece of "
        "street has no neighbours and empty results.</p>"
    )

    def initAlgorithm(self, config=None):
        self.add_incidents_parameter()
        streets = QgsProcessingParameterFeatureSource(self.STREETS, self.tr("Street centre-lines"), [LINE_SOURCE])
        self.add(streets, "Street centre-lines as published (they are cut at junctions here) or street segments.")
        self.add_weight_parameter("Optional: analyse the sum of this field per segment (e.g. harm) instead of the count.")
        snap_help = "Incidents farther than this from every street are left out (geocoded addresses: 15-30 m)."
        self.add_distance(self.SNAP_TOLERANCE, "Snapping tolerance", 30.0, self.STREETS, snap_help)
        neighborhood_help = "Segments within this walking distance along the streets are neighbours. 0: half the median segment length."
        self.add_distance(self.NEIGHBORHOOD, "Neighbourhood along the network (0 = automatic)", 0.0, self.STREETS, neighborhood_help)
        permutations_help = "How often the counts are shuffled to judge significance (e.g. 9999); 0: p-values from the normal curve."
        self.add_number(self.PERMUTATIONS, "Permutations (0 = analytical p-values)", 0, permutations_help, integer=True, maximum=99999)
        fdr = QgsProcessingParameterBoolean(self.FDR, self.tr("False discovery rate (FDR) correction"), defaultValue=True)
        self.add(fdr, "Benjamini-Hochberg correction of the confidence levels for the many segments tested at once.")
        seed_help = "Seed of the permutations, so a run can be repeated exactly."
        self.add_number(self.SEED, "Random seed", 1, seed_help, integer=True, advanced=True)
        node_help = "Line ends this close to another line are joined to it when cutting the centre-lines at junctions."
        self.add_distance(self.NODE_TOLERANCE, "Node tolerance", 1.0, self.STREETS, node_help, advanced=True)
        self.add(QgsProcessingParameterFeatureSink(self.OUTPUT, self.tr("Hot streets")), "Street segments with counts and Gi* results.")
        self.add_results(("SEGMENT_COUNT", "MATCHED", "UNMATCHED", "NEIGHBORHOOD_USED", "HOT_SEGMENTS"))

    def process(self, parameters, context, feedback):
        self.reader.source(self.STREETS, needs=LINES)
        snap = self.positive(parameters, self.SNAP_TOLERANCE, context, "30 m")
        node_tolerance = self.positive(parameters, self.NODE_TOLERANCE, context, "1 m")
        crs = self.reader.crs(self.STREETS)
        lines = usable_lines(self.reader.read(self.STREETS, crs, ALL_FIELDS, keep=True, progress=stage(feedback, 0, 15)), feedback)
        incidents, weights = self.read_incidents(parameters, context, crs, progress=stage(feedback, 15, 30))

        segments, rows = street_segments(lines, node_tolerance, feedback, progress=stage(feedback, 30, 40))
        n = len(segments)
        owner = np.repeat(np.arange(n), segments.sizes)
        lengths, _ = line_lengths_and_centroids(segments.vertices, segments.sizes, np.arange(n), n)
        same_segment = owner[:-1] == owner[1:]
        edges = np.column_stack([segments.vertices[:-1][same_segment], segments.vertices[1:][same_segment]])
        assignment = nearest_segments(incidents.x, incidents.y, edges, owner[:-1][same_segment], snap, progress=stage(feedback, 40, 55))
        matched = assignment.segment >= 0
        counts = np.bincount(assignment.segment[matched], minlength=n)
        sums = np.bincount(assignment.segment[matched], None if weights is None else weights[matched], minlength=n)
        unmatched = int((~matched).sum())
        if unmatched:
            feedback.pushWarning(
                self.tr(
                    "{} of {} incidents are farther than {} from every street and are left out: check SNAP_TOLERANCE or the CRS."
                ).format(unmatched, len(matched), number(snap))
            )
        if not matched.any():
            raise QgsProcessingException(
                self.tr(
                    "No incident of '{}' is within {} of a street of '{}'. "
                    "Check that both layers cover the same place, or raise SNAP_TOLERANCE."
                ).format(incidents.name, number(snap), lines.name)
            )

        last = np.cumsum(segments.sizes) - 1
        ends = np.concatenate([segments.vertices[last - segments.sizes + 1], segments.vertices[last]])
        node, _ = junctions(ends[:, 0], ends[:, 1], node_tolerance)
        node_xy = np.column_stack([np.bincount(node, ends[:, 0]), np.bincount(node, ends[:, 1])]) / np.bincount(node)[:, None]
        distance = self.parameterAsDouble(parameters, self.NEIGHBORHOOD, context)
        if distance <= 0:
            distance = float(np.median(lengths)) / 2
            feedback.pushInfo(self.tr("Automatic neighbourhood (half the median segment length): {}.").format(number(distance)))
        neighbours = segments_within(node.reshape(2, n).T, lengths, node_xy, distance, progress=stage(feedback, 55, 70))
        linked = spatial_weights.cardinality(neighbours)
        isolated = int((linked == 0).sum())
        if isolated == n:
            raise QgsProcessingException(
                self.tr(
                    "None of the {} street segments of '{}' meets another: the lines do not touch. Raise NODE_TOLERANCE "
                    "if their ends stop short of each other, or check the layer holds a street network."
                ).format(n, lines.name)
            )
        if isolated:
            feedback.pushWarning(self.tr("{} of {} segments meet no other segment: their statistics are NULL.").format(isolated, n))

        values = sums.astype(float)
        if np.ptp(values) == 0:
            raise QgsProcessingException(
                self.tr("Every street segment has the same {}: there is no pattern to test.").format(
                    "weight sum" if weights is not None else "incident count"
                )
            )
        z = local_stats.gi_star(values, spatial_weights.with_self(neighbours))
        permutations = self.parameterAsInt(parameters, self.PERMUTATIONS, context)
        if permutations:
            seed = self.parameterAsInt(parameters, self.SEED, context)
            by_line = np.lexsort((np.arange(n), lines.ids[rows]))  # by centre-line id, then along it: any row order
            p = local_stats.permutation_p(values, neighbours, permutations, seed, progress=stage(feedback, 70, 90), order=by_line)
        else:
            p = local_stats.two_sided_p(z)
        tested = linked > 0
        z, p = np.where(tested, z, np.nan), np.where(tested, p, np.nan)
        fdr = self.parameterAsBool(parameters, self.FDR, context)
        bins = local_stats.confidence_bins(z, p, fdr)
        if permutations and fdr and not (bins > 0).any() and np.nanmax(z) > 0:
            floor = 2.0 / (permutations + 1)
            feedback.pushWarning(
                self.tr(
                    "No hot street passed the FDR correction, but with {} permutations no p-value can be below {:.2g}, and "
                    "FDR at 90 % over {} segments needs at least {:.0f} segments that small. Use more permutations "
                    "(e.g. 9999) or analytical p-values (PERMUTATIONS = 0)."
                ).format(permutations, floor, int(tested.sum()), np.ceil(floor * tested.sum() / 0.10))
            )

        kilometres = lengths * QgsUnitTypes.fromUnitToUnitFactor(crs.mapUnits(), METERS) / 1000.0
        columns = [
            Column("segment_id", "int", np.arange(1, n + 1)),
            Column("incident_count", "int", counts),
            Column("weight_sum", "double", sums, self.tr("Harm (weight) sum") if weights is not None else self.tr("Incidents")),
            Column("incidents_per_km", "double", np.divide(counts, kilometres, out=np.zeros(n), where=kilometres > 0)),
            Column("GiZScore", "double", z, self.tr("Gi* z-score")),
            Column("GiPValue", "double", p, self.tr("Gi* p-value")),
            Column("Gi_Bin", "int", np.where(tested, bins, np.nan), self.tr("Hot/cold street confidence")),
            Column("NNeighbors", "int", linked, self.tr("Number of neighbours")),
        ]
        destination = write_segments(self.writer, self.OUTPUT, columns, lines, segments, rows, crs, "gi_bin", stage(feedback, 90, 100))
        figures = {
            "SEGMENT_COUNT": n,
            "MATCHED": int(matched.sum()),
            "UNMATCHED": unmatched,
            "NEIGHBORHOOD_USED": distance,
            "HOT_SEGMENTS": int((bins > 0).sum()),
        }
        log_figures(feedback, figures, figures, self.tr)
        return {self.OUTPUT: destination, **figures}
