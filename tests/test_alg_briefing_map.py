"""hotspotpolicing:briefingmap renders the sample city to PDF and PNG: not blank, with the
title and the top hot spots table; what a sergeant reads on it (places named by streets,
rank numbers on the map, street names, furniture off the data, a legend on the page, plan
colours apart from every hot spot class, district pages with their boundary)."""

import html
import os
import re
import subprocess

import numpy as np
import pytest
from qgis.core import QgsProcessingException, QgsVectorLayer
from qgis.PyQt.QtGui import QImage

from .conftest import ROOT, SAMPLE_CITY

pytestmark = pytest.mark.usefixtures("provider")
CITY = f"{SAMPLE_CITY}|layername="
MM = 72 / 25.4  # PDF points per millimetre


def words(pdf, page=1):
    """[(text, x_min, y_min, x_max, y_max)] of every word on ``page``, in PDF points from the top left."""
    out = subprocess.run(
        ["pdftotext", "-bbox", "-f", str(page), "-l", str(page), str(pdf), "-"], capture_output=True, text=True, check=True
    )
    found = re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', out.stdout)
    return [(html.unescape(text), float(a), float(b), float(c), float(d)) for a, b, c, d, text in found]


def template_items(name="briefing_a4_landscape"):
    """{item id: (x, y, x + width, y + height) in mm} of a layout template, and the page (width, height)."""
    from qgis.core import QgsPrintLayout, QgsProject, QgsReadWriteContext
    from qgis.PyQt.QtXml import QDomDocument

    document = QDomDocument()
    with open(os.path.join(ROOT, "resources", "layouts", f"{name}.qpt"), encoding="utf-8") as handle:
        document.setContent(handle.read())
    project = QgsProject()
    layout = QgsPrintLayout(project)
    layout.loadFromTemplate(document, QgsReadWriteContext())
    items = {}
    for name in ("map", "north_arrow", "scale_bar", "legend", "table_frame", "footer", "note", "title", "subtitle"):
        item = layout.itemById(name)
        items[name] = (item.pos().x(), item.pos().y(), item.pos().x() + item.rect().width(), item.pos().y() + item.rect().height())
    page = layout.pageCollection().page(0).pageSize()
    return items, (page.width(), page.height())


def inside(word, box):
    return box[0] <= word[1] and word[3] <= box[2] and box[1] <= word[2] and word[4] <= box[3]


def overlap(a, b):
    return min(a[2], b[2]) - max(a[0], b[0]) > 0.5 and min(a[3], b[3]) - max(a[1], b[1]) > 0.5


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
    result = processing.run(  # no name field given: a text field that tells the beats apart, never fid
        "hotspotpolicing:briefingmap",
        {"LAYERS": [counted_segments], "TOP_N": 3, "DISTRICTS": f"{SAMPLE_CITY}|layername=beats", "OUTPUT": str(pngs)},
    )
    assert sorted(p.name for p in tmp_path.glob("beats_*.png")) == [f"beats_B{i:02d}.png" for i in range(1, 13)]
    assert result["OUTPUT"] == str(tmp_path / "beats_B01.png")  # the first page, a file that exists
    # the page's own district drawn in black: near-black pixels inside the map frame (the segments are coloured)
    image = QImage(result["OUTPUT"])
    items, (width, _) = template_items()
    scale = image.width() / width
    x0, y0, x1, y1 = (int(v * scale) for v in items["map"])
    dark = [
        image.pixelColor(x, y).lightness() < 50 and image.pixelColor(x, y).saturation() < 40
        for x in range(x0 + 8, x1 - 8, 2)
        for y in range(y0 + 8, y1 - 8, 2)
    ]
    assert np.mean(dark) > 0.005


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
    for plain in (
        "Patrol plan, numbered as in the table",
        "Hot and cold streets of incidents (Gi*)",
        "Incident density (incidents per km²)",
    ):
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
    header = next(i for i, line in enumerate(lines) if re.search(r"Rank\s+Pattern\s+Incidents", line))  # no streets: no place
    first_row = next(line.split() for line in lines[header + 1 :] if re.match(r"\s*\d", line))
    assert first_row[0] == "1" and " ".join(first_row[1:-1]) == best["PATTERN"] and first_row[-1] == f"{best['INCIDENT_COUNT']:,}"
    assert str(best["cell_id"]) not in first_row  # never an internal id


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


def test_a_sergeants_briefing_from_the_detector_defaults(tmp_path, hexagon_plan):
    """Hexagons and their patrol plan with the streets: every place named by a street
    crossing (never a cell id), the plan's ranks printed on the map beside the table, street
    names on the map, the scale bar under it, the latest incident's date, no raw numbers."""
    import processing

    hot, plan = hexagon_plan
    out = tmp_path / "briefing.pdf"
    processing.run("hotspotpolicing:briefingmap", {"LAYERS": [f"{CITY}streets", hot, plan], "OUTPUT": str(out)})
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True, check=True).stdout
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if re.search(r"Rank\s+Place\s+Incidents", line))
    rows = [re.search(r"(?:^|\s)(\d+)\s+(near \S.*?)\s{2,}([\d,]+)\s+(\d+)\s*$", line) for line in lines[header + 1 :]]
    rows = [row for row in rows if row]
    ranked = [f for f in QgsVectorLayer(plan).getFeatures() if f["priority_rank"]]
    assert len(rows) >= min(10, len(ranked)) - 2  # a long place name wraps onto a second line
    for row in rows:
        assert re.fullmatch(r"near [^/]+ / [^/]+", row.group(2).strip()), row.group(2)
    cells = {str(f["cell_id"]) for f in ranked}
    assert not cells & {row.group(2) for row in rows}
    flat = " ".join(text.split())
    assert "Data up to 2025-12-31" in flat and "e+0" not in flat and "Band 1" not in flat
    assert "Patrol plan, numbered as in the table" in flat and "Streets" in flat

    found = words(out)
    items, _ = template_items()
    frame = tuple(v * MM for v in items["map"])
    on_map = [w for w in found if inside(w, frame)]
    numbers = {w[0] for w in on_map if w[0].isdigit()}
    assert {str(int(f["priority_rank"])) for f in ranked[:10]} <= numbers  # every rank of the table on the map
    street_names = {f["street_name"] for f in QgsVectorLayer(f"{CITY}streets").getFeatures()}
    labelled = {" ".join(w[0] for w in on_map if w[0] in name.split()) for name in street_names}
    assert sum(name.split()[0] in {w[0] for w in on_map} for name in street_names) >= 20, labelled
    scale = [w for w in found if w[0] == "m" and w[2] > frame[3]]
    assert scale, "the scale bar sits under the map"

    png = tmp_path / "briefing.png"
    processing.run("hotspotpolicing:briefingmap", {"LAYERS": [f"{CITY}streets", hot, plan], "OUTPUT": str(png)})
    image = QImage(str(png))
    x0, y0, x1, y1 = (int(v * image.width() / 297.0) for v in items["map"])
    pixels = [image.pixelColor(x, y) for x in range(x0, x1, 2) for y in range(y0, y1, 2)]
    purple = [c for c in pixels if abs(c.red() - 0x6A) < 25 and abs(c.green() - 0x1B) < 25 and abs(c.blue() - 0x9A) < 25]
    assert len(purple) > 20  # the patrolled cells, drawn on top in the plan's own colour


def test_layers_are_drawn_plan_points_lines_areas_rasters():
    """Streets above the hot spots (which are translucent), the plan above all."""
    from hotspot_policing.processing.algorithms.briefing_map import drawing_order, styled

    hot = QgsVectorLayer(f"{CITY}planted_hotspots", "areas", "ogr")
    streets = QgsVectorLayer(f"{CITY}streets", "streets", "ogr")
    incidents = QgsVectorLayer(f"{CITY}incidents", "incidents", "ogr")
    given = [hot, streets, incidents]
    assert [layer.name() for layer in sorted(given, key=drawing_order)] == ["incidents", "streets", "areas"]
    styled(streets, None, False)
    assert streets.labelsEnabled() and streets.labeling().settings().fieldName == "street_name"
    styled(hot, None, False)  # an area nobody styled: outlined, nothing filled over the streets
    assert hot.renderer().symbol().symbolLayer(0).brushStyle() == 0


def test_plan_colours_stand_apart_from_every_hot_spot_class_also_for_colour_blind_readers():
    """CIELAB distance (CIE76) between each patrol colour and each hot or cold spot class,
    seen with normal vision and simulated protanopia, deuteranopia and tritanopia
    (Machado, Oliveira and Fernandes 2009, severity 1): at least 15, clearly apart."""
    from hotspot_policing.processing.styles import CATEGORIES

    machado = {
        "normal": np.eye(3),
        "protan": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]],
        "deutan": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]],
        "tritan": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.303900]],
    }

    def lab(colours, vision):
        rgb = np.array([[int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in colours]) / 255
        linear = np.clip(np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4) @ np.array(machado[vision]).T, 0, 1)
        xyz = linear @ np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]).T / [0.95047, 1, 1.08883]
        f = np.where(xyz > 216 / 24389, np.cbrt(xyz), (24389 / 27 * xyz + 16) / 116)
        return np.column_stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])])

    plan = [colour for value, colour, _ in CATEGORIES["dosage"][1] if value > 0]
    classes = [colour for style in ("gi_bin", "cotype") for _, colour, _ in CATEGORIES[style][1]]
    for vision in machado:
        distance = np.linalg.norm(lab(plan, vision)[:, None] - lab(classes, vision)[None], axis=2)
        assert distance.min() >= 15, (vision, plan[distance.min(axis=1).argmin()], classes[distance.min(axis=0).argmin()])


@pytest.mark.parametrize("name", ["briefing_a4_landscape", "briefing_a4_portrait", "briefing_letter_landscape", "briefing_letter_portrait"])
def test_map_furniture_hides_no_data(name):
    """North arrow, scale bar, legend and table lie outside the map's frame, on the page."""
    items, (width, height) = template_items(name)
    for item in ("north_arrow", "scale_bar", "legend", "table_frame", "footer", "note"):
        assert not overlap(items[item], items["map"]), item
        x0, y0, x1, y1 = items[item]
        assert 0 <= x0 and x1 <= width and 0 <= y0 and y1 <= height, item


@pytest.mark.parametrize("page, orientation", [(0, 0), (1, 1)])
def test_the_legend_stays_on_the_page_with_every_layer_of_the_sample_city(tmp_path, hexagon_plan, page, orientation):
    """Every layer of the sample city (30,000 incidents, 20,160 pings, areas) with the results
    and 40 table rows: nothing runs off the page or over the footer, the legend and the table
    do not overlap, and the table is complete."""
    import processing

    hot, plan = hexagon_plan
    layers = [plan, hot] + [f"{CITY}{name}" for name in ("incidents", "patrol_pings", "planted_hotspots", "streets", "beats", "study_area")]
    out = tmp_path / "all.pdf"
    processing.run(
        "hotspotpolicing:briefingmap", {"LAYERS": layers, "TOP_N": 40, "PAGE": page, "ORIENTATION": orientation, "OUTPUT": str(out)}
    )
    found = words(out)
    items, (width, height) = template_items(f"briefing_{('a4', 'letter')[page]}_{('landscape', 'portrait')[orientation]}")
    frame = tuple(v * MM for v in items["map"])
    footer_top = items["footer"][1] * MM
    beside = [w for w in found if not inside(w, frame) and w[2] < footer_top - 1 and w[2] > frame[1]]
    for word in found:
        assert 0 <= word[1] and word[3] <= width * MM and 0 <= word[2] and word[4] <= height * MM, word
    for i, a in enumerate(beside):
        assert a[4] <= footer_top + 0.5, a
        for b in beside[i + 1 :]:
            assert not overlap(a[1:], b[1:]), (a, b)
    texts = [w[0] for w in found]
    assert "Study" in texts and "Rank" in texts  # the last legend entry and the table are both there
    ranked = sum(1 for f in QgsVectorLayer(plan).getFeatures() if f["priority_rank"])
    assert str(ranked) in [w[0] for w in beside if w[1] < frame[2] + 40 * MM or orientation]


def test_names_numbers_and_dates_as_people_read_them():
    from hotspot_policing.processing.algorithms.briefing_map import data_date_of, readable
    from hotspot_policing.processing.places import name_field

    assert [readable(v) for v in (1234, 12345.678, 0.5, 0.00001, None, "Persistent Hot Spot", float("nan"))] == [
        "1,234",
        "12,346",
        "0.5",
        "0.0",
        "",
        "Persistent Hot Spot",
        "",
    ]
    beats = QgsVectorLayer(f"{CITY}beats", "beats", "ogr")
    assert name_field(beats) == "beat_id"  # district is shared by four beats; fid is a number
    assert name_field(QgsVectorLayer(f"{CITY}incidents", "incidents", "ogr"), names_only=True) is None  # offence names no place
    pings = QgsVectorLayer(f"{CITY}patrol_pings", "pings", "ogr")
    record = {"inputs": [{"latest_time": "2025-11-30T22:00:00"}]}
    assert data_date_of([pings], [record]) == "2025-11-30"  # the incidents' date, not the pings'
    assert data_date_of([pings], [None]) == "2025-12-14"  # nothing recorded: the points drawn
