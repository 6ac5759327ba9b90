"""hotspotpolicing:changetest: where crime changed beyond chance between a before and an after
period, unit by unit (street segments, cells, beats, hot spots): the exact conditional test
of two Poisson counts with Benjamini-Hochberg q-values. Also the two periods every "did it
work" tool shares (PeriodAlgorithm)."""

import datetime
import html

import numpy as np
from qgis.core import (
    QgsProcessingException,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsProcessingParameterFileDestination,
    QgsWkbTypes,
)

from ...core import InputError
from ...core.change import DECREASE, INCREASE, NO_CHANGE, change_per_unit
from ..compat import LINE_SOURCE, POLYGON_SOURCE
from ..layers import ALL_FIELDS, LINES, POINTS, POLYGONS, TIME_NAMES, is_time
from ..reports import figure, image, log_figures, number, page
from ..sinks import Column
from .base import IncidentAlgorithm, stage

DAY = 86400.0
RESULTS = ("UNITS", "TESTED", "INCREASES", "DECREASES", "TOTAL_BEFORE", "TOTAL_AFTER")
ID_NAMES = ("segment_id", "cell_id", "unit_id", "zone_id", "beat_id", "beat", "name")  # units named in the report, when no id is chosen
SHOWN = 10  # units per direction in the report's table
CHART_POINTS = 20_000  # the report's scatter shows every significant unit and at most this many others


class PeriodAlgorithm(IncidentAlgorithm):
    """Incidents with a time field and two periods, before and after: the parameters, their
    checks (a missing date, an end before its start, overlapping periods are refused naming
    the parameter) and which period each incident falls in. END dates are inclusive."""

    TIME_FIELD = "TIME_FIELD"
    BEFORE_START, BEFORE_END, AFTER_START, AFTER_END = "BEFORE_START", "BEFORE_END", "AFTER_START", "AFTER_END"
    DATES = (
        (BEFORE_START, "Before period: first day", "First day of the period before (e.g. 2024-01-01)."),
        (BEFORE_END, "Before period: last day (inclusive)", "Last day of the period before, included to 23:59:59 (e.g. 2024-12-31)."),
        (
            AFTER_START,
            "After period: first day",
            "First day of the period after (e.g. 2025-01-01); it may start later than the day after the before period.",
        ),
        (AFTER_END, "After period: last day (inclusive)", "Last day of the period after, included to 23:59:59 (e.g. 2025-12-31)."),
    )

    def add_time_parameter(self):
        time = QgsProcessingParameterField(self.TIME_FIELD, self.tr("Time field"), "occurred_at", self.INCIDENTS, optional=True)
        self.add(time, "When each incident happened (date-time, date, ISO text or epoch seconds). Empty: the first time field.")

    def add_period_parameters(self):
        for key, label, help_text in self.DATES:
            self.add_date(key, label, help_text)

    def checkParameterValues(self, parameters, context):  # noqa: N802 - QGIS API
        try:
            self.periods(parameters, context)
        except QgsProcessingException as error:
            return False, str(error)
        return super().checkParameterValues(parameters, context)

    def periods(self, parameters, context):
        """(before start, before end, after start, after end) in seconds since 1970 on the
        data's clock, each end the midnight after its last day; refused when a date is
        missing, a period ends before it starts, or the periods overlap or come in the wrong
        order."""
        values = []
        for key, label, _ in self.DATES:
            value = self.date_seconds(parameters, key, context, end_of_day=key.endswith("_END"))
            if value is None:
                raise QgsProcessingException(
                    self.tr("Give the {} ({}), e.g. 2025-01-31: both periods need a first and a last day.").format(label.lower(), key)
                )
            values.append(value)
        before_start, before_end, after_start, after_end = values
        for name, start, end, start_key, end_key in (
            ("before", before_start, before_end, self.BEFORE_START, self.BEFORE_END),
            ("after", after_start, after_end, self.AFTER_START, self.AFTER_END),
        ):
            if end <= start:
                raise QgsProcessingException(
                    self.tr("The {} period ends ({} = {}) before it starts ({} = {}): correct {} or {}.").format(
                        name, end_key, day(end - DAY), start_key, day(start), start_key, end_key
                    )
                )
        if after_end <= before_start:
            raise QgsProcessingException(
                self.tr(
                    "The after period ({} to {}) comes before the before period ({} to {}): swap them "
                    "(BEFORE_START and BEFORE_END are the earlier period)."
                ).format(day(after_start), day(after_end - DAY), day(before_start), day(before_end - DAY))
            )
        if after_start < before_end:
            raise QgsProcessingException(
                self.tr(
                    "The periods overlap: the before period runs to {} (BEFORE_END) and the after period starts on {} (AFTER_START). "
                    "Each incident must belong to one period: let AFTER_START come after BEFORE_END."
                ).format(day(before_end - DAY), day(after_start))
            )
        return tuple(values)

    def read_timed_incidents(self, parameters, context, crs, progress):
        """The incident points in ``crs`` and the time field's seconds of each point."""
        self.reader.source(self.INCIDENTS, needs=POINTS)
        time_field = self.reader.field(self.TIME_FIELD, self.INCIDENTS, TIME_NAMES, accept=is_time)
        incidents = self.reader.read(self.INCIDENTS, crs, [time_field], progress=progress)
        if incidents.skipped:
            self.reader.feedback.pushWarning(self.tr("Skipped {} incidents without a point geometry.").format(incidents.skipped))
        return incidents, time_field, incidents.seconds(time_field)[incidents.part_owner]

    def period_of(self, seconds, periods, feedback, layer_name, time_field):
        """0 for incidents in the before period, 1 in the after period, -1 otherwise; the log
        says how many fell where and warns of periods that reach past the data."""
        before_start, before_end, after_start, after_end = periods
        period = np.full(len(seconds), -1, dtype=np.int64)
        period[(seconds >= before_start) & (seconds < before_end)] = 0
        period[(seconds >= after_start) & (seconds < after_end)] = 1
        missing = np.isnan(seconds)
        if missing.all():
            raise InputError(
                self.tr("No incident of '{}' has a time in '{}': check the time field (TIME_FIELD).").format(layer_name, time_field)
            )
        if missing.any():
            feedback.pushWarning(self.tr("{} incidents without a time are left out.").format(int(missing.sum())))
        first, last = np.nanmin(seconds), np.nanmax(seconds)
        feedback.pushInfo(
            self.tr("Before: {} to {} ({} days), {} incidents. After: {} to {} ({} days), {} incidents.").format(
                day(before_start),
                day(before_end - DAY),
                number((before_end - before_start) / DAY),
                number(int((period == 0).sum())),
                day(after_start),
                day(after_end - DAY),
                number((after_end - after_start) / DAY),
                number(int((period == 1).sum())),
            )
        )
        if not (period >= 0).any():
            raise InputError(
                self.tr(
                    "No incident of '{}' falls in either period; its times run from {} to {}. Check the dates (BEFORE_START ... "
                    "AFTER_END) and the time field (TIME_FIELD)."
                ).format(layer_name, day(first), day(last))
            )
        for name, start, end in (("before", before_start, before_end), ("after", after_start, after_end)):
            if start < np.floor(first / DAY) * DAY or end > (np.floor(last / DAY) + 1) * DAY:
                feedback.pushWarning(
                    self.tr(
                        "The {} period ({} to {}) reaches beyond the incidents' times ({} to {}): days without data count as "
                        "days without crime, which makes that period's rate look lower. Fit the periods to the data."
                    ).format(name, day(start), day(end - DAY), day(first), day(last))
                )
        return period

    @staticmethod
    def days(periods):
        before_start, before_end, after_start, after_end = periods
        return (before_end - before_start) / DAY, (after_end - after_start) / DAY


class ChangeTest(PeriodAlgorithm, name="changetest", group="evaluation", methods="5.1"):
    INCIDENTS = INPUT = "INPUT"
    UNITS, UNIT_ID_FIELD, ALPHA, SNAP_TOLERANCE = "UNITS", "UNIT_ID_FIELD", "ALPHA", "SNAP_TOLERANCE"
    OUTPUT, OUTPUT_HTML = "OUTPUT", "OUTPUT_HTML"

    DISPLAY_NAME = "Change per place between two periods"
    TAGS = "change,before,after,increase,decrease,trend,significance,binomial,poisson,evaluation,did it work,street segments"
    HELP = (
        "<p>Where did crime change between two periods by more than chance? For every place (street segment, grid "
        "cell, beat, hot spot) the incidents before and after are counted and the change in incidents per day is "
        "tested, so a place that went from 2 to 4 incidents is not called a doubling when chance explains it.</p>"
        "<p>Give the <i>Incidents</i> with their <i>Time field</i>, the <i>Units</i> (polygons, or street segments: "
        "an incident counts for the nearest within the snapping tolerance) and the first and last day of each period "
        "(last days included). The periods may differ in length but may not overlap. With thousands of places some "
        "change by chance: the <i>False discovery rate</i> (0.05) caps the share of false alarms among the places "
        "flagged.</p>"
        "<p><b>Reading the result.</b> Every place with COUNT_BEFORE, COUNT_AFTER, RATE_RATIO (incidents per day after "
        "/ before: 0.5 is half as many; empty with none before), P_VALUE, Q_VALUE and CHANGE: significant increase "
        "(red), significant decrease (blue) or no significant change (grey). The report lists the places that changed "
        "most.</p>"
    )

    def initAlgorithm(self, config=None):
        self.add_incidents_parameter()
        self.add_time_parameter()
        units = QgsProcessingParameterFeatureSource(
            self.UNITS, self.tr("Units (street segments, cells, beats)"), [POLYGON_SOURCE, LINE_SOURCE]
        )
        self.add(units, "Polygons or street segments to count in, e.g. the output of 'Street segments' or 'Optimized hot spots'.")
        unit_id = QgsProcessingParameterField(self.UNIT_ID_FIELD, self.tr("Unit id field"), None, self.UNITS, optional=True)
        self.add(
            unit_id, "Names the units in the log and report. Empty: segment_id, cell_id, ... when the layer has one, else the feature id."
        )
        self.add_period_parameters()
        alpha_help = "A unit is a significant change when its Q_VALUE (the false discovery rate) is at most this."
        self.add_number(self.ALPHA, "False discovery rate", 0.05, alpha_help, minimum=0.0, maximum=1.0)
        snap_help = "With street segments: incidents farther than this from every segment are not counted."
        self.add_distance(self.SNAP_TOLERANCE, "Snapping tolerance (segments)", 30.0, self.UNITS, snap_help, advanced=True)
        self.add(QgsProcessingParameterFeatureSink(self.OUTPUT, self.tr("Change per place")), "Every unit with its counts and change.")
        report = QgsProcessingParameterFileDestination(
            self.OUTPUT_HTML, self.tr("Change report"), self.tr("HTML files (*.html)"), optional=True, createByDefault=False
        )
        self.add(report, "A summary and the units that changed most.")
        self.add_results(RESULTS)

    def checkParameterValues(self, parameters, context):  # noqa: N802 - QGIS API
        alpha = self.parameterAsDouble(parameters, self.ALPHA, context)
        if not 0 < alpha < 1:
            return False, self.tr("The false discovery rate (ALPHA) must lie between 0 and 1, e.g. 0.05; it is {}.").format(alpha)
        return super().checkParameterValues(parameters, context)

    def process(self, parameters, context, feedback):
        periods = self.periods(parameters, context)
        days_before, days_after = self.days(periods)
        alpha = self.parameterAsDouble(parameters, self.ALPHA, context)
        units_source = self.reader.source(self.UNITS, needs=(POLYGONS, LINES))
        crs = self.reader.crs(self.UNITS)
        id_field = self._id_field(parameters, context, units_source)
        incidents, time_field, seconds = self.read_timed_incidents(parameters, context, crs, stage(feedback, 0, 30))
        period = self.period_of(seconds, periods, feedback, incidents.name, time_field)

        units = self.reader.read(self.UNITS, crs, ALL_FIELDS, keep=True, progress=stage(feedback, 30, 40))
        used = np.flatnonzero(period >= 0)
        tolerance = self.parameterAsDouble(parameters, self.SNAP_TOLERANCE, context)
        place = units.locate(incidents.x[used], incidents.y[used], tolerance, progress=stage(feedback, 40, 70))
        placed = place >= 0
        if not placed.any():
            raise InputError(
                self.tr(
                    "None of the {} incidents of the two periods lies in a unit of '{}'"
                    "{}: check that the layers cover the same place (and their CRS)."
                ).format(len(used), units.name, self.tr(" or within SNAP_TOLERANCE of a segment") if _lines(units) else "")
            )
        if not placed.all():
            feedback.pushInfo(
                self.tr(
                    "{} incidents of the periods lie in no unit (or beyond SNAP_TOLERANCE of every segment) and are not counted."
                ).format(number(int((~placed).sum())))
            )
        n = len(units)
        which = period[used][placed]
        before = np.bincount(place[placed][which == 0], minlength=n)
        after = np.bincount(place[placed][which == 1], minlength=n)
        stage(feedback, 70, 75)(0.0)
        change = change_per_unit(before, after, days_before, days_after, alpha)
        tested = int((before + after > 0).sum())
        figures = {
            "UNITS": n,
            "TESTED": tested,
            "INCREASES": int((change.change == INCREASE).sum()),
            "DECREASES": int((change.change == DECREASE).sum()),
            "TOTAL_BEFORE": int(before.sum()),
            "TOTAL_AFTER": int(after.sum()),
        }
        if tested < n:
            feedback.pushInfo(self.tr("{} units have no incident in either period: they are not tested.").format(number(n - tested)))
        log_figures(feedback, figures, RESULTS, self.tr)
        columns = [
            Column("COUNT_BEFORE", "int", before, self.tr("Incidents before")),
            Column("COUNT_AFTER", "int", after, self.tr("Incidents after")),
            Column("RATE_RATIO", "double", change.rate_ratio, self.tr("Incidents per day, after / before")),
            Column("P_VALUE", "double", change.p_value, self.tr("Exact p-value (two-sided)")),
            Column("Q_VALUE", "double", change.q_value, self.tr("False discovery rate (Benjamini-Hochberg)")),
            Column("CHANGE", "string", change.change.tolist(), self.tr("Change between the periods")),
        ]
        results = dict(figures)
        results[self.OUTPUT] = self.writer.features(self.OUTPUT, columns, base=units, style="change", progress=stage(feedback, 75, 95))
        if self.parameterAsFileOutput(parameters, self.OUTPUT_HTML, context):
            names = self._names(units, id_field)
            report = self._report(incidents.name, units.name, periods, change, names, figures, alpha)
            results[self.OUTPUT_HTML] = self.writer.text(self.OUTPUT_HTML, report)
        return results

    def _id_field(self, parameters, context, source):
        chosen = self.parameterAsString(parameters, self.UNIT_ID_FIELD, context)
        if chosen:
            return self.reader.existing_field(chosen, self.UNIT_ID_FIELD, source)
        by_name = {name.lower(): name for name in source.fields().names()}
        return next((by_name[name] for name in ID_NAMES if name in by_name), None)

    def _names(self, units, id_field):
        if id_field:
            return np.array([self.tr("feature {}").format(i) if v is None else str(v) for v, i in zip(units.values(id_field), units.ids)])
        return np.array([self.tr("feature {}").format(i) for i in units.ids])

    # --- the report -----------------------------------------------------------------------
    def _report(self, incidents_name, units_name, periods, change, names, figures, alpha):
        days_before, days_after = self.days(periods)
        before_start, before_end, after_start, after_end = periods
        total_before, total_after = figures["TOTAL_BEFORE"], figures["TOTAL_AFTER"]
        overall = (total_after / days_after) / (total_before / days_before) if total_before else float("nan")
        summary = (
            f"<p>Incidents of <i>{html.escape(incidents_name)}</i> counted in the {number(figures['UNITS'])} units of "
            f"<i>{html.escape(units_name)}</i>.</p>"
            "<table><tr><th></th><th>Dates (both included)</th><th>Days</th><th>Incidents in the units</th><th>Per day</th></tr>"
            f"<tr><td>Before</td><td>{day(before_start)} to {day(before_end - DAY)}</td><td>{number(days_before)}</td>"
            f"<td>{number(total_before)}</td><td>{number(total_before / days_before)}</td></tr>"
            f"<tr><td>After</td><td>{day(after_start)} to {day(after_end - DAY)}</td><td>{number(days_after)}</td>"
            f"<td>{number(total_after)}</td><td>{number(total_after / days_after)}</td></tr></table>"
            f"<p>Overall, crime per day in the units changed by a factor of {number(overall)} "
            f"({_percent(overall)}). Of the {number(figures['TESTED'])} units with at least one incident, "
            f"<b>{number(figures['INCREASES'])}</b> show a significant increase and <b>{number(figures['DECREASES'])}</b> a "
            f"significant decrease at a false discovery rate of {number(alpha)}; the others changed no more than chance "
            "would explain. Units without any incident are not tested.</p>"
        )
        if figures["INCREASES"] + figures["DECREASES"] and total_before and overall != 1:
            summary += (
                "<p>The test compares each unit with its own past, not with the city's trend: when crime rose or fell "
                "everywhere, many units change in the same direction.</p>"
            )
        tables = ""
        for label, direction in (("Largest significant increases", 1), ("Largest significant decreases", -1)):
            tables += f"<h3>{self.tr(label)}</h3>" + self._table(change, names, direction, days_before, days_after)
        return page(
            f"{self.tr('Change per place')}: {units_name}",
            summary
            + tables
            + f"<p>{_chart(change, days_before, days_after)}</p>"
            + "<p><b>How to read it.</b> RATE_RATIO is the incidents per day after divided by those before (0.5: half as "
            "many, 2: twice as many). P_VALUE is the chance of a split of the unit's incidents between the periods at "
            "least this uneven if its rate had not changed; Q_VALUE adjusts it for the many units tested.</p>"
            "<p><b>Method.</b> Exact conditional test of two Poisson counts: given a unit's n incidents, the after count "
            "is Binomial(n, days after / (days before + days after)) if the rate per day did not change (Przyborowski "
            "&amp; Wilenski 1940), two-sided as scipy.stats.binomtest; Benjamini &amp; Hochberg (1995) false discovery "
            "rate over the units with incidents. Details: docs/methods.md, section 5.1.</p>",
        )

    def _table(self, change, names, direction, days_before, days_after):
        """The units that changed most in one direction: the significant ones by p-value (then
        by the change in incidents per 30 days); none significant: a sentence."""
        label = INCREASE if direction > 0 else DECREASE
        rows = np.flatnonzero(change.change == label)
        if not len(rows):
            return f"<p>{self.tr('None.')}</p>"
        shift = np.abs(change.count_after[rows] / days_after - change.count_before[rows] / days_before)
        rows = rows[np.lexsort((-shift, change.p_value[rows]))][:SHOWN]
        body = "".join(
            f"<tr><td>{html.escape(names[i])}</td><td>{number(change.count_before[i])}</td><td>{number(change.count_after[i])}</td>"
            f"<td>{number(change.rate_ratio[i]) if np.isfinite(change.rate_ratio[i]) else 'none before'}</td>"
            f"<td>{_p(change.p_value[i])}</td><td>{_p(change.q_value[i])}</td></tr>"
            for i in rows
        )
        more = int((change.change == label).sum()) - len(rows)
        return (
            "<table><tr><th>Unit</th><th>Before</th><th>After</th><th>Rate ratio</th><th>P_VALUE</th><th>Q_VALUE</th></tr>"
            f"{body}</table>" + (f"<p>... and {number(more)} more.</p>" if more > 0 else "")
        )


def _chart(change, days_before, days_after):
    """Incidents per 30 days before against after, one dot per tested unit, coloured by CHANGE."""
    tested = np.flatnonzero(change.count_before + change.count_after > 0)
    if not len(tested):
        return ""
    quiet = tested[change.change[tested] == NO_CHANGE]
    if len(quiet) > CHART_POINTS:
        quiet = np.sort(np.random.default_rng(0).choice(quiet, CHART_POINTS, replace=False))
    drawing = figure(5.5, 5)
    axes = drawing.add_subplot()
    scale_before, scale_after = 30 / days_before, 30 / days_after
    top = 1.0
    for label, colour, rows in (
        (NO_CHANGE, "#bdbdbd", quiet),
        (INCREASE, "#d62f27", tested[change.change[tested] == INCREASE]),
        (DECREASE, "#4575b5", tested[change.change[tested] == DECREASE]),
    ):
        if len(rows):
            x, y = change.count_before[rows] * scale_before, change.count_after[rows] * scale_after
            axes.scatter(x, y, s=8, color=colour, label=f"{label} ({len(rows):,})", alpha=0.7, linewidths=0)
            top = max(top, float(x.max()), float(y.max()))
    axes.plot([0, top], [0, top], color="#888888", linewidth=0.8, linestyle="--")
    axes.set_xlabel("incidents per 30 days, before")
    axes.set_ylabel("incidents per 30 days, after")
    axes.legend(fontsize=8, loc="upper left")
    return image(drawing, "Incidents per 30 days before and after, per unit")


def _lines(features):
    return QgsWkbTypes.geometryType(features.wkb_type) == LINES


def _p(value):
    return "" if not np.isfinite(value) else ("&lt; 0.0001" if value < 1e-4 else f"{value:.4f}")


def _percent(ratio):
    if not np.isfinite(ratio):
        return "no incidents before"
    change = 100 * (ratio - 1)
    return f"{abs(change):.0f} % {'more' if change > 0 else 'fewer'} per day" if round(change) else "about the same per day"


def day(seconds):
    """Seconds since 1970 on the data's clock as an ISO date."""
    return (datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=float(seconds))).date().isoformat()
