"""What the detector dialog runs, kept apart from its widgets (as DataPlotly keeps its plot
settings apart from its GUI): plain data that presets store, and the public Processing
algorithms it turns into, so every run can be repeated in a model or with qgis_process."""

import shlex
from dataclasses import asdict, dataclass, fields

from ..processing.algorithms.local_statistic import Neighbours
from ..processing.algorithms.optimized_hotspots import CellShape

KERNEL_DENSITY = "hotspotpolicing:kerneldensity"
OPTIMIZED = "hotspotpolicing:optimizedhotspots"
SEGMENT_COUNTS = "hotspotpolicing:assignincidents"
HOT_STREETS = "hotspotpolicing:gistar"
DETECTORS = (KERNEL_DENSITY, OPTIMIZED, SEGMENT_COUNTS, HOT_STREETS)
SEGMENT_DETECTORS = (SEGMENT_COUNTS, HOT_STREETS)
EXTRACT = "native:extractbyexpression"
SNAP_TOLERANCE = 30.0


@dataclass(frozen=True)
class Layer:
    """A project layer, by id."""

    id: str


@dataclass(frozen=True)
class Previous:
    """An output of the step before."""

    key: str


RESULT = "RESULT"  # the output the user sees (loaded on the map)
SCRATCH = "TEMPORARY_OUTPUT"  # an output only the next step reads


@dataclass
class DetectorSettings:
    """The dialog's choices. ``start`` and ``end`` are ISO date-times of the period; presets
    keep its length (``days``) instead, so a preset is always about the latest days."""

    layer: str = ""
    date_field: str = ""
    use_period: bool = True
    days: int = 28
    filter: str = ""
    detector: str = KERNEL_DENSITY
    size: float = 0.0
    streets: str = ""
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

    def expression(self):
        """The period and the offence filter as one QGIS expression ("" for none)."""
        parts = []
        if self.date_field and self.use_period and self.start and self.end:
            field = self.date_field.replace('"', '""')
            parts.append(f"\"{field}\" >= to_datetime('{self.start}') AND \"{field}\" <= to_datetime('{self.end}')")
        if self.filter.strip():
            parts.append(f"({self.filter})")
        return " AND ".join(parts)

    def steps(self):
        """[(algorithm id, parameters)] to run one after another. Parameters hold Layer(id)
        for project layers, Previous(key) for an output of the step before, RESULT for the
        output to show and SCRATCH for one only the next step reads."""
        steps, incidents = [], Layer(self.layer)
        if self.expression():
            steps.append((EXTRACT, {"INPUT": incidents, "EXPRESSION": self.expression(), "OUTPUT": SCRATCH}))
            incidents = Previous("OUTPUT")
        if self.detector == KERNEL_DENSITY:
            steps.append((KERNEL_DENSITY, {"INPUT": incidents, "BANDWIDTH": self.size, "CELL_SIZE": 0.0, "OUTPUT": RESULT}))
        elif self.detector == OPTIMIZED:
            steps.append((OPTIMIZED, {"INPUT": incidents, "CELL_SHAPE": int(CellShape.HEXAGON), "CELL_SIZE": self.size, "OUTPUT": RESULT}))
        else:
            counting = {"INCIDENTS": incidents, "SEGMENTS": Layer(self.streets), "TOLERANCE": SNAP_TOLERANCE}
            if self.detector == SEGMENT_COUNTS:
                steps.append((SEGMENT_COUNTS, {**counting, "OUTPUT": RESULT}))
            else:
                steps.append((SEGMENT_COUNTS, {**counting, "OUTPUT": SCRATCH}))
                steps.append(
                    (
                        HOT_STREETS,
                        {
                            "INPUT": Previous("OUTPUT"),
                            "FIELD": "incident_count",
                            "WEIGHTS": int(Neighbours.NETWORK),
                            "NETWORK_STEPS": 1,
                            "FDR": True,
                            "OUTPUT": RESULT,
                        },
                    )
                )
        return steps


def describe(steps, layer_source):
    """The steps as lines a person can repeat: ``qgis_process run`` commands, layers by
    their source (``layer_source(id)``), an earlier step's output named as such."""
    lines = []
    for number, (algorithm, parameters) in enumerate(steps, start=1):
        values = []
        for key, value in parameters.items():
            if isinstance(value, Layer):
                value = layer_source(value.id)
            elif isinstance(value, Previous):
                value = f"<{value.key} of step {number - 1}>"
            elif value == RESULT:
                value = "TEMPORARY_OUTPUT"
            values.append(shlex.quote(f"{key}={value}"))
        lines.append(f"{number}. qgis_process run {algorithm} -- " + " ".join(values))
    return lines
