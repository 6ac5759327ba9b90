"""hotspotpolicing:assignincidents: incidents to their nearest street segment, counted."""

from enum import IntEnum

import numpy as np
from qgis.core import (
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsUnitTypes,
    QgsWkbTypes,
)
from scipy.spatial import cKDTree

from ...core.geometry import line_lengths_and_centroids
from ...core.network import junctions, nearest_segments
from ..compat import LINE_SOURCE, METERS
from ..layers import ALL_FIELDS, LINES
from ..reports import number
from ..sinks import Column, points_wkb
from .base import IncidentAlgorithm, stage
from .street_segments import usable_lines

INTERSECTION_RULES = ("Nearest street segment", "Separate intersection units")


class IntersectionRule(IntEnum):
    """The INTERSECTION_RULE enum (positions are public)."""

    NEAREST_SEGMENT = 0
    SEPARATE = 1


class AssignIncidents(IncidentAlgorithm, name="assignincidents", group="streetsegments", methods="3.2"):
    INCIDENTS, SEGMENTS, SEGMENT_ID_FIELD, TOLERANCE = "INCIDENTS", "SEGMENTS", "SEGMENT_ID_FIELD", "TOLERANCE"
    INTERSECTION_RULE, INTERSECTION_RADIUS, OUTPUT = "INTERSECTION_RULE", "INTERSECTION_RADIUS", "OUTPUT"
    OUTPUT_INCIDENTS, OUTPUT_INTERSECTIONS = "OUTPUT_INCIDENTS", "OUTPUT_INTERSECTIONS"

    DISPLAY_NAME = "Assign incidents to street segments"
    TAGS = "street segment,snap,nearest,count,micro places,crime concentration"
    HELP = (
        "<p>How many incidents happened on each street segment? Every incident goes to its nearest street segment "
        "within the <i>Snapping tolerance</i>, and each segment gets its count (and the sum of the <i>Weight "
        "field</i>, e.g. harm).</p>"
        "<p>An incident exactly as near to two segments (at a junction) goes to the one with the lowest id. With "
        "<i>Incidents at intersections</i> set to separate intersection units, incidents within the <i>Intersection "
        "radius</i> of a junction of three or more segments count for that intersection instead (as in Braga's Boston "
        "studies). Incidents farther than the tolerance from every segment are counted in the log.</p>"
        "<p><b>Result.</b> The segments with incident_count, weight_sum and incidents_per_km; optionally the "
        "incidents with their segment_id and snap_distance (empty when unmatched), and the intersections with their "
        "counts. Segments without a <i>Segment id field</i> are numbered in their order.</p>"
    )

    def initAlgorithm(self, config=None):
        self.add_incidents_parameter()
        segments = QgsProcessingParameterFeatureSource(self.SEGMENTS, self.tr("Street segments"), [LINE_SOURCE])
        self.add(segments, "Street segments, e.g. the output of 'Street centre-lines to street segments'.")
        identifier = QgsProcessingParameterField(
            self.SEGMENT_ID_FIELD, self.tr("Segment id field"), "segment_id", self.SEGMENTS, optional=True
        )
        self.add(identifier, "Field identifying the segments in the incidents output; empty: the segments' order.")
        tolerance_help = "Incidents farther than this from every segment stay unmatched (geocoded addresses: 15-30 m)."
        self.add_distance(self.TOLERANCE, "Snapping tolerance", 30.0, self.SEGMENTS, tolerance_help)
        self.add_weight_parameter("Optional: also sum this field per segment (weight_sum).")
        rule_help = "Give incidents at junctions to the nearest segment, or to separate intersection units."
        self.add_enum(self.INTERSECTION_RULE, "Incidents at intersections", INTERSECTION_RULES, IntersectionRule.NEAREST_SEGMENT, rule_help)
        radius_help = "With separate intersection units: incidents this close to a junction of 3+ segments go to it."
        self.add_distance(self.INTERSECTION_RADIUS, "Intersection radius", 15.0, self.SEGMENTS, radius_help, advanced=True)
        sinks = (
            (self.OUTPUT, "Segments with counts", False, "The segments with incident_count, weight_sum and incidents_per_km."),
            (
                self.OUTPUT_INCIDENTS,
                "Incidents with segment",
                True,
                "Optional: the incidents with segment_id and snap_distance (written only when asked for).",
            ),
            (
                self.OUTPUT_INTERSECTIONS,
                "Intersections with counts",
                True,
                "Optional, with separate intersection units: the junctions with their incident counts.",
            ),
        )
        for key, label, optional, help_text in sinks:
            self.add(QgsProcessingParameterFeatureSink(key, self.tr(label), optional=optional, createByDefault=not optional), help_text)
        self.add_results(("MATCHED", "UNMATCHED", "AT_INTERSECTIONS"))

    def process(self, parameters, context, feedback):
        segments_source = self.reader.source(self.SEGMENTS, needs=LINES)
        tolerance = self.positive(parameters, self.TOLERANCE, context, "30 m")
        crs = self.reader.crs(self.SEGMENTS)
        incidents_source = self.reader.source(self.INCIDENTS)
        if incidents_source.sourceCrs() != segments_source.sourceCrs():
            feedback.pushInfo(
                self.tr("Incidents ({}) and segments ({}) differ in CRS; both are measured in {}.").format(
                    incidents_source.sourceCrs().authid(), segments_source.sourceCrs().authid(), crs.authid()
                )
            )
        lines = usable_lines(self.reader.read(self.SEGMENTS, crs, ALL_FIELDS, keep=True, progress=stage(feedback, 0, 20)), feedback)
        want_incidents = parameters.get(self.OUTPUT_INCIDENTS) is not None
        incidents, weights = self.read_incidents(
            parameters, context, crs, fields=ALL_FIELDS if want_incidents else (), keep=want_incidents, progress=stage(feedback, 20, 40)
        )
        x, y = incidents.x, incidents.y

        edges, edge_owner = lines.edges()
        assignment = nearest_segments(x, y, edges, edge_owner, tolerance, progress=stage(feedback, 40, 70))
        segment = assignment.segment
        node_of_incident = None
        if self.parameterAsEnum(parameters, self.INTERSECTION_RULE, context) == IntersectionRule.SEPARATE:
            ends = segment_ends(lines)
            node, degree = junctions(ends[:, 0], ends[:, 1], max(tolerance * 1e-3, 1e-6))
            crossing = np.flatnonzero(degree >= 3)
            node_x = np.bincount(node, ends[:, 0])[crossing] / degree[crossing]
            node_y = np.bincount(node, ends[:, 1])[crossing] / degree[crossing]
            if not len(crossing):
                feedback.pushWarning(
                    self.tr(
                        "No junction where three or more segment ends meet: '{}' looks like whole centre-lines, not street "
                        "segments. Run 'Street centre-lines to street segments' first to find intersections."
                    ).format(lines.name)
                )
            radius = self.parameterAsDouble(parameters, self.INTERSECTION_RADIUS, context)
            distance, nearest = (
                cKDTree(np.column_stack([node_x, node_y])).query(np.column_stack([x, y]), distance_upper_bound=radius)
                if len(crossing)
                else (np.full(len(x), np.inf), np.zeros(len(x), dtype=np.int64))
            )
            node_of_incident = np.where(np.isfinite(distance), nearest, -1)
            segment = np.where(node_of_incident >= 0, -1, segment)
        matched = segment >= 0
        at_nodes = int((node_of_incident >= 0).sum()) if node_of_incident is not None else 0
        unmatched = int((assignment.segment < 0).sum())
        feedback.pushInfo(
            self.tr("{} incidents assigned to segments, {} to intersections, {} farther than {} from every segment.").format(
                int(matched.sum()), at_nodes, unmatched, number(tolerance)
            )
        )
        if unmatched:
            feedback.pushWarning(
                self.tr("{} incidents are unmatched: check the tolerance, the CRS or where they were geocoded.").format(unmatched)
            )
        if assignment.ties:
            feedback.pushInfo(
                self.tr("{} incidents were equally near two or more segments and went to the first in the layer.").format(assignment.ties)
            )

        n = len(lines)
        counts = np.bincount(segment[matched], minlength=n)
        lengths, _ = line_lengths_and_centroids(lines.vertices, lines.sizes, lines.part_owner, n)
        kilometres = lengths * QgsUnitTypes.fromUnitToUnitFactor(crs.mapUnits(), METERS) / 1000.0
        name = self.parameterAsString(parameters, self.SEGMENT_ID_FIELD, context)
        ids = lines.values(name) if name and name in lines.columns else None
        columns = [] if ids is not None else [Column("segment_id", "int", np.arange(1, n + 1))]
        columns.append(Column("incident_count", "int", counts))
        if weights is not None:
            columns.append(Column("weight_sum", "double", np.bincount(segment[matched], weights[matched], minlength=n)))
        columns.append(Column("incidents_per_km", "double", np.divide(counts, kilometres, out=np.zeros(n), where=kilometres > 0)))
        results = {"MATCHED": int(matched.sum()), "UNMATCHED": unmatched, "AT_INTERSECTIONS": at_nodes}
        results[self.OUTPUT] = self.writer.features(self.OUTPUT, columns, base=lines, style="segments", progress=stage(feedback, 70, 90))
        if want_incidents:
            first = incidents.first_points()
            own = segment[first]
            label = np.where(own >= 0, own + 1, 0) if ids is None else np.array([None if s < 0 else str(ids[s]) for s in own], dtype=object)
            label = np.where(own >= 0, label, None) if ids is None else label
            results[self.OUTPUT_INCIDENTS] = self.writer.features(
                self.OUTPUT_INCIDENTS,
                [
                    Column("segment_id", "int" if ids is None else "string", label),
                    Column("snap_distance", "double", np.where(own >= 0, assignment.distance[first], np.nan)),
                ],
                base=incidents,
                progress=stage(feedback, 90, 97),
            )
        if node_of_incident is not None and parameters.get(self.OUTPUT_INTERSECTIONS) is not None:
            taken = node_of_incident >= 0
            results[self.OUTPUT_INTERSECTIONS] = self.writer.features(
                self.OUTPUT_INTERSECTIONS,
                [
                    Column("intersection_id", "int", np.arange(1, len(node_x) + 1)),
                    Column("degree", "int", degree[crossing]),
                    Column("incident_count", "int", np.bincount(node_of_incident[taken], minlength=len(node_x))),
                    Column(
                        "weight_sum",
                        "double",
                        np.bincount(node_of_incident[taken], weights[taken] if weights is not None else None, minlength=len(node_x)),
                    ),
                ],
                geometry=points_wkb(node_x, node_y),
                wkb_type=QgsWkbTypes.Type.Point,
                crs=crs,
                progress=stage(feedback, 97, 100),
            )
        return results


def segment_ends(lines):
    """(k, 2) the two ends of every line part."""
    last = np.cumsum(lines.sizes) - 1
    return np.concatenate([lines.vertices[last - lines.sizes + 1], lines.vertices[last]])
