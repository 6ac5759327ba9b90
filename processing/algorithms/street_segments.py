"""hotspotpolicing:streetsegments: street centre-lines to street segments (both sides of a
street from one intersection to the next)."""

import numpy as np
from qgis.core import (
    QgsProcessingException,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFeatureSource,
    QgsWkbTypes,
)

from ...core.geometry import line_lengths_and_centroids
from ...core.network import self_overlapping_parts, split_at_junctions
from ..compat import LINE_SOURCE
from ..layers import ALL_FIELDS, LINES
from ..sinks import Column, linestrings_wkb
from .base import HotspotAlgorithm, stage


class StreetSegments(HotspotAlgorithm, name="streetsegments", group="streetsegments", methods="3.1"):
    INPUT, TOLERANCE, OUTPUT = "INPUT", "TOLERANCE", "OUTPUT"

    DISPLAY_NAME = "Street centre-lines to street segments"
    TAGS = "street segment,centreline,centerline,split,intersection,noding,network,micro places"
    HELP = (
        "<p>Which street segments should crime be counted on? Cuts street centre-lines, as cities publish them, into "
        "segments from one junction to the next: the unit of street-segment hot spot policing (both sides of a street "
        "between two intersections).</p>"
        "<p>Lines are cut where they cross or touch another line; curved streets stay whole and dead ends end a "
        "segment. A line end within the <i>Node tolerance</i> of another line (a digitising gap) is joined to it. "
        "Empty lines, lines of zero length and lines that run back over themselves are skipped and counted in the "
        "log.</p>"
        "<p><b>Result.</b> The segments with every field of their centre-line, segment_id (1, 2, ...) and length "
        "(metres). Next: 'Assign incidents to street segments'.</p>"
    )

    def initAlgorithm(self, config=None):
        self.add(
            QgsProcessingParameterFeatureSource(self.INPUT, self.tr("Street centre-lines"), [LINE_SOURCE]),
            "Lines or multilines of the street network.",
        )
        tolerance_help = "Line ends this close to another line are joined to it; cuts this close together are one."
        self.add_distance(self.TOLERANCE, "Node tolerance", 1.0, self.INPUT, tolerance_help)
        self.add(QgsProcessingParameterFeatureSink(self.OUTPUT, self.tr("Street segments")), "Street segments with segment_id and length.")
        self.add_results(("SEGMENT_COUNT",))

    def process(self, parameters, context, feedback):
        self.reader.source(self.INPUT, needs=LINES)
        tolerance = self.positive(parameters, self.TOLERANCE, context, "1 m")
        crs = self.reader.crs(self.INPUT)
        lines = usable_lines(self.reader.read(self.INPUT, crs, ALL_FIELDS, keep=True, progress=stage(feedback, 0, 30)), feedback)
        segments, rows = street_segments(lines, tolerance, feedback, progress=stage(feedback, 30, 60))
        lengths, _ = line_lengths_and_centroids(segments.vertices, segments.sizes, np.arange(len(segments)), len(segments))
        columns = [Column("segment_id", "int", np.arange(1, len(segments) + 1)), Column("length", "double", lengths)]
        destination = write_segments(self.writer, self.OUTPUT, columns, lines, segments, rows, crs, progress=stage(feedback, 60, 100))
        return {self.OUTPUT: destination, "SEGMENT_COUNT": len(segments)}


def street_segments(lines, tolerance, feedback, progress=None):
    """The centre-lines cut at every junction: (Segments, the line row of each segment).
    Line parts that run back over themselves are skipped, with a warning naming them."""
    overlapping = self_overlapping_parts(lines.vertices, lines.sizes, tolerance)
    if overlapping.any():
        names = sorted(set(lines.ids[lines.part_owner[overlapping]].tolist()))
        feedback.pushWarning(
            "Skipped {} line parts of '{}' that run back over themselves (features {}); fix their digitising to keep them.".format(
                int(overlapping.sum()), lines.name, ", ".join(map(str, names[:20])) + (" ..." if len(names) > 20 else "")
            )
        )
    keep = ~overlapping
    segments = split_at_junctions(lines.vertices[np.repeat(keep, lines.sizes)], lines.sizes[keep], tolerance, progress=progress)
    feedback.pushInfo(f"{len(lines)} centre-lines ({int(keep.sum())} parts) became {len(segments)} street segments.")
    return segments, lines.part_owner[keep][segments.part]


def write_segments(writer, key, columns, lines, segments, rows, crs, style=None, progress=None):
    """The segments as line features, each with its centre-line's fields, then ``columns``."""
    geometry = linestrings_wkb(segments.vertices, segments.sizes)
    kind = QgsWkbTypes.Type.LineString
    return writer.features(key, columns, base=lines, rows=rows, geometry=geometry, wkb_type=kind, crs=crs, style=style, progress=progress)


def usable_lines(lines, feedback):
    """The lines with a length: empty and zero-length lines are left out, with a warning."""
    lengths, _ = line_lengths_and_centroids(lines.vertices, lines.sizes, lines.part_owner, len(lines))
    usable = lengths > 0
    skipped = lines.skipped + int((~usable).sum())
    if skipped:
        feedback.pushWarning(f"Skipped {skipped} empty or zero-length lines of '{lines.name}'.")
    if not usable.any():
        raise QgsProcessingException(f"The layer '{lines.name}' has no usable lines.")
    return lines if usable.all() else lines.subset(usable)
