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
    with pytest.raises(QgsProcessingException, match="missing of Briefing map \\(OUTPUT\\) does not exist"):
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
    result = processing.run(
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
    assert result["OUTPUT"] == str(tmp_path / "beats_B01.png")  # the first page, a file that exists


def test_project_layers_keep_their_look_and_unstyled_results_get_theirs(tmp_path, counted_segments, qgis_new_project):
    import processing
    from qgis.core import QgsProcessingContext, QgsProject, QgsSingleSymbolRenderer, QgsSymbol

    unstyled = QgsVectorLayer(counted_segments, "counts", "ogr")
    unstyled.setRenderer(QgsSingleSymbolRenderer(QgsSymbol.defaultSymbol(unstyled.geometryType())))
    QgsProject.instance().addMapLayer(unstyled)
    context = QgsProcessingContext()
    context.setProject(QgsProject.instance())
    out = tmp_path / "map.pdf"
    processing.run("hotspotpolicing:briefingmap", {"LAYERS": [unstyled], "OUTPUT": str(out)}, context=context)
    assert unstyled.renderer().type() == "singleSymbol"  # the user's layer is untouched
    text = " ".join(subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True, check=True).stdout.split())
    assert "Incidents per street segment" in text and "no incidents" in text  # drawn with the segments style


def test_briefing_from_qgis_process_outputs_is_styled_and_plain(tmp_path):
    """Files made by qgis_process, mapped by qgis_process: styled, plan on top, plain legend,
    places by cross streets, the data's own date, provenance in the PDF."""
    from qgis.core import QgsFeatureRequest

    from .test_routes import qgis_process

    city = f"{SAMPLE_CITY}|layername="
    runs = {
        "density.tif": ("kerneldensity", [f"INPUT={city}incidents", "CELL_SIZE=20"]),
        "hot_streets.gpkg": ("hotstreets", [f"INCIDENTS={city}incidents", f"STREETS={city}streets"]),
    }
    for name, (algorithm, arguments) in runs.items():
        done = qgis_process(tmp_path, "run", f"hotspotpolicing:{algorithm}", "--", *arguments, f"OUTPUT={tmp_path / name}")
        assert done.returncode == 0, done.stderr[-2000:]
    plan = tmp_path / "plan.gpkg"
    hot_streets = tmp_path / "hot_streets.gpkg"
    done = qgis_process(tmp_path, "run", "hotspotpolicing:patroldosage", "--", f"HOTSPOTS={hot_streets}", f"OUTPUT={plan}")
    assert done.returncode == 0, done.stderr[-2000:]
    out = tmp_path / "briefing.pdf"
    layers = [f"LAYERS={tmp_path / name}" for name in ("density.tif", "hot_streets.gpkg", "plan.gpkg")]
    done = qgis_process(tmp_path, "run", "hotspotpolicing:briefingmap", "--", *layers, "TITLE=Hot streets", f"OUTPUT={out}")
    assert done.returncode == 0, done.stderr[-2000:]

    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True, check=True).stdout
    flat = " ".join(text.replace("ﬁ", "fi").split())  # pdftotext keeps the font's fi ligature
    for plain in ("Patrol plan: visits per shift", "Hot and cold streets of incidents (Gi*)", "Incident density (incidents per km²)"):
        assert plain in flat, plain
    for raw in ("Band 1", "Gray", "hot_streets", "density.tif", "plan.gpkg"):
        assert raw not in text, raw
    assert "Hot spot, 99% confidence" in flat or "Hot spot, 95% confidence" in flat
    assert " between " in flat  # places named by their cross streets
    incidents = QgsVectorLayer(f"{city}incidents", "incidents", "ogr")
    request = QgsFeatureRequest().setSubsetOfAttributes(["occurred_at"], incidents.fields())
    latest = max(f["occurred_at"] for f in incidents.getFeatures(request))
    assert f"Data up to {latest.date().toString('yyyy-MM-dd')}" in flat
    info = subprocess.run(["pdfinfo", str(out)], capture_output=True, text=True, check=True).stdout
    assert "Hot Spot Policing" in info and "Title:" in info and "Hot streets" in info
    subprocess.run(["pdftoppm", "-png", "-r", "40", "-singlefile", str(out), str(tmp_path / "page")], check=True)
    image = QImage(str(tmp_path / "page.png"))
    pixels = np.array([[image.pixelColor(x, y).lightness() for x in range(0, image.width(), 3)] for y in range(0, image.height(), 3)])
    assert (pixels < 40).mean() < 0.05 and non_blank(image)  # no black raster background over the page


def test_text_is_printed_as_written_and_file_names_from_data_are_safe(tmp_path, counted_segments):
    import processing
    from qgis.core import QgsFeature, QgsGeometry

    segments = QgsVectorLayer(counted_segments, "segments", "ogr")
    box = segments.extent()
    districts = QgsVectorLayer(f"Polygon?crs={segments.crs().authid()}&field=name:string", "districts", "memory")
    third = box.width() / 3
    for k, name in enumerate(["North/East", "O'Hara", "North East"]):  # a folder, a quote, and a clash once cleaned
        feature = QgsFeature(districts.fields())
        x = box.xMinimum() + k * third
        feature.setGeometry(QgsGeometry.fromRect(type(box)(x, box.yMinimum(), x + third, box.yMaximum())))
        feature.setAttributes([name])
        districts.dataProvider().addFeatures([feature])
    title = "Night [% @user_account_name %] shift"
    out = tmp_path / "pages.png"
    processing.run(
        "hotspotpolicing:briefingmap",
        {"LAYERS": [segments], "TITLE": title, "DISTRICTS": districts, "DISTRICT_FIELD": "name", "OUTPUT": str(out)},
    )
    pages = sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".png")
    assert pages == ["pages_North_East_1.png", "pages_North_East_3.png", "pages_O_Hara_2.png"]  # all in the folder, distinct
    pdf = tmp_path / "title.pdf"
    processing.run("hotspotpolicing:briefingmap", {"LAYERS": [segments], "TITLE": title, "OUTPUT": str(pdf)})
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert title in text  # printed, not evaluated


def test_emerging_hot_spot_categories_on_a_briefing(tmp_path):
    """The categories in the legend under a plain name; the table lists the most pressing
    patterns first (new, intensifying, consecutive, persistent ...), busiest first within one."""
    import processing

    emerging = processing.run(
        "hotspotpolicing:emerginghotspots",
        {"INPUT": f"{SAMPLE_CITY}|layername=incidents", "OUTPUT": str(tmp_path / "emerging.gpkg")},
    )["OUTPUT"]
    out = tmp_path / "briefing.pdf"
    processing.run("hotspotpolicing:briefingmap", {"LAYERS": [emerging], "TOP_N": 5, "OUTPUT": str(out)})
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True, check=True).stdout
    assert "Trends of incidents hot spots" in text and "Persistent Hot Spot" in text and "Pattern" in text
    layer = QgsVectorLayer(emerging)
    order = {1: 0, 3: 1, 2: 2, 4: 3, 7: 4, 6: 5, 5: 6, 8: 7}
    best = min(layer.getFeatures(), key=lambda f: (order.get(f["PATTERN_CODE"], 9), -f["INCIDENT_COUNT"]))
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if re.search(r"Place\s+Pattern\s+Incidents", line))
    first_row = next(line.split() for line in lines[header + 1 :] if re.match(r"\s*\d", line))
    assert first_row[0] == str(best["cell_id"]) and first_row[-1] == str(best["INCIDENT_COUNT"])


def test_a_weekday_by_hour_grid_of_the_places(tmp_path):
    """With HOUR_PROFILE the foot of the legend's column shows the grid; without, it is empty."""
    import processing

    planted = f"{SAMPLE_CITY}|layername=planted_hotspots"
    table = processing.run(
        "hotspotpolicing:aoristic",
        {"INPUT": f"{SAMPLE_CITY}|layername=incidents", "ZONES": planted, "OUTPUT_TABLE": str(tmp_path / "when.gpkg")},
    )["OUTPUT_TABLE"]
    images = []
    for profile in (None, table):
        out = tmp_path / f"briefing_{profile is None}.png"
        processing.run("hotspotpolicing:briefingmap", {"LAYERS": [planted], "HOUR_PROFILE": profile, "TOP_N": 3, "OUTPUT": str(out)})
        image = QImage(str(out))
        corner = [
            image.pixelColor(x, y)
            for x in range(int(image.width() * 0.66), image.width() - 20, 4)
            for y in range(int(image.height() * 0.75), int(image.height() * 0.9), 4)
        ]
        images.append(np.mean([c.red() - c.blue() for c in corner]))  # the grid's yellow-to-red cells
    assert images[0] < 1 and images[1] > 20
