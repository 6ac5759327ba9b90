"""Write the briefing-map print layout templates (resources/layouts/briefing_<page>_<orientation>.qpt).

    QT_QPA_PLATFORM=offscreen /usr/bin/python3 scripts/make_layout_templates.py

The templates are plain QGIS layouts: open one in the layout designer (Project > Import layout
from template) to restyle it; hotspotpolicing:briefingmap fills the items by their ids:
title, subtitle, map, legend, table_frame, footer, note, and north_arrow and scale_bar (outside the
map's frame, so they hide no data).
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGES = {"a4": (297.0, 210.0), "letter": (279.4, 215.9)}  # landscape width, height in mm


def build(project, width, height):
    from qgis.core import (
        QgsLayoutFrame,
        QgsLayoutItemAttributeTable,
        QgsLayoutItemLabel,
        QgsLayoutItemLegend,
        QgsLayoutItemMap,
        QgsLayoutItemPicture,
        QgsLayoutItemScaleBar,
        QgsLayoutPoint,
        QgsLayoutSize,
        QgsPrintLayout,
        QgsRectangle,
        QgsUnitTypes,
    )
    from qgis.PyQt.QtGui import QFont

    millimetres = QgsUnitTypes.LayoutUnit.LayoutMillimeters
    layout = QgsPrintLayout(project)
    layout.initializeDefaults()
    layout.pageCollection().page(0).setPageSize(QgsLayoutSize(width, height, millimetres))
    margin, side = 10.0, min(95.0, width * 0.34)
    portrait = height > width
    map_width = width - 2 * margin if portrait else width - 3 * margin - side
    map_height = height * 0.5 if portrait else height - 62.0
    strip = 28 + map_height + 2  # under the map: scale bar and north arrow, so they hide no data

    def place(item, item_id, x, y, w, h):
        item.setId(item_id)
        layout.addLayoutItem(item)
        item.attemptMove(QgsLayoutPoint(x, y, millimetres))
        item.attemptResize(QgsLayoutSize(w, h, millimetres))
        return item

    def label(item_id, text, size, bold, x, y, w, h):
        item = QgsLayoutItemLabel(layout)
        item.setText(text)
        font = QFont("Sans", size)
        font.setBold(bold)
        item.setFont(font)
        return place(item, item_id, x, y, w, h)

    label("title", "Hot spots", 20, True, margin, 8, width - 2 * margin, 10)
    label("subtitle", "Period", 11, False, margin, 19, width - 2 * margin, 7)
    map_item = place(QgsLayoutItemMap(layout), "map", margin, 28, map_width, map_height)
    map_item.setFrameEnabled(True)
    map_item.setExtent(QgsRectangle(0, 0, 5000, 5000 * map_height / map_width))  # a stand-in, so the scale bar has a size
    north = place(QgsLayoutItemPicture(layout), "north_arrow", margin + map_width - 12, strip, 12, 12)
    # the arrow's svg (resources/icons/north_arrow.svg) is set when the map is made: a path
    # written here would be this machine's
    north.setLinkedMap(map_item)
    scale = place(QgsLayoutItemScaleBar(layout), "scale_bar", margin, strip, 60, 10)
    scale.setLinkedMap(map_item)
    scale.setStyle("Single Box")
    scale.setUnits(QgsUnitTypes.DistanceUnit.DistanceMeters)
    scale.setNumberOfSegments(2)
    scale.setUnitsPerSegment(250)
    scale.setUnitLabel("m")
    side_x, side_y = (margin, strip + 14) if portrait else (2 * margin + map_width, 28)
    side_w = width - 2 * margin if portrait else side
    legend = place(QgsLayoutItemLegend(layout), "legend", side_x, side_y, side_w / (2 if portrait else 1), min(90, height - side_y - 22))
    legend.setTitle("Legend")
    legend.setLinkedMap(map_item)
    table = QgsLayoutItemAttributeTable.create(layout)
    table_x, table_y = (side_x + side_w / 2, side_y) if portrait else (side_x, side_y + 96)
    frame = QgsLayoutFrame(layout, table)
    frame.attemptResize(QgsLayoutSize(side_w / (2 if portrait else 1), height - table_y - 22, millimetres))
    frame.attemptMove(QgsLayoutPoint(table_x, table_y, millimetres))
    frame.setId("table_frame")
    table.addFrame(frame)
    layout.addMultiFrame(table)
    table.setHeaderFont(QFont("Sans", 8, QFont.Weight.Bold))
    table.setContentFont(QFont("Sans", 8))
    label("footer", "Data up to ...", 8, False, margin, height - 16, width - 2 * margin, 5)
    label(
        "note",
        "OFFICIAL-SENSITIVE: for police briefing only. Do not copy or share outside the force.",
        8,
        True,
        margin,
        height - 11,
        width - 2 * margin,
        5,
    )
    return layout


def main():
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from qgis.core import QgsApplication, QgsProject, QgsReadWriteContext

    app = QgsApplication([], False)
    app.initQgis()
    folder = os.path.join(ROOT, "resources", "layouts")
    os.makedirs(folder, exist_ok=True)
    project = QgsProject()
    for page, (long_side, short_side) in PAGES.items():
        for orientation, (width, height) in (("landscape", (long_side, short_side)), ("portrait", (short_side, long_side))):
            layout = build(project, width, height)
            path = os.path.join(folder, f"briefing_{page}_{orientation}.qpt")
            layout.saveAsTemplate(path, QgsReadWriteContext())
            print(path)
            del layout
    app.exitQgis()


if __name__ == "__main__":
    sys.exit(main())
