"""hotspotpolicing:concentration through processing.run: results, report, bad input."""

import pytest
from qgis.core import QgsFeature, QgsProcessingException, QgsVectorLayer

pytestmark = pytest.mark.usefixtures("provider")


def units(counts):
    layer = QgsVectorLayer("None?field=name:string&field=incident_count:integer", "units", "memory")
    features = []
    for i, count in enumerate(counts):
        feature = QgsFeature(layer.fields())
        feature.setAttributes([f"segment {i}", count])
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    return layer


def run(parameters):
    import processing

    return processing.run("hotspotpolicing:concentration", parameters)


def test_results_and_report(tmp_path):
    # hand-worked: 40, 20, 15, 10, 5, 4, 3, 2, 1, 0 -> 25 % held by 1 of 10 units, 50 % by 2
    counts = [5, 40, 0, 15, 2, 20, 10, 1, 4, 3]
    report = tmp_path / "concentration.html"
    result = run({"INPUT": units(counts), "FIELD": "incident_count", "OUTPUT_HTML": str(report)})
    assert result["PCT_UNITS_25"] == pytest.approx(10.0) and result["PCT_UNITS_50"] == pytest.approx(20.0)
    assert result["UNITS"] == 10 and result["TOTAL"] == 100
    # G = (2 sum i x_(i) / C - (N + 1)) / N with x ascending: 0,1,2,3,4,5,10,15,20,40
    ascending = sorted(counts)
    expected = (2 * sum((i + 1) * x for i, x in enumerate(ascending)) / 100 - 11) / 10
    assert result["GINI"] == pytest.approx(expected)
    assert result["GENERALIZED_GINI"] == pytest.approx(expected)  # C >= N: the same
    text = report.read_text(encoding="utf-8")
    assert "Lorenz curve" in text and "data:image/png;base64," in text and "20.0 %" in text


def test_nulls_count_as_zero_and_bad_input():
    assert run({"INPUT": units([3, None, 1, 0]), "FIELD": "incident_count"})["UNITS"] == 4
    with pytest.raises(QgsProcessingException, match="zero"):
        run({"INPUT": units([0, 0, 0]), "FIELD": "incident_count"})
    with pytest.raises(QgsProcessingException, match="negative"):
        run({"INPUT": units([3, -1]), "FIELD": "incident_count"})
