"""hotspotpolicing:aoristic: when in the week crime happens, all over or per place, from
incidents known only to have happened within a window (Ratcliffe's aoristic method)."""

import html

import numpy as np
from qgis.core import (
    QgsProcessingException,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterField,
    QgsProcessingParameterFileDestination,
)
from qgis.PyQt.QtCore import QDateTime, Qt, QTimeZone

from ...core import aoristic
from ..compat import ANY_VECTOR
from ..layers import TIME_NAMES, is_time
from ..reports import figure, image, number, page
from ..sinks import Column
from .base import DosageAlgorithm, ZoneAlgorithm, stage

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
ALL = "all"  # ZONE_ID of the profile of all incidents, without zones
TOP_ZONES = 5


class Aoristic(ZoneAlgorithm, DosageAlgorithm, name="aoristic", group="when", methods="4.5"):
    FROM_FIELD, TO_FIELD = "FROM_FIELD", "TO_FIELD"
    START, END, SKIP_BAD_ROWS = "START", "END", "SKIP_BAD_ROWS"
    OUTPUT_TABLE, OUTPUT, OUTPUT_HTML = "OUTPUT_TABLE", "OUTPUT", "OUTPUT_HTML"

    DISPLAY_NAME = "When: weekday x hour profiles (aoristic)"
    TAGS = "aoristic,time,when,hour,weekday,time window,ratcliffe,temporal,profile,shift,burglary"
    HELP = (
        "<p>When in the week does crime happen, overall or place by place? Builds the weekday x hour profile of the "
        "incidents, also when only a time window is known (a burglary found on Monday morning after a weekend away): "
        "each incident is shared out over the hours of its window (Ratcliffe's aoristic method).</p>"
        "<p>Give the <i>From (earliest time)</i> field and, where known, the <i>To (latest time)</i> field; without "
        "it each incident counts at its from time. Add <i>Zones</i> (hot spots, beats, street segments) for one "
        "profile per zone. Times are read on the data's own clock, whatever this computer's time zone. An incident "
        "without a time, or whose window ends before it starts, stops the run naming it, unless <i>Skip incidents with "
        "a bad window</i> is ticked.</p>"
        "<p><b>Reading the result.</b> The <i>Weekday x hour table</i>: one row per zone, weekday (0 = Monday) and "
        "hour, with WEIGHT and SHARE; give it to 'Patrol dosage plan' as its hour profile to send visits at the right "
        "hours. With zones, <i>Zones with their peak</i> adds each zone's PEAK_WEEKDAY, PEAK_HOUR, PEAK_SHARE and its "
        "share in each shift; the report draws the profiles as grids.</p>"
    )

    def initAlgorithm(self, config=None):
        self.add_incidents_parameter()
        start = QgsProcessingParameterField(self.FROM_FIELD, self.tr("From (earliest time)"), "occurred_at", self.INCIDENTS, optional=True)
        self.add(start, "When the incident may first have happened. Empty: the first time field.")
        end = QgsProcessingParameterField(self.TO_FIELD, self.tr("To (latest time)"), None, self.INCIDENTS, optional=True)
        self.add(end, "When it may last have happened (e.g. found at). Empty: every incident sits at its from time.")
        self.add_weight_parameter("Optional: spread this field (e.g. a harm index) instead of 1 per incident.")
        self.add_zone_parameters(
            "Zones (hot spots, beats, segments)",
            "Optional places to profile one by one.",
            "The zones' identifier, written into the table. Empty: the feature id.",
        )
        self.add_date(self.START, "Start date", "Keep incidents whose window starts on or after this day.")
        self.add_date(self.END, "End date (inclusive)", "Keep incidents whose window starts on or before this day.")
        skip = QgsProcessingParameterBoolean(self.SKIP_BAD_ROWS, self.tr("Skip incidents with a bad window"), False)
        self.add(skip, "Skip (and count) incidents without a time or ending before they start, instead of stopping.")
        self.add_shift_hours(advanced=True)
        self.add_shift_start()
        table = QgsProcessingParameterFeatureSink(self.OUTPUT_TABLE, self.tr("Weekday x hour table"), ANY_VECTOR)
        self.add(table, "One row per zone, weekday and hour: WEIGHT and SHARE.")
        places = QgsProcessingParameterFeatureSink(self.OUTPUT, self.tr("Zones with their peak"), optional=True)
        self.add(places, "With zones: each zone's peak weekday and hour and its share in each shift.")
        report = QgsProcessingParameterFileDestination(
            self.OUTPUT_HTML, self.tr("Weekday x hour report"), self.tr("HTML files (*.html)"), optional=True, createByDefault=False
        )
        self.add(report, "Weekday x hour grids for all incidents and the busiest zones.")
        self.add_results(("INCIDENT_COUNT", "SKIPPED"))

    def process(self, parameters, context, feedback):
        zones_source = self.zones_source()
        crs = self.reader.crs(self.ZONES if zones_source is not None else self.INCIDENTS)
        from_field = self.reader.field(self.FROM_FIELD, self.INCIDENTS, TIME_NAMES, accept=is_time)
        to_field = self.parameterAsString(parameters, self.TO_FIELD, context)
        if to_field:
            to_field = self.reader.existing_field(to_field, self.TO_FIELD, self.reader.source(self.INCIDENTS))
        fields = [from_field] + ([to_field] if to_field else [])
        points, weights = self.read_incidents(parameters, context, crs, fields=fields, progress=stage(feedback, 0, 30))
        rows = points.part_owner
        begin = points.clocks(from_field)
        end = points.clocks(to_field) if to_field else begin
        w = np.ones(len(rows)) if weights is None else weights

        keep, skipped = self._kept(parameters, context, feedback, points, begin[0], end[0])
        zones, place, groups, id_field = None, np.zeros(len(rows), dtype=np.int64), 1, ""
        if zones_source is not None:
            zones, place, id_field = self.read_zones(parameters, context, crs, points, stage(feedback, 30, 40), stage(feedback, 40, 50))
            outside = int(((place < 0) & keep[rows]).sum())
            if outside:
                feedback.pushInfo(self.tr("{} incidents fall in no zone; they count in no zone's profile.").format(outside))
            groups = len(zones)
        used = keep[rows] & (place >= 0)
        stage(feedback, 50, 55)(0.0)
        (start, start_offset, start_zone), (stop, stop_offset, _) = begin, end
        at = rows[used]  # each used incident point's feature
        piece, wall_start, wall_end, share = wall_clock_windows(
            start[at], start_offset[at], np.array(start_zone, dtype=str)[at], stop[at], stop_offset[at]
        )
        weight = w[used][piece] * share
        table = aoristic.weekday_hour_weights(wall_start, wall_end, weight, place[used][piece], groups)
        stage(feedback, 55, 80)(1.0)

        ids = self._zone_ids(zones, id_field)
        results = {"INCIDENT_COUNT": int(keep.sum()), "SKIPPED": skipped}
        results[self.OUTPUT_TABLE] = self._write_table(table, ids, feedback)
        if zones is not None and self.parameterAsOutputLayer(parameters, self.OUTPUT, context):
            results[self.OUTPUT] = self._write_zones(parameters, context, zones, table, feedback)
        if self.parameterAsFileOutput(parameters, self.OUTPUT_HTML, context):
            results[self.OUTPUT_HTML] = self.writer.text(self.OUTPUT_HTML, self._report(points.name, table, ids, int(keep.sum())))
        feedback.pushInfo(self.tr("{} incidents spread over the week.").format(number(int(keep.sum()))))
        return results

    def _kept(self, parameters, context, feedback, points, start, end):
        """Which features (rows) are profiled: a readable window starting in the period."""
        bad = aoristic.bad_windows(start, end)
        skipped = 0
        if bad.any():
            if not self.parameterAsBoolean(parameters, self.SKIP_BAD_ROWS, context):
                raise QgsProcessingException(_bad_window_message(points, start, end, bad))
            skipped = int(bad.sum())
            feedback.pushWarning(self.tr("{} incidents without a time, or ending before they start, are skipped.").format(skipped))
        keep = ~bad
        first = self.date_seconds(parameters, self.START, context)
        last = self.date_seconds(parameters, self.END, context, end_of_day=True)
        with np.errstate(invalid="ignore"):
            if first is not None:
                keep &= start >= first
            if last is not None:
                keep &= start < last
        if first is not None and last is not None and last <= first:
            raise QgsProcessingException(self.tr("The end date (END) is before the start date (START)."))
        if not keep.any():
            raise QgsProcessingException(
                self.tr("No incident of '{}' has a window starting in the period: widen START and END.").format(points.name)
            )
        return keep, skipped

    @staticmethod
    def _zone_ids(zones, id_field):
        if zones is None:
            return [ALL]
        return [str(v) for v in (zones.texts(id_field) if id_field else zones.ids)]

    def _write_table(self, table, ids, feedback):
        groups = len(table)
        cells = np.tile(np.arange(aoristic.WEEK_HOURS), groups)
        columns = [
            Column("ZONE_ID", "string", np.repeat(np.array(ids, dtype=object), aoristic.WEEK_HOURS).tolist()),
            Column("WEEKDAY", "int", cells // 24, self.tr("Weekday (0 = Monday)")),
            Column("HOUR", "int", cells % 24, self.tr("Hour of the day")),
            Column("WEIGHT", "double", table.ravel()),
            Column("SHARE", "double", aoristic.shares(table).ravel(), self.tr("Share of the zone's weight")),
        ]
        return self.writer.table(self.OUTPUT_TABLE, columns, progress=stage(feedback, 80, 90))

    def _write_zones(self, parameters, context, zones, table, feedback):
        weekday, hour, peak_share = aoristic.peak(table)
        hours, start = self.shifts(parameters, context)
        starts, lengths = aoristic.day_shifts(start, hours)
        per_shift = aoristic.shift_shares(table, start, hours)
        columns = [
            Column("PEAK_WEEKDAY", "int", np.where(weekday < 0, np.nan, weekday), self.tr("Peak weekday (0 = Monday)")),
            Column("PEAK_HOUR", "int", np.where(hour < 0, np.nan, hour)),
            Column("PEAK_SHARE", "double", peak_share),
        ]
        for k, (first, length) in enumerate(zip(starts, lengths), start=1):
            label = f"{_clock(first)}-{_clock((first + length) % 24)}"
            columns.append(Column(f"SHIFT_{k}_SHARE", "double", per_shift[:, k - 1], self.tr("Share {}").format(label)))
        feedback.pushInfo(
            self.tr("Shifts: {}.").format(
                ", ".join(f"SHIFT_{k} {_clock(a)}-{_clock((a + b) % 24)}" for k, (a, b) in enumerate(zip(starts, lengths), 1))
            )
        )
        return self.writer.features(self.OUTPUT, columns, base=zones, progress=stage(feedback, 90, 100))

    def _report(self, layer_name, table, ids, count):
        total = table.sum(axis=0, keepdims=True)
        grids = [(self.tr("All incidents"), total)]
        if len(table) > 1:
            busiest = np.argsort(-table.sum(axis=1), kind="stable")[:TOP_ZONES]
            grids += [(self.tr("Zone {}").format(ids[i]), table[i : i + 1]) for i in busiest if table[i].sum() > 0]
        body = f"<p>{number(count)} incidents, each spread over its time window.</p>"
        for title, grid in grids:
            body += f"<h3>{html.escape(title)}</h3><p>{image(heat_grid(grid[0], title), title)}</p>"
        body += "<p>Method: aoristic analysis (Ratcliffe &amp; McCullagh 1998; Ratcliffe 2002).</p>"
        return page(f"{self.tr('When')}: {layer_name}", body)


def profile_table(reader, key):
    """The weekday x hour table of parameter ``key`` (this tool's OUTPUT_TABLE): (zone ids,
    sorted, and their (zones, 168) weights); None when the parameter was left empty."""
    table = reader.read(key, None, ["ZONE_ID", "WEEKDAY", "HOUR", "WEIGHT"], geometry=False)
    if table is None:
        return None
    zone, weekday, hour = table.texts("ZONE_ID"), table.numbers("WEEKDAY"), table.numbers("HOUR")
    valid = (weekday >= 0) & (weekday <= 6) & (hour >= 0) & (hour <= 23)
    if not valid.all():
        bad = int(np.flatnonzero(~valid)[0])
        raise QgsProcessingException(
            f"Row {table.ids[bad]} of the weekday x hour table '{table.name}' has weekday {weekday[bad]} and hour {hour[bad]}: "
            "weekdays are 0-6 (0 = Monday), hours 0-23. Give the OUTPUT_TABLE of 'When: weekday x hour profiles'."
        )
    names, row = np.unique(zone, return_inverse=True)
    weights = np.zeros((len(names), aoristic.WEEK_HOURS))
    np.add.at(weights, (row.ravel(), (weekday * 24 + hour).astype(int)), np.nan_to_num(table.numbers("WEIGHT")))
    return names, weights


def heat_grid(weights, title):
    """A weekday x hour grid of one profile, darker where more weight falls (shares in %)."""
    shares = aoristic.shares(weights).reshape(7, 24) * 100
    chart = figure(8, 2.8)
    axes = chart.add_subplot()
    shown = axes.imshow(np.nan_to_num(shares), cmap="YlOrRd", aspect="auto")
    axes.set_yticks(range(7), [day[:3] for day in WEEKDAYS])
    axes.set_xticks(range(0, 24, 2), [f"{h:02d}" for h in range(0, 24, 2)])
    axes.set_xlabel("hour of the day")
    axes.set_title(title, fontsize=9)
    chart.colorbar(shown, ax=axes, label="% of weight")
    return chart


def wall_clock_windows(start, start_offset, start_zone, end, end_offset):
    """Windows of instants as wall-clock pieces (row, wall_start, wall_end, share), for
    core.aoristic: a window whose two ends show the same offset is one piece on that clock;
    one in a named time zone is cut at the zone's changes (QTimeZone); one whose ends carry
    different fixed offsets (ISO text) is cut where daylight saving changes by the usual
    rule: 01:00 UTC east of Greenwich (Europe), 02:00 standard time west of it (America).
    ``start_zone``: the IANA zone of each start ("" for none)."""
    zones, zone_of = np.unique(start_zone, return_inverse=True)
    named = zones[zone_of] != ""
    changed = (start_offset != end_offset) & ~named
    plain = ~named & ~changed
    row, wall_start, wall_end, share = (
        [np.flatnonzero(plain)],
        [(start + start_offset)[plain]],
        [(end + start_offset)[plain]],
        [np.ones(plain.sum())],
    )
    if changed.any():
        rows = np.flatnonzero(changed)
        change = _usual_change(start[rows], end[rows], np.minimum(start_offset[rows], end_offset[rows]))
        length = np.maximum(end[rows] - start[rows], 1e-9)
        row += [rows, rows]
        wall_start += [start[rows] + start_offset[rows], change + end_offset[rows]]
        wall_end += [change + start_offset[rows], end[rows] + end_offset[rows]]
        share += [(change - start[rows]) / length, (end[rows] - change) / length]
    for k, zone in enumerate(zones):  # a few named zones at most: one QTimeZone each
        if not zone:
            continue
        rows = np.flatnonzero(zone_of == k)
        change_at, offsets = _zone_changes(zone, start[rows].min(), end[rows].max())
        piece, lower, upper, part = aoristic.wall_clock_pieces(start[rows], end[rows], change_at, offsets)
        row, wall_start, wall_end, share = row + [rows[piece]], wall_start + [lower], wall_end + [upper], share + [part]
    return tuple(np.concatenate(parts) for parts in (row, wall_start, wall_end, share))


def _usual_change(start, end, standard_offset):
    """The first hour in each window at which daylight saving usually changes."""
    hour = 3600.0
    east = standard_offset >= 0
    target = np.where(east, 1.0, (2.0 * hour - standard_offset) / hour % 24)  # hour of the day, UTC
    first = np.ceil(start / hour) * hour
    hour_of_day = np.floor(first / hour) % 24
    change = first + ((target - hour_of_day) % 24) * hour
    return np.clip(np.where(change < end, change, first), start, end)


def _zone_changes(zone, first, last):
    """(UTC seconds of each change, offsets before the first and after each) of a time zone."""
    time_zone = QTimeZone(zone.encode())
    begin = QDateTime.fromSecsSinceEpoch(int(first) - 86400, Qt.TimeSpec.UTC)
    changes = time_zone.transitions(begin, QDateTime.fromSecsSinceEpoch(int(last) + 86400, Qt.TimeSpec.UTC))
    change_at = [change.atUtc.toSecsSinceEpoch() for change in changes]
    return change_at, [time_zone.offsetFromUtc(begin)] + [change.offsetFromUtc for change in changes]


def _bad_window_message(points, start, end, bad):
    missing = bad & (~np.isfinite(start) | ~np.isfinite(end))
    problems = []
    for rows, what in ((np.flatnonzero(bad & ~missing), "end before they start"), (np.flatnonzero(missing), "have no time")):
        if len(rows):
            problems.append(f"{len(rows)} {what} (e.g. feature {', '.join(str(points.ids[r]) for r in rows[:3])})")
    return (
        f"Incidents of '{points.name}' with a window that cannot be spread: {'; '.join(problems)}. Correct the from and "
        "to times, filter those incidents out, or tick 'Skip incidents with a bad window' (SKIP_BAD_ROWS)."
    )


def _clock(hours):
    return f"{int(hours):02d}:{int(round(hours % 1 * 60)):02d}"
