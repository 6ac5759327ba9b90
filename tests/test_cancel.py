"""Cancel, for every algorithm of the provider: pressed at the first progress report, the run
ends within a second, without an error or traceback, and leaves no output behind."""

import time

import pytest
from qgis.core import QgsApplication, QgsProcessingContext, QgsProcessingFeedback, QgsProject

from .conftest import SAMPLE_CITY

pytestmark = pytest.mark.usefixtures("provider")


def layer(name):
    return f"{SAMPLE_CITY}|layername={name}"


PERIODS = {"BEFORE_START": "2024-01-01", "BEFORE_END": "2024-12-31", "AFTER_START": "2025-01-01", "AFTER_END": "2025-12-31"}


def parameters(folder):
    """Working parameters of every algorithm, all outputs to files in ``folder``."""
    incidents, streets, hotspots = layer("incidents"), layer("streets"), layer("planted_hotspots")
    local = {"INPUT": incidents, "FIELD": "harm_weight", "WEIGHTS": 1, "NEIGHBORS": 8, "PERMUTATIONS": 99}
    return {
        "kerneldensity": {"INPUT": incidents, "BANDWIDTH": 150.0, "CELL_SIZE": 5.0, "OUTPUT": folder / "kde.tif"},
        "gistar": {**local, "OUTPUT": folder / "gi.gpkg"},
        "localmoran": {**local, "OUTPUT": folder / "lm.gpkg"},
        "optimizedhotspots": {"INPUT": incidents, "STUDY_AREA": layer("study_area"), "OUTPUT": folder / "ohs.gpkg"},
        "streetsegments": {"INPUT": streets, "OUTPUT": folder / "segments.gpkg"},
        "hotstreets": {"INCIDENTS": incidents, "STREETS": streets, "OUTPUT": folder / "hot_streets.gpkg"},
        "assignincidents": {"INCIDENTS": incidents, "SEGMENTS": streets, "OUTPUT": folder / "counts.gpkg"},
        "concentration": {"INPUT": hotspots, "FIELD": "n_incidents", "OUTPUT_HTML": folder / "concentration.html"},
        "patroldosage": {
            "HOTSPOTS": hotspots,
            "RISK_FIELD": "n_incidents",
            "OUTPUT": folder / "plan.gpkg",
            "OUTPUT_SCHEDULE": folder / "schedule.gpkg",
        },
        "observeddosage": {
            "PINGS": layer("patrol_pings"),
            "HOTSPOTS": hotspots,
            "UNIT_FIELD": "unit_id",
            "TIME_FIELD": "pinged_at",
            "OUTPUT": folder / "observed.gpkg",
        },
        "evaluateforecast": {
            "HOTSPOTS": hotspots,
            "INCIDENTS": incidents,
            "STUDY_AREA": layer("study_area"),
            "UNITS": layer("beats"),
            "INCIDENTS_BEFORE": incidents,
            "OUTPUT_HTML": folder / "evaluation.html",
        },
        "briefingmap": {"LAYERS": [hotspots, streets], "OUTPUT": folder / "briefing.pdf"},
        "nearrepeat": {
            "INPUT": incidents,
            "TIME_FIELD": "occurred_at",
            "SPATIAL_BANDS": "0,1,51,101",
            "PERMUTATIONS": 99,
            "OUTPUT_TABLE": folder / "near_repeat.gpkg",
            "OUTPUT_HTML": folder / "near_repeat.html",
            "OUTPUT_RISK": folder / "risk_zones.gpkg",
        },
        "emerginghotspots": {"INPUT": incidents, "OUTPUT": folder / "emerging.gpkg", "OUTPUT_CUBE": folder / "cube.gpkg"},
        "changetest": {
            "INPUT": incidents,
            "UNITS": layer("beats"),
            **PERIODS,
            "OUTPUT": folder / "change.gpkg",
            "OUTPUT_HTML": folder / "change.html",
        },
        "evaluateintervention": {
            "TARGETS": hotspots,
            "INCIDENTS": incidents,
            "STUDY_AREA": layer("study_area"),
            **PERIODS,
            "OUTPUT_HTML": folder / "intervention.html",
        },
        "networkkde": {"INPUT": incidents, "NETWORK": streets, "BANDWIDTH": 200.0, "METHOD": 2, "OUTPUT": folder / "network.gpkg"},
        "aoristic": {
            "INPUT": incidents,
            "ZONES": hotspots,
            "OUTPUT_TABLE": folder / "when.gpkg",
            "OUTPUT": folder / "when_zones.gpkg",
            "OUTPUT_HTML": folder / "when.html",
        },
    }


class CancelAtFirstReport(QgsProcessingFeedback):
    """Presses Cancel at the first progress report and keeps every error reported."""

    def __init__(self):
        super().__init__()
        self.cancelled_at, self.errors = None, []
        self.progressChanged.connect(self._first_report)

    def _first_report(self, progress):
        if self.cancelled_at is None:
            self.cancelled_at = time.perf_counter()
            self.cancel()

    def reportError(self, error, fatal=False):  # noqa: N802 - QGIS API
        self.errors.append(error)
        super().reportError(error, fatal)


def algorithm_ids():
    from hotspot_policing.processing.algorithms import ALGORITHMS

    return [algorithm().name() for algorithm in ALGORITHMS]


def test_every_algorithm_has_cancel_parameters(tmp_path):
    assert sorted(parameters(tmp_path)) == sorted(algorithm_ids())


@pytest.mark.parametrize("name", algorithm_ids())
def test_cancel_at_the_first_progress_report(tmp_path, name):
    values = {key: (str(value) if hasattr(value, "parent") else value) for key, value in parameters(tmp_path)[name].items()}
    algorithm = QgsApplication.processingRegistry().createAlgorithmById(f"hotspotpolicing:{name}")
    context = QgsProcessingContext()
    context.setProject(QgsProject.instance())
    feedback = CancelAtFirstReport()
    results, ok = algorithm.run(values, context, feedback)
    ended = time.perf_counter()
    assert feedback.cancelled_at is not None, "no progress was reported"
    assert ended - feedback.cancelled_at < 1.0
    assert ok and results == {}, results
    assert feedback.errors == []
    assert list(tmp_path.iterdir()) == []
    assert context.layersToLoadOnCompletion() == {}
