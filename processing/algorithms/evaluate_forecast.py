"""hotspotpolicing:evaluateforecast: how well hot spots captured a later period's crime."""

import html

import numpy as np
from qgis.core import (
    QgsCoordinateTransform,
    QgsGeometry,
    QgsProcessingException,
    QgsProcessingOutputNumber,
    QgsProcessingParameterDistance,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterFileDestination,
    QgsWkbTypes,
)

from ...core import metrics
from ...core.network import nearest_segments
from ...core.observed import points_in_polygons
from ..compat import ADVANCED, LINE_GEOMETRY, LINE_SOURCE, POINT_SOURCE, POLYGON_SOURCE
from ..layers import PreparedArea, polygon_rings, read_lines, read_points, union_of, working_crs
from .base import HotspotAlgorithm

RESULTS = (
    ("HIT_RATE", "Hit rate (share of incidents in the hot spots)"),
    ("PAI", "Predictive Accuracy Index (PAI)"),
    ("PEI", "Prediction Efficiency Index (PEI)"),
    ("RRI", "Recapture Rate Index (RRI)"),
    ("AREA_SHARE", "Share of the area (or street length) flagged"),
    ("CAPTURED", "Incidents in the hot spots"),
    ("TOTAL", "Incidents in the study area"),
)


class EvaluateForecast(HotspotAlgorithm):
    HOTSPOTS = "HOTSPOTS"
    INCIDENTS = "INCIDENTS"
    STUDY_AREA = "STUDY_AREA"
    OUTPUT_HTML = "OUTPUT_HTML"
    UNITS = "UNITS"
    INCIDENTS_BEFORE = "INCIDENTS_BEFORE"
    TOLERANCE = "TOLERANCE"
    GROUP_ID = "patroldosage"

    def name(self):
        return "evaluateforecast"

    def displayName(self):
        return self.tr("Evaluate hot spots (PAI, PEI, RRI, hit rate)")

    def tags(self):
        return self.tr("pai,pei,rri,hit rate,forecast,evaluation,prediction,hot spot accuracy").split(",")

    def shortHelpString(self):
        return self.tr(
            "<p>How well hot spots (e.g. from last year) captured the incidents of a later period.</p>"
            "<p><b>Measures.</b> Hit rate = n / N (incidents in the hot spots over all incidents in "
            "the study area); PAI = (n / N) / (a / A), the hit rate per share of area flagged "
            "(Chainey, Tompson &amp; Uhlig 2008, <i>Security Journal</i> 21); PEI = n / n*, n* the most "
            "incidents any units of the same total size could have captured (Hunt 2016), which "
            "needs UNITS, the candidate units (grid cells or street segments); RRI = (n2 / n1) / "
            "(N2 / N1), the share of the hot spots' crime that recurred, adjusted for the change in "
            "volume (Levine 2008, <i>Security Journal</i> 21), which needs INCIDENTS_BEFORE, the "
            "period the hot spots came from.</p>"
            "<p><b>Polygons</b> (cells, areas): a and A are areas, A from the study area (or the "
            "units). <b>Street segments</b>: a and A are street lengths, UNITS is the whole network; "
            "incidents count for the segment nearest to them within TOLERANCE.</p>"
            "<p>Results for models, and an HTML report.</p>"
        )

    def initAlgorithm(self, config=None):
        specs = [
            (
                self.HOTSPOTS,
                "Hot spots (polygons or street segments)",
                [POLYGON_SOURCE, LINE_SOURCE],
                False,
                "The flagged areas or segments, e.g. last period's hot spots.",
            ),
            (self.INCIDENTS, "Incidents of the evaluation period", [POINT_SOURCE], False, "The later period's incidents."),
            (self.STUDY_AREA, "Study area", [POLYGON_SOURCE], True, "Polygons: the whole area the hot spots were chosen from (A)."),
        ]
        for key, label, types, optional, help_text in specs:
            parameter = QgsProcessingParameterFeatureSource(key, self.tr(label), types, optional=optional)
            parameter.setHelp(self.tr(help_text))
            self.addParameter(parameter)
        report = QgsProcessingParameterFileDestination(
            self.OUTPUT_HTML, self.tr("Evaluation report"), self.tr("HTML files (*.html)"), optional=True
        )
        report.setHelp(self.tr("HTML report with the figures and their definitions."))
        self.addParameter(report)
        units = QgsProcessingParameterFeatureSource(
            self.UNITS, self.tr("All candidate units (cells or street network)"), [POLYGON_SOURCE, LINE_SOURCE], optional=True
        )
        units.setHelp(self.tr("Every cell or segment the hot spots were chosen from: needed for PEI, and for street segments."))
        self.addParameter(units)
        before = QgsProcessingParameterFeatureSource(
            self.INCIDENTS_BEFORE, self.tr("Incidents of the period the hot spots came from"), [POINT_SOURCE], optional=True
        )
        before.setHelp(self.tr("Needed for RRI."))
        self.addParameter(before)
        tolerance = QgsProcessingParameterDistance(
            self.TOLERANCE, self.tr("Snapping tolerance (street segments)"), 30.0, self.HOTSPOTS, minValue=0.0
        )
        tolerance.setHelp(self.tr("Street segments: incidents farther than this from the network are not counted."))
        tolerance.setFlags(tolerance.flags() | ADVANCED)
        self.addParameter(tolerance)
        for key, label in RESULTS:
            self.addOutput(QgsProcessingOutputNumber(key, self.tr(label)))

    def processAlgorithm(self, parameters, context, feedback):
        hotspots = self.parameterAsSource(parameters, self.HOTSPOTS, context)
        incidents = self.parameterAsSource(parameters, self.INCIDENTS, context)
        if hotspots is None or incidents is None:
            raise QgsProcessingException(self.invalidSourceError(parameters, self.HOTSPOTS if hotspots is None else self.INCIDENTS))
        units = self.parameterAsSource(parameters, self.UNITS, context)
        crs = working_crs(hotspots, context, feedback)
        lines = QgsWkbTypes.geometryType(hotspots.wkbType()) == LINE_GEOMETRY
        counter = (
            self._segment_counter(parameters, context, feedback, hotspots, units, crs)
            if lines
            else self._area_counter(parameters, context, hotspots, units, crs)
        )

        def count(source):
            layer = self.parameterAsVectorLayer(parameters, self.INCIDENTS if source is incidents else self.INCIDENTS_BEFORE, context)
            points = read_points(source, layer, None, crs, context)
            return counter(points.x, points.y)

        captured, total, per_unit = count(incidents)
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
        before = self.parameterAsSource(parameters, self.INCIDENTS_BEFORE, context)
        if before is not None:
            captured_before, total_before, _ = count(before)
            figures["RRI"] = metrics.rri(captured_before, total_before, captured, total)
        else:
            feedback.pushInfo(self.tr("RRI needs INCIDENTS_BEFORE (the period the hot spots came from); it is left empty."))
        for key, label in RESULTS:
            feedback.pushInfo(f"{self.tr(label)}: {figures[key]:.4g}")
        path = self.parameterAsFileOutput(parameters, self.OUTPUT_HTML, context)
        if path:
            rows = "".join(f"<tr><td>{html.escape(self.tr(label))}</td><td>{figures[key]:.4g}</td></tr>" for key, label in RESULTS)
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(
                    "<html><head><meta charset='utf-8'><title>Hot spot evaluation</title></head><body style='font-family:sans-serif'>"
                    f"<h2>{html.escape(self.tr('Hot spot evaluation'))}: {html.escape(hotspots.sourceName())}</h2><table>{rows}</table>"
                    "<p>Hit rate = n/N; PAI = (n/N)/(a/A) (Chainey, Tompson &amp; Uhlig 2008); PEI = n/n* (Hunt 2016); "
                    "RRI = (n2/n1)/(N2/N1) (Levine 2008).</p></body></html>"
                )
            figures[self.OUTPUT_HTML] = path
        return figures

    def _area_counter(self, parameters, context, hotspots, units, crs):
        """Counts for polygons: incidents in the hot spots' union, in the study area (or the
        units' union), and per unit; sizes are areas in the working CRS."""
        hot = union_of(hotspots, crs, context)
        area_source = self.parameterAsSource(parameters, self.STUDY_AREA, context)
        unit_geometries = (
            [_transformed(f.geometry(), units.sourceCrs(), crs, context) for f in units.getFeatures()] if units is not None else None
        )
        if area_source is not None:
            area = union_of(area_source, crs, context)
        elif unit_geometries:
            area = QgsGeometry.unaryUnion(unit_geometries)
        else:
            raise QgsProcessingException(self.tr("Give a STUDY_AREA (or UNITS) so the share of area flagged can be measured."))
        hot_area, study_area = PreparedArea(hot), PreparedArea(area)
        unit_parts = [(rings, i) for i, geometry in enumerate(unit_geometries or []) for rings in polygon_rings(geometry)]
        part_owner = np.array([i for _, i in unit_parts] + [-1])

        def counter(x, y):
            inside_area = study_area.contains_all(x, y)
            inside_hot = inside_area & hot_area.contains_all(x, y)
            per_unit = None
            if unit_geometries:  # vectorised point-in-polygon over all incidents at once
                unit = part_owner[points_in_polygons(x[inside_area], y[inside_area], [rings for rings, _ in unit_parts])]
                per_unit = np.bincount(unit[unit >= 0], minlength=len(unit_geometries)).astype(float)
            return int(inside_hot.sum()), int(inside_area.sum()), per_unit

        unit_sizes = np.array([g.area() for g in unit_geometries]) if unit_geometries else None
        counter.sizes = (hot.intersection(area).area(), area.area(), unit_sizes)
        return counter

    def _segment_counter(self, parameters, context, feedback, hotspots, units, crs):
        """Counts for street segments: each incident counts for its nearest network segment
        within TOLERANCE; hot segments are those of HOTSPOTS; sizes are lengths."""
        if units is None:
            raise QgsProcessingException(self.tr("Street-segment hot spots need UNITS: the whole street network (all segments)."))
        tolerance = self.parameterAsDouble(parameters, self.TOLERANCE, context)
        network = read_lines(units, crs, context, feedback)
        hot = read_lines(hotspots, crs, context, feedback)
        lengths = np.bincount(network.owner, np.hypot(*(network.edges[:, 2:] - network.edges[:, :2]).T), len(network.geometries))

        def counter(x, y):
            on_network = nearest_segments(x, y, network.edges, network.owner, tolerance)
            matched = on_network.segment >= 0
            on_hot = nearest_segments(x, y, hot.edges, hot.owner, tolerance)
            captured = matched & (on_hot.segment >= 0) & (on_hot.distance <= on_network.distance + 1e-9)
            return int(captured.sum()), int(matched.sum()), np.bincount(on_network.segment[matched], minlength=len(lengths)).astype(float)

        hot_length = np.hypot(*(hot.edges[:, 2:] - hot.edges[:, :2]).T).sum()
        counter.sizes = (hot_length, lengths.sum(), lengths)
        return counter


def _transformed(geometry, source_crs, crs, context):
    if source_crs != crs:
        geometry = QgsGeometry(geometry)
        geometry.transform(QgsCoordinateTransform(source_crs, crs, context.transformContext()))
    return geometry
