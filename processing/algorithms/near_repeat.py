"""hotspotpolicing:nearrepeat: the Knox test of near repeats (as the Near Repeat Calculator and
the R package NearRepeat), its tables, and the risk zones that follow the latest incidents."""

import datetime
import html

import numpy as np
from qgis.core import (
    QgsGeometry,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterField,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterString,
    QgsUnitTypes,
    QgsWkbTypes,
)

from ...core import InputError
from ...core import near_repeat as nr
from .. import reports
from ..compat import ANY_VECTOR, POLYGON_SOURCE
from ..layers import POINTS, TIME_NAMES, is_identifier, is_time
from ..sinks import Column, polygons_wkb
from .base import IncidentAlgorithm, stage

RESULTS = ("INCIDENT_COUNT", "SIGNIFICANT_BANDS", "RISK_DISTANCE", "RISK_DAYS")
METRIC_NAMES = ("Manhattan (along a street grid)", "Euclidean (straight line)")  # the DISTANCE enum: append only
CIRCLE_VERTICES = 72  # a Euclidean zone: a 72-gon through the circle (0.13 % less area)
EPOCH = datetime.date(1970, 1, 1)
SHADES = ((0.001, "#d62f27", "p ≤ 0.001"), (0.01, "#ed7551", "p ≤ 0.01"), (None, "#fab984", "p ≤ {alpha}"))


class NearRepeat(IncidentAlgorithm, name="nearrepeat", group="when", methods="2.8"):
    INPUT, TIME_FIELD, SPATIAL_BANDS, TEMPORAL_BANDS, DISTANCE = "INPUT", "TIME_FIELD", "SPATIAL_BANDS", "TEMPORAL_BANDS", "DISTANCE"
    PERMUTATIONS, SEED, ALPHA, RECENT_DAYS = "PERMUTATIONS", "SEED", "ALPHA", "RECENT_DAYS"
    OUTPUT_TABLE, OUTPUT_HTML, OUTPUT_RISK = "OUTPUT_TABLE", "OUTPUT_HTML", "OUTPUT_RISK"

    DISPLAY_NAME = "Near repeat (Knox test) and risk zones"
    TAGS = "near repeat,knox,repeat victimisation,burglary,space-time,ratcliffe,near repeat calculator,prospective,risk zone"
    HELP = (
        "<p>After a crime, are the places nearby at raised risk, how far and for how long? The Knox test of near "
        "repeats, as in Ratcliffe's Near Repeat Calculator: every pair of incidents is counted by how far and how "
        "many days apart they are, and compared with the counts when the dates are shuffled among the incidents.</p>"
        "<p>Set the <i>Distance band edges</i> (metres: 0,1,101,201 gives under 1 m apart, then 1 to 101 m, 101 to "
        "201 m) and the <i>Time band edges (days)</i> (0,7,14: the same week, the week after); end with inf for an open "
        "last band. <i>Distance</i>: Manhattan follows a street grid, Euclidean is the straight line.</p>"
        "<p><b>Reading the result.</b> The <i>Near-repeat table</i> has a row per distance and time band: a "
        "KNOX_RATIO above 1 means more pairs than chance (1.5: half as many again), SIGNIFICANT where P_VALUE is at "
        "most the <i>Significance level</i>. The <i>Near-repeat report</i> says it in a sentence. The <i>Near-repeat "
        "risk zones</i> show where, and until when (RISK_UNTIL, DAYS_LEFT), risk stays raised after the latest "
        "incidents: for the next briefing. Sources: Knox (1964); Johnson &amp; Bowers (2004); Ratcliffe (2009).</p>"
    )

    def initAlgorithm(self, config=None):
        self.add_incidents_parameter()
        time = QgsProcessingParameterField(self.TIME_FIELD, self.tr("Time field"), None, self.INPUT, optional=True)
        self.add(
            time,
            "Date or date-time of each incident (a date field, ISO 8601 text or epoch seconds); every incident needs one. "
            "Empty: occurred_at, datetime, date or the first date field.",
        )
        spatial = QgsProcessingParameterString(self.SPATIAL_BANDS, self.tr("Distance band edges"), "0,1,101,201,301,401")
        self.add(
            spatial,
            "Edges of the distance bands in the layer's units (metres), increasing, separated by commas. Each band includes "
            "its lower edge and excludes the upper: 0,1,101 gives 'same place' (under 1 m) and 1 to under 101 m. Pairs "
            "beyond the last edge are not counted; end with inf for an open last band.",
        )
        temporal = QgsProcessingParameterString(self.TEMPORAL_BANDS, self.tr("Time band edges (days)"), "0,7,14,21,28")
        self.add(
            temporal,
            "Edges of the time bands in whole days between the incidents' dates: 0,7,14 gives 0-6 and 7-13 days apart. "
            "End with inf for an open last band.",
        )
        self.add_enum(
            self.DISTANCE,
            "Distance",
            METRIC_NAMES,
            0,
            "Manhattan (east-west plus north-south, close to the walk along a street grid; the Near Repeat Calculator's "
            "default) or Euclidean (straight line).",
        )
        self.add_number(
            self.PERMUTATIONS,
            "Permutations",
            999,
            "How often the dates are shuffled among the incidents; more give finer p-values (999: down to 0.001).",
            integer=True,
            minimum=1,
            maximum=99999,
        )
        self.add_number(
            self.SEED, "Random seed", 1, "Seed of the permutations, so a run can be repeated exactly.", integer=True, advanced=True
        )
        self.add_number(
            self.ALPHA,
            "Significance level",
            0.05,
            "A band is significant when its p-value is at most this (0.05, or 0.01 for stricter).",
            minimum=0.0001,
            maximum=0.5,
            advanced=True,
        )
        self.add_number(
            self.RECENT_DAYS,
            "Risk zones: incidents of the last days (0 = automatic)",
            0,
            "Risk zones are drawn around the incidents of this many days up to the latest incident's date. 0: as many days "
            "as the near-repeat window lasts (the incidents whose raised risk lasts at least to that date).",
            integer=True,
        )
        table = QgsProcessingParameterFeatureSink(self.OUTPUT_TABLE, self.tr("Near-repeat table"), ANY_VECTOR)
        self.add(table, "One row per distance band and time band: observed and expected pairs, Knox ratios, p-values.")
        report = QgsProcessingParameterFileDestination(
            self.OUTPUT_HTML, self.tr("Near-repeat report"), self.tr("HTML files (*.html)"), optional=True
        )
        self.add(report, "HTML report: the observed pairs, the Knox ratios shaded by significance, and what they mean in a sentence.")
        risk = QgsProcessingParameterFeatureSink(self.OUTPUT_RISK, self.tr("Near-repeat risk zones"), POLYGON_SOURCE, optional=True)
        self.add(risk, "Optional: where and until when risk is raised after the latest incidents, one feature per last day of risk.")
        self.add_results(RESULTS)

    def process(self, parameters, context, feedback):
        space_edges = nr.parse_edges(
            self.parameterAsString(parameters, self.SPATIAL_BANDS, context), "Distance band edges (SPATIAL_BANDS)", "map units"
        )
        time_edges = nr.parse_edges(
            self.parameterAsString(parameters, self.TEMPORAL_BANDS, context), "Time band edges (TEMPORAL_BANDS)", "days"
        )
        metric = nr.METRICS[self.parameterAsEnum(parameters, self.DISTANCE, context)]
        permutations = self.parameterAsInt(parameters, self.PERMUTATIONS, context)
        seed = self.parameterAsInt(parameters, self.SEED, context)
        alpha = self.parameterAsDouble(parameters, self.ALPHA, context)
        recent = self.parameterAsInt(parameters, self.RECENT_DAYS, context)
        if recent < 0:
            raise InputError(self.tr("RECENT_DAYS must be 0 (automatic) or a number of days; it is {}.").format(recent))

        time_field = self.reader.field(self.TIME_FIELD, self.INPUT, TIME_NAMES, accept=is_time)
        self.reader.source(self.INPUT, needs=POINTS)
        crs = self.reader.crs(self.INPUT)
        names = self.reader.source(self.INPUT).fields().names()
        id_field = next((n for n in names if is_identifier(n) and n.lower() not in ("fid", "ogc_fid")), None)
        incidents = self.reader.read(self.INPUT, crs, [time_field] + ([id_field] if id_field else []), progress=stage(feedback, 0, 10))
        source_ids = incidents.texts(id_field) if id_field else incidents.ids.astype(str)  # as the data name them, on every route
        if incidents.skipped:
            feedback.pushWarning(self.tr("Skipped {} incidents without a point geometry.").format(incidents.skipped))
        seconds = incidents.seconds(time_field)
        missing = np.flatnonzero(np.isnan(seconds))
        if len(missing):
            named = ", ".join(str(i) for i in incidents.ids[missing[:5]]) + (" ..." if len(missing) > 5 else "")
            raise InputError(
                self.tr(
                    "'{}' of '{}' is empty for {} ({} {}): every incident needs a date for the near-repeat test. "
                    "Fill them in, or leave those incidents out (select the others and use 'Selected features only')."
                ).format(
                    time_field,
                    incidents.name,
                    self.tr("1 incident") if len(missing) == 1 else self.tr("{} incidents").format(len(missing)),
                    self.tr("feature") if len(missing) == 1 else self.tr("features"),
                    named,
                )
            )
        owner = incidents.part_owner
        x, y, days = incidents.x, incidents.y, nr.calendar_days(seconds)[owner]
        if len(x) < 2:
            raise InputError(
                self.tr("'{}' has {} incident with a point: the near-repeat test compares pairs and needs at least 2.").format(
                    incidents.name, len(x)
                )
            )
        if permutations < 1 / alpha - 1:
            feedback.pushWarning(
                self.tr("With {} permutations no p-value can reach {} (the smallest is {}): use at least {} permutations.").format(
                    permutations, reports.number(alpha), reports.number(1 / (permutations + 1)), int(np.ceil(1 / alpha - 1))
                )
            )
        knox = nr.knox_test(x, y, days, space_edges, time_edges, metric, permutations, seed, progress=stage(feedback, 10, 85))

        unit = QgsUnitTypes.toAbbreviatedString(crs.mapUnits())
        significant = knox.significant(alpha)
        window = nr.risk_window(knox, alpha)
        figures = {
            "INCIDENT_COUNT": len(x),
            "SIGNIFICANT_BANDS": int(significant.sum()),
            "RISK_DISTANCE": float(window.radius.max()) if len(window) else 0.0,
            "RISK_DAYS": int(window.days.max()) if len(window) else 0,
        }
        self.writer.choices.update({"time_differences": "whole calendar days", "distance_unit": unit})
        sentence = _sentence(knox, alpha, unit)
        lasting = _no_decay(knox, alpha, unit)
        if lasting:
            feedback.pushWarning(lasting)
            sentence += " " + lasting
        feedback.pushInfo(
            self.tr("{} pairs of incidents within {} {} ({} distance).").format(
                reports.number(knox.pairs_listed), reports.number(float(np.nanmax(space_edges[np.isfinite(space_edges)]))), unit, metric
            )
        )
        feedback.pushInfo(sentence)
        reports.log_figures(feedback, figures, RESULTS, self.tr)

        results = dict(figures)
        results[self.OUTPUT_TABLE] = self._write_table(knox, alpha, stage(feedback, 85, 90))
        zones_note = ""
        if parameters.get(self.OUTPUT_RISK) is not None:
            results[self.OUTPUT_RISK], zones_note = self._write_zones(
                source_ids[owner], x, y, days, window, recent, metric, crs, unit, feedback, stage(feedback, 90, 98)
            )
        if self.parameterAsFileOutput(parameters, self.OUTPUT_HTML, context):
            page = self._report(incidents.name, knox, alpha, unit, metric, seed, days, sentence, zones_note, figures)
            results[self.OUTPUT_HTML] = self.writer.text(self.OUTPUT_HTML, page)
        return results

    def _write_table(self, knox, alpha, progress):
        n_space, n_time = knox.observed.shape
        space_from, space_to = np.repeat(knox.space_edges[:-1], n_time), np.repeat(knox.space_edges[1:], n_time)
        days_from, days_to = np.tile(knox.time_edges[:-1], n_space), np.tile(knox.time_edges[1:], n_space)
        columns = [
            Column("DIST_FROM", "double", space_from, "Distance from (included)"),
            Column("DIST_TO", "double", np.where(np.isinf(space_to), np.nan, space_to), "Distance to (excluded; NULL: no upper limit)"),
            Column("DAYS_FROM", "double", days_from, "Days apart from (included)"),
            Column("DAYS_TO", "double", np.where(np.isinf(days_to), np.nan, days_to), "Days apart to (excluded; NULL: no upper limit)"),
            Column("OBSERVED", "int64", knox.observed.ravel(), "Pairs observed"),
            Column("EXPECTED", "double", knox.expected.ravel(), "Pairs expected (mean over the permutations)"),
            Column("KNOX_RATIO", "double", knox.ratio.ravel(), "Knox ratio (observed / expected)"),
            Column("KNOX_RATIO_MEDIAN", "double", knox.ratio_median.ravel(), "Observed / median over the permutations"),
            Column("P_VALUE", "double", knox.p_values.ravel(), "p-value (permutations)"),
            Column("SIGNIFICANT", "bool", [bool(v) for v in knox.significant(alpha).ravel()], f"Significant (p ≤ {alpha:g})"),
        ]
        return self.writer.table(self.OUTPUT_TABLE, columns, progress=progress)

    def _write_zones(self, ids, x, y, days, window, recent, metric, crs, unit, feedback, progress):
        """The risk zones, one feature per last day of raised risk (later ends drawn over
        earlier ones: each place shows the latest end); with a sentence for the report."""
        event, zone, until = nr.risk_zones(days, window, recent)
        latest = int(days.max())
        if not len(window):
            feedback.pushWarning(self.tr("No distance and time band is significant: there are no near-repeat risk zones to draw."))
            note = "No band is significant, so there are no risk zones."
        else:
            note = (
                f"Risk zones around the {len(np.unique(event)):,} incidents of the last "
                f"{recent if recent > 0 else int(window.days.max())} days up to {_date(latest)}: "
                + "; ".join(f"within {reports.number(r)} {unit} for {d} days" for r, d in zip(window.radius, window.days))
                + "."
            )
            feedback.pushInfo(note)
        rings = _rings(x[event], y[event], window.radius[zone], metric)
        shapes = [QgsGeometry() for _ in range(len(event))]
        for shape, blob in zip(shapes, polygons_wkb(rings) if len(event) else []):
            shape.fromWkb(blob)
        kept_until, kept_from, geometries, sources = [], [], [], []
        covered = None
        distinct = np.unique(until)[::-1]  # latest end first: it keeps its whole area
        for k, day in enumerate(distinct):
            progress(k / max(len(distinct), 1))
            chosen = np.flatnonzero(until == day)
            union = QgsGeometry.unaryUnion([shapes[c] for c in chosen])
            piece = union if covered is None else union.difference(covered)
            covered = union if covered is None else QgsGeometry.unaryUnion([covered, union])
            if piece.isEmpty():
                continue
            piece.convertToMultiType()
            kept_until.append(int(day))
            kept_from.append(int(days[event[chosen]].min()))
            geometries.append(bytes(piece.asWkb()))
            sources.append(", ".join(str(i) for i in np.unique(ids[event[chosen]])))
        kept_until = np.array(kept_until[::-1], dtype=np.int64)  # earliest end first
        columns = [
            Column("RISK_FROM", "date", [_day(d) for d in kept_from[::-1]], "Day of the earliest incident behind the zone"),
            Column("RISK_UNTIL", "date", [_day(d) for d in kept_until], "Last day of raised risk"),
            Column("DAYS_LEFT", "int", kept_until - latest, "Days from the latest incident's date to the last day of raised risk"),
            Column("SOURCE_ID", "string", sources[::-1], "Incidents (their id field, else feature ids) whose risk ends that day"),
        ]
        destination = self.writer.features(
            self.OUTPUT_RISK, columns, geometry=geometries[::-1], wkb_type=QgsWkbTypes.Type.MultiPolygon, crs=crs, style="risk_days"
        )
        return destination, note

    def _report(self, name, knox, alpha, unit, metric, seed, days, sentence, zones_note, figures):
        space_labels = [_band(a, b, unit) for a, b in zip(knox.space_edges[:-1], knox.space_edges[1:])]
        time_labels = [_band(a, b, "days") for a, b in zip(knox.time_edges[:-1], knox.time_edges[1:])]
        p = knox.p_values
        ratio = knox.ratio
        observed = [[reports.number(v) for v in row] for row in knox.observed]
        ratios = [["–" if np.isnan(v) else f"{v:.2f}" for v in row] for row in ratio]
        shades = [[_shade(p[s, t], ratio[s, t], alpha) for t in range(p.shape[1])] for s in range(p.shape[0])]
        p_text = [[reports.number(round(float(v), 6)) for v in row] for row in p]
        legend = " ".join(
            f"<span style='background:{colour};padding:0 6px'>{html.escape(label.format(alpha=reports.number(alpha)))}</span>"
            for limit, colour, label in SHADES
            if limit is None or limit < alpha
        )
        limit = float(np.nanmax(knox.space_edges[np.isfinite(knox.space_edges)]))
        body = (
            f"<p><b>{html.escape(sentence)}</b></p>"
            f"<p>{figures['INCIDENT_COUNT']:,} incidents from {_date(int(days.min()))} to {_date(int(days.max()))}; "
            f"{reports.number(knox.pairs_listed)} pairs less than {reports.number(limit)} {html.escape(unit)} apart "
            f"({metric} distance); {knox.permutations:,} permutations of the dates (seed {seed}); significant: p &le; "
            f"{reports.number(alpha)}.</p>"
            f"<h3>Observed pairs</h3>{_table(space_labels, time_labels, observed)}"
            f"<h3>Knox ratios (observed / expected)</h3>{_table(space_labels, time_labels, ratios, shades)}"
            f"<p>{legend} (bands with more pairs than chance gives)</p>"
            f"<h3>p-values</h3>{_table(space_labels, time_labels, p_text)}"
            + (f"<p>{html.escape(zones_note)}</p>" if zones_note else "")
            + "<p><small>Bands include their lower edge and exclude the upper one ('1 to 101' is at least 1 and less than 101); "
            "time differences are whole days between the dates. Expected: the mean count when the dates are shuffled among "
            "the incidents; p = (1 + shuffles with at least the observed count) / (1 + permutations). The Near Repeat "
            "Calculator's '1 to 100' m row counts 1 to under 100 m and its '8 to 14' days column 7 to under 14 days: its tables "
            "are reproduced with the edges 0,1,100,200,300,inf and 0,7,14,21,inf.</small></p>"
            "<p>Sources: Knox (1964), <i>Applied Statistics</i> 13; Johnson &amp; Bowers (2004), <i>European Journal of "
            "Criminology</i> 1(2); Ratcliffe (2009), Near Repeat Calculator; Steenbeek, R package NearRepeat.</p>"
        )
        return reports.page(f"{self.tr('Near repeat')}: {name}", body)


def _rings(x, y, radius, metric):
    """Closed rings (n, k, 2) of the zones: diamonds (the Manhattan ball) or 72-gons."""
    if metric == nr.MANHATTAN:
        angles = np.arange(5) * np.pi / 2
    else:
        angles = np.arange(CIRCLE_VERTICES + 1) * 2 * np.pi / CIRCLE_VERTICES
    dx, dy = np.cos(angles), np.sin(angles)
    dx[-1], dy[-1] = dx[0], dy[0]  # closed exactly
    ring_x = x[:, None] + radius[:, None] * dx[None, :]
    ring_y = y[:, None] + radius[:, None] * dy[None, :]
    return np.stack([ring_x, ring_y], axis=2)


def _day(day):
    return EPOCH + datetime.timedelta(days=int(day))


def _date(day):
    return _day(day).isoformat()


def _edge(value):
    return "inf" if np.isinf(value) else reports.number(float(value))


def _band(start, end, unit):
    if np.isinf(end):
        return f"{_edge(start)} {unit} or more"
    return f"{_edge(start)} to {_edge(end)} {unit}"


def _shade(p, ratio, alpha):
    if not (p <= alpha and ratio > 1):
        return None
    return next(colour for limit, colour, _ in SHADES if limit is None or (p <= limit < alpha))


def _table(rows, columns, cells, shades=None):
    head = "<tr><th></th>" + "".join(f"<th>{html.escape(c)}</th>" for c in columns) + "</tr>"
    body = ""
    for s, label in enumerate(rows):
        body += f"<tr><th style='text-align:left'>{html.escape(label)}</th>"
        for t, text in enumerate(cells[s]):
            colour = shades[s][t] if shades else None
            style = f" style='background:{colour};text-align:right'" if colour else " style='text-align:right'"
            body += f"<td{style}>{html.escape(text)}</td>"
        body += "</tr>"
    return f"<table style='border-collapse:collapse'>{head}{body}</table>"


def _distance_phrase(start, end, unit, same_place_below):
    if start == 0:
        return f"Within {_edge(end)} {unit}"
    if same_place_below:
        return f"Within {_edge(end)} {unit} (but not at the same place)"
    return f"{_edge(start)} to {_edge(end)} {unit} away"


def _time_phrase(start, end):
    if np.isinf(end):
        return f"{_edge(start)} days or more later"
    if start == 0:
        return f"within {_edge(end)} days"
    return f"{_edge(start)} to {_edge(end)} days later"


def _no_decay(knox, alpha, unit):
    """A caution when the nearest significant distance band stays raised in the last time band
    as much as in the first: near repeats fade within weeks, hot spots that come and go over a
    long period do not (pairs near in space are then near in time throughout)."""
    ratio, significant = knox.ratio, knox.significant(alpha) & (knox.ratio > 1)
    same_place = knox.space_edges[0] == 0 and knox.space_edges[1] <= 1
    rows = [s for s in range(ratio.shape[0] - (1 if np.isinf(knox.space_edges[-1]) else 0)) if not (same_place and s == 0)]
    near = next((s for s in rows if significant[s, 0]), None)
    if near is None or ratio.shape[1] < 2 or not significant[near, -1] or ratio[near, -1] - 1 < 0.5 * (ratio[near, 0] - 1):
        return ""
    return (
        f"Caution: within {_edge(knox.space_edges[near + 1])} {unit} the Knox ratio is still {ratio[near, -1]:.2f} in the last time "
        f"band ({_band(knox.time_edges[-2], knox.time_edges[-1], 'days')}) against {ratio[near, 0]:.2f} in the first. Near "
        "repeats fade within weeks; a raised ratio at every time band points to hot spots that came and went over the period. "
        "Try a shorter period (a few months) or add a longer time band to compare."
    )


def _sentence(knox, alpha, unit):
    """What the test found, in one or two sentences: the nearest and soonest significant band
    (other than the same place), and repeats at the same place when those are significant."""
    ratio, p = knox.ratio, knox.p_values
    found = knox.significant(alpha) & (ratio > 1) & np.isfinite(knox.space_edges[1:])[:, None]
    same_place = knox.space_edges[0] == 0 and knox.space_edges[1] <= 1
    near = [(s, t) for s, t in zip(*np.nonzero(found)) if not (same_place and s == 0)]
    parts = []
    if near:
        s, t = near[0]
        space = _distance_phrase(knox.space_edges[s], knox.space_edges[s + 1], unit, same_place and s == 1)
        when = _time_phrase(knox.time_edges[t], knox.time_edges[t + 1])
        if space.startswith("Within") and when.startswith("within "):
            when = when[len("within ") :]  # within 101 m and 7 days
        parts.append(
            f"{space} and {when} of an incident, another incident was {ratio[s, t]:.1f} times as likely as chance would have it "
            f"(p = {reports.number(round(float(p[s, t]), 6))})."
        )
    if same_place and found[0].any():
        t = int(np.flatnonzero(found[0])[0])
        when = _time_phrase(knox.time_edges[t], knox.time_edges[t + 1])
        parts.append(
            f"Repeats at the same place (less than {_edge(knox.space_edges[1])} {unit} apart) {when} "
            f"were {ratio[0, t]:.1f} times as likely as chance (p = {reports.number(round(float(p[0, t]), 6))})."
        )
    if not parts:
        return (
            f"No distance and time band had more pairs of incidents than chance would give (p ≤ {reports.number(alpha)}): "
            "these bands show no near-repeat pattern."
        )
    if near:
        others = len(near) - 1
        if others:
            parts.append(f"{others} more band{'s' if others > 1 else ''} {'are' if others > 1 else 'is'} significant (see the table).")
    return " ".join(parts)
