"""Generate the bundled synthetic "Sample City" (resources/sample_data/sample_city.gpkg).

    /usr/bin/python3 scripts/make_sample_city.py [output.gpkg]

Deterministic (one seeded generator, no clock): the same file content on every run. The city
is fictitious (EPSG:32630 coordinates near x = 440000, y = 4470000, nothing real there) and
has what the plugin's algorithms and tests need: street centre-lines as cities publish them
(long lines through many junctions, multilinestrings, dead ends, digitising gaps), three years
of incidents with planted hot spots of known kinds, patrol beats, a study area and patrol-car
GPS pings. The planted truth is in the layer ``planted_hotspots`` and in the README beside
the data.
"""

import os
import sys
from datetime import datetime, timedelta

import numpy as np
from osgeo import ogr, osr

ogr.UseExceptions()
SEED = 20261125
X0, Y0 = 440000.0, 4470000.0  # south-west corner
WIDTH, HEIGHT = 6000.0, 5000.0
START = datetime(2023, 1, 1)
DAYS = (datetime(2026, 1, 1) - START).days  # 2023-2025
OFFENCES = {  # offence: (share of the background, harm weight in Cambridge CHI-like days)
    "theft_from_vehicle": (0.30, 5.0),
    "criminal_damage": (0.22, 3.0),
    "burglary": (0.18, 40.0),
    "assault": (0.15, 30.0),
    "drugs": (0.09, 10.0),
    "robbery": (0.06, 365.0),
}
# Planted hot spots: name, kind, centre (relative to X0, Y0), radius, incidents, offence mix.
HOTSPOTS = [
    ("Town centre nightlife", "persistent", (2990.0, 2510.0), 120.0, 1800, {"assault": 0.6, "robbery": 0.2, "criminal_damage": 0.2}),
    (
        "Market Street retail",
        "persistent",
        (1410.0, 3760.0),
        120.0,
        1500,
        {"theft_from_vehicle": 0.7, "robbery": 0.1, "criminal_damage": 0.2},
    ),
    ("Riverside flats", "emerging", (4620.0, 1230.0), 130.0, 1100, {"burglary": 0.6, "criminal_damage": 0.4}),
    ("Old station", "fading", (1190.0, 1090.0), 130.0, 1100, {"burglary": 0.5, "theft_from_vehicle": 0.5}),
]
SINGLE_SEGMENT_INCIDENTS = 300
BACKGROUND_INCIDENTS = 24000


def main(path):
    rng = np.random.default_rng(SEED)
    avenues, streets = street_grid(rng)
    lines = street_lines(rng, avenues, streets)
    segment = single_segment(avenues, streets)
    incidents = make_incidents(rng, lines, avenues, streets, segment)
    pings = make_pings(rng, avenues, streets)
    write(path, lines, incidents, segment, pings)


def street_grid(rng):
    """x of the north-south avenues and y of the east-west streets (slightly irregular)."""
    avenues = np.arange(100.0, WIDTH, 200.0) + rng.uniform(-25, 25, len(np.arange(100.0, WIDTH, 200.0)))
    streets = np.arange(75.0, HEIGHT, 150.0) + rng.uniform(-15, 15, len(np.arange(75.0, HEIGHT, 150.0)))
    return np.sort(avenues), np.sort(streets)


def street_lines(rng, avenues, streets):
    """Centre-lines as a city publishes them: dicts with parts (list of (k, 2) arrays), name, class."""
    lines = []
    for i, x in enumerate(avenues):  # whole avenues, one feature each, through every junction
        suffix = {1: "st", 2: "nd", 3: "rd"}.get((i + 1) % 10 if (i + 1) % 100 not in (11, 12, 13) else 0, "th")
        name = f"{i + 1}{suffix} Avenue"
        ys = np.concatenate([[0.0], streets[1:-1:4], [HEIGHT]])
        parts = [np.column_stack([x + rng.normal(0, 0.8, len(ys)), ys])]
        if i % 7 == 3:  # interrupted by a park: one feature, two parts
            mid = len(streets) // 2
            parts = [np.array([[x, 0.0], [x, streets[mid - 1]]]), np.array([[x, streets[mid + 1]], [x, HEIGHT]])]
        lines.append({"parts": parts, "name": name, "class": "arterial" if i % 5 == 0 else "local"})
    names = [
        "Elm",
        "Oak",
        "Maple",
        "Cedar",
        "Birch",
        "Willow",
        "Ash",
        "Pine",
        "Hazel",
        "Rowan",
        "Alder",
        "Holly",
        "Larch",
        "Yew",
        "Poplar",
        "Beech",
        "Linden",
    ]
    for j, y in enumerate(streets):  # east-west streets: long, some stopping short (dead ends)
        name = f"{names[j % len(names)]} {'Street' if j < len(names) else 'Road'}"
        x_start, x_end = 0.0, WIDTH
        if j % 6 == 2:  # dead end: stops in the middle of a block
            x_end = avenues[len(avenues) // 2] + 90.0
        if j % 9 == 4:  # digitising gap: starts 0.3 m short of an avenue
            x_start = avenues[3] + 0.3
        lines.append({"parts": [np.array([[x_start, y], [x_end, y]])], "name": name, "class": "arterial" if j % 8 == 0 else "local"})
    # A diagonal boulevard and a curved riverside drive with many vertices.
    lines.append({"parts": [np.array([[0.0, 600.0], [WIDTH, HEIGHT - 400.0]])], "name": "Grand Boulevard", "class": "arterial"})
    t = np.linspace(0, 1, 60)
    lines.append({"parts": [np.column_stack([t * WIDTH, 380.0 + 160.0 * np.sin(t * 3 * np.pi)])], "name": "River Drive", "class": "local"})
    # Cul-de-sacs: short alleys off a street, ending nowhere.
    for k in range(12):
        x, y = avenues[2 + 2 * k] + 100.0, streets[3 + (k * 5) % (len(streets) - 6)]
        lines.append({"parts": [np.array([[x, y], [x, y + 60.0]])], "name": f"Close {k + 1}", "class": "alley"})
    return lines


def single_segment(avenues, streets):
    """One block face of Rowan Street (the 10th east-west street) between two avenues."""
    y = streets[9]
    return np.array([[avenues[20], y], [avenues[21], y]])


def points_along(rng, lines, n, offset):
    """n points uniformly along the street network, up to ``offset`` metres off the line."""
    pieces = [(a, b) for line in lines for part in line["parts"] for a, b in zip(part[:-1], part[1:])]
    starts = np.array([a for a, _ in pieces])
    ends = np.array([b for _, b in pieces])
    lengths = np.hypot(*(ends - starts).T)
    chosen = rng.choice(len(pieces), size=n, p=lengths / lengths.sum())
    t = rng.random(n)[:, None]
    xy = starts[chosen] + t * (ends[chosen] - starts[chosen])
    return xy + rng.uniform(-offset, offset, (n, 2))


def day_of(rng, kind, n):
    """Days since 2023-01-01 for n incidents with the hot spot's time profile."""
    if kind == "emerging":  # absent before mid 2024, then a rate growing linearly to the end
        begin = (datetime(2024, 6, 1) - START).days
        return begin + (DAYS - begin) * np.sqrt(rng.random(n))
    if kind == "fading":  # strong in 2023, decaying to nothing by 2025
        return np.minimum(rng.exponential(200.0, n), 2 * 365 - 1)
    return rng.random(n) * DAYS


def hour_of(rng, n):
    """Hour of day with more crime in the evening."""
    profile = np.array([5, 4, 3, 2, 1, 1, 1, 2, 3, 4, 4, 5, 5, 5, 5, 6, 6, 7, 8, 9, 9, 9, 8, 6], dtype=float)
    return rng.choice(24, size=n, p=profile / profile.sum()) + rng.random(n)


def near_street(rng, avenues, streets, centre, radius, n):
    """n points in a disc, each moved onto the nearest avenue or street (within 10 m of it)."""
    r, angle = radius * np.sqrt(rng.random(n)), rng.random(n) * 2 * np.pi
    x, y = centre[0] + r * np.cos(angle), centre[1] + r * np.sin(angle)
    avenue = avenues[np.abs(x[:, None] - avenues).argmin(axis=1)]
    street = streets[np.abs(y[:, None] - streets).argmin(axis=1)]
    to_avenue = np.abs(x - avenue) < np.abs(y - street)
    jitter = rng.uniform(-10, 10, n)
    return np.column_stack([np.where(to_avenue, avenue + jitter, x), np.where(to_avenue, y, street + jitter)])


def make_incidents(rng, lines, avenues, streets, segment):
    xy, days, offence, source = [], [], [], []
    names = list(OFFENCES)
    shares = np.array([OFFENCES[o][0] for o in names])
    xy.append(points_along(rng, lines, BACKGROUND_INCIDENTS, 12.0))
    days.append(rng.random(BACKGROUND_INCIDENTS) * DAYS)
    offence.append(rng.choice(names, size=BACKGROUND_INCIDENTS, p=shares))
    source.append(np.full(BACKGROUND_INCIDENTS, "background"))
    for name, kind, centre, radius, n, mix in HOTSPOTS:
        xy.append(near_street(rng, avenues, streets, centre, radius, n))
        days.append(day_of(rng, kind, n))
        offence.append(rng.choice(list(mix), size=n, p=list(mix.values())))
        source.append(np.full(n, name))
    n = SINGLE_SEGMENT_INCIDENTS
    (x1, y1), (x2, _) = segment
    xy.append(np.column_stack([rng.uniform(x1 + 25, x2 - 25, n), y1 + rng.uniform(-5, 5, n)]))
    days.append(rng.random(n) * DAYS)
    offence.append(np.full(n, "drugs"))
    source.append(np.full(n, "Rowan Street drug market"))
    xy, days, offence, source = (np.concatenate(a) for a in (xy, days, offence, source))
    xy = np.clip(xy, [1.0, 1.0], [WIDTH - 1.0, HEIGHT - 1.0])  # all inside the city boundary
    seconds = np.floor(days) * 86400 + np.floor(hour_of(rng, len(days)) * 3600)
    order = np.argsort(seconds, kind="stable")
    return {"xy": xy[order], "seconds": seconds[order], "offence": offence[order], "source": source[order]}


def make_pings(rng, avenues, streets, cars=4, days=7, step=30.0, speed=8.0):
    """Patrol cars driving the grid (8 m/s, a ping every 30 s, 8-hour shifts from 2025-12-01)
    and stopping 10-20 minutes in the planted hot spots."""
    stops = [h[2] for h in HOTSPOTS]
    rows = []
    for car in range(cars):
        for day in range(days):
            t = (datetime(2025, 12, 1) - START).days * 86400 + day * 86400 + (6 + 8 * (car % 3)) * 3600
            end = t + 8 * 3600
            here = np.array([rng.choice(avenues), rng.choice(streets)])
            while t < end:
                if rng.random() < 0.25:  # a directed patrol stop in a hot spot
                    target = np.array(stops[rng.integers(len(stops))])
                    for leg in (np.array([target[0], here[1]]), target):
                        t, here = drive(rows, car, t, here, leg, step, speed)
                    for _ in range(int(rng.uniform(10, 20) * 60 / step)):
                        rows.append((car, t, *(here + rng.normal(0, 3, 2))))
                        t += step
                else:  # drive to a random junction, first along the street, then the avenue
                    target = np.array([rng.choice(avenues), rng.choice(streets)])
                    for leg in (np.array([target[0], here[1]]), target):
                        t, here = drive(rows, car, t, here, leg, step, speed)
    rows = [r for r in rows if r[1] < (datetime(2025, 12, 1) - START).days * 86400 + days * 86400]
    return rows


def drive(rows, car, t, here, target, step, speed):
    distance = np.hypot(*(target - here))
    for f in np.arange(0.0, distance, speed * step) / max(distance, 1e-9):
        rows.append((car, t, *(here + f * (target - here))))
        t += step
    return t, target


def write(path, lines, incidents, segment, pings):
    if os.path.exists(path):
        os.remove(path)
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32630)
    dataset = ogr.GetDriverByName("GPKG").CreateDataSource(path)

    def layer(name, geometry_type, fields, index=True):
        created = dataset.CreateLayer(name, srs, geometry_type, [f"SPATIAL_INDEX={'YES' if index else 'NO'}"])
        for field, kind in fields:
            created.CreateField(ogr.FieldDefn(field, kind))
        return created

    def add(target, values, wkt):
        feature = ogr.Feature(target.GetLayerDefn())
        for key, value in values.items():
            if isinstance(value, datetime):
                feature.SetField(key, value.year, value.month, value.day, value.hour, value.minute, value.second, 0)
            else:
                feature.SetField(key, value)
        feature.SetGeometry(ogr.CreateGeometryFromWkt(wkt))
        target.CreateFeature(feature)

    def coords(points):
        return ", ".join(f"{X0 + x:.2f} {Y0 + y:.2f}" for x, y in points)

    streets = layer(
        "streets", ogr.wkbMultiLineString, [("street_id", ogr.OFTInteger), ("street_name", ogr.OFTString), ("road_class", ogr.OFTString)]
    )
    streets.StartTransaction()
    for i, line in enumerate(lines):
        parts = line["parts"]
        wkt = "MULTILINESTRING (" + ", ".join(f"({coords(p)})" for p in parts) + ")"
        add(streets, {"street_id": i + 1, "street_name": line["name"], "road_class": line["class"]}, wkt)
    streets.CommitTransaction()

    table = layer(
        "incidents",
        ogr.wkbPoint,
        [("incident_id", ogr.OFTInteger), ("occurred_at", ogr.OFTDateTime), ("offence", ogr.OFTString), ("harm_weight", ogr.OFTReal)],
        index=False,
    )
    table.StartTransaction()
    for i, ((x, y), seconds, offence) in enumerate(zip(incidents["xy"], incidents["seconds"], incidents["offence"])):
        values = {
            "incident_id": i + 1,
            "occurred_at": START + timedelta(seconds=float(seconds)),
            "offence": str(offence),
            "harm_weight": OFFENCES[offence][1],
        }
        add(table, values, f"POINT ({X0 + x:.2f} {Y0 + y:.2f})")
    table.CommitTransaction()

    beats = layer("beats", ogr.wkbPolygon, [("beat_id", ogr.OFTString), ("district", ogr.OFTString)])
    beats.StartTransaction()
    for row, district in enumerate(("South", "Central", "North")):
        for col in range(4):
            x1, x2, y1, y2 = col * WIDTH / 4, (col + 1) * WIDTH / 4, row * HEIGHT / 3, (row + 1) * HEIGHT / 3
            add(
                beats,
                {"beat_id": f"B{row * 4 + col + 1:02d}", "district": district},
                f"POLYGON (({coords([(x1, y1), (x2, y1), (x2, y2), (x1, y2), (x1, y1)])}))",
            )
    beats.CommitTransaction()

    area = layer("study_area", ogr.wkbPolygon, [("name", ogr.OFTString)])
    add(area, {"name": "Sample City"}, f"POLYGON (({coords([(0, 0), (WIDTH, 0), (WIDTH, HEIGHT), (0, HEIGHT), (0, 0)])}))")

    truth = layer(
        "planted_hotspots",
        ogr.wkbPolygon,
        [
            ("kind", ogr.OFTString),
            ("name", ogr.OFTString),
            ("centre_x", ogr.OFTReal),
            ("centre_y", ogr.OFTReal),
            ("radius_m", ogr.OFTReal),
            ("n_incidents", ogr.OFTInteger),
            ("street_id", ogr.OFTInteger),
        ],
    )
    angles = np.linspace(0, 2 * np.pi, 73)
    for name, kind, (cx, cy), radius, n, _ in HOTSPOTS:
        ring = np.column_stack([cx + radius * np.cos(angles), cy + radius * np.sin(angles)])
        add(
            truth,
            {"kind": kind, "name": name, "centre_x": X0 + cx, "centre_y": Y0 + cy, "radius_m": radius, "n_incidents": n},
            f"POLYGON (({coords(ring)}))",
        )
    (x1, y), (x2, _) = segment
    rowan = next(i + 1 for i, line in enumerate(lines) if line["name"] == "Rowan Street")
    values = {
        "kind": "single_segment",
        "name": "Rowan Street drug market",
        "centre_x": X0 + (x1 + x2) / 2,
        "centre_y": Y0 + y,
        "radius_m": (x2 - x1) / 2,
        "n_incidents": SINGLE_SEGMENT_INCIDENTS,
        "street_id": rowan,
    }
    add(truth, values, f"POLYGON (({coords([(x1, y - 10), (x2, y - 10), (x2, y + 10), (x1, y + 10), (x1, y - 10)])}))")

    table = layer("patrol_pings", ogr.wkbPoint, [("unit_id", ogr.OFTString), ("pinged_at", ogr.OFTDateTime)], index=False)
    table.StartTransaction()
    for car, seconds, x, y in pings:
        add(
            table,
            {"unit_id": f"Car {car + 1}", "pinged_at": START + timedelta(seconds=float(seconds))},
            f"POINT ({X0 + x:.2f} {Y0 + y:.2f})",
        )
    table.CommitTransaction()
    dataset = None


if __name__ == "__main__":
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "resources", "sample_data", "sample_city.gpkg"))
