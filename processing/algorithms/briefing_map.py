"""hotspotpolicing:briefingmap: a one-page briefing map (PDF or PNG) from a layout template."""

import os
import re

import numpy as np
from osgeo import gdal
from qgis.core import (
    Qgis,
    QgsCoordinateTransform,
    QgsExpression,
    QgsFeatureRequest,
    QgsLayerTree,
    QgsLayoutExporter,
    QgsLayoutItemPicture,
    QgsLayoutPoint,
    QgsLayoutSize,
    QgsLayoutTable,
    QgsMapLayerLegendUtils,
    QgsPalLayerSettings,
    QgsPrintLayout,
    QgsProcessingAlgorithm,
    QgsProcessingException,
    QgsProcessingFeatureSource,
    QgsProcessingParameterExtent,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingParameterString,
    QgsProcessingUtils,
    QgsProject,
    QgsRasterLayer,
    QgsReadWriteContext,
    QgsRectangle,
    QgsRenderContext,
    QgsScaleBarSettings,
    QgsTextBufferSettings,
    QgsTextFormat,
    QgsVectorLayer,
    QgsVectorLayerSimpleLabeling,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import QSize, Qt
from qgis.PyQt.QtGui import QColor, QFont
from qgis.PyQt.QtXml import QDomDocument

from .. import provenance
from ..compat import ANY_VECTOR, LINE_GEOMETRY, POINT_GEOMETRY, POLYGON_SOURCE
from ..layers import POLYGONS, latest_time, read
from ..places import line_ends, place_names, street_field
from ..sinks import Column, memory_layer
from ..styles import apply_style, field_named, has_own_style, recognised_style
from .aoristic import heat_grid, profile_table
from .base import PLUGIN_DIR, HotspotAlgorithm, stage

DISPLAY = Qt.ItemDataRole.DisplayRole
WRAP_TEXT = getattr(getattr(Qgis, "LayoutTableWrapBehavior", None), "WrapText", None) or QgsLayoutTable.WrapBehavior.WrapText
PLACEMENT = getattr(Qgis, "LabelPlacement", None) or QgsPalLayerSettings.Placement
HORIZONTAL, OVER_POINT = PLACEMENT.Horizontal, PLACEMENT.OverPoint
PAGES = ("A4", "Letter")
ORIENTATIONS = ("Landscape", "Portrait")
NOTE = "OFFICIAL-SENSITIVE: for police briefing only. Do not copy or share outside the force."
# Table columns: (header, candidate fields in the hot spot layer, first found wins)
COLUMNS = (
    ("Rank", ("priority_rank",)),
    ("Place", ("street_name", "name", "segment_id", "cell_id", "beat_id", "zone_id")),
    ("Pattern", ("PATTERN",)),
    ("Incidents", ("incident_count", "INCIDENT_COUNT", "count")),
    ("Harm", ("weight_sum",)),
    ("Minutes per shift", ("minutes_per_shift",)),
)
RANK_BY = ("priority_rank", "PATTERN_CODE", "incident_count", "weight_sum", "GiZScore")
# Emerging hot spot patterns in the order a briefing lists them: what needs attention now first
PATTERN_ORDER = (1, 3, 2, 4, 7, 6, 5, 8)
TEXT_AS_TEXT = (
    getattr(getattr(Qgis, "TextRenderFormat", None), "AlwaysText", None) or QgsRenderContext.TextRenderFormat.TextFormatAlwaysText
)
FIT_WIDTH = (
    getattr(getattr(Qgis, "ScaleBarSegmentSizeMode", None), "FitWidth", None) or QgsScaleBarSettings.SegmentSizeMode.SegmentSizeFitWidth
)


class BriefingMap(HotspotAlgorithm, name="briefingmap", group="maps"):
    LAYERS, TITLE, SUBTITLE, EXTENT, TOP_N, OUTPUT = "LAYERS", "TITLE", "SUBTITLE", "EXTENT", "TOP_N", "OUTPUT"
    HOTSPOTS, PAGE, ORIENTATION, DATA_DATE, NOTE, DISTRICTS = "HOTSPOTS", "PAGE", "ORIENTATION", "DATA_DATE", "NOTE", "DISTRICTS"
    DISTRICT_FIELD, HOUR_PROFILE = "DISTRICT_FIELD", "HOUR_PROFILE"

    DISPLAY_NAME = "Briefing map (PDF or PNG)"
    TAGS = "briefing,map,pdf,png,print,layout,export,patrol,roll call"
    HELP = (
        "<p>Exports a one-page map for the patrol briefing: title, period, the map of the chosen "
        "layers, legend, scale bar, north arrow, a table of the top hot spots (rank, place, "
        "incidents, harm and planned minutes, as far as the hot spot layer has them), the data "
        "date and a handling note.</p>"
        "<p><b>Styles.</b> Layers styled in the project keep their style. A file given by path "
        "(qgis_process, a model) opens with the style stored in it; a result of this plugin "
        "without one (Gi*, Local Moran, density, counted segments, a patrol plan) gets its "
        "default style. A patrol plan is drawn on top, labelled with its priority ranks. The "
        "legend names layers in plain words (harm-weighted results say harm; densities give "
        "their units).</p>"
        "<p><b>Places and dates.</b> Street segments are named by their cross streets ('15th "
        "Avenue between Elm St and Oak St') when they have a street name field. The data date "
        "is the latest incident date behind the layers (recorded with this plugin's results, or "
        "a date field of a point layer on the map), not today; DATA_DATE overrides it.</p>"
        "<p>The page comes from a print layout template in the plugin's resources/layouts "
        "(A4 or Letter, landscape or portrait); edit those templates in QGIS's layout designer "
        "to change the look. No basemap is needed: the map renders offline; add a basemap "
        "layer to LAYERS to include one. The table lists the TOP_N features of HOTSPOTS (by "
        "default the first vector layer of LAYERS) by priority_rank, or else by incident_count, "
        "weight_sum or GiZScore.</p>"
        "<p><b>One page per district.</b> With DISTRICTS (polygons) and DISTRICT_FIELD, the map "
        "zooms to each district in turn (an atlas), the title names it and the table lists the "
        "top hot spots inside it: one multi-page PDF, or one PNG per district named after it.</p>"
    )

    def flags(self):
        return super().flags() | QgsProcessingAlgorithm.Flag.FlagNoThreading  # layouts render on the main thread

    def initAlgorithm(self, config=None):
        layers = QgsProcessingParameterMultipleLayers(self.LAYERS, self.tr("Map layers (top first)"))
        self.add(layers, "The layers to draw, e.g. a patrol plan, hot spots and streets, in drawing order top first.")
        self.add(QgsProcessingParameterString(self.TITLE, self.tr("Title"), "Hot spots"), "Large title at the top of the page.")
        subtitle = QgsProcessingParameterString(self.SUBTITLE, self.tr("Subtitle (period)"), "", optional=True)
        self.add(subtitle, "E.g. 'Burglary, 28 days to 24 November 2026'.")
        self.add(QgsProcessingParameterExtent(self.EXTENT, self.tr("Map extent"), optional=True), "Area to show; empty: all map layers.")
        self.add_number(
            self.TOP_N, "Hot spots in the table", 10, "Rows of the top hot spots table (0: no table).", integer=True, maximum=40
        )
        output = QgsProcessingParameterFileDestination(
            self.OUTPUT, self.tr("Briefing map"), self.tr("PDF files (*.pdf);;PNG images (*.png)")
        )
        self.add(output, "A .pdf or .png file.")
        hotspots = QgsProcessingParameterFeatureSource(self.HOTSPOTS, self.tr("Hot spots for the table"), [ANY_VECTOR], optional=True)
        self.add(hotspots, "The layer listed in the table; empty: the first vector layer of the map layers.")
        self.add_enum(self.PAGE, "Page size", PAGES, 0, "Paper for the briefing map.")
        self.add_enum(self.ORIENTATION, "Orientation", ORIENTATIONS, 0, "Paper for the briefing map.")
        date = QgsProcessingParameterString(self.DATA_DATE, self.tr("Data date"), "", optional=True)
        self.add(date, "Footer: the date the data run to (empty: the latest incident date behind the layers).", advanced=True)
        note = QgsProcessingParameterString(self.NOTE, self.tr("Handling note"), NOTE, optional=True)
        self.add(note, "Footer: the handling or protective marking note.", advanced=True)
        districts = QgsProcessingParameterFeatureSource(
            self.DISTRICTS, self.tr("Districts (one page each)"), [POLYGON_SOURCE], optional=True
        )
        self.add(districts, "Optional polygons: one page per district (an atlas).")
        name = QgsProcessingParameterField(
            self.DISTRICT_FIELD, self.tr("District name field"), parentLayerParameterName=self.DISTRICTS, optional=True
        )
        self.add(name, "Names the district on its page (and its PNG file).")
        profile = QgsProcessingParameterFeatureSource(self.HOUR_PROFILE, self.tr("When: weekday x hour table"), [ANY_VECTOR], optional=True)
        self.add(profile, "Optional: the OUTPUT_TABLE of 'When: weekday x hour profiles' for the places on the map, drawn as a grid.")

    def process(self, parameters, context, feedback):
        layers = self.parameterAsLayerList(parameters, self.LAYERS, context)
        if not layers:
            raise QgsProcessingException(self.tr("Choose at least one layer to map."))
        if os.path.splitext(self.parameterAsFileOutput(parameters, self.OUTPUT, context))[1].lower() not in (".pdf", ".png"):
            raise QgsProcessingException(self.tr("The briefing map must be a .pdf or a .png file."))
        path = self.writer.file_path(self.OUTPUT)  # from here on a failed run removes it
        own = set(context.project().mapLayers()) if context.project() is not None else set()
        given = [(layer, provenance.of_layer(layer)) for layer in layers]
        layers = [styled(layer, record, layer.id() in own) for layer, record in given]
        records = {drawn.id(): record for drawn, (_, record) in zip(layers, given)}
        layers.sort(key=lambda layer: not is_plan(layer))  # the plan on top, otherwise as given
        for layer in filter(is_plan, layers):
            label_ranks(layer)
        project = QgsProject()  # the layout's own: the user's project is never changed
        project.setMetadata(self._document_metadata(parameters, context, project))
        layout = self._layout(parameters, context, project)
        crs = layers[0].crs()
        map_item = layout.itemById("map")
        map_item.setCrs(crs)
        map_item.setLayers(layers)
        map_item.setExtent(fit_to_frame(self._extent(parameters, context, layers, crs), map_item.rect()))
        legend_tree = QgsLayerTree()
        for layer in layers:
            legend_tree.addLayer(layer).setName(self.tr(legend_name(layer, records.get(layer.id()))))
        legend = layout.itemById("legend")
        legend.setAutoUpdateModel(False)
        legend.model().setRootGroup(legend_tree)
        for tree_layer in legend_tree.findLayers():  # a band's name ("Band 1 (Gray)") tells a reader nothing
            nodes = legend.model().layerLegendNodes(tree_layer, True)
            shown = [i for i, node in enumerate(nodes) if not str(node.data(DISPLAY) or "").startswith("Band ")]
            if len(shown) < len(nodes):
                QgsMapLayerLegendUtils.setLegendNodeOrder(tree_layer, shown)
                legend.model().refreshLayerLegend(tree_layer)
        legend.setLegendFilterByMapEnabled(True)  # only the classes the map shows
        legend.setSymbolHeight(3.0)
        scale_bar = layout.itemById("scale_bar")
        scale_bar.setSegmentSizeMode(FIT_WIDTH)
        scale_bar.setMinimumBarWidth(25)
        scale_bar.setMaximumBarWidth(50)
        layout.itemById("north_arrow").setPicturePath(os.path.join(PLUGIN_DIR, "resources", "icons", "north_arrow.svg"))
        layout.itemById("title").setText(literal(self.parameterAsString(parameters, self.TITLE, context)))
        layout.itemById("subtitle").setText(literal(self.parameterAsString(parameters, self.SUBTITLE, context)))
        data_date = self.parameterAsString(parameters, self.DATA_DATE, context) or data_date_of(layers, records.values())
        footer = self.tr("Data up to {}.") if data_date else self.tr("Data date not recorded{}.")
        layout.itemById("footer").setText(literal(footer.format(data_date or "") + " " + self.tr("Made with Hot Spot Policing for QGIS.")))
        layout.itemById("note").setText(literal(self.parameterAsString(parameters, self.NOTE, context) or ""))
        when = self._hour_grid(layout)
        districts = self._atlas(parameters, context, layout, path)
        table_layer = self._table(parameters, context, layers, layout, per_district=districts is not None)
        stage(feedback, 0, 50)(1.0)  # the export itself cannot be interrupted: last chance to stop

        pdf = path.lower().endswith(".pdf")
        settings = QgsLayoutExporter.PdfExportSettings() if pdf else QgsLayoutExporter.ImageExportSettings()
        if pdf:
            settings.textRenderFormat = TEXT_AS_TEXT  # searchable, copyable text in the PDF
            settings.exportMetadata = True  # title and provenance in the PDF's properties
        else:
            settings.dpi = 150
        written = [path]
        # QGIS tries to georeference a PNG through GDAL, whose PNG driver cannot update a file:
        # a harmless "ERROR 6" on the console that users take for a failure. Keep it quiet.
        gdal.PushErrorHandler("CPLQuietErrorHandler")
        try:
            if districts is not None:
                if pdf:
                    status, _ = QgsLayoutExporter.exportToPdf(layout.atlas(), path, settings)
                else:
                    status, _ = QgsLayoutExporter.exportToImage(layout.atlas(), os.path.splitext(path)[0], "png", settings)
                    written = self._atlas_pages(layout, path)
            else:
                exporter = QgsLayoutExporter(layout)
                status = exporter.exportToPdf(path, settings) if pdf else exporter.exportToImage(path, settings)
        finally:
            gdal.PopErrorHandler()
        del table_layer, legend_tree, districts  # kept alive until the export is done
        if when is not None:
            os.remove(when)
        if status != QgsLayoutExporter.ExportResult.Success:
            raise QgsProcessingException(self.tr("Exporting the briefing map to {} failed (error {}).").format(path, int(status)))
        if not pdf:  # a PNG has no properties to hold the provenance: a .json beside it
            for page in written:
                with open(page + ".json", "w", encoding="utf-8") as handle:
                    handle.write(provenance.as_json(self.writer.provenance()))
        if len(written) > 1:
            feedback.pushInfo(self.tr("Wrote {} pages: {}").format(len(written), ", ".join(written)))
        return {self.OUTPUT: written[0]}

    def _hour_grid(self, layout):
        """The weekday x hour grid of HOUR_PROFILE (all its places together) at the foot of
        the legend's column; returns the picture's temporary file (None without a profile)."""
        profile = profile_table(self.reader, self.HOUR_PROFILE)
        if profile is None:
            return None
        path = QgsProcessingUtils.generateTempFilename("when.png")
        chart = heat_grid(profile[1].sum(axis=0), self.tr("When: share of incidents by weekday and hour"))
        chart.savefig(path, dpi=200)
        legend, footer = layout.itemById("legend"), layout.itemById("footer")
        page = layout.pageCollection().page(0).pageSize()
        width = page.width() - 10 - legend.pos().x()
        height = width * 2.8 / 8
        picture = QgsLayoutItemPicture(layout)
        picture.setId("hour_grid")
        picture.setPicturePath(path)
        picture.setResizeMode(QgsLayoutItemPicture.ResizeMode.Zoom)
        layout.addLayoutItem(picture)
        picture.attemptMove(QgsLayoutPoint(legend.pos().x(), footer.pos().y() - 3 - height))
        picture.attemptResize(QgsLayoutSize(width, height))
        return path

    def _document_metadata(self, parameters, context, project):
        """The PDF's title, author and subject: the map's title and this run's provenance."""
        metadata = project.metadata()
        metadata.setTitle(self.parameterAsString(parameters, self.TITLE, context))
        metadata.setAuthor("Hot Spot Policing for QGIS")
        metadata.setAbstract(provenance.as_text(self.writer.provenance()))
        return metadata

    def _atlas_pages(self, layout, path):
        """The files an atlas export wrote, page by page, recorded so a failed run removes them."""
        atlas, pages = layout.atlas(), []
        atlas.beginRender()
        for page in range(atlas.count()):
            atlas.seekTo(page)
            name = os.path.join(os.path.dirname(path), atlas.currentFilename() + ".png")
            self.writer.written.append((name, name))
            pages.append(name)
        atlas.endRender()
        return pages

    def _atlas(self, parameters, context, layout, path):
        """Turn the layout into an atlas over the districts, when they are given."""
        source = self.reader.source(self.DISTRICTS, needs=POLYGONS)
        if source is None:
            return None
        districts = source.materialize(QgsFeatureRequest())
        if districts.featureCount() == 0:
            raise QgsProcessingException(self.tr("The districts layer has no features."))
        name = self.parameterAsString(parameters, self.DISTRICT_FIELD, context)
        atlas = layout.atlas()
        atlas.setCoverageLayer(districts)
        atlas.setEnabled(True)
        map_item = layout.itemById("map")
        map_item.setAtlasDriven(True)
        map_item.setAtlasMargin(0.08)
        if name:
            column = QgsExpression.quotedColumnRef(name)
            label = layout.itemById("title")
            label.setText(label.text() + f": [% {column} %]")
            atlas.setPageNameExpression(column)
            # file names from the data: only letters, digits, - and _ (no folders, no quotes), and
            # numbered when two districts would otherwise share one
            safe = f"regexp_replace(to_string({column}), '[^A-Za-z0-9_-]+', '_')"
            names = [re.sub(r"[^A-Za-z0-9_-]+", "_", str(f[name])) for f in districts.getFeatures()]
            if len(set(names)) < len(names):
                safe += " || '_' || to_string(@atlas_featurenumber)"
            stem = re.sub(r"[^A-Za-z0-9_-]+", "_", os.path.basename(os.path.splitext(path)[0]))
            atlas.setFilenameExpression(f"{QgsExpression.quotedString(stem + '_')} || {safe}")
        return districts

    def _layout(self, parameters, context, project):
        page = PAGES[self.parameterAsEnum(parameters, self.PAGE, context)].lower()
        orientation = ORIENTATIONS[self.parameterAsEnum(parameters, self.ORIENTATION, context)].lower()
        template = os.path.join(PLUGIN_DIR, "resources", "layouts", f"briefing_{page}_{orientation}.qpt")
        document = QDomDocument()
        with open(template, encoding="utf-8") as handle:
            document.setContent(handle.read())
        layout = QgsPrintLayout(project)
        layout.loadFromTemplate(document, QgsReadWriteContext())
        return layout

    def _extent(self, parameters, context, layers, crs):
        if self.parameterAsString(parameters, self.EXTENT, context):
            return self.parameterAsExtent(parameters, self.EXTENT, context, crs)
        extent = QgsRectangle()
        for layer in layers:
            box = QgsCoordinateTransform(layer.crs(), crs, context.transformContext()).transformBoundingBox(layer.extent())
            extent.combineExtentWith(box)
        extent.scale(1.05)
        return extent

    def _street_network(self, layers, context, crs):
        """Ends and names of the largest named line layer on the map, to find cross streets."""
        named = [layer for layer in layers if isinstance(layer, QgsVectorLayer) and layer.geometryType() == LINE_GEOMETRY]
        named = [layer for layer in named if street_field(layer.fields())]
        if not named:
            return None
        layer = max(named, key=lambda item: item.featureCount())
        name = street_field(layer.fields())
        streets = read(QgsProcessingFeatureSource(layer, context), layer, None, crs, context, [name])
        return line_ends(streets), list(streets.values(name))

    def _table(self, parameters, context, layers, layout, per_district=False):
        """A small memory layer holding the top rows, in order, shown by the layout's table;
        per district it holds every hot spot (with its geometry) and the table shows the top
        ones inside the district of the page."""
        top_n = self.parameterAsInt(parameters, self.TOP_N, context)
        source, layer, value = self.reader.source(self.HOTSPOTS), None, parameters.get(self.HOTSPOTS)
        if source is None:
            layer = next((item for item in layers if isinstance(item, QgsVectorLayer)), None)
            source, value = (QgsProcessingFeatureSource(layer, context) if layer is not None else None), None
        else:
            layer = self.parameterAsVectorLayer(parameters, self.HOTSPOTS, context)
        frame = layout.itemById("table_frame")
        if source is None or top_n == 0:
            frame.setVisibility(False)
            return None
        names = source.fields().names()
        columns = [
            (header, next(f for f in candidates if f in names)) for header, candidates in COLUMNS if any(f in names for f in candidates)
        ]
        street = street_field(source.fields())
        lines = QgsWkbTypes.geometryType(source.wkbType()) == LINE_GEOMETRY and street is not None
        wanted = list(dict.fromkeys([f for _, f in columns] + [f for f in RANK_BY if f in names] + ([street] if lines else [])))
        hotspots = read(source, layer, value, source.sourceCrs(), context, wanted, keep=per_district)
        rank_by = next((field for field in RANK_BY if field in names), None)
        order = np.arange(len(hotspots))
        if rank_by is not None:
            rank = hotspots.numbers(rank_by)
            key = rank if rank_by == "priority_rank" else -rank
            if rank_by == "PATTERN_CODE":  # by pattern, then by incidents within a pattern
                order_of = {code: position for position, code in enumerate(PATTERN_ORDER)}
                urgency = np.array([order_of.get(code, len(PATTERN_ORDER)) for code in rank])
                key = urgency * 1e12 - np.nan_to_num(hotspots.numbers("INCIDENT_COUNT") if "INCIDENT_COUNT" in names else 0)
            order = np.lexsort((key, np.isnan(key)))  # NULL ranks last
        if not per_district:
            order = order[:top_n]
        if (
            "weight_sum" in wanted
            and "incident_count" in wanted
            and np.array_equal(hotspots.numbers("weight_sum"), hotspots.numbers("incident_count"), equal_nan=True)
        ):  # no weight field was given: the "harm" is the count again
            columns = [(header, f) for header, f in columns if f != "weight_sum"]
        values = [[("" if v is None else str(v)) for v in np.array(hotspots.values(f), dtype=object)[order]] for _, f in columns]
        if lines:  # street segments: named by their cross streets, so two of one street differ
            places = np.array(place_names(hotspots, self._street_network(layers, context, source.sourceCrs())), dtype=object)
            places = places[order].tolist()
            if "Place" in [header for header, _ in columns]:
                values[[header for header, _ in columns].index("Place")] = places
            else:
                columns.insert(1, ("Place", street))
                values.insert(1, places)
        table_layer = memory_layer(
            "top hot spots",
            [Column(header.replace(" ", "_"), "string", v) for (header, _), v in zip(columns, values)],
            geometry=[hotspots.wkb[i] for i in order] if per_district else None,
            wkb_type=source.wkbType() if per_district else QgsWkbTypes.Type.NoGeometry,
            crs=source.sourceCrs() if per_district else None,
        )
        table = frame.multiFrame()
        table.setVectorLayer(table_layer)
        table.setMaximumNumberOfFeatures(top_n)
        table.setFilterToAtlasFeature(per_district)
        headed = table.columns()
        width, height = fit_below_legend(layout, frame)
        shares = {"Rank": 0.08, "Place": 0.45}  # the rest share what is left
        fixed = sum(shares.get(header, 0.0) for header, _ in columns)
        others = max(sum(header not in shares for header, _ in columns), 1)
        for column, (header, _) in zip(headed, columns):
            column.setHeading(header)
            # fixed widths that fill the frame; long place names wrap instead of leaving the page
            column.setWidth(width * shares.get(header, (1.0 - fixed) / others) - 2)
        table.setWrapBehavior(WRAP_TEXT)
        table.setColumns(headed)
        for size in (7.0, 6.5, 6.0, 5.5, 5.0):  # the largest text with which every row fits
            table.setContentTextFormat(small_text(table.contentTextFormat(), size, bold=False))
            table.setHeaderTextFormat(small_text(table.headerTextFormat(), size, bold=True))
            table.refresh()
            if table.totalSize().height() <= height:
                break
        return table_layer


def styled(layer, record, in_project):
    """The layer as the briefing draws it. A project layer someone styled stays as it is; a
    file Processing opened by path first gets the style stored with it; a result of this
    plugin still without a style gets its default style; a patrol plan gets rank labels.
    A project layer is copied before anything changes: the user's layers stay untouched."""
    if not in_project and isinstance(layer, (QgsVectorLayer, QgsRasterLayer)):
        layer.loadDefaultStyle()  # Processing opens file inputs without their stored style
    style = None if has_own_style(layer) else recognised_style(layer, record)
    if style is None and not is_plan(layer):
        return layer
    drawn = layer.clone() if in_project else layer
    if style is not None:
        apply_style(drawn, style)
    if is_plan(drawn):
        label_ranks(drawn)
    return drawn


def is_plan(layer):
    return isinstance(layer, QgsVectorLayer) and all(field_named(layer, name) for name in ("priority_rank", "visits_per_shift"))


def label_ranks(layer):
    """Priority ranks as bold black numbers with a white halo, over every other label."""
    text = QgsTextFormat()
    font = QFont()
    font.setBold(True)
    text.setFont(font)
    text.setSize(9)
    text.setColor(QColor("#000000"))
    halo = QgsTextBufferSettings()
    halo.setEnabled(True)
    halo.setSize(1.0)
    halo.setColor(QColor("#ffffff"))
    text.setBuffer(halo)
    settings = QgsPalLayerSettings()
    settings.fieldName = field_named(layer, "priority_rank")
    settings.setFormat(text)
    settings.priority = 10
    settings.displayAll = True  # every rank shows, even where labels crowd
    settings.placement = HORIZONTAL if layer.geometryType() == LINE_GEOMETRY else OVER_POINT
    layer.setLabeling(QgsVectorLayerSimpleLabeling(settings))
    layer.setLabelsEnabled(True)


def weighted(record):
    """Whether a result is about harm (a weight field, or a harm or weight sum analysed)."""
    values = (record or {}).get("parameters", {})
    weight = str(values.get("WEIGHT_FIELD", "") or "")
    field = str(values.get("FIELD", "") or "").lower()
    return weight not in ("", "None") or field in ("weight_sum", "harm") or "harm" in field


def legend_name(layer, record):
    """A layer's name in the legend, in plain words: what it shows, harm or incidents, units."""
    style = recognised_style(layer, record)
    harm = weighted(record)
    what = "harm" if harm else "incidents"
    if style == "density":
        units = ((record or {}).get("choices") or {}).get("units") or layer.dataProvider().bandDescription(1)
        return f"{'Harm' if harm else 'Incident'} density ({units or 'per map unit²'})"
    if style == "gi_bin":
        places = "streets" if layer.geometryType() == LINE_GEOMETRY else "spots"
        return f"Hot and cold {places} of {what} (Gi*)"
    if style == "cotype":
        return f"Clusters and outliers of {what} (Local Moran's I)"
    if style == "segments":
        return "Incidents per street segment"  # the style grades incident_count, even when harm was summed too
    if style == "dosage":
        return "Patrol plan: visits per shift (labels: priority)"
    if style == "emerging":
        return f"Trends of {what} hot spots (emerging hot spot analysis)"
    if style == "change":
        return f"Change in {what} per place (significant rises and falls)"
    if style == "network_density":
        return f"{'Harm' if harm else 'Incidents'} per km of street (network density)"
    if style == "cube":
        return f"Hot and cold spots of {what} per time step (Gi*)"
    name = layer.name().replace("_", " ").strip()
    return name[:1].upper() + name[1:]


def data_date_of(layers, records):
    """The latest incident date behind the map: recorded in the results' provenance, or in a
    date field of a point layer drawn; "" when neither knows."""
    dates = [i.get("latest_time") for record in records if record for i in record.get("inputs", [])]
    for layer in layers:
        if isinstance(layer, QgsVectorLayer) and layer.geometryType() == POINT_GEOMETRY:
            dates.append(latest_time(layer))
    dates = [d for d in dates if d]
    return max(dates)[:10] if dates else ""


def literal(text):
    """Text a layout label prints exactly as written: labels evaluate [% ... %] as expressions
    (a title could print the analyst's login), so the whole text becomes one quoted string,
    with any '[%' or '%]' inside split across two strings (the label would end it there)."""
    if not text:
        return ""
    quoted = QgsExpression.quotedString(text).replace("[%", "[' || '%").replace("%]", "%' || ']")
    return f"[% {quoted} %]"


def small_text(text, size, bold):
    text = QgsTextFormat(text)
    font = text.font()
    font.setBold(bold)
    text.setFont(font)
    text.setSize(size)
    return text


def fit_to_frame(extent, frame):
    """``extent`` grown in one direction to the map frame's shape: setExtent would otherwise
    resize the frame over the legend and the table."""
    centre, ratio = extent.center(), frame.width() / frame.height()
    width, height = max(extent.width(), extent.height() * ratio), max(extent.height(), extent.width() / ratio)
    return QgsRectangle(centre.x() - width / 2, centre.y() - height / 2, centre.x() + width / 2, centre.y() + height / 2)


def fit_below_legend(layout, frame):
    """Move the table frame just below the legend (when it shares the legend's column) and give it the room left to the page's
    right margin and above the footer: (width, height) in millimetres, so that every row
    of the table fits on the page."""
    legend, footer = layout.itemById("legend"), layout.itemById("hour_grid") or layout.itemById("footer")
    # the legend lists only the classes the map shows, and learns its size when drawn: draw once, small
    QgsLayoutExporter(layout).renderPageToImage(0, QSize(240, 170))
    page = layout.pageCollection().page(0).pageSize()
    below = abs(frame.pos().x() - legend.pos().x()) < 1  # landscape: the table under the legend; portrait: beside it
    top = legend.pos().y() + legend.rect().height() + 3 if below else frame.pos().y()
    width = page.width() - 10 - frame.pos().x()
    height = max(footer.pos().y() - 3 - top, 20)
    frame.attemptMove(QgsLayoutPoint(frame.pos().x(), top))
    frame.attemptResize(QgsLayoutSize(width, height))
    return width - 1, height
