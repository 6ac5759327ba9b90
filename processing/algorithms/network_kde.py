"""hotspotpolicing:networkkde: kernel density along the streets, in incidents per km of street,
on short pieces of street (lixels), with the simple, discontinuous or continuous kernel."""

import numpy as np
from qgis.core import QgsProcessingException, QgsProcessingParameterFeatureSink, QgsProcessingParameterFeatureSource, QgsWkbTypes

from ...core import kde
from ...core import network_kde as nk
from ..compat import LINE_SOURCE
from ..layers import ALL_FIELDS, LINES
from ..reports import number
from ..sinks import Column, linestrings_wkb
from .base import IncidentAlgorithm, stage
from .street_segments import street_segments, usable_lines, write_segments

KERNEL_NAMES = ("Quartic", "Triangular", "Epanechnikov", "Uniform", "Gaussian (cut at 3 sigma)")  # the KERNEL enum: append only
KERNEL_CODES = ("quartic", "triangular", "epanechnikov", "uniform", "gaussian")
METHOD_LABELS = ("Simple (shortest way along the streets)", "Split at junctions (discontinuous)", "Split at junctions, smooth (continuous)")
PER_KM = 1000.0  # metres of street in a km: the working CRS measures in metres
MAX_LIXELS = 10_000_000  # lixels one run may make: about 2 GB of working arrays and output


class NetworkKde(IncidentAlgorithm, name="networkkde", methods="3.6", icon="hot_street"):
    INCIDENTS, NETWORK, SNAP_TOLERANCE, BANDWIDTH, KERNEL = "INPUT", "NETWORK", "SNAP_TOLERANCE", "BANDWIDTH", "KERNEL"
    METHOD, LIXEL_LENGTH, NODE_TOLERANCE, OUTPUT, OUTPUT_SEGMENTS = "METHOD", "LIXEL_LENGTH", "NODE_TOLERANCE", "OUTPUT", "OUTPUT_SEGMENTS"

    DISPLAY_NAME = "Network kernel density (along the streets)"
    TAGS = "network,kernel density,nkde,lixel,street,density,spnetwork,okabe,xie,hot streets,crime"
    HELP = (
        "<p>Where along the streets is crime densest? Kernel density measured along the streets rather than across "
        "the blocks: a robbery on Main Street raises the density of Main Street and of the streets it leads to, not of "
        "the parallel street behind the houses. The result is in incidents (or harm) per km of street.</p>"
        "<p>Give the <i>Incidents</i> and the <i>Street centre-lines</i> as published; incidents farther than the "
        "<i>Snapping tolerance</i> from every street are counted in the log and left out. <i>Bandwidth along the "
        "network</i> is how far along the streets an incident counts (0: what the ordinary kernel density would "
        "choose). <i>Method</i>: Simple is the easiest to read but counts an incident near a junction more than once; "
        "the two split methods share it among the streets leading on, so each incident counts once.</p>"
        "<p><b>Reading the result.</b> Short pieces of street (lixels, see <i>Street piece length (lixel)</i>) "
        "with DENSITY, incidents per km of street, and segment_id, drawn wider and redder where denser; optionally each "
        "street segment with DENSITY_MEAN and DENSITY_PEAK (<i>Network density per segment</i>).</p>"
    )

    def initAlgorithm(self, config=None):
        self.add_incident_parameters("Optional: the density of this field (e.g. harm) per km instead of incidents per km.")
        network = QgsProcessingParameterFeatureSource(self.NETWORK, self.tr("Street centre-lines"), [LINE_SOURCE])
        self.add(network, "Street centre-lines as published (they are cut at junctions here) or street segments.")
        snap_help = "Incidents farther than this from every street are counted and left out (geocoded addresses: 15-30 m)."
        self.add_distance(self.SNAP_TOLERANCE, "Snapping tolerance", 30.0, self.NETWORK, snap_help)
        bandwidth_help = "How far along the streets an incident counts (the Gaussian's standard deviation). 0: chosen from the data."
        self.add_distance(self.BANDWIDTH, "Bandwidth along the network (0 = automatic)", 0.0, self.NETWORK, bandwidth_help)
        self.add_enum(self.KERNEL, "Kernel", KERNEL_NAMES, 0, "Shape of the kernel along the street.")
        self.add_enum(self.METHOD, "Method", METHOD_LABELS, 0, "How an incident's weight passes junctions.")
        lixel_help = "Length of the short pieces of street the density is given for."
        self.add_distance(self.LIXEL_LENGTH, "Street piece length (lixel)", 10.0, self.NETWORK, lixel_help)
        node_help = "Line ends this close to another line are joined to it when cutting the centre-lines at junctions."
        self.add_distance(self.NODE_TOLERANCE, "Node tolerance", 1.0, self.NETWORK, node_help, advanced=True)
        self.add(QgsProcessingParameterFeatureSink(self.OUTPUT, self.tr("Network density (lixels)")), "Street pieces with DENSITY per km.")
        segments = QgsProcessingParameterFeatureSink(self.OUTPUT_SEGMENTS, self.tr("Network density per segment"), optional=True)
        segments.setCreateByDefault(False)
        self.add(segments, "Street segments with their mean and peak density.")
        self.add_results(("BANDWIDTH_USED", "INCIDENT_COUNT", "UNMATCHED", "SEGMENT_COUNT"))

    def process(self, parameters, context, feedback):
        self.reader.source(self.NETWORK, needs=LINES)
        snap = self.positive(parameters, self.SNAP_TOLERANCE, context, "30 m")
        lixel_length = self.positive(parameters, self.LIXEL_LENGTH, context, "10 m")
        node_tolerance = self.positive(parameters, self.NODE_TOLERANCE, context, "1 m")
        crs = self.reader.crs(self.NETWORK)
        lines = usable_lines(self.reader.read(self.NETWORK, crs, ALL_FIELDS, keep=True, progress=stage(feedback, 0, 10)), feedback)
        incidents, weights = self.read_incidents(parameters, context, crs, progress=stage(feedback, 10, 20))
        segments, rows = street_segments(lines, node_tolerance, feedback, progress=stage(feedback, 20, 25))
        net = nk.build_network(segments.vertices, segments.sizes, node_tolerance)
        pieces = nk.lixelise(net, lixel_length)
        if len(pieces) > MAX_LIXELS:
            raise QgsProcessingException(
                self.tr("{:,} lixels of {} would be made (at most {:,}): use longer lixels (LIXEL_LENGTH).").format(
                    len(pieces), number(lixel_length), MAX_LIXELS
                )
            )
        events = nk.snap_events(net, incidents.x, incidents.y, snap, progress=stage(feedback, 25, 35))
        if events.unsnapped:
            feedback.pushWarning(
                self.tr(
                    "{} of {} incidents are farther than {} from every street and are left out: check SNAP_TOLERANCE or the CRS."
                ).format(events.unsnapped, len(incidents.x), number(snap))
            )
        if events.unsnapped == len(incidents.x):
            raise QgsProcessingException(
                self.tr("No incident of '{}' is within {} of a street of '{}': check that both layers cover the same place.").format(
                    incidents.name, number(snap), lines.name
                )
            )
        kernel = KERNEL_CODES[self.parameterAsEnum(parameters, self.KERNEL, context)]
        method = nk.METHOD_NAMES[self.parameterAsEnum(parameters, self.METHOD, context)]
        bandwidth = self.parameterAsDouble(parameters, self.BANDWIDTH, context)
        if bandwidth == 0:
            on_streets = events.segment >= 0
            near = self.near_incidents(incidents, feedback, "they do not set the automatic bandwidth.") & on_streets
            bandwidth = kde.automatic_bandwidth(incidents.x[near], incidents.y[near], None if weights is None else weights[near], kernel)
            feedback.pushInfo(
                self.tr("Automatic bandwidth (ArcGIS's rule on the incidents): {} m along the streets.").format(number(bandwidth))
            )
        values = nk.density(net, pieces, events, bandwidth, kernel, method, weights, progress=stage(feedback, 35, 85)) * PER_KM
        feedback.pushInfo(
            self.tr("{} lixels on {} street segments; highest density {} per km.").format(
                number(len(pieces)), len(net), number(values.max())
            )
        )
        ids = np.arange(1, len(segments) + 1)
        columns = [
            Column("segment_id", "int", ids[pieces.segment]),
            Column("DENSITY", "double", values, self.tr("Incidents per km of street")),
        ]
        results = {
            self.OUTPUT: self.writer.features(
                self.OUTPUT,
                columns,
                base=lines,
                rows=rows[pieces.segment],
                geometry=linestrings_wkb(pieces.vertices, pieces.sizes),
                wkb_type=QgsWkbTypes.Type.LineString,
                crs=crs,
                style="network_density",
                progress=stage(feedback, 85, 95),
            ),
            "BANDWIDTH_USED": bandwidth,
            "INCIDENT_COUNT": len(incidents.x) - events.unsnapped,
            "UNMATCHED": events.unsnapped,
            "SEGMENT_COUNT": len(net),
        }
        if self.parameterAsOutputLayer(parameters, self.OUTPUT_SEGMENTS, context):
            mean, peak = nk.segment_summary(pieces, values, len(net))
            summary = [Column("segment_id", "int", ids), Column("DENSITY_MEAN", "double", mean), Column("DENSITY_PEAK", "double", peak)]
            results[self.OUTPUT_SEGMENTS] = write_segments(
                self.writer,
                self.OUTPUT_SEGMENTS,
                summary,
                lines,
                segments,
                rows,
                crs,
                style="network_density",
                progress=stage(feedback, 95, 100),
            )
        return results
