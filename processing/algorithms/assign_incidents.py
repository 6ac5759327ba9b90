"""hotspotpolicing:assignincidents: incidents to their nearest street segment, counted."""

import numpy as np
from qgis.core import (
    QgsFeature,
    QgsFields,
    QgsGeometry,
    QgsPointXY,
    QgsProcessingException,
    QgsProcessingOutputNumber,
    QgsProcessingParameterDistance,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsUnitTypes,
    QgsWkbTypes,
)
from scipy.spatial import cKDTree

from ...core.network import junctions, nearest_segments
from ..compat import ADVANCED, LINE_GEOMETRY, LINE_SOURCE, METERS, NUMERIC_FIELD, POINT_GEOMETRY, POINT_SOURCE
from ..compat import field as make_field
from ..layers import read_features, read_lines, read_points, working_crs
from ..styles import style_on_completion
from .base import HotspotAlgorithm, add_features

INTERSECTION_RULES = ("Nearest segment (ties to the lowest segment id)", "Separate intersection units")


class AssignIncidents(HotspotAlgorithm):
    INCIDENTS = "INCIDENTS"
    SEGMENTS = "SEGMENTS"
    SEGMENT_ID_FIELD = "SEGMENT_ID_FIELD"
    TOLERANCE = "TOLERANCE"
    WEIGHT_FIELD = "WEIGHT_FIELD"
    INTERSECTION_RULE = "INTERSECTION_RULE"
    INTERSECTION_RADIUS = "INTERSECTION_RADIUS"
    OUTPUT = "OUTPUT"
    OUTPUT_INCIDENTS = "OUTPUT_INCIDENTS"
    OUTPUT_INTERSECTIONS = "OUTPUT_INTERSECTIONS"
    GROUP_ID = "streetsegments"

    def name(self):
        return "assignincidents"

    def displayName(self):
        return self.tr("Assign incidents to street segments")

    def tags(self):
        return self.tr("street segment,block face,snap,nearest,count,micro places,crime concentration").split(",")

    def shortHelpString(self):
        return self.tr(
            "<p>Snaps every incident to its nearest street segment within TOLERANCE and counts the "
            "incidents (and sums WEIGHT_FIELD, e.g. harm) per segment: the unit of street-segment "
            "hot spot policing (Weisburd et al.).</p>"
            "<p><b>Method.</b> Exact Euclidean point-to-segment distance (METHODS 4.2), found through a "
            "KD-tree of points sampled along the segments and verified against the exact distance, "
            "so no pair is missed and no loop runs over all pairs. An incident equidistant from "
            "several segments (e.g. exactly at a junction) goes to the lowest segment id; the log "
            "says how many did.</p>"
            "<p><b>Intersections.</b> 'Nearest segment' assigns every incident to a segment. "
            "'Separate intersection units' (as Braga et al. in Boston) gives incidents within "
            "INTERSECTION_RADIUS of a junction where three or more segment ends meet to that "
            "intersection instead (optional output of intersections with their counts).</p>"
            "<p><b>Output.</b> The segments with incident_count, weight_sum (with a weight field) and "
            "incidents_per_km; optionally the incidents with segment_id and snap_distance (NULL when "
            "no segment is within the tolerance or the incident went to an intersection). "
            "Unmatched incidents are counted in the log. Segments without SEGMENT_ID_FIELD get a "
            "segment_id (their order, from 1).</p>"
        )

    def initAlgorithm(self, config=None):
        incidents = QgsProcessingParameterFeatureSource(self.INCIDENTS, self.tr("Incidents"), [POINT_SOURCE])
        incidents.setHelp(self.tr("Point layer of incidents."))
        self.addParameter(incidents)
        segments = QgsProcessingParameterFeatureSource(self.SEGMENTS, self.tr("Street segments"), [LINE_SOURCE])
        segments.setHelp(self.tr("Block-face segments, e.g. the output of 'Street centre-lines to block faces'."))
        self.addParameter(segments)
        identifier = QgsProcessingParameterField(
            self.SEGMENT_ID_FIELD, self.tr("Segment id field"), "segment_id", self.SEGMENTS, optional=True
        )
        identifier.setHelp(self.tr("Field identifying the segments in the incidents output; empty: the segments' order."))
        self.addParameter(identifier)
        tolerance = QgsProcessingParameterDistance(self.TOLERANCE, self.tr("Snapping tolerance"), 30.0, self.SEGMENTS, minValue=0.0)
        tolerance.setHelp(self.tr("Incidents farther than this from every segment stay unmatched (geocoded addresses: 15-30 m)."))
        self.addParameter(tolerance)
        weight = QgsProcessingParameterField(
            self.WEIGHT_FIELD,
            self.tr("Weight field (e.g. harm)"),
            parentLayerParameterName=self.INCIDENTS,
            type=NUMERIC_FIELD,
            optional=True,
        )
        weight.setHelp(self.tr("Optional: also sum this field per segment (weight_sum)."))
        self.addParameter(weight)
        rule = QgsProcessingParameterEnum(
            self.INTERSECTION_RULE, self.tr("Incidents at intersections"), options=[self.tr(r) for r in INTERSECTION_RULES], defaultValue=0
        )
        rule.setHelp(self.tr("Give incidents at junctions to the nearest segment, or to separate intersection units."))
        self.addParameter(rule)
        radius = QgsProcessingParameterDistance(self.INTERSECTION_RADIUS, self.tr("Intersection radius"), 15.0, self.SEGMENTS, minValue=0.0)
        radius.setHelp(self.tr("With separate intersection units: incidents this close to a junction of 3+ segments go to it."))
        radius.setFlags(radius.flags() | ADVANCED)
        self.addParameter(radius)
        self.addParameter(QgsProcessingParameterFeatureSink(self.OUTPUT, self.tr("Segments with counts")))
        self.parameterDefinition(self.OUTPUT).setHelp(self.tr("The segments with incident_count, weight_sum and incidents_per_km."))
        out_incidents = QgsProcessingParameterFeatureSink(
            self.OUTPUT_INCIDENTS, self.tr("Incidents with segment"), optional=True, createByDefault=False
        )
        out_incidents.setHelp(self.tr("Optional: the incidents with segment_id and snap_distance (written only when asked for)."))
        self.addParameter(out_incidents)
        out_nodes = QgsProcessingParameterFeatureSink(
            self.OUTPUT_INTERSECTIONS, self.tr("Intersections with counts"), optional=True, createByDefault=False
        )
        out_nodes.setHelp(self.tr("Optional, with separate intersection units: the junctions with their incident counts."))
        self.addParameter(out_nodes)
        self.addOutput(QgsProcessingOutputNumber("MATCHED", self.tr("Incidents assigned to a segment")))
        self.addOutput(QgsProcessingOutputNumber("UNMATCHED", self.tr("Incidents beyond the tolerance")))
        self.addOutput(QgsProcessingOutputNumber("AT_INTERSECTIONS", self.tr("Incidents assigned to intersections")))

    def processAlgorithm(self, parameters, context, feedback):
        incidents = self.parameterAsSource(parameters, self.INCIDENTS, context)
        segments = self.parameterAsSource(parameters, self.SEGMENTS, context)
        if incidents is None or segments is None:
            raise QgsProcessingException(self.invalidSourceError(parameters, self.INCIDENTS if incidents is None else self.SEGMENTS))
        if QgsWkbTypes.geometryType(incidents.wkbType()) != POINT_GEOMETRY:
            raise QgsProcessingException(
                self.tr("The incidents must be points (got {}).").format(QgsWkbTypes.displayString(incidents.wkbType()))
            )
        if QgsWkbTypes.geometryType(segments.wkbType()) != LINE_GEOMETRY:
            raise QgsProcessingException(
                self.tr("The street segments must be lines (got {}).").format(QgsWkbTypes.displayString(segments.wkbType()))
            )
        tolerance = self.parameterAsDouble(parameters, self.TOLERANCE, context)
        if tolerance <= 0:
            raise QgsProcessingException(self.tr("The snapping tolerance must be greater than 0 (e.g. 30 m)."))
        crs = working_crs(segments, context, feedback)
        if incidents.sourceCrs() != segments.sourceCrs():
            feedback.pushInfo(
                self.tr("Incidents ({}) and segments ({}) differ in CRS; both are measured in {}.").format(
                    incidents.sourceCrs().authid(), segments.sourceCrs().authid(), crs.authid()
                )
            )

        lines = read_lines(segments, crs, context, feedback)
        if lines is None:
            return {}
        if lines.skipped:
            feedback.pushWarning(self.tr("Skipped {} segments without geometry or of zero length.").format(lines.skipped))
        if not lines.geometries:
            raise QgsProcessingException(self.tr("The street segments layer has no usable lines."))
        weight_field = self.parameterAsString(parameters, self.WEIGHT_FIELD, context) or None
        want_incidents = self.OUTPUT_INCIDENTS in parameters and parameters[self.OUTPUT_INCIDENTS] is not None
        if want_incidents:
            table = read_features(incidents, weight_field, crs, context, feedback)
            if table is None:
                return {}
            x, y, weights = table.x, table.y, (table.values if weight_field else None)
        else:
            layer = self.parameterAsVectorLayer(parameters, self.INCIDENTS, context)
            points = read_points(incidents, layer, parameters.get(self.INCIDENTS), crs, context, weight_field)
            x, y, weights = points.x, points.y, points.values
        if len(x) == 0:
            raise QgsProcessingException(self.tr("The incidents layer has no points."))
        if weights is not None and (np.isnan(weights).any() or (weights < 0).any()):
            raise QgsProcessingException(
                self.tr("The weight field '{}' has NULL or negative values; fill or filter them first.").format(weight_field)
            )
        feedback.setProgress(40)

        assignment = nearest_segments(x, y, lines.edges, lines.owner, tolerance)
        segment = assignment.segment
        node_of_incident = None
        if self.parameterAsEnum(parameters, self.INTERSECTION_RULE, context) == 1:
            node, degree = junctions(lines.ends[:, 0], lines.ends[:, 1], max(tolerance * 1e-3, 1e-6))
            crossing = np.flatnonzero(degree >= 3)
            node_x = np.bincount(node, lines.ends[:, 0])[crossing] / degree[crossing]
            node_y = np.bincount(node, lines.ends[:, 1])[crossing] / degree[crossing]
            radius = self.parameterAsDouble(parameters, self.INTERSECTION_RADIUS, context)
            distance, nearest = (
                cKDTree(np.column_stack([node_x, node_y])).query(np.column_stack([x, y]), distance_upper_bound=radius)
                if len(crossing)
                else (np.full(len(x), np.inf), None)
            )
            node_of_incident = np.where(np.isfinite(distance), nearest, -1)
            segment = np.where(node_of_incident >= 0, -1, segment)
        matched = segment >= 0
        at_nodes = int((node_of_incident >= 0).sum()) if node_of_incident is not None else 0
        unmatched = int((assignment.segment < 0).sum())
        feedback.pushInfo(
            self.tr("{} incidents assigned to segments, {} to intersections, {} farther than {:g} from every segment.").format(
                int(matched.sum()), at_nodes, unmatched, tolerance
            )
        )
        if unmatched:
            feedback.pushWarning(
                self.tr("{} incidents are unmatched: check the tolerance, the CRS or where they were geocoded.").format(unmatched)
            )
        if assignment.ties:
            feedback.pushInfo(
                self.tr("{} incidents were equally near two or more segments and went to the lowest segment id.").format(assignment.ties)
            )

        n = len(lines.geometries)
        counts = np.bincount(segment[matched], minlength=n)
        sums = np.bincount(segment[matched], weights[matched], minlength=n) if weights is not None else None
        lengths = np.bincount(
            lines.owner, np.hypot(lines.edges[:, 2] - lines.edges[:, 0], lines.edges[:, 3] - lines.edges[:, 1]), minlength=n
        )
        kilometres = lengths * QgsUnitTypes.fromUnitToUnitFactor(crs.mapUnits(), METERS) / 1000.0
        ids = self._segment_ids(parameters, context, segments, lines)
        results = {"MATCHED": int(matched.sum()), "UNMATCHED": unmatched, "AT_INTERSECTIONS": at_nodes}
        results[self.OUTPUT] = self._write_segments(parameters, context, segments, lines, ids, counts, sums, kilometres, weight_field)
        if want_incidents:
            results[self.OUTPUT_INCIDENTS] = self._write_incidents(parameters, context, incidents, table, ids, segment, assignment.distance)
        if node_of_incident is not None and parameters.get(self.OUTPUT_INTERSECTIONS) is not None:
            results[self.OUTPUT_INTERSECTIONS] = self._write_intersections(
                parameters, context, crs, node_x, node_y, degree[crossing], node_of_incident, weights
            )
        return results

    def _segment_ids(self, parameters, context, segments, lines):
        name = self.parameterAsString(parameters, self.SEGMENT_ID_FIELD, context)
        index = segments.fields().lookupField(name) if name else -1
        if index < 0:
            return None
        return [attributes[index] for attributes in lines.attributes]

    def _write_segments(self, parameters, context, segments, lines, ids, counts, sums, kilometres, weight_field):
        fields = QgsFields(segments.fields())
        added = ([] if ids is not None else [("segment_id", "int")]) + [("incident_count", "int")]
        added += [("weight_sum", "double")] if weight_field else []
        added += [("incidents_per_km", "double")]
        for name, kind in added:
            fields.append(make_field(name, kind))
        sink, destination = self.parameterAsSink(parameters, self.OUTPUT, context, fields, segments.wkbType(), segments.sourceCrs())
        per_km = np.divide(counts, kilometres, out=np.zeros(len(counts)), where=kilometres > 0)
        columns = ([] if ids is not None else [list(range(1, len(counts) + 1))]) + [counts.tolist()]
        columns += [sums.tolist()] if weight_field else []
        columns += [per_km.tolist()]
        batch = []
        for geometry, attributes, extra in zip(lines.geometries, lines.attributes, zip(*columns)):
            feature = QgsFeature(fields)
            feature.setGeometry(geometry)
            feature.setAttributes(attributes + list(extra))
            batch.append(feature)
        add_features(sink, batch)
        style_on_completion(context, destination, "segments")
        return destination

    def _write_incidents(self, parameters, context, incidents, table, ids, segment, distance):
        fields = QgsFields(incidents.fields())
        fields.append(make_field("segment_id", "int" if ids is None else "string"))
        fields.append(make_field("snap_distance", "double"))
        sink, destination = self.parameterAsSink(
            parameters, self.OUTPUT_INCIDENTS, context, fields, incidents.wkbType(), incidents.sourceCrs()
        )
        batch = []
        for i, (geometry, attributes) in enumerate(zip(table.geometries, table.attributes)):
            feature = QgsFeature(fields)
            feature.setGeometry(geometry)
            s = int(segment[i])
            label = None if s < 0 else (s + 1 if ids is None else str(ids[s]))
            feature.setAttributes(attributes + [label, float(distance[i]) if s >= 0 else None])
            batch.append(feature)
        add_features(sink, batch)
        return destination

    def _write_intersections(self, parameters, context, crs, node_x, node_y, degree, node_of_incident, weights):
        fields = QgsFields()
        for name, kind in (("intersection_id", "int"), ("degree", "int"), ("incident_count", "int"), ("weight_sum", "double")):
            fields.append(make_field(name, kind))
        sink, destination = self.parameterAsSink(parameters, self.OUTPUT_INTERSECTIONS, context, fields, QgsWkbTypes.Type.Point, crs)
        taken = node_of_incident >= 0
        counts = np.bincount(node_of_incident[taken], minlength=len(node_x))
        sums = np.bincount(node_of_incident[taken], weights[taken] if weights is not None else None, minlength=len(node_x))
        batch = []
        for i in range(len(node_x)):
            feature = QgsFeature(fields)
            feature.setGeometry(QgsGeometry.fromPointXY(QgsPointXY(node_x[i], node_y[i])))
            feature.setAttributes([i + 1, int(degree[i]), int(counts[i]), float(sums[i])])
            batch.append(feature)
        add_features(sink, batch)
        return destination
