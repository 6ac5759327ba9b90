"""What the detector dialog runs, kept apart from its widgets (as DataPlotly keeps its plot
settings apart from its GUI): plain data that presets store, and the public Processing
algorithms it turns into, so every run can be repeated in a model or with qgis_process."""

import os
import re
import shlex
from dataclasses import asdict, dataclass, field, fields
from datetime import date, timedelta

from ..processing.algorithms.grid import CellShape

KERNEL_DENSITY = "hotspotpolicing:kerneldensity"
OPTIMIZED = "hotspotpolicing:optimizedhotspots"
SEGMENT_COUNTS = "hotspotpolicing:assignincidents"
HOT_STREETS = "hotspotpolicing:hotstreets"
EMERGING = "hotspotpolicing:emerginghotspots"
NEAR_REPEAT = "hotspotpolicing:nearrepeat"
NETWORK_DENSITY = "hotspotpolicing:networkkde"
WHEN = "hotspotpolicing:aoristic"
# The dialog's choices, in its order (presets store the id, so new ones can go anywhere)
DETECTORS = (KERNEL_DENSITY, OPTIMIZED, SEGMENT_COUNTS, HOT_STREETS, EMERGING, NEAR_REPEAT, NETWORK_DENSITY, WHEN)
STREET_DETECTORS = (SEGMENT_COUNTS, HOT_STREETS, NETWORK_DENSITY)  # they need the street centre-lines
TIME_DETECTORS = (EMERGING, NEAR_REPEAT, WHEN)  # they need the date field
STREET_SEGMENTS = "hotspotpolicing:streetsegments"
PATROL_PLAN = "hotspotpolicing:patroldosage"
CHANGE_TEST = "hotspotpolicing:changetest"
INTERVENTION = "hotspotpolicing:evaluateintervention"
EVALUATIONS = (CHANGE_TEST, INTERVENTION)  # the evaluate step's choices, in the dialog's order
EXTRACT = "native:extractbyexpression"
EXTRACT_IN_AREA = "native:extractbylocation"
SNAP_TOLERANCE = 30.0
# Fields of each detector's output that are a risk a patrol plan can follow (docs/methods.md
# 4.1): counts and harm, never an id or a z-score. A density surface has no places to patrol.
RISK_FIELDS = {
    OPTIMIZED: ("incident_count",),
    SEGMENT_COUNTS: ("incident_count", "incidents_per_km"),
    HOT_STREETS: ("incident_count", "weight_sum", "incidents_per_km"),
}
# Each result: its file name (in the chosen folder), format, and what its layer is called on
# the map after the offence and before the period ("Burglary hot spots, 1 Oct - 31 Dec 2025")
RESULT_NAMES = {
    KERNEL_DENSITY: ("density", "tif", "density"),
    OPTIMIZED: ("hot_spots", "gpkg", "hot spots"),
    SEGMENT_COUNTS: ("street_segments", "gpkg", "incidents per street segment"),
    HOT_STREETS: ("hot_streets", "gpkg", "hot streets"),
    EMERGING: ("emerging_hot_spots", "gpkg", "emerging hot spots"),
    NEAR_REPEAT: ("near_repeat_risk_zones", "gpkg", "near repeat risk zones"),
    "near_repeat_table": ("near_repeat_table", "gpkg", "near repeat Knox ratios"),
    "near_repeat_report": ("near_repeat_report", "html", "near repeat report"),
    NETWORK_DENSITY: ("street_density", "gpkg", "density along the streets"),
    WHEN: ("weekday_hour", "gpkg", "by weekday and hour"),
    "when_report": ("weekday_hour_report", "html", "weekday and hour report"),
    CHANGE_TEST: ("change_per_place", "gpkg", "change per place"),
    "change_report": ("change_per_place", "html", "change report"),
    INTERVENTION: ("operation_effect", "html", "operation effect report"),
    PATROL_PLAN: ("patrol_plan", "gpkg", "patrol plan"),
}
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class Layer:
    """A project layer, by id."""

    id: str


@dataclass(frozen=True)
class Output:
    """An output (``key``) of an earlier step (``step``, counted from 0)."""

    step: int
    key: str = "OUTPUT"


@dataclass(frozen=True)
class Result:
    """An output the user keeps and sees on the map: ``path`` in the chosen folder, or a
    temporary file of the given ``extension`` when no folder was chosen."""

    path: str
    extension: str
    label: str = ""  # the name it gets on the map


SCRATCH = "TEMPORARY_OUTPUT"  # an output only a later step reads


@dataclass
class DetectorSettings:
    """The dialog's choices. ``start`` and ``end`` are ISO date-times of the period; presets
    keep its length in whole days (``days``) instead, applied back from the data's last day,
    so a preset is always about the latest days of the data. The offences are values of
    ``offence_field`` (none: every offence); ``filter`` is a further QGIS expression."""

    layer: str = ""
    date_field: str = ""
    use_period: bool = True
    days: int = 28
    offence_field: str = ""
    offences: list = field(default_factory=list)
    filter: str = ""
    detector: str = KERNEL_DENSITY
    size: float = 0.0
    streets: str = ""
    study_area: str = ""
    folder: str = ""
    plan: bool = False
    risk_field: str = ""
    patrol_minutes: float = 120.0
    evaluate: str = ""  # "" or one of EVALUATIONS: the period against the one of equal length before it
    start: str = ""
    end: str = ""

    def preset(self):
        """What a preset stores (plain JSON data)."""
        data = asdict(self)
        del data["start"], data["end"]
        return data

    @classmethod
    def from_preset(cls, data):
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})

    def offence_expression(self):
        """The offences picked and the further filter as one QGIS expression ("" for none)."""
        parts = []
        if self.offence_field and self.offences:
            values = ", ".join("'{}'".format(str(value).replace("'", "''")) for value in self.offences)
            parts.append(f"{quoted(self.offence_field)} IN ({values})")
        if self.filter.strip():
            parts.append(f"({self.filter})")
        return " AND ".join(parts)

    def expression(self):
        """The period, the offences and the filter as one QGIS expression ("" for none)."""
        parts = []
        if self.date_field and self.use_period and self.start and self.end:
            field_name = quoted(self.date_field)
            parts.append(f"{field_name} >= to_datetime('{self.start}') AND {field_name} <= to_datetime('{self.end}')")
        if self.offence_expression():
            parts.append(self.offence_expression())
        return " AND ".join(parts)

    def offence(self):
        """The offence in words for a layer's name: the ones picked, else the value of a
        filter such as "offence" = 'burglary', else "" (several: "3 offences")."""
        names = [str(value).replace("_", " ") for value in self.offences] if self.offence_field else []
        if not names:
            match = re.fullmatch(r"""\s*"?[\w ]+"?\s*=\s*'([^']+)'\s*""", self.filter)
            names = [match.group(1).replace("_", " ")] if match else []
        if len(names) > 3:
            return f"{len(names)} offences"
        return " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)

    def period(self):
        """The period in words ("1 Oct - 31 Dec 2025"; "" when there is none)."""
        if not (self.use_period and self.start and self.end):
            return ""
        start, end = date.fromisoformat(self.start[:10]), date.fromisoformat(self.end[:10])
        last = f"{end.day} {MONTHS[end.month - 1]} {end.year}"
        if start == end:
            return last
        first = f"{start.day} {MONTHS[start.month - 1]}" + (f" {start.year}" if start.year != end.year else "")
        return f"{first} - {last}"

    def title(self, what):
        """A result's name on the map: offence, what it is, period ("Burglary hot spots, 1 Oct - 31 Dec 2025")."""
        name = " ".join(part for part in (self.offence(), what) if part)
        return ", ".join(part for part in (name[:1].upper() + name[1:], self.period()) if part)

    def can_plan(self):
        return self.detector in RISK_FIELDS

    def steps(self):
        """[(algorithm id, parameters)] to run one after another. Parameters hold Layer(id)
        for project layers, Output(step, key) for an earlier step's output, Result for an
        output to keep and show, SCRATCH for one only a later step reads."""
        steps, incidents = [], Layer(self.layer)

        def add(algorithm, parameters):
            steps.append((algorithm, parameters))
            return Output(len(steps) - 1)

        if self.expression():
            incidents = add(EXTRACT, {"INPUT": incidents, "EXPRESSION": self.expression(), "OUTPUT": SCRATCH})
        area = Layer(self.study_area) if self.study_area else None
        if area is not None:  # incidents outside the study area are no one's to patrol
            incidents = add(EXTRACT_IN_AREA, {"INPUT": incidents, "PREDICATE": 0, "INTERSECT": area, "OUTPUT": SCRATCH})
        result = self._result(self.detector)
        if self.detector == KERNEL_DENSITY:
            found = add(KERNEL_DENSITY, {"INPUT": incidents, "BANDWIDTH": self.size, "CELL_SIZE": 0.0, "OUTPUT": result})
        elif self.detector == OPTIMIZED:
            parameters = {"INPUT": incidents, "CELL_SHAPE": int(CellShape.HEXAGON), "CELL_SIZE": self.size, "OUTPUT": result}
            found = add(OPTIMIZED, parameters | ({"STUDY_AREA": area} if area else {}))
        elif self.detector == SEGMENT_COUNTS:  # cut the centre-lines first: never count per whole street
            segments = add(STREET_SEGMENTS, {"INPUT": Layer(self.streets), "OUTPUT": SCRATCH})
            counting = {"INCIDENTS": incidents, "SEGMENTS": segments, "TOLERANCE": SNAP_TOLERANCE, "OUTPUT": result}
            found = add(SEGMENT_COUNTS, counting)
        elif self.detector == EMERGING:  # steps of the period's own calendar: at least 10 of them
            parameters = {"INPUT": incidents, "TIME_FIELD": self.date_field, "CELL_SHAPE": int(CellShape.HEXAGON), "CELL_SIZE": self.size}
            if self.use_period and self.start and self.end:
                parameters |= {"START": self.start[:10], "END": self.end[:10]}
            parameters |= {"TIME_UNIT": time_unit_for(self.days if self.use_period else None), "OUTPUT": result}
            found = add(EMERGING, parameters | ({"STUDY_AREA": area} if area else {}))
        elif self.detector == NEAR_REPEAT:  # the Knox test, and zones of raised risk round the latest incidents
            outputs = {
                "OUTPUT_RISK": result,
                "OUTPUT_TABLE": self._result("near_repeat_table"),
                "OUTPUT_HTML": self._result("near_repeat_report"),
            }
            found = add(NEAR_REPEAT, {"INPUT": incidents, "TIME_FIELD": self.date_field, **outputs})
        elif self.detector == NETWORK_DENSITY:  # the centre-lines are cut at junctions inside
            streets = {"NETWORK": Layer(self.streets), "SNAP_TOLERANCE": SNAP_TOLERANCE}
            found = add(NETWORK_DENSITY, {"INPUT": incidents, **streets, "BANDWIDTH": self.size, "OUTPUT": result})
        elif self.detector == WHEN:  # weekday x hour over the period's days
            parameters = {"INPUT": incidents, "FROM_FIELD": self.date_field}
            if self.use_period and self.start and self.end:
                parameters |= {"START": self.start[:10], "END": self.end[:10]}
            found = add(WHEN, parameters | {"OUTPUT_TABLE": result, "OUTPUT_HTML": self._result("when_report")})
        else:
            streets = {"STREETS": Layer(self.streets), "SNAP_TOLERANCE": SNAP_TOLERANCE}
            found = add(HOT_STREETS, {"INCIDENTS": incidents, **streets, "OUTPUT": result})
        planned = None
        if self.plan and self.can_plan():
            plan = {"HOTSPOTS": found, "PATROL_MINUTES": self.patrol_minutes, "OUTPUT": self._result(PATROL_PLAN)}
            planned = add(PATROL_PLAN, plan | ({"RISK_FIELD": self.risk_field} if self.risk_field else {}))
        if self.evaluate and self.can_evaluate():
            self._evaluate(add, planned or found, area)
        return steps

    def can_evaluate(self):
        """The evaluate step needs places (not a density surface) and the period's dates."""
        return self.detector in RISK_FIELDS and self.use_period and bool(self.start and self.end and self.date_field)

    def periods(self):
        """(before start, before end, after start, after end) as dates: the period, and the
        days of equal length just before it (as many calendar months when the period is whole
        months: 2025 against 2024)."""
        start, end = date.fromisoformat(self.start[:10]), date.fromisoformat(self.end[:10])
        before_end = start - timedelta(days=1)
        before_start = before_end - (end - start)
        if start.day == 1 and (end + timedelta(days=1)).day == 1:  # whole months: as many months before
            months = (end.year - start.year) * 12 + end.month - start.month + 1
            first = start.year * 12 + start.month - 1 - months
            before_start = date(first // 12, first % 12 + 1, 1)
        return before_start.isoformat(), before_end.isoformat(), start.isoformat(), end.isoformat()

    def _evaluate(self, add, places, area):
        """Change per place of the hot spots found, or the effect of patrolling them, the
        period against the one before it, on the incidents of the offence filter."""
        incidents = Layer(self.layer)
        if self.offence_expression():
            incidents = add(EXTRACT, {"INPUT": incidents, "EXPRESSION": self.offence_expression(), "OUTPUT": SCRATCH})
        before_start, before_end, after_start, after_end = self.periods()
        dates = {"BEFORE_START": before_start, "BEFORE_END": before_end, "AFTER_START": after_start, "AFTER_END": after_end}
        if self.evaluate == CHANGE_TEST:
            outputs = {"OUTPUT": self._result(CHANGE_TEST), "OUTPUT_HTML": self._result("change_report")}
            add(CHANGE_TEST, {"INPUT": incidents, "TIME_FIELD": self.date_field, "UNITS": places, **dates, **outputs})
        else:
            where = {"STUDY_AREA": area} if area is not None else {}
            outputs = {"OUTPUT_HTML": self._result(INTERVENTION)}
            add(INTERVENTION, {"TARGETS": places, "INCIDENTS": incidents, "TIME_FIELD": self.date_field, **where, **dates, **outputs})

    def _result(self, algorithm):
        """Where ``algorithm``'s result goes: a new file in the folder (never over an
        earlier run's), named after what it holds and the period's last day."""
        name, extension, what = RESULT_NAMES[algorithm]
        label = self.title(what)
        if not self.folder:
            return Result("", extension, label)
        stem = os.path.join(self.folder, f"{name}_{self.end[:10]}" if self.end and self.use_period else name)
        path, number = f"{stem}.{extension}", 1
        while os.path.exists(path):
            number += 1
            path = f"{stem}_{number}.{extension}"
        return Result(path, extension, label)


def quoted(name):
    """A field name in a QGIS expression."""
    return '"{}"'.format(name.replace('"', '""'))


def time_unit_for(days):
    """The emerging hot spots' TIME_UNIT for a period of ``days``: the longest calendar unit
    that still gives the 10 steps the method needs (days, weeks, months; None: months)."""
    if days is None or days >= 10 * 31:
        return 2
    return 1 if days >= 10 * 7 else 0


def describe(steps, layer_source):
    """The steps as lines a person can repeat: ``qgis_process run`` commands, layers by
    their source (``layer_source(id)``), an earlier step's output named as such."""
    lines = []
    for number, (algorithm, parameters) in enumerate(steps, start=1):
        values = []
        for key, value in parameters.items():
            if isinstance(value, Layer):
                value = layer_source(value.id)
            elif isinstance(value, Output):
                value = f"<{value.key} of step {value.step + 1}>"
            elif isinstance(value, Result):
                value = value.path or "TEMPORARY_OUTPUT"
            values.append(shlex.quote(f"{key}={value}"))
        lines.append(f"{number}. qgis_process run {algorithm} -- " + " ".join(values))
    return lines
