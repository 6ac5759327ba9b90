"""The demo: kernel density hot spots of the bundled sample city, run headless.

    /usr/bin/python3 scripts/demo.py out        (or: make demo)

Runs hotspotpolicing:kerneldensity through Processing on the sample city's incidents
(harm-weighted, and a plain count of burglaries) and writes into the output folder the
GeoTIFFs, their provenance records and a map image of each over the street network; then
the street-segment workflow: centre-lines to street segments, incidents counted per segment,
the concentration report, and a map of the segments by count.
"""

import os
import shutil
import sys

from headless import ROOT, qgis_session

SAMPLE_CITY = os.path.join(ROOT, "resources", "sample_data", "sample_city.gpkg")

RUNS = [
    ("sample_city_harm_kde", "Harm-weighted incident density, 2023-2025", {"WEIGHT_FIELD": "harm_weight"}, None),
    ("sample_city_burglary_kde", "Burglary density, 2025", {}, "\"offence\" = 'burglary' AND \"occurred_at\" >= '2025-01-01'"),
]


def main(out_dir):
    with qgis_session() as folder:
        run_demo(out_dir, folder)


def run_demo(out_dir, folder):
    import processing
    from qgis.core import QgsVectorLayer

    from hotspot_policing.processing.styles import apply_style

    os.makedirs(out_dir, exist_ok=True)

    # QGIS may touch a GeoPackage's header when it opens it: work on a copy.
    city = os.path.join(folder, "sample_city.gpkg")
    shutil.copyfile(SAMPLE_CITY, city)
    streets = QgsVectorLayer(f"{city}|layername=streets", "streets", "ogr")
    study_area = QgsVectorLayer(f"{city}|layername=study_area", "study area", "ogr")
    for name, title, extra, expression in RUNS:
        incidents = f"{city}|layername=incidents"
        if expression:  # a public algorithm filters, as in a model (a layer filter would put the file in WAL mode)
            extract = {"INPUT": incidents, "EXPRESSION": expression, "OUTPUT": "memory:"}
            incidents = processing.run("native:extractbyexpression", extract)["OUTPUT"]
        raster_path = os.path.abspath(os.path.join(out_dir, name + ".tif"))
        result = processing.run(
            "hotspotpolicing:kerneldensity",
            {"INPUT": incidents, "KERNEL": 0, "BANDWIDTH": 150.0, "CELL_SIZE": 10.0, "AREA_UNIT": 0, "OUTPUT": raster_path, **extra},
        )
        print(
            f"{name}: {result['INCIDENT_COUNT']} incidents, bandwidth {result['BANDWIDTH_USED']:g} m, "
            f"cells {result['CELL_SIZE_USED']:g} m -> {raster_path}"
        )
        image_path = os.path.join(out_dir, name + ".png")
        render_map(raster_path, streets, study_area, title, image_path, apply_style)
        print(f"  map: {image_path}")
    street_segments_demo(processing, city, streets, study_area, out_dir, apply_style)
    del streets, study_area, incidents  # layers must go before QGIS exits


def street_segments_demo(processing, city, streets, study_area, out_dir, apply_style):
    """Centre-lines to street segments, incidents counted per segment, concentration, and a map."""
    from qgis.core import QgsVectorLayer

    segments = processing.run(
        "hotspotpolicing:streetsegments", {"INPUT": streets, "OUTPUT": os.path.join(out_dir, "sample_city_segments.gpkg")}
    )
    counted_path = os.path.join(out_dir, "sample_city_segment_counts.gpkg")
    counts = processing.run(
        "hotspotpolicing:assignincidents",
        {
            "INCIDENTS": f"{city}|layername=incidents",
            "SEGMENTS": segments["OUTPUT"],
            "TOLERANCE": 20.0,
            "WEIGHT_FIELD": "harm_weight",
            "OUTPUT": counted_path,
        },
    )
    report = os.path.join(out_dir, "sample_city_concentration.html")
    figures = processing.run("hotspotpolicing:concentration", {"INPUT": counts["OUTPUT"], "FIELD": "incident_count", "OUTPUT_HTML": report})
    print(
        f"street segments: {segments['SEGMENT_COUNT']} segments, {counts['MATCHED']} incidents assigned; "
        f"{figures['PCT_UNITS_50']:.1f}% of segments hold half of them -> {counted_path}, {report}"
    )
    layer = QgsVectorLayer(counts["OUTPUT"], "segments", "ogr")
    apply_style(layer, "segments")
    image_path = os.path.join(out_dir, "sample_city_segments.png")
    render_map(
        None,
        layer,
        study_area,
        "Incidents per street segment, 2023-2025",
        image_path,
        apply_style,
        subtitle="Street segments from the centre-lines; incidents snapped within 20 m",
    )
    print(f"  map: {image_path}")
    del layer
    patrol_demo(processing, city, counts["OUTPUT"], out_dir)


def patrol_demo(processing, city, segments, out_dir):
    """A patrol plan for the ten most harmful street segments, and the dose the sample
    city's patrol cars actually delivered to its planted hot spots."""
    from qgis.core import QgsVectorLayer

    plan_path = os.path.join(out_dir, "sample_city_patrol_plan.gpkg")
    schedule_path = os.path.join(out_dir, "sample_city_patrol_schedule.csv")
    settings = {"RISK_FIELD": "weight_sum", "PATROL_MINUTES": 180, "MAX_HOTSPOTS": 10, "SHIFT_HOURS": 8, "SHIFTS": 7, "SEED": 1}
    plan = processing.run(
        "hotspotpolicing:patroldosage", {"HOTSPOTS": segments, **settings, "OUTPUT": plan_path, "OUTPUT_SCHEDULE": schedule_path}
    )
    print(f"patrol plan: {plan['HOTSPOTS_FUNDED']} segments, {plan['MINUTES_PLANNED']} minutes per shift -> {plan_path}, {schedule_path}")
    observed_path = os.path.join(out_dir, "sample_city_observed_dosage.gpkg")
    layers = {"PINGS": f"{city}|layername=patrol_pings", "HOTSPOTS": f"{city}|layername=planted_hotspots"}
    observed = processing.run(
        "hotspotpolicing:observeddosage", {**layers, "UNIT_FIELD": "unit_id", "TIME_FIELD": "pinged_at", "OUTPUT": observed_path}
    )
    print(f"observed dosage from the patrol cars' GPS pings -> {observed_path}")
    briefing_demo(processing, plan["OUTPUT"], segments, out_dir)
    dialog_screenshot(city, out_dir)
    for feature in QgsVectorLayer(observed["OUTPUT"], "observed", "ogr").getFeatures():
        minutes, visits, shifts = feature["minutes_observed"], feature["visits_observed"], feature["shifts_observed"]
        print(f"  {feature['name']}: {minutes:.0f} minutes in {visits} visits over {shifts} shifts")


def briefing_demo(processing, plan_path, segments_path, out_dir):
    """The patrol plan as a one-page briefing map, in PDF and PNG."""
    from qgis.core import QgsVectorLayer

    from hotspot_policing.processing.styles import apply_style

    plan = QgsVectorLayer(plan_path, "Patrol plan", "ogr")
    apply_style(plan, "dosage")
    streets = QgsVectorLayer(segments_path, "Incidents per street segment", "ogr")
    apply_style(streets, "segments")
    for extension in ("pdf", "png"):
        path = os.path.join(out_dir, f"sample_city_briefing.{extension}")
        processing.run(
            "hotspotpolicing:briefingmap",
            {
                "LAYERS": [plan, streets],
                "HOTSPOTS": plan,
                "TITLE": "Sample City: patrol plan",
                "SUBTITLE": "Ten most harmful street segments, 2023-2025",
                "TOP_N": 10,
                "DATA_DATE": "2025-12-31",
                "OUTPUT": path,
            },
        )
        print(f"  briefing map: {path}")


def dialog_screenshot(city, out_dir):
    """A picture of the detector dialog, set up for the sample city's burglaries."""
    from qgis.core import QgsProject, QgsVectorLayer

    from hotspot_policing.ui.detector_dialog import DetectorDialog

    incidents = QgsVectorLayer(f"{city}|layername=incidents", "Sample City incidents", "ogr")
    QgsProject.instance().addMapLayer(incidents)
    dialog = DetectorDialog()
    dialog.layerCombo.setLayer(incidents)
    dialog.offenceCombo.setCheckedItems(["burglary"])
    dialog.detectorCombo.setCurrentIndex(1)
    dialog.sizeSpin.setValue(150.0)
    dialog.presetCombo.setEditText("Burglary, last 28 days, 150 m hexagons")
    dialog.adjustSize()
    path = os.path.join(out_dir, "detector_dialog.png")
    dialog.grab().save(path)
    print(f"  dialog screenshot: {path}")
    dialog.deleteLater()
    from hotspot_policing.ui.briefing_dialog import BriefingDialog

    briefing = BriefingDialog()
    briefing.titleEdit.setText("Sample City: patrol plan")
    briefing.subtitleEdit.setText("Ten most harmful street segments, 2023-2025")
    briefing.outputWidget.setFilePath(os.path.abspath(os.path.join(out_dir, "sample_city_briefing.pdf")))
    briefing.resize(520, 580)
    path = os.path.join(out_dir, "briefing_dialog.png")
    briefing.grab().save(path)
    print(f"  dialog screenshot: {path}")
    briefing.deleteLater()
    QgsProject.instance().removeAllMapLayers()


def render_map(raster_path, streets, study_area, title, image_path, apply_style, subtitle=None):
    """Draw the styled density over the streets, with a title, into a PNG."""
    from qgis.core import QgsMapRendererCustomPainterJob, QgsMapSettings, QgsRasterLayer
    from qgis.PyQt.QtCore import QSize, Qt
    from qgis.PyQt.QtGui import QColor, QFont, QImage, QPainter

    layers = [study_area, streets]
    if raster_path:
        density = QgsRasterLayer(raster_path, "density")
        apply_style(density, "density")
        streets.renderer().symbol().setColor(QColor("#9a9a9a"))
        streets.renderer().symbol().setWidth(0.2)
        layers = [study_area, density, streets]
    study_area.renderer().symbol().symbolLayer(0).setBrushStyle(Qt.BrushStyle.NoBrush)
    study_area.renderer().symbol().symbolLayer(0).setStrokeColor(QColor("#333333"))

    settings = QgsMapSettings()
    settings.setLayers(layers)
    settings.setDestinationCrs(study_area.crs())
    extent = study_area.extent()
    extent.scale(1.12)
    settings.setExtent(extent)
    settings.setOutputSize(QSize(1400, 1200))
    settings.setBackgroundColor(QColor("white"))

    image = QImage(settings.outputSize(), QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(QColor("white"))
    painter = QPainter(image)
    job = QgsMapRendererCustomPainterJob(settings, painter)
    job.start()
    job.waitForFinished()
    painter.setPen(QColor("black"))
    painter.setFont(QFont("Sans", 20, QFont.Weight.Bold))
    painter.drawText(24, 44, f"Sample City: {title}")
    painter.setFont(QFont("Sans", 12))
    painter.drawText(24, 72, subtitle or "Quartic kernel, 150 m search radius, 10 m cells (synthetic data)")
    painter.end()
    image.save(image_path)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "out")
