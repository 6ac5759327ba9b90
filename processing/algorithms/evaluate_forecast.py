"""hotspotpolicing:evaluateforecast: how well hot spots captured a later period's crime."""

import numpy as np
from qgis.core import (
    QgsProcessingException,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterFileDestination,
    QgsWkbTypes,
)

from ...core import fractions, metrics
from ...core.geometry import line_lengths_and_centroids, points_in_polygons, polygon_areas_and_centroids
from ...core.network import nearest_segments
from .. import reports
from ..compat import LINE_GEOMETRY, LINE_SOURCE, POINT_SOURCE, POLYGON_SOURCE
from ..layers import LINES, POINTS, POLYGONS, union_of
from .base import HotspotAlgorithm, stage

RESULTS = ("HIT_RATE", "PAI", "PEI", "RRI", "AREA_SHARE", "CAPTURED", "TOTAL")


class EvaluateForecast(HotspotAlgorithm, name="evaluateforecast", group="patroldosage", methods="5", icon="target"):
    HOTSPOTS, INCIDENTS, STUDY_AREA, OUTPUT_HTML, UNITS = "HOTSPOTS", "INCIDENTS", "STUDY_AREA", "OUTPUT_HTML", "UNITS"
    INCIDENTS_BEFORE, TOLERANCE = "INCIDENTS_BEFORE", "TOLERANCE"

    DISPLAY_NAME = "Evaluate hot spots (PAI, PEI, RRI, hit rate)"
    TAGS = "pai,pei,rri,hit rate,forecast,evaluation,prediction,hot spot accuracy"
    HELP = (
        "<p>How well did the hot spots predict where crime happened next? Before planning patrols on a hot spot map, "
        "check how much of a later period's crime it caught, and in how little of the area.</p>"
        "<p>Give the <i>Hot spots</i> (e.g. last quarter's), the <i>Incidents of the evaluation period</i> (e.g. this "
        "quarter's) and the <i>Study area</i>. <i>All candidate units</i> (every cell, or the whole street network for "
        "street segments) adds PEI; the <i>Incidents of the period the hot spots came from</i> add RRI.</p>"
        "<p><b>Reading the result.</b> HIT_RATE: the share of incidents in the hot spots; AREA_SHARE: the share of the "
        "area (or street length) they cover; PAI: hit rate per share of area (1 is no better than chance, higher is "
        "better); PEI: how near the best hot spots of the same size could come (1 is the best); RRI: whether the hot "
        "spots' crime persisted (above 1: more than the change across the whole area). As results for models and an "
        "HTML report.</p>"
    )

    def initAlgorithm(self, config=None):
        sources = (
            (
                self.HOTSPOTS,
                "Hot spots (polygons or street segments)",
                [POLYGON_SOURCE, LINE_SOURCE],
                False,
                "The flagged areas or segments, e.g. last period's hot spots.",
            ),
            (self.INCIDENTS, "Incidents of the evaluation period", [POINT_SOURCE], False, "The later period's incidents."),
            (self.STUDY_AREA, "Study area", [POLYGON_SOURCE], True, "Polygons: the whole area the hot spots were chosen from."),
        )
        for key, label, types, optional, help_text in sources:
            self.add(QgsProcessingParameterFeatureSource(key, self.tr(label), types, optional=optional), help_text)
        report = QgsProcessingParameterFileDestination(
            self.OUTPUT_HTML, self.tr("Evaluation report"), self.tr("HTML files (*.html)"), optional=True
        )
        self.add(report, "HTML report with the figures and their definitions.")
        units_label = self.tr("All candidate units (cells or street network)")
        units = QgsProcessingParameterFeatureSource(self.UNITS, units_label, [POLYGON_SOURCE, LINE_SOURCE], optional=True)
        self.add(units, "Every cell or segment the hot spots were chosen from: needed for PEI, and for street segments.")
        before_label = self.tr("Incidents of the period the hot spots came from")
        self.add(QgsProcessingParameterFeatureSource(self.INCIDENTS_BEFORE, before_label, [POINT_SOURCE], optional=True), "Needed for RRI.")
        tolerance_help = "Street segments: incidents farther than this from the network are not counted."
        self.add_distance(self.TOLERANCE, "Snapping tolerance (street segments)", 30.0, self.HOTSPOTS, tolerance_help, advanced=True)
        self.add_results(RESULTS)

    def process(self, parameters, context, feedback):
        hotspots_source = self.reader.source(self.HOTSPOTS, needs=(POLYGONS, LINES))
        crs = self.reader.crs(self.HOTSPOTS)
        lines = QgsWkbTypes.geometryType(hotspots_source.wkbType()) == LINE_GEOMETRY
        self.reader.source(self.UNITS, needs=LINES if lines else POLYGONS)  # units of the same kind as the hot spots
        for key in (self.INCIDENTS, self.INCIDENTS_BEFORE):
            self.reader.source(key, needs=POINTS)
        self.reader.source(self.STUDY_AREA, needs=POLYGONS)
        hotspots = self.reader.read(self.HOTSPOTS, crs, keep=not lines, progress=stage(feedback, 0, 10))
        units = self.reader.read(self.UNITS, crs, keep=not lines, progress=stage(feedback, 10, 20))
        counter = (
            self._segment_counter(parameters, context, hotspots, units) if lines else self._area_counter(hotspots, units, crs, context)
        )

        def count(key, start):
            incidents = self.reader.read(key, crs, progress=stage(feedback, start, start + 30))
            return counter(incidents.x, incidents.y, stage(feedback, start + 30, start + 40))

        captured, total, per_unit = count(self.INCIDENTS, 20)
        if total == 0:
            raise QgsProcessingException(
                self.tr(
                    "No incident of the evaluation period lies in the study area (or near the network): check the layers and their periods."
                )
            )
        hot_size, total_size, unit_sizes = counter.sizes
        figures = {
            "HIT_RATE": metrics.hit_rate(captured, total),
            "PAI": metrics.pai(captured, total, hot_size, total_size),
            "PEI": metrics.pei(captured, per_unit, unit_sizes, hot_size) if per_unit is not None else float("nan"),
            "RRI": float("nan"),
            "AREA_SHARE": hot_size / total_size if total_size else float("nan"),
            "CAPTURED": float(captured),
            "TOTAL": float(total),
        }
        if per_unit is None:
            feedback.pushInfo(self.tr("PEI needs UNITS (every candidate cell or segment); it is left empty."))
        if self.reader.source(self.INCIDENTS_BEFORE) is not None:
            captured_before, total_before, _ = count(self.INCIDENTS_BEFORE, 60)
            figures["RRI"] = metrics.rri(captured_before, total_before, captured, total)
        else:
            feedback.pushInfo(self.tr("RRI needs INCIDENTS_BEFORE (the period the hot spots came from); it is left empty."))
        reports.log_figures(feedback, figures, RESULTS, self.tr)
        report = reports.page(
            f"{self.tr('Hot spot evaluation')}: {hotspots.name}",
            reports.figures_table(figures, RESULTS, self.tr)
            + "<p>Hit rate = n/N; PAI = (n/N)/(a/A) (Chainey, Tompson &amp; Uhlig 2008); PEI = n/n* (Hunt 2016); "
            "RRI = (n2/n1)/(N2/N1) (Levine 2008).</p>",
        )
        if self.parameterAsFileOutput(parameters, self.OUTPUT_HTML, context):
            figures[self.OUTPUT_HTML] = self.writer.text(self.OUTPUT_HTML, report)
        return figures

    def _area_counter(self, hotspots, units, crs, context):
        """Counts for polygons: incidents in the hot spots, in the study area (or the
        units), and per unit; sizes are areas in the working CRS."""
        area = self.reader.read(self.STUDY_AREA, crs, keep=True)
        if area is None:
            area = units
        if area is None:
            raise QgsProcessingException(self.tr("Give a STUDY_AREA (or UNITS) so the share of area flagged can be measured."))
        hot_union, area_union = union_of(hotspots, crs, context), union_of(area, crs, context)

        def within(features, x, y, progress):
            return points_in_polygons(x, y, features.vertices, features.sizes, features.ring_owner(), len(features), progress)

        def counter(x, y, progress):
            inside_area = within(area, x, y, fractions(progress, 0.0, 0.3)) >= 0
            inside_hot = inside_area & (within(hotspots, x, y, fractions(progress, 0.3, 0.6)) >= 0)
            per_unit = None
            if units is not None:
                unit = within(units, x[inside_area], y[inside_area], fractions(progress, 0.6, 1.0))
                per_unit = np.bincount(unit[unit >= 0], minlength=len(units)).astype(float)
            return int(inside_hot.sum()), int(inside_area.sum()), per_unit

        unit_sizes = None
        if units is not None:
            unit_sizes, _ = polygon_areas_and_centroids(units.vertices, units.sizes, units.ring_part, units.part_owner, len(units))
        counter.sizes = (hot_union.intersection(area_union).area(), area_union.area(), unit_sizes)
        return counter

    def _segment_counter(self, parameters, context, hot, network):
        """Counts for street segments: each incident counts for its nearest network segment
        within TOLERANCE; hot segments are those of HOTSPOTS; sizes are lengths."""
        if network is None:
            raise QgsProcessingException(self.tr("Street-segment hot spots need UNITS: the whole street network (all segments)."))
        tolerance = self.parameterAsDouble(parameters, self.TOLERANCE, context)
        network_edges, network_owner = network.edges()
        hot_edges, hot_owner = hot.edges()
        lengths, _ = line_lengths_and_centroids(network.vertices, network.sizes, network.part_owner, len(network))

        def counter(x, y, progress):
            on_network = nearest_segments(x, y, network_edges, network_owner, tolerance, fractions(progress, 0.0, 0.5))
            matched = on_network.segment >= 0
            on_hot = nearest_segments(x, y, hot_edges, hot_owner, tolerance, fractions(progress, 0.5, 1.0))
            captured = matched & (on_hot.segment >= 0) & (on_hot.distance <= on_network.distance + 1e-9)
            return int(captured.sum()), int(matched.sum()), np.bincount(on_network.segment[matched], minlength=len(lengths)).astype(float)

        hot_length = np.hypot(*(hot_edges[:, 2:] - hot_edges[:, :2]).T).sum()
        counter.sizes = (hot_length, lengths.sum(), lengths)
        return counter
