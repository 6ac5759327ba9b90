"""hotspotpolicing:patroldosage through processing.run: plan invariants, schedule, choices,
bad input."""

import pytest
from qgis.core import QgsFeature, QgsGeometry, QgsPointXY, QgsProcessingException, QgsVectorLayer

pytestmark = pytest.mark.usefixtures("provider")


def hotspots(risks, gi_bins=None):
    layer = QgsVectorLayer("Point?crs=EPSG:32630&field=name:string&field=harm:double&field=Gi_Bin:integer", "hs", "memory")
    features = []
    for i, risk in enumerate(risks):
        feature = QgsFeature(layer.fields())
        feature.setGeometry(QgsGeometry.fromPointXY(QgsPointXY(i * 100.0, 0.0)))
        feature.setAttributes([f"spot {i}", risk, (gi_bins or [3] * len(risks))[i]])
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    return layer


def run(parameters):
    import processing

    return processing.run("hotspotpolicing:patroldosage", {"RISK_FIELD": "harm", "OUTPUT": "memory:", **parameters})


def test_plan_and_schedule():
    risks = [120.0, 80.0, 75.0, 40.0, 10.0, 5.0, 1.0]
    plan = {"PATROL_MINUTES": 150, "MAX_HOTSPOTS": 5, "SHIFT_HOURS": 8, "SHIFTS": 2, "OUTPUT_SCHEDULE": "memory:"}
    result = run({"HOTSPOTS": hotspots(risks), "SEED": 4, **plan})
    rows = sorted(result["OUTPUT"].getFeatures(), key=lambda f: f["priority_rank"])
    assert [f["name"] for f in rows] == ["spot 0", "spot 1", "spot 2", "spot 3", "spot 4"]
    minutes = [f["minutes_per_shift"] for f in rows]
    assert sum(minutes) <= 150 and minutes == sorted(minutes, reverse=True) and min(minutes) >= 10
    assert result["MINUTES_PLANNED"] == sum(minutes) and result["HOTSPOTS_FUNDED"] == 5
    visits = list(result["OUTPUT_SCHEDULE"].getFeatures())
    assert {v["shift"] for v in visits} == {1, 2}
    assert all(10 <= v["minutes"] <= 15 for v in visits)
    for f in rows:
        for shift in (1, 2):
            planned = [v for v in visits if v["priority_rank"] == f["priority_rank"] and v["shift"] == shift]
            assert len(planned) == f["visits_per_shift"] and sum(v["minutes"] for v in planned) == f["minutes_per_shift"]
    assert visits[0]["planned_start"][2] == ":"
    names = {f["priority_rank"]: f["name"] for f in rows}
    assert all(v["place"] == names[v["priority_rank"]] and v["unit"] == 1 for v in visits)  # a place people know
    for shift in (1, 2):  # one unit: its visits one after another, never two at once
        mine = sorted((v["start_minute"], v["minutes"]) for v in visits if v["shift"] == shift)
        assert all(a + length <= b for (a, length), (b, _) in zip(mine, mine[1:]))
    again = run({"HOTSPOTS": hotspots(risks), "SEED": 4, **plan})
    other = run({"HOTSPOTS": hotspots(risks), "SEED": 5, **plan})
    starts = lambda r: [v["start_minute"] for v in r["OUTPUT_SCHEDULE"].getFeatures()]  # noqa: E731
    assert starts(again) == starts(result) and starts(other) != starts(result)


def test_units_share_the_schedule_and_a_schedule_one_unit_cannot_keep_is_refused(tmp_path):
    risks = [float(r) for r in range(40, 0, -1)]
    plan = {"PATROL_MINUTES": 900, "MAX_HOTSPOTS": 40, "SHIFT_HOURS": 8, "SHIFTS": 3, "SEED": 2}
    out = tmp_path / "plan.gpkg"
    with pytest.raises(QgsProcessingException, match="use at least 2 units"):
        run({"HOTSPOTS": hotspots(risks), **plan, "OUTPUT": str(out), "OUTPUT_SCHEDULE": "memory:"})
    assert not out.exists()  # refused before anything was written
    result = run({"HOTSPOTS": hotspots(risks), **plan, "UNITS": 3, "OUTPUT_SCHEDULE": "memory:"})
    visits = list(result["OUTPUT_SCHEDULE"].getFeatures())
    assert {v["unit"] for v in visits} == {1, 2, 3}
    for shift in (1, 2, 3):
        for unit in (1, 2, 3):
            mine = sorted((v["start_minute"], v["minutes"]) for v in visits if v["shift"] == shift and v["unit"] == unit)
            assert all(a + length <= b for (a, length), (b, _) in zip(mine, mine[1:])) and mine[-1][0] + mine[-1][1] <= 480


def test_choices_by_gi_bin_and_by_risk_share():
    layer = hotspots([50.0, 40.0, 30.0, 20.0, 10.0], gi_bins=[3, 0, 3, 2, 3])
    by_bin = run({"HOTSPOTS": layer, "SELECTION": 1, "PATROL_MINUTES": 100})
    assert sorted(f["name"] for f in by_bin["OUTPUT"].getFeatures()) == ["spot 0", "spot 2", "spot 4"]
    # risk 150 in all: 50 + 40 = 90 >= 50 % of it -> the two riskiest
    by_share = run({"HOTSPOTS": layer, "SELECTION": 2, "RISK_SHARE": 50.0, "PATROL_MINUTES": 100})
    assert sorted(f["name"] for f in by_share["OUTPUT"].getFeatures()) == ["spot 0", "spot 1"]


def test_small_budget_funds_the_riskiest_and_says_what_would_cover_all():
    result = run({"HOTSPOTS": hotspots([5.0, 50.0, 20.0]), "PATROL_MINUTES": 20})
    assert result["HOTSPOTS_FUNDED"] == 2 and result["BUDGET_NEEDED"] == 30
    funded = {f["name"]: f["minutes_per_shift"] for f in result["OUTPUT"].getFeatures()}
    assert funded["spot 0"] == 0 and funded["spot 1"] >= 10 and funded["spot 2"] >= 10


@pytest.mark.parametrize(
    "extra,message",
    [
        ({"PATROL_MINUTES": 0}, "budget"),
        ({"VISIT_MIN": 20, "VISIT_MAX": 15}, "longer than the longest"),
        ({"RISKS": [3.0, -1.0]}, "negative"),
        ({"SELECTION": 1, "RISKS": [1.0, 2.0], "BINS": [0, 0]}, "No feature qualifies"),
    ],
)
def test_bad_input(extra, message):
    layer = hotspots(extra.pop("RISKS", [3.0, 2.0]), extra.pop("BINS", None))
    with pytest.raises(QgsProcessingException, match=message):
        run({"HOTSPOTS": layer, **extra})


def test_no_features():
    with pytest.raises(QgsProcessingException, match="no features"):
        run({"HOTSPOTS": hotspots([])})


def test_defaults_patrol_the_significant_hot_spots_and_refuse_ids(tmp_path):
    """Left as they come: the plan on optimized hot spots funds significant cells only, ranked
    by a recognised risk field, never by cell_id; an id as risk or weight is refused."""
    import processing
    from qgis.core import QgsProcessingException, QgsVectorLayer

    from .conftest import SAMPLE_CITY

    cells = processing.run(
        "hotspotpolicing:optimizedhotspots",
        {
            "INPUT": f"{SAMPLE_CITY}|layername=incidents",
            "STUDY_AREA": f"{SAMPLE_CITY}|layername=study_area",
            "OUTPUT": str(tmp_path / "c.gpkg"),
        },
    )["OUTPUT"]
    plan = processing.run("hotspotpolicing:patroldosage", {"HOTSPOTS": cells, "OUTPUT": "memory:"})["OUTPUT"]
    chosen = list(plan.getFeatures())
    assert chosen and all(f["Gi_Bin"] == 3 for f in chosen)
    significant = sorted((f["incident_count"] for f in QgsVectorLayer(cells).getFeatures() if f["Gi_Bin"] == 3), reverse=True)
    assert sorted((f["incident_count"] for f in chosen), reverse=True) == significant[: len(chosen)]
    with pytest.raises(QgsProcessingException, match="'cell_id' identifies"):
        processing.run("hotspotpolicing:patroldosage", {"HOTSPOTS": cells, "RISK_FIELD": "cell_id", "OUTPUT": "memory:"})
    with pytest.raises(QgsProcessingException, match="'incident_id' identifies"):
        processing.run(
            "hotspotpolicing:kerneldensity",
            {"INPUT": f"{SAMPLE_CITY}|layername=incidents", "WEIGHT_FIELD": "incident_id", "OUTPUT": str(tmp_path / "k.tif")},
        )


def test_a_sparse_offence_gets_a_local_distance_band_and_its_hot_spot(tmp_path):
    """Burglary in the last quarter of 2025 (496 incidents), no study area: the automatic band
    stays within a fifth of the city, and the Riverside flats' burglaries make hot cells."""
    import processing
    from qgis.core import QgsGeometry, QgsPointXY

    from .conftest import SAMPLE_CITY

    result = processing.run(
        "hotspotpolicing:optimizedhotspots",
        {
            "INPUT": f"{SAMPLE_CITY}|layername=incidents|subset=\"offence\" = 'burglary' AND \"occurred_at\" >= '2025-10-01'",
            "OUTPUT": "memory:",
        },
    )
    assert result["DISTANCE_USED"] <= 0.2 * 5000 and result["HOT_CELLS"] > 0
    riverside = QgsGeometry.fromPointXY(QgsPointXY(444880.79, 4470807.42)).buffer(130, 16)
    hot = [f for f in result["OUTPUT"].getFeatures() if f["Gi_Bin"] > 0]
    assert any(f.geometry().intersects(riverside) for f in hot)
