"""hotspotpolicing:evaluateintervention: did a hot spots operation work, and did crime move next
door? Counts in the targets, a catchment ring around them and control areas, before and
after, to Farrington & Welsh's relative effect size, Bowers & Johnson's weighted
displacement quotient and Guerette's total net effect (core.change.intervention)."""

import html

import numpy as np
from qgis.core import (
    QgsGeometry,
    QgsProcessingException,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterFileDestination,
    QgsUnitTypes,
    QgsWkbTypes,
)

from ...core import fractions
from ...core.change import intervention
from ...core.geometry import points_in_polygons
from ..compat import LINE_SOURCE, METERS, POINT_SOURCE, POLYGON_SOURCE
from ..layers import LINES, POINTS, POLYGONS, decode_wkb, union_of
from ..reports import LABELS, number, page
from ..sinks import Column
from .base import stage
from .change_test import DAY, PeriodAlgorithm, day

COUNTS = ("R_BEFORE", "R_AFTER", "D_BEFORE", "D_AFTER", "C_BEFORE", "C_AFTER")
FIGURES = ("RES", "RES_LOW", "RES_HIGH", "WDQ", "TNE")
ZONES = ("Targets", "Catchment", "Controls")
BUFFER_SEGMENTS = 32  # segments per quarter circle of a buffer: a 200 m ring's arcs lie within 6 cm of the circle


class EvaluateIntervention(PeriodAlgorithm, name="evaluateintervention", group="evaluation", methods="5.2"):
    INCIDENTS = "INCIDENTS"
    TARGETS, CATCHMENT_DISTANCE, CONTROLS, STUDY_AREA = "TARGETS", "CATCHMENT_DISTANCE", "CONTROLS", "STUDY_AREA"
    SNAP_TOLERANCE, OUTPUT_HTML, OUTPUT_AREAS = "SNAP_TOLERANCE", "OUTPUT_HTML", "OUTPUT_AREAS"

    DISPLAY_NAME = "Evaluate an operation (effect and displacement)"
    TAGS = "evaluation,intervention,operation,did it work,displacement,diffusion of benefits,wdq,res,tne,before,after,control"
    HELP = (
        "<p>Did the operation work, and did crime move around the corner? Compares incidents before and after in the "
        "treated hot spots (<i>Targets</i>), in a ring around them (<i>Catchment distance</i>: where displaced crime "
        "would show first) and in comparison areas (<i>Control areas</i>, or the rest of the <i>Study area</i>), so "
        "the city's own trend is not taken for an effect.</p>"
        "<p>Targets may be polygons, street segments or points (incidents near them count for them), a patrol plan "
        "(the places with visits) or a hot spot result (the hot spots); select features to choose others. Give the "
        "periods before and after as in 'Change per place'. Where the areas overlap, targets come first, then the "
        "catchment.</p>"
        "<p><b>Reading the result.</b> The report says it in plain words: the relative effect size RES (above 1: crime "
        "fell in the targets relative to the controls; with its 95 % interval), the weighted displacement quotient WDQ "
        "(positive: benefits spread to the catchment; negative: crime moved there) and the total net effect TNE "
        "(incidents prevented in targets and catchment together). A figure a zero count makes impossible is left out, "
        "and the report says why.</p>"
    )

    def initAlgorithm(self, config=None):
        targets = QgsProcessingParameterFeatureSource(
            self.TARGETS, self.tr("Targets (treated hot spots)"), [POLYGON_SOURCE, LINE_SOURCE, POINT_SOURCE]
        )
        self.add(targets, "The hot spots the operation treated: polygons, street segments, points, or a patrol plan.")
        catchment_help = "Width of the ring around the targets where displaced crime (or a diffusion of benefits) is looked for."
        self.add_distance(self.CATCHMENT_DISTANCE, "Catchment distance", 200.0, self.TARGETS, catchment_help)
        controls = QgsProcessingParameterFeatureSource(self.CONTROLS, self.tr("Control areas"), [POLYGON_SOURCE], optional=True)
        self.add(controls, "Comparison areas, untreated and similar to the targets. Parts within the catchment are left out.")
        area = QgsProcessingParameterFeatureSource(
            self.STUDY_AREA, self.tr("Study area (without control areas)"), [POLYGON_SOURCE], optional=True
        )
        self.add(area, "Without control areas: the comparison is the study area outside the targets and their catchment.")
        self.add_incidents_parameter()
        self.add_time_parameter()
        self.add_period_parameters()
        snap_help = "Street segments or points as targets: incidents within this distance of them count for them."
        self.add_distance(self.SNAP_TOLERANCE, "Snapping tolerance (segments, points)", 30.0, self.TARGETS, snap_help, advanced=True)
        report = QgsProcessingParameterFileDestination(
            self.OUTPUT_HTML, self.tr("Evaluation report"), self.tr("HTML files (*.html)"), optional=True
        )
        self.add(report, "The counts and figures with their reading in plain words, and the sources.")
        areas = QgsProcessingParameterFeatureSink(
            self.OUTPUT_AREAS, self.tr("Targets, catchment and controls"), POLYGON_SOURCE, optional=True, createByDefault=False
        )
        self.add(areas, "Optional: the three areas compared, as polygons with their counts.")
        self.add_results(COUNTS + FIGURES)

    def checkParameterValues(self, parameters, context):  # noqa: N802 - QGIS API
        if parameters.get(self.CONTROLS) in (None, "") and parameters.get(self.STUDY_AREA) in (None, ""):
            return False, self.tr(
                "Give CONTROLS (comparison areas) or a STUDY_AREA (the controls are then the study area outside the targets "
                "and their catchment): without controls the operation's effect cannot be told from the city's trend."
            )
        return super().checkParameterValues(parameters, context)

    def process(self, parameters, context, feedback):
        periods = self.periods(parameters, context)
        targets_source = self.reader.source(self.TARGETS, needs=(POLYGONS, LINES, POINTS))
        self.reader.source(self.INCIDENTS, needs=POINTS)  # refused before any geometry work
        self.reader.source(self.CONTROLS, needs=POLYGONS)
        self.reader.source(self.STUDY_AREA, needs=POLYGONS)
        crs = self.reader.crs(self.TARGETS)
        distance = self.positive(parameters, self.CATCHMENT_DISTANCE, context, "200 m")
        kind = QgsWkbTypes.geometryType(targets_source.wkbType())
        width = self.positive(parameters, self.SNAP_TOLERANCE, context, "30 m") if kind != POLYGONS else 0.0

        treated = self._targets(targets_source, crs, feedback)
        targets = union_of(treated, crs, context)
        if kind != POLYGONS:
            targets = targets.buffer(width, BUFFER_SEGMENTS)
            feedback.pushInfo(
                self.tr("Targets: the area within {} {} (SNAP_TOLERANCE) of the {} {}.").format(
                    number(width),
                    QgsUnitTypes.toAbbreviatedString(crs.mapUnits()),
                    len(treated),
                    self.tr("street segments") if kind == LINES else self.tr("points"),
                )
            )
        targets = _polygons_only(targets)
        if targets.isEmpty() or targets.area() <= 0:
            raise QgsProcessingException(self.tr("The targets of '{}' cover no area: check their geometries.").format(treated.name))
        outer = _polygons_only(targets.buffer(distance, BUFFER_SEGMENTS))
        catchment = _polygons_only(outer.difference(targets))
        controls_key = self.CONTROLS if self.reader.source(self.CONTROLS) is not None else self.STUDY_AREA
        if controls_key == self.CONTROLS and self.reader.source(self.STUDY_AREA) is not None:
            feedback.pushInfo(self.tr("STUDY_AREA is not used: CONTROLS are the comparison areas."))
        raw_controls = union_of(self.reader.read(controls_key, crs, keep=True, progress=stage(feedback, 0, 5)), crs, context)
        raw_controls = _polygons_only(raw_controls)
        controls = _polygons_only(raw_controls.difference(outer))
        if controls.isEmpty() or controls.area() <= 0:
            raise QgsProcessingException(
                self.tr(
                    "The {} ({}) lie wholly within the targets or {} of them: nothing is left to compare with. "
                    "Choose comparison areas away from the targets, a larger study area, or a smaller CATCHMENT_DISTANCE."
                ).format("control areas" if controls_key == self.CONTROLS else "study area", controls_key, number(distance))
            )
        if controls_key == self.CONTROLS and controls.area() < raw_controls.area() * (1 - 1e-9):
            feedback.pushWarning(
                self.tr(
                    "{} % of the control areas lie within the targets or their catchment ({} around them): that part counts as "
                    "target or catchment, not as control."
                ).format(number(100 * (1 - controls.area() / raw_controls.area())), number(distance))
            )

        incidents, time_field, seconds = self.read_timed_incidents(parameters, context, crs, stage(feedback, 5, 40))
        period = self.period_of(seconds, periods, feedback, incidents.name, time_field)
        used = np.flatnonzero(period >= 0)
        x, y = incidents.x[used], incidents.y[used]
        zone = np.full(len(used), -1)
        in_targets = _inside(targets, x, y, stage(feedback, 40, 60))
        zone[in_targets] = 0
        rest = np.flatnonzero(~in_targets)
        in_outer = _inside(outer, x[rest], y[rest], stage(feedback, 60, 75))
        zone[rest[in_outer]] = 1
        rest = rest[~in_outer]
        zone[rest[_inside(raw_controls, x[rest], y[rest], stage(feedback, 75, 90))]] = 2
        if (zone < 0).any():
            feedback.pushInfo(
                self.tr("{} incidents of the periods lie outside the targets, catchment and controls and are not counted.").format(
                    number(int((zone < 0).sum()))
                )
            )
        which = period[used]
        counts = {}
        for z, letter in enumerate("RDC"):
            for p, when in enumerate(("BEFORE", "AFTER")):
                counts[f"{letter}_{when}"] = int(((zone == z) & (which == p)).sum())
        result = intervention(
            rb=counts["R_BEFORE"],
            ra=counts["R_AFTER"],
            db=counts["D_BEFORE"],
            da=counts["D_AFTER"],
            cb=counts["C_BEFORE"],
            ca=counts["C_AFTER"],
        )
        figures = dict(counts)
        for key, value in (
            ("RES", result.res),
            ("RES_LOW", result.res_low),
            ("RES_HIGH", result.res_high),
            ("WDQ", result.wdq),
            ("TNE", result.tne),
        ):
            if value is not None:
                figures[key] = float(value)
        for key in COUNTS + FIGURES:
            if key in figures:
                feedback.pushInfo(f"{self.tr(LABELS[key])}: {number(figures[key])}")
        for name, reason in result.missing.items():
            feedback.pushWarning(self.tr("{} is left out: {}").format(name, reason))
        if result.wdq_reading:
            feedback.pushInfo(self.tr("WDQ: {}").format(result.wdq_reading))

        results = dict(figures)
        areas = (targets, catchment, controls)
        if self.parameterAsOutputLayer(parameters, self.OUTPUT_AREAS, context):
            results[self.OUTPUT_AREAS] = self.writer.features(
                self.OUTPUT_AREAS,
                [
                    Column("zone", "string", list(ZONES)),
                    Column("COUNT_BEFORE", "int", [counts[f"{letter}_BEFORE"] for letter in "RDC"]),
                    Column("COUNT_AFTER", "int", [counts[f"{letter}_AFTER"] for letter in "RDC"]),
                ],
                geometry=[_multipolygon_wkb(area) for area in areas],
                wkb_type=QgsWkbTypes.Type.MultiPolygon,
                crs=crs,
                style="intervention",
                progress=stage(feedback, 90, 95),
            )
        if self.parameterAsFileOutput(parameters, self.OUTPUT_HTML, context):
            names = {"targets": treated.name, "incidents": incidents.name, "controls": self.reader.source(controls_key).sourceName()}
            report = self._report(names, controls_key, periods, counts, result, areas, crs, distance)
            results[self.OUTPUT_HTML] = self.writer.text(self.OUTPUT_HTML, report)
        return results

    def _targets(self, source, crs, feedback):
        """The treated features: all of the layer (or its selection), except in layers this
        plugin made: a patrol plan's places with visits, a Gi* result's hot spots."""
        names = {name.lower(): name for name in source.fields().names()}
        visits, gi_bin = names.get("visits_per_shift"), names.get("gi_bin")
        field = visits or gi_bin
        treated = self.reader.read(self.TARGETS, crs, [field] if field else [], keep=True, progress=None)
        if treated.skipped:
            feedback.pushWarning(self.tr("Skipped {} targets without a geometry.").format(treated.skipped))
        if field is None:
            return treated
        values = np.nan_to_num(treated.numbers(field), nan=0.0)
        chosen = values > 0
        what = self.tr("places with visits_per_shift > 0 (patrolled)") if visits else self.tr("hot spots (Gi_Bin > 0)")
        if not chosen.any():
            raise QgsProcessingException(
                self.tr(
                    "No feature of '{}' is a target: the layer has '{}' and none of its {} features has a value above 0. "
                    "Choose the treated hot spots (e.g. the plan's patrolled places, or Gi* hot spots)."
                ).format(treated.name, field, len(treated))
            )
        feedback.pushInfo(
            self.tr("'{}' is a layer of this plugin: the targets are its {} {}; {} other features are left out.").format(
                treated.name, int(chosen.sum()), what, int((~chosen).sum())
            )
        )
        return treated.subset(chosen) if not chosen.all() else treated

    # --- the report -----------------------------------------------------------------------
    def _report(self, names, controls_key, periods, counts, result, areas, crs, distance):
        days_before, days_after = self.days(periods)
        before_start, before_end, after_start, after_end = periods
        metres = crs.mapUnits() == METERS
        area_unit = "km²" if metres else self.tr("square map units")
        scale = 1e-6 if metres else 1.0
        rows = ""
        for letter, zone, area in zip("RDC", ZONES, areas):
            b, a = counts[f"{letter}_BEFORE"], counts[f"{letter}_AFTER"]
            rows += (
                f"<tr><td>{zone}</td><td>{number(area.area() * scale)}</td><td>{number(b)}</td><td>{number(a)}</td>"
                f"<td>{number(b / days_before)}</td><td>{number(a / days_after)}</td>"
                f"<td>{_change(b / days_before, a / days_after)}</td></tr>"
            )
        controls_text = (
            f"the control areas of <i>{html.escape(names['controls'])}</i> (outside the catchment)"
            if controls_key == self.CONTROLS
            else f"the rest of the study area <i>{html.escape(names['controls'])}</i> outside targets and catchment"
        )
        body = (
            f"<p>Incidents of <i>{html.escape(names['incidents'])}</i> before ({day(before_start)} to {day(before_end - DAY)}, "
            f"{number(days_before)} days) and after ({day(after_start)} to {day(after_end - DAY)}, {number(days_after)} days) "
            f"the operation, in the targets (<i>{html.escape(names['targets'])}</i>), the catchment (the ring up to "
            f"{number(distance)} {QgsUnitTypes.toAbbreviatedString(crs.mapUnits())} around them) and the controls ({controls_text}).</p>"
            "<table><tr><th>Area</th><th>Size (" + area_unit + ")</th><th>Before</th><th>After</th>"
            "<th>Per day before</th><th>Per day after</th><th>Change per day</th></tr>" + rows + "</table>"
        )
        if days_before != days_after:
            body += (
                "<p>The periods differ in length; every figure below compares the targets and the catchment with the controls "
                "over the same periods, so that does not bias them.</p>"
            )
        body += f"<h3>{self.tr('Did crime fall in the targets?')}</h3>" + self._effect_text(result)
        body += f"<h3>{self.tr('Did crime move next door?')}</h3>" + self._displacement_text(result)
        body += f"<h3>{self.tr('How many incidents were prevented?')}</h3>" + self._net_text(result)
        body += (
            "<h3>Keep in mind</h3><ul>"
            "<li>Controls stand for what would have happened without the operation: they should be similar places "
            "(other hot spots, the same kind of streets) that were not treated. Hot spots chosen for a peak tend to fall "
            "back anyway (regression to the mean); controls that were hot too guard against it.</li>"
            "<li>The interval of RES assumes Poisson counts; crime counts vary more than that, so the true uncertainty "
            "is larger.</li>"
            "<li>The catchment is a ring of one width: displacement farther away, to other times, targets or methods is "
            "not measured.</li></ul>"
            "<p><b>Sources.</b> Relative effect size: Farrington &amp; Welsh (2002), <i>Effects of improved street "
            "lighting on crime</i>, Home Office Research Study 251; Welsh &amp; Farrington (2009), <i>Justice Quarterly</i> "
            "26(4). Weighted displacement quotient: Bowers &amp; Johnson (2003), <i>Journal of Quantitative Criminology</i> "
            "19(3). Total net effect and the reading of the WDQ: Guerette (2009), <i>Analyzing crime displacement and "
            "diffusion</i>, Problem-Solving Tools Series 10, Center for Problem-Oriented Policing. Details: "
            "docs/methods.md, section 5.2.</p>"
        )
        return page(f"{self.tr('Did the operation work?')} {names['targets']}", body)

    def _effect_text(self, result):
        if result.res is None:
            return f"<p>The relative effect size cannot be computed: {html.escape(result.missing['RES'])}</p>"
        relative = 100 * (1 / result.res - 1)
        text = (
            f"<p>Relative effect size RES = <b>{number(result.res)}</b> (95 % interval {number(result.res_low)} to "
            f"{number(result.res_high)}). "
        )
        if abs(relative) < 0.5:
            text += "Crime in the targets changed as in the controls. "
        else:
            text += (
                f"After the operation, crime in the targets was {abs(relative):.0f} % {'lower' if relative < 0 else 'higher'} "
                "than the change in the controls predicts. "
            )
        if result.res_low > 1:
            text += "The interval lies above 1: a fall in the targets beyond chance (at the 5 % level).</p>"
        elif result.res_high < 1:
            text += "The interval lies below 1: a rise in the targets beyond chance (at the 5 % level).</p>"
        else:
            text += "The interval includes 1: the difference could be chance.</p>"
        return text

    def _displacement_text(self, result):
        if result.wdq is None:
            return f"<p>The weighted displacement quotient cannot be computed: {html.escape(result.missing['WDQ'])}</p>"
        return (
            f"<p>Weighted displacement quotient WDQ = <b>{number(result.wdq)}</b> (displacement measure "
            f"{number(result.displacement)} over success measure {number(result.success)}). {html.escape(result.wdq_reading)} "
            "Positive: the catchment improved too (diffusion of benefits); negative: crime moved into it (displacement); "
            "between -1 and 0 the operation still did more good than the displacement undid.</p>"
        )

    def _net_text(self, result):
        if result.tne is None:
            return f"<p>The total net effect cannot be computed: {html.escape(result.missing['TNE'])}</p>"
        amount = number(round(abs(result.tne)))
        if result.tne > 0:
            what = f"about <b>{amount}</b> incidents fewer"
        elif result.tne < 0:
            what = f"about <b>{amount}</b> incidents more"
        else:
            what = "as many incidents"
        return (
            f"<p>Total net effect TNE = {number(result.tne)}: targets and catchment together had {what} than they would "
            "have had had they followed the controls' change (positive: incidents prevented).</p>"
        )


def _polygons_only(geometry):
    """The polygon parts of a geometry as one (multi)polygon: a difference or a repair may
    leave stray lines or points, which hold no incidents."""
    if geometry.isNull() or geometry.isEmpty():
        return QgsGeometry()
    if QgsWkbTypes.geometryType(geometry.wkbType()) == POLYGONS and QgsWkbTypes.flatType(geometry.wkbType()) in (
        QgsWkbTypes.Type.Polygon,
        QgsWkbTypes.Type.MultiPolygon,
    ):
        return geometry
    parts = [part for part in geometry.asGeometryCollection() if QgsWkbTypes.geometryType(part.wkbType()) == POLYGONS]
    return QgsGeometry.collectGeometry(parts) if parts else QgsGeometry()


def _multipolygon_wkb(geometry):
    multi = QgsGeometry(geometry)
    multi.convertToMultiType()
    return bytes(multi.asWkb()) if not multi.isEmpty() else None


def _inside(geometry, x, y, progress):
    """Which points lie in a (multi)polygon (edges count as inside), by core.geometry."""
    if geometry.isNull() or geometry.isEmpty() or len(x) == 0:
        return np.zeros(len(x), dtype=bool)
    vertices, sizes, ring_part, _ = decode_wkb([bytes(geometry.asWkb())])
    owner = ring_part  # each part on its own: parts of a dissolved geometry do not overlap
    return points_in_polygons(x, y, vertices, sizes, owner, int(owner.max()) + 1, fractions(progress, 0.0, 1.0)) >= 0


def _change(before, after):
    if before == 0:
        return "none before" if after else "none in either"
    change = 100 * (after / before - 1)
    return f"{change:+.0f} %"
