"""hotspotpolicing:briefingmap renders the sample city to PDF and PNG: not blank, with the
title and the top hot spots table."""

import re
import subprocess

import numpy as np
import pytest
from qgis.core import QgsProcessingException, QgsVectorLayer
from qgis.PyQt.QtGui import QImage

from .conftest import SAMPLE_CITY

pytestmark = pytest.mark.usefixtures("provider")


@pytest.fixture(scope="module")
def counted_segments(provider, tmp_path_factory):
    import processing

    folder = tmp_path_factory.mktemp("briefing")
    segments = processing.run(
        "hotspotpolicing:streetsegments", {"INPUT": f"{SAMPLE_CITY}|layername=streets", "OUTPUT": str(folder / "s.gpkg")}
    )
    counts = processing.run(
        "hotspotpolicing:assignincidents",
        {
            "INCIDENTS": f"{SAMPLE_CITY}|layername=incidents",
            "SEGMENTS": segments["OUTPUT"],
            "TOLERANCE": 20.0,
            "OUTPUT": str(folder / "c.gpkg"),
        },
    )
    return counts["OUTPUT"]


def non_blank(image):
    pixels = np.array([[image.pixelColor(x, y).lightness() for x in range(0, image.width(), 7)] for y in range(0, image.height(), 7)])
    return pixels.std() > 10 and (pixels < 128).mean() > 0.01


def test_pdf_has_title_table_and_content(tmp_path, counted_segments):
    import processing

    out = tmp_path / "briefing.pdf"
    streets = QgsVectorLayer(counted_segments, "segments", "ogr")
    processing.run(
        "hotspotpolicing:briefingmap",
        {
            "LAYERS": [streets],
            "TITLE": "Sample City hot streets",
            "SUBTITLE": "All incidents 2023-2025",
            "TOP_N": 5,
            "DATA_DATE": "2025-12-31",
            "OUTPUT": str(out),
        },
    )
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True, check=True).stdout
    assert "Sample City hot streets" in text and "All incidents 2023-2025" in text and "Data up to 2025-12-31" in text
    top = max(streets.getFeatures(), key=lambda f: f["incident_count"])
    assert "Incidents" in text and top["street_name"] in text and str(top["incident_count"]) in text
    subprocess.run(["pdftoppm", "-png", "-r", "50", "-singlefile", str(out), str(tmp_path / "page")], check=True)
    assert non_blank(QImage(str(tmp_path / "page.png")))


def test_png_portrait_letter(tmp_path, counted_segments):
    import processing

    out = tmp_path / "briefing.png"
    processing.run("hotspotpolicing:briefingmap", {"LAYERS": [counted_segments], "PAGE": 1, "ORIENTATION": 1, "OUTPUT": str(out)})
    image = QImage(str(out))
    assert image.height() > image.width() > 1000 and non_blank(image)


def test_bad_output_path(tmp_path, counted_segments):
    import processing

    with pytest.raises(QgsProcessingException, match="pdf or a .png"):
        processing.run("hotspotpolicing:briefingmap", {"LAYERS": [counted_segments], "OUTPUT": str(tmp_path / "map.docx")})
    with pytest.raises(QgsProcessingException, match="Cannot write"):
        processing.run("hotspotpolicing:briefingmap", {"LAYERS": [counted_segments], "OUTPUT": str(tmp_path / "missing" / "map.pdf")})


def test_one_page_per_district(tmp_path, counted_segments):
    import processing

    out = tmp_path / "districts.pdf"
    processing.run(
        "hotspotpolicing:briefingmap",
        {
            "LAYERS": [counted_segments],
            "TITLE": "Hot streets",
            "TOP_N": 3,
            "DISTRICTS": f"{SAMPLE_CITY}|layername=beats",
            "DISTRICT_FIELD": "beat_id",
            "OUTPUT": str(out),
        },
    )
    info = subprocess.run(["pdfinfo", str(out)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"Pages:\s+12\n", info)  # the sample city has 12 beats
    first_page = subprocess.run(
        ["pdftotext", "-f", "1", "-l", "1", "-layout", str(out), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Hot streets: B01" in first_page and "Incidents" in first_page
    pngs = tmp_path / "beats.png"
    processing.run(
        "hotspotpolicing:briefingmap",
        {
            "LAYERS": [counted_segments],
            "TOP_N": 3,
            "DISTRICTS": f"{SAMPLE_CITY}|layername=beats",
            "DISTRICT_FIELD": "beat_id",
            "OUTPUT": str(pngs),
        },
    )
    assert sorted(p.name for p in tmp_path.glob("beats_*.png")) == [f"beats_B{i:02d}.png" for i in range(1, 13)]
