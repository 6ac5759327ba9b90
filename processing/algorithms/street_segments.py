"""hotspotpolicing:streetsegments: street centre-lines to block-face segments."""

import numpy as np
from qgis.core import (
    QgsFeature,
    QgsFields,
    QgsGeometry,
    QgsPointXY,
    QgsProcessingException,
    QgsProcessingOutputNumber,
    QgsProcessingParameterDistance,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFeatureSource,
    QgsWkbTypes,
)

from ...core.network import self_overlapping_parts, split_at_junctions
from ..compat import LINE_GEOMETRY, LINE_SOURCE
from ..compat import field as make_field
from ..layers import read_lines, working_crs
from .base import HotspotAlgorithm, add_features


class StreetSegments(HotspotAlgorithm):
    INPUT = "INPUT"
    TOLERANCE = "TOLERANCE"
    OUTPUT = "OUTPUT"
    GROUP_ID = "streetsegments"

    def name(self):
        return "streetsegments"

    def displayName(self):
        return self.tr("Street centre-lines to block faces")

    def tags(self):
        return self.tr("street segment,block face,centreline,centerline,split,intersection,noding,network").split(",")

    def shortHelpString(self):
        return self.tr(
            "<p>Turns a street centre-line layer, as cities publish it, into street segments that "
            "run from intersection to intersection: the unit of street-segment hot spot policing "
            "(Weisburd et al.: both block faces of a street between two intersections).</p>"
            "<p><b>Method.</b> Every line is cut where another line crosses or touches it, also where "
            "crossings are not vertices of either line, and where another line's dangling end comes "
            "within TOLERANCE of it (a digitising gap: the end is moved onto the line, so the "
            "segments meet). Lines are not cut at their own vertices, so curved streets stay whole; "
            "dead ends end a segment. Multilinestrings are cut part by part; empty and zero-length "
            "lines, and lines that run back over themselves, are skipped and counted in the log.</p>"
            "<p><b>Output.</b> The segments with every field of their centre-line, a segment_id "
            "(1, 2, ...) and their length (metres, or map units in an unknown CRS). Use them with "
            "'Assign incidents to street segments'. Inputs in a geographic CRS are written in their "
            "UTM zone.</p>"
        )

    def initAlgorithm(self, config=None):
        source = QgsProcessingParameterFeatureSource(self.INPUT, self.tr("Street centre-lines"), [LINE_SOURCE])
        source.setHelp(self.tr("Lines or multilines of the street network."))
        self.addParameter(source)
        tolerance = QgsProcessingParameterDistance(self.TOLERANCE, self.tr("Node tolerance"), 1.0, self.INPUT, minValue=0.0)
        tolerance.setHelp(self.tr("Line ends this close to another line are joined to it; cuts this close together are one."))
        self.addParameter(tolerance)
        output = QgsProcessingParameterFeatureSink(self.OUTPUT, self.tr("Street segments"))
        output.setHelp(self.tr("Block-face segments with segment_id and length."))
        self.addParameter(output)
        self.addOutput(QgsProcessingOutputNumber("SEGMENT_COUNT", self.tr("Segments")))

    def processAlgorithm(self, parameters, context, feedback):
        source = self.parameterAsSource(parameters, self.INPUT, context)
        if source is None:
            raise QgsProcessingException(self.invalidSourceError(parameters, self.INPUT))
        if QgsWkbTypes.geometryType(source.wkbType()) != LINE_GEOMETRY:
            raise QgsProcessingException(
                self.tr("The street centre-lines must be lines (got {}).").format(QgsWkbTypes.displayString(source.wkbType()))
            )
        tolerance = self.parameterAsDouble(parameters, self.TOLERANCE, context)
        if tolerance <= 0:
            raise QgsProcessingException(self.tr("The node tolerance must be greater than 0 (e.g. 1 m)."))
        crs = working_crs(source, context, feedback)
        lines = read_lines(source, crs, context, feedback)
        if lines is None:
            return {}
        if lines.skipped:
            feedback.pushWarning(self.tr("Skipped {} empty or zero-length lines.").format(lines.skipped))
        if not lines.geometries:
            raise QgsProcessingException(self.tr("The layer has no usable lines."))
        feedback.setProgress(30)
        overlapping = self_overlapping_parts(lines.vertices, lines.per_part, tolerance)
        if overlapping.any():
            names = sorted({lines.part_owner[p] + 1 for p in np.flatnonzero(overlapping)})
            feedback.pushWarning(
                self.tr("Skipped {} line parts that run back over themselves (features {}); fix their digitising to keep them.").format(
                    int(overlapping.sum()), ", ".join(map(str, names[:20])) + (" ..." if len(names) > 20 else "")
                )
            )
            keep = ~overlapping
            lines.vertices = lines.vertices[np.repeat(keep, lines.per_part)]
            lines.per_part, lines.part_owner = lines.per_part[keep], lines.part_owner[keep]
        segments = split_at_junctions(lines.vertices, lines.per_part, tolerance)
        if feedback.isCanceled():
            return {}
        feedback.pushInfo(
            self.tr("{} centre-lines ({} parts) became {} segments.").format(len(lines.geometries), len(lines.per_part), len(segments))
        )

        fields = QgsFields(source.fields())
        fields.append(make_field("segment_id", "int"))
        fields.append(make_field("length", "double"))
        sink, destination = self.parameterAsSink(parameters, self.OUTPUT, context, fields, QgsWkbTypes.Type.LineString, crs)
        if sink is None:
            raise QgsProcessingException(self.invalidSinkError(parameters, self.OUTPUT))
        # A GeoPackage's "fid" must stay unique: the pieces of one line get new ones.
        fid = source.fields().lookupField("fid")
        batch = []
        for number, (coordinates, part) in enumerate(segments, start=1):
            feature = QgsFeature(fields)
            feature.setGeometry(QgsGeometry.fromPolylineXY([QgsPointXY(x, y) for x, y in coordinates]))
            length = float(np.hypot(*np.diff(coordinates, axis=0).T).sum())
            attributes = list(lines.attributes[lines.part_owner[part]])
            if fid >= 0:
                attributes[fid] = None
            feature.setAttributes(attributes + [number, length])
            batch.append(feature)
            if len(batch) == 10000:
                add_features(sink, batch)
                batch = []
                feedback.setProgress(30 + 70 * number / len(segments))
        add_features(sink, batch)
        return {self.OUTPUT: destination, "SEGMENT_COUNT": len(segments)}
