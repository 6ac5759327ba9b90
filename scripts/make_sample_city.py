"""Generate the bundled synthetic "Sample City": resources/sample_data/sample_city.gpkg.

    /usr/bin/python3 scripts/make_sample_city.py [output.gpkg]

Why: the demo, the tests and the documentation need data that looks like what a police analyst
is given, and in which the right answer is known. So the city is made up and hot spots of known
kinds are planted in it: two persistent ones, an emerging one, a fading one and one on a single
street segment. The layer ``planted_hotspots`` and resources/sample_data/README.md record them,
so a test can check that a method finds what was planted, where and when it was planted.

What: street centre-lines as cities publish them (whole avenues as one feature through every
junction, a few multi-part lines, dead ends, cul-de-sacs, curves, digitising gaps of 0.3 m),
about 30,000 incidents from 2023 to 2025 on or near the streets (a skewed background, so a few
street segments carry much of the crime, plus the planted hot spots), 12 patrol beats in 3
districts, the city boundary, and two weeks of patrol-car GPS pings with directed stops in the
hot spots.

Deterministic: one numpy generator seeded with SEED and no clock anywhere, so every run writes
the same features (and, with GDAL's OGR_CURRENT_DATE pinned, the same file). Only numpy and
GDAL/OGR's Python bindings; run it with the system interpreter. EPSG:32630 (WGS 84 / UTM 30N)
coordinates near x = 440000, y = 4470000: nothing real is there, nothing here is real.
"""

import os
import sys

import numpy as np
from osgeo import gdal, ogr, osr

ogr.UseExceptions()

SEED = 20261125
X0, Y0 = 440000.0, 4470000.0  # south-west corner of the city
WIDTH, HEIGHT, MARGIN = 6000.0, 5000.0, 20.0  # streets stop MARGIN metres inside the boundary
EPOCH = np.datetime64("2023-01-01T00:00:00", "s")
DAYS = 1096  # 2023-01-01 .. 2025-12-31
BACKGROUND = 23600  # incidents not from a planted hot spot
SKEW = 1.2  # sigma of the lognormal background rate of each street segment
TOWN = 0.3  # background rate up to 1 + TOWN times higher towards the town centre
OFFENCES = {  # offence: (share of the background, harm weight: Cambridge Crime Harm Index-like days)
    "theft_from_vehicle": (0.30, 5.0),
    "criminal_damage": (0.22, 3.0),
    "burglary": (0.18, 40.0),
    "assault": (0.15, 30.0),
    "drugs": (0.09, 10.0),
    "robbery": (0.06, 365.0),
}
HOURS = {  # relative incidents per hour of day, 00 .. 23
    "evening": [5, 4, 3, 2, 1, 1, 1, 2, 3, 4, 4, 5, 5, 5, 5, 6, 6, 7, 8, 9, 9, 9, 8, 6],
    "night": [12, 10, 8, 5, 2, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 4, 5, 7, 9, 11, 12],
    "shops": [1, 1, 1, 1, 1, 1, 1, 2, 4, 6, 8, 9, 10, 10, 9, 9, 8, 7, 5, 3, 2, 2, 1, 1],
    "dealing": [3, 2, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4, 5, 6, 7, 8, 9, 9, 8, 7, 5, 4],
}
AVENUES, STREETS = 30, 34  # north-south avenues about every 200 m, east-west streets every 145 m
STREET_NAMES = (
    "Alder Beech Cedar Dogwood Elm Fir Gorse Hazel Juniper Rowan Larch Maple Linden Oak Pine Poplar Quince "
    "Redwood Spruce Sycamore Thorn Walnut Willow Yew Chestnut Market Mill Church School Bridge Park Station Victoria King"
).split()
PARK_AVENUES = {5: (12, 15), 17: (20, 23), 26: (27, 30)}  # avenue: (street where it stops, street where it resumes)
SHORT_AVENUES = {2: (4, None), 11: (None, 28), 23: (3, None)}  # avenue: (first street, last street); None: to the edge
GAP = 0.3  # digitising gap (m) left where some lines end at another
GAP_AVENUES, GAP_STREETS = {11}, {4, 13, 22, 31}  # gap streets start 0.3 m short of 3rd Avenue (T-junction)
DEAD_END_STREETS = {2, 8, 14, 20, 26, 32}  # stop in the middle of a block east of 16th Avenue
# Planted hot spots: name, kind, centre junction (avenue, street), radius (m), incidents, day profile, hour profile, offences.
HOTSPOTS = [
    ("Town centre nightlife", "persistent", (14, 16), 120.0, 2000, "weekend", "night",
     {"assault": 0.55, "robbery": 0.2, "criminal_damage": 0.15, "drugs": 0.1}),
    ("Market Street retail", "persistent", (6, 25), 120.0, 1700, "steady", "shops",
     {"theft_from_vehicle": 0.6, "robbery": 0.1, "criminal_damage": 0.15, "assault": 0.15}),
    ("Riverside flats", "emerging", (24, 5), 130.0, 1200, "emerging", "evening",
     {"burglary": 0.5, "criminal_damage": 0.3, "theft_from_vehicle": 0.2}),
    ("Old station", "fading", (6, 7), 130.0, 1200, "fading", "evening",
     {"burglary": 0.4, "theft_from_vehicle": 0.4, "drugs": 0.2}),
]  # fmt: skip
SEGMENT = ("Rowan Street drug market", 9, 20, 300)  # street, avenue at its west end, drug offences
EMERGES, FADED = np.datetime64("2024-06-01"), np.datetime64("2025-01-01")


def main(path):
    rng = np.random.default_rng(SEED)
    avenues, streets = skeleton(rng)
    lines = street_lines(rng, avenues, streets)
    net = sample_network(lines)
    incidents, truth = make_incidents(rng, lines, net, avenues, streets)
    pings = make_pings(rng, avenues, streets, truth)
    write(path, lines, incidents, truth, beats(rng), pings)
    summary(path, lines, net, incidents, truth, pings)


# --- streets ---------------------------------------------------------------------------------


def skeleton(rng):
    """Full-length avenues (x rising along y) and streets (y rising along x), with a little
    jitter at each vertex, so no line is quite straight."""
    avenues, streets = [], []
    for i in range(AVENUES):
        y = np.r_[MARGIN, np.sort(rng.uniform(300, HEIGHT - 300, 5)), HEIGHT - MARGIN]
        avenues.append(np.column_stack([100 + 200 * i + rng.uniform(-25, 25) + rng.normal(0, 0.7, len(y)), y]))
    for j in range(STREETS):
        x = np.r_[MARGIN, np.sort(rng.uniform(300, WIDTH - 300, 6)), WIDTH - MARGIN]
        streets.append(np.column_stack([x, 75 + 145 * j + rng.uniform(-15, 15) + rng.normal(0, 0.7, len(x))]))
    return avenues, streets


def junction(avenue, street):
    """Where an avenue crosses a street (both nearly straight: a few fixed-point steps)."""
    y = street[:, 1].mean()
    for _ in range(4):
        x = np.interp(y, avenue[:, 1], avenue[:, 0])
        y = np.interp(x, street[:, 0], street[:, 1])
    return np.array([x, y])


def clip(line, axis, lo, hi):
    """The piece of a line monotonic along ``axis`` (0: x, 1: y) between coordinates lo and hi."""
    c, other = line[:, axis], line[:, 1 - axis]
    ends = [np.roll([v, np.interp(v, c, other)], axis) for v in (lo, hi)]
    return np.vstack([ends[0], line[(c > lo) & (c < hi)], ends[1]])


def street_lines(rng, avenues, streets):
    """The published centre-lines: dicts with name, road class and parts (a list of (k, 2) arrays)."""
    lines = []
    for i, av in enumerate(avenues):
        n = i + 1
        name = f"{n}{'th' if n % 100 in (11, 12, 13) else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')} Avenue"
        parts = [av]
        if i in SHORT_AVENUES:  # starts or ends at a street (a T-junction), not at the city edge
            first, last = SHORT_AVENUES[i]
            lo = junction(av, streets[first])[1] if first is not None else MARGIN
            hi = junction(av, streets[last])[1] - (GAP if i in GAP_AVENUES else 0) if last is not None else HEIGHT - MARGIN
            parts = [clip(av, 1, lo, hi)]
        if i in PARK_AVENUES:  # interrupted by a park: one feature, two parts
            stop, resume = (junction(av, streets[j])[1] for j in PARK_AVENUES[i])
            parts = [clip(av, 1, MARGIN, stop), clip(av, 1, resume, HEIGHT - MARGIN)]
        lines.append({"name": name, "class": "arterial" if i % 5 == 0 else "local", "parts": parts})
    for j, st in enumerate(streets):
        arterial = j % 8 == 0
        part = st
        if j in DEAD_END_STREETS:  # stops in the middle of a block
            part = clip(st, 0, MARGIN, junction(avenues[15], st)[0] + 90)
        if j in GAP_STREETS:  # starts 0.3 m short of 3rd Avenue
            part = clip(st, 0, junction(avenues[2], st)[0] + GAP, WIDTH - MARGIN)
        name = f"{STREET_NAMES[j]} {'Road' if arterial else 'Street'}"
        lines.append({"name": name, "class": "arterial" if arterial else "local", "parts": [part]})
    old_station = junction(avenues[HOTSPOTS[3][2][0]], streets[HOTSPOTS[3][2][1]])
    lines.append({"name": "Grand Boulevard", "class": "arterial", "parts": [np.array([[MARGIN, 600.0], [WIDTH - MARGIN, 4600.0]])]})
    lines.append({"name": "Station Road", "class": "arterial", "parts": [np.array([[MARGIN, 2430.0], old_station])]})
    t = np.linspace(0, 1, 80)
    river = np.column_stack([MARGIN + t * (WIDTH - 2 * MARGIN), 380 + 160 * np.sin(3 * np.pi * t)])
    lines.append({"name": "River Drive", "class": "local", "parts": [river]})
    a = np.linspace(np.pi, 1.5 * np.pi, 40)  # a quarter circle round the north-east, edge to edge
    ring = np.column_stack([WIDTH - MARGIN + 1000 * np.cos(a), HEIGHT - MARGIN + 1000 * np.sin(a)])
    lines.append({"name": "Ring Road", "class": "arterial", "parts": [ring]})
    # Blocks for crescents, cul-de-sacs and back lanes: bounded by whole avenues and streets, away
    # from the river, not touching Rowan Street (the single-segment hot spot stays one street segment).
    broken = set(PARK_AVENUES) | set(SHORT_AVENUES)
    whole = set(range(STREETS)) - DEAD_END_STREETS - GAP_STREETS
    blocks = [(i, j) for i in range(AVENUES - 1) for j in range(4, STREETS - 1) if not {i, i + 1} & broken and {j, j + 1} <= whole]
    blocks = [(i, j) for i, j in blocks if j != SEGMENT[1]]
    blocks = [blocks[k] for k in rng.permutation(len(blocks))]
    for k, (i, j) in enumerate(blocks[:3]):  # crescents: a half circle off a street, both ends on it
        cx = (junction(avenues[i], streets[j])[0] + junction(avenues[i + 1], streets[j])[0]) / 2
        a = np.linspace(np.pi, 0, 21)
        arc = np.column_stack([cx + 60 * np.cos(a), np.interp(cx, streets[j][:, 0], streets[j][:, 1]) + 60 * np.sin(a)])
        arc[[0, -1], 1] = np.interp(arc[[0, -1], 0], streets[j][:, 0], streets[j][:, 1])
        lines.append({"name": f"{('Park', 'Hill', 'Abbey')[k]} Crescent", "class": "local", "parts": [arc]})
    for k, (i, j) in enumerate(blocks[3:15]):  # cul-de-sacs: a short close off a street, ending nowhere
        x = (junction(avenues[i], streets[j])[0] + junction(avenues[i + 1], streets[j])[0]) / 2 + rng.uniform(-30, 30)
        y = np.interp(x, streets[j][:, 0], streets[j][:, 1])
        close = np.array([[x, y], [x + rng.uniform(-5, 5), y + 35], [x + rng.uniform(-20, 20), y + rng.uniform(60, 85)]])
        name = "Badger Clover Daisy Fern Heather Ivy Lark Meadow Orchard Primrose Sorrel Teasel".split()[k]
        lines.append({"name": f"{name} Close", "class": "alley", "parts": [close]})
    for k, (i, j) in enumerate(blocks[15:25]):  # back lanes: mid-block alleys from avenue to avenue
        y = (junction(avenues[i], streets[j])[1] + junction(avenues[i], streets[j + 1])[1]) / 2
        lane = np.array([[np.interp(y, avenues[a][:, 1], avenues[a][:, 0]), y] for a in (i, i + 1)])
        name = "Tanner Cooper Weaver Potter Smith Baker Carter Fuller Mason Turner".split()[k]
        lines.append({"name": f"{name} Lane", "class": "alley", "parts": [lane]})
    return lines


def block_faces(parts, tolerance=1.0):
    """Cut positions (metres along each part) at every junction: where another line crosses or
    touches the part, or ends within ``tolerance`` of it. Consecutive cuts bound a street segment."""
    a, b = np.concatenate([p[:-1] for p in parts]), np.concatenate([p[1:] for p in parts])
    owner = np.repeat(np.arange(len(parts)), [len(p) - 1 for p in parts])
    measure = [np.r_[0, np.cumsum(np.hypot(*np.diff(p, axis=0).T))] for p in parts]
    at = np.concatenate([m[:-1] for m in measure])  # position of each edge's start along its part
    d = b - a
    length = np.hypot(*d.T)
    cross = d[:, None, 0] * d[None, :, 1] - d[:, None, 1] * d[None, :, 0]
    w = a[None, :] - a[:, None]  # from edge e's start to edge f's start
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (w[..., 0] * d[None, :, 1] - w[..., 1] * d[None, :, 0]) / cross
        u = (w[..., 0] * d[:, None, 1] - w[..., 1] * d[:, None, 0]) / cross
    hit = (owner[:, None] != owner[None, :]) & (np.abs(cross) > 1e-9) & (t >= 0) & (t <= 1) & (u >= 0) & (u <= 1)
    e, f = np.nonzero(hit)
    cut_part, cut_at = [owner[e]], [at[e] + t[e, f] * length[e]]
    ends = np.array([p[k] for p in parts for k in (0, -1)])
    end_owner = np.repeat(np.arange(len(parts)), 2)
    s = np.clip(((ends[:, None] - a[None]) * d[None]).sum(-1) / length**2, 0, 1)
    gap = np.hypot(*(a[None] + s[..., None] * d[None] - ends[:, None]).transpose(2, 0, 1))
    p, q = np.nonzero((gap <= tolerance) & (end_owner[:, None] != owner[None, :]))
    cut_part.append(owner[q])
    cut_at.append(at[q] + s[p, q] * length[q])
    cut_part, cut_at = np.concatenate(cut_part), np.concatenate(cut_at)
    cuts = []
    for k, m in enumerate(measure):
        c = np.sort(cut_at[(cut_part == k) & (cut_at > 0.5) & (cut_at < m[-1] - 0.5)])
        c = c[np.r_[True, np.diff(c) > 0.5]] if len(c) else c
        cuts.append(np.r_[0, c, m[-1]])
    return cuts, measure


def sample_network(lines):
    """The network as points every metre (position, unit direction, street segment), and the segments
    (part, start, end along the part, street index)."""
    parts = [(k, p) for k, line in enumerate(lines) for p in line["parts"]]
    cuts, measure = block_faces([p for _, p in parts])
    xy, tangent, face, faces = [], [], [], []
    for (k, p), c, m in zip(parts, cuts, measure):
        s = np.arange(0.5, m[-1], 1.0)
        edge = np.clip(np.searchsorted(m, s) - 1, 0, len(p) - 2)
        step = np.diff(p, axis=0)
        xy.append(np.column_stack([np.interp(s, m, p[:, 0]), np.interp(s, m, p[:, 1])]))
        tangent.append((step / np.hypot(*step.T)[:, None])[edge])
        face.append(len(faces) + np.searchsorted(c, s) - 1)
        faces += [(len(faces) + n, p, c[n], c[n + 1], k) for n in range(len(c) - 1)]
    return {"xy": np.concatenate(xy), "tangent": np.concatenate(tangent), "face": np.concatenate(face), "faces": faces}


def face_line(face):
    """Coordinates of a street segment: its part between the two cuts."""
    _, p, start, end, _ = face
    m = np.r_[0, np.cumsum(np.hypot(*np.diff(p, axis=0).T))]
    s = np.r_[start, m[(m > start) & (m < end)], end]
    return np.column_stack([np.interp(s, m, p[:, 0]), np.interp(s, m, p[:, 1])])


# --- incidents -------------------------------------------------------------------------------


def addresses(rng, net, chosen, setback):
    """Incident locations near network points: 30 % on the centre-line, the rest set back up to
    ``setback`` metres on either side (as geocoded street addresses are)."""
    n = len(chosen)
    off = np.where(rng.random(n) < 0.3, rng.normal(0, 1, n).clip(-2, 2), rng.choice([-1.0, 1.0], n) * rng.uniform(2.5, setback, n))
    tx, ty = net["tangent"][chosen].T
    return net["xy"][chosen] + rng.uniform(-0.5, 0.5, n)[:, None] * net["tangent"][chosen] + off[:, None] * np.column_stack([-ty, tx])


def when(rng, n, days, hours):
    """Seconds since 2023-01-01 00:00: a day from the day profile, an hour from the hour profile."""
    day = np.arange(DAYS)
    weekday = (day + 6) % 7  # 2023-01-01 was a Sunday; Monday is 0
    season = 1 + 0.15 * np.sin(2 * np.pi * (day - 100) / 365.25)  # a little more in summer
    emerges, faded = ((v - EPOCH.astype("datetime64[D]")).astype(int) for v in (EMERGES, FADED))
    weights = {
        "steady": season * np.where(np.isin(weekday, (4, 5)), 1.15, 1.0),
        "weekend": season * np.where(np.isin(weekday, (4, 5)), 3.0, 1.0),  # Friday and Saturday nights
        "emerging": season * np.clip(day - emerges + 1, 0, None),  # none, then a rate growing to the end
        "fading": np.where(day < faded, np.exp(-day / 200.0), 0.0),  # strongest in early 2023, gone by 2025
    }[days]
    h = np.array(HOURS[hours], dtype=float)
    seconds = rng.choice(DAYS, n, p=weights / weights.sum()) * 86400 + rng.choice(24, n, p=h / h.sum()) * 3600
    return seconds + rng.integers(0, 3600, n)


def make_incidents(rng, lines, net, avenues, streets):
    """Background (on every street, skewed between street segments) plus the planted hot spots."""
    faces = net["faces"]
    mid = np.array([face_line(f).mean(axis=0) for f in faces])
    town = junction(avenues[HOTSPOTS[0][2][0]], streets[HOTSPOTS[0][2][1]])
    road = np.array([lines[f[4]]["class"] for f in faces])
    base = np.select([road == "arterial", road == "alley"], [2.0, 0.4], 1.0)
    skew = rng.lognormal(0, SKEW, len(faces))
    for _, _, (i, j), *_ in HOTSPOTS[2:]:  # average streets round the emerging and fading ones, so they show
        skew[np.hypot(*(mid - junction(avenues[i], streets[j])).T) < 300] = np.exp(SKEW**2 / 2)
    rate = base * skew * (1 + TOWN * np.exp(-((mid - town) ** 2).sum(1) / (2 * 1200.0**2)))  # busier near the town centre
    p = rate[net["face"]]
    names = list(OFFENCES)
    xy = [addresses(rng, net, rng.choice(len(p), BACKGROUND, p=p / p.sum()), 13.0)]
    seconds = [when(rng, BACKGROUND, "steady", "evening")]
    offence = [rng.choice(names, BACKGROUND, p=[OFFENCES[o][0] for o in names])]
    truth = []
    for name, kind, (i, j), radius, n, days, hours, mix in HOTSPOTS:
        centre = junction(avenues[i], streets[j])
        d = np.hypot(*(net["xy"] - centre).T)
        w = np.clip(1 - (d / (radius - 15)) ** 2, 0, None)  # peaked at the junction, all within the radius
        xy.append(addresses(rng, net, rng.choice(len(w), n, p=w / w.sum()), 13.0))
        seconds.append(when(rng, n, days, hours))
        offence.append(rng.choice(list(mix), n, p=list(mix.values())))
        disc = ogr.CreateGeometryFromWkt(f"POINT ({X0 + centre[0]} {Y0 + centre[1]})").Buffer(radius, 18)
        truth.append({"kind": kind, "name": name, "centre": centre, "radius": radius, "n": n, "polygon": disc, "street_id": None})
    name, j, i, n = SEGMENT  # one street segment of Rowan Street, between two avenues
    west, east = junction(avenues[i], streets[j]), junction(avenues[i + 1], streets[j])
    on_street = [f for f in faces if lines[f[4]]["name"] == "Rowan Street"]
    face = min(on_street, key=lambda f: np.hypot(*(face_line(f).mean(axis=0) - (west + east) / 2)))
    length = face[3] - face[2]
    assert 100 <= length <= 220 and np.allclose(face_line(face)[[0, -1]], [west, east], atol=0.01), "Rowan Street segment"
    s = np.flatnonzero(net["face"] == face[0])
    s = s[(np.hypot(*(net["xy"][s] - west).T) > 25) & (np.hypot(*(net["xy"][s] - east).T) > 25)]  # not within 25 m of a junction
    xy.append(addresses(rng, net, rng.choice(s, n), 4.5))
    seconds.append(when(rng, n, "steady", "dealing"))
    offence.append(np.full(n, "drugs"))
    line = face_line(face)
    m = np.r_[0, np.cumsum(np.hypot(*np.diff(line, axis=0).T))]
    centre = np.array([np.interp(length / 2, m, line[:, 0]), np.interp(length / 2, m, line[:, 1])])
    strip = ogr.CreateGeometryFromWkt(wkt("LINESTRING", line)).Buffer(10.0, 16)
    truth.append({"kind": "single_segment", "name": name, "centre": centre, "radius": length / 2, "n": n, "polygon": strip})
    truth[-1]["street_id"] = face[4] + 1  # the street (feature) the segment belongs to
    xy, seconds, offence = (np.concatenate(v) for v in (xy, seconds, offence))
    order = np.argsort(seconds, kind="stable")  # incident numbers rise with time, as in a records system
    xy = np.clip(xy[order], 1.0, [WIDTH - 1.0, HEIGHT - 1.0])
    return {"xy": xy, "seconds": seconds[order], "offence": offence[order]}, truth


# --- beats and pings -------------------------------------------------------------------------


def beats(rng):
    """4 x 3 beats tiling the city: a grid of corners, the inner ones moved a little."""
    x = np.tile(np.linspace(0, WIDTH, 5), (4, 1))
    y = np.tile(np.linspace(0, HEIGHT, 4)[:, None], (1, 5))
    x[:, 1:-1] += rng.uniform(-150, 150, (4, 3))
    y[1:-1, :] += rng.uniform(-120, 120, (2, 5))
    out = []
    for r, district in enumerate(("South", "Central", "North")):
        for c in range(4):
            ring = [(x[r + dr, c + dc], y[r + dr, c + dc]) for dr, dc in ((0, 0), (0, 1), (1, 1), (1, 0), (0, 0))]
            out.append((f"B{r * 4 + c + 1:02d}", district, np.array(ring)))
    return out


def make_pings(rng, avenues, streets, truth, days=14, shift=6 * 3600, step=30):
    """Four cars on a rota (each day Car 1 and Car 2, or Car 3 and Car 4 on alternate days: one on
    patrol 07:00-13:00, one 17:00-23:00), a ping every 30 s while on patrol. A car drives from junction to
    junction (along its street, then along the avenue) on whole avenues and streets at 6-11 m/s;
    a quarter of its trips are directed patrols that dwell 10-20 minutes in a planted hot spot,
    some others answer a call (a 5-25 minute stop anywhere). GPS error about 2.5 m."""
    av = [i for i in range(AVENUES) if i not in PARK_AVENUES and i not in SHORT_AVENUES]
    st = [j for j in range(STREETS) if j not in DEAD_END_STREETS | GAP_STREETS]
    spots = [(i, j, None) for _, _, (i, j), *_ in HOTSPOTS] + [(SEGMENT[2], SEGMENT[1], truth[-1]["centre"])]
    first = (np.datetime64("2025-12-01") - EPOCH.astype("datetime64[D]")).astype(int)
    rows = []
    for day in range(days):
        for car, hour in ((2 * (day % 2), 7), (2 * (day % 2) + 1, 17)):
            start = (first + day) * 86400 + hour * 3600
            t, j = float(start), int(rng.choice(st))
            here = junction(avenues[int(rng.choice(av))], streets[j])
            legs = []  # (t0, t1, x0, y0, x1, y1)
            while t < start + shift:
                u = rng.random()
                ti, tj, extra = spots[rng.integers(len(spots))] if u < 0.25 else (int(rng.choice(av)), int(rng.choice(st)), None)
                dwell = rng.uniform(600, 1200) if u < 0.25 else rng.uniform(300, 1500) if u < 0.35 else 0.0
                for goal in (junction(avenues[ti], streets[j]), junction(avenues[ti], streets[tj]), extra):
                    if goal is not None and np.hypot(*(goal - here)) > 1.0:
                        dt = np.hypot(*(goal - here)) / rng.uniform(6, 11)
                        legs.append((t, t + dt, *here, *goal))
                        t, here = t + dt, goal
                if dwell:
                    legs.append((t, t + dwell, *here, *here))
                    t += dwell
                j = tj
            legs = np.array(legs)
            times = start + step * np.arange(shift // step)
            k = np.searchsorted(legs[:, 0], times, side="right") - 1
            f = ((times - legs[k, 0]) / (legs[k, 1] - legs[k, 0]))[:, None]
            xy = legs[k, 2:4] + f * (legs[k, 4:6] - legs[k, 2:4]) + rng.normal(0, 2.5, (len(times), 2))
            rows += [(car, times, xy)]
    car = np.concatenate([np.full(len(t), c) for c, t, _ in rows])
    times, xy = np.concatenate([t for _, t, _ in rows]), np.concatenate([p for _, _, p in rows])
    order = np.lexsort((car, times))
    return {"car": car[order], "seconds": times[order], "xy": xy[order]}


# --- output ----------------------------------------------------------------------------------


def wkt(kind, *rings):
    text = ", ".join("(" + ", ".join(f"{X0 + x:.2f} {Y0 + y:.2f}" for x, y in ring) + ")" for ring in rings)
    return f"{kind} {text}" if kind == "LINESTRING" else f"{kind} ({text})"


def stamps(seconds):
    """(year, month, day, hour, minute, second) of each time in seconds since 2023-01-01."""
    return [(d.year, d.month, d.day, d.hour, d.minute, d.second) for d in (EPOCH + seconds.astype("timedelta64[s]")).astype(object)]


def write(path, lines, incidents, truth, beat_rows, pings):
    gdal.SetConfigOption("OGR_CURRENT_DATE", "2026-01-01T00:00:00Z")  # gpkg_contents.last_change: no clock
    if os.path.exists(path):
        os.remove(path)
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32630)
    dataset = ogr.GetDriverByName("GPKG").CreateDataSource(path)

    def layer(name, geometry_type, fields, rows, description, index=True):
        """rows: (geometry (WKT or (x, y)), field values); a tuple value is a date-time."""
        out = dataset.CreateLayer(name, srs, geometry_type, [f"SPATIAL_INDEX={'YES' if index else 'NO'}", f"DESCRIPTION={description}"])
        for field, kind in fields:
            out.CreateField(ogr.FieldDefn(field, kind))
        definition = out.GetLayerDefn()
        out.StartTransaction()
        for geometry, values in rows:
            feature = ogr.Feature(definition)
            for k, value in enumerate(values):
                if isinstance(value, tuple):
                    feature.SetField(k, *value, 0)
                elif value is not None:
                    feature.SetField(k, value)
            if isinstance(geometry, str):
                feature.SetGeometry(ogr.CreateGeometryFromWkt(geometry))
            else:
                point = ogr.Geometry(ogr.wkbPoint)
                point.AddPoint_2D(round(X0 + geometry[0], 2), round(Y0 + geometry[1], 2))
                feature.SetGeometry(point)
            out.CreateFeature(feature)
        out.CommitTransaction()

    fields = [("street_id", ogr.OFTInteger), ("street_name", ogr.OFTString), ("road_class", ogr.OFTString)]
    rows = [(wkt("MULTILINESTRING", *line["parts"]), (k + 1, line["name"], line["class"])) for k, line in enumerate(lines)]
    layer("streets", ogr.wkbMultiLineString, fields, rows, "Synthetic street centre-lines (not split at junctions)")
    fields = [("incident_id", ogr.OFTInteger), ("occurred_at", ogr.OFTDateTime), ("offence", ogr.OFTString), ("harm_weight", ogr.OFTReal)]
    values = zip(range(1, len(incidents["xy"]) + 1), stamps(incidents["seconds"]), incidents["offence"].tolist())
    rows = [(xy, (k, at, o, OFFENCES[o][1])) for xy, (k, at, o) in zip(incidents["xy"].tolist(), values)]
    layer("incidents", ogr.wkbPoint, fields, rows, "Synthetic incidents 2023-2025 with planted hot spots", index=False)
    fields = [("beat_id", ogr.OFTString), ("district", ogr.OFTString)]
    layer("beats", ogr.wkbPolygon, fields, [(wkt("POLYGON", ring), (b, d)) for b, d, ring in beat_rows], "Synthetic patrol beats")
    boundary = np.array([[0, 0], [WIDTH, 0], [WIDTH, HEIGHT], [0, HEIGHT], [0, 0]], dtype=float)
    layer("study_area", ogr.wkbPolygon, [("name", ogr.OFTString)], [(wkt("POLYGON", boundary), ("Sample City",))], "City boundary")
    fields = [("unit_id", ogr.OFTString), ("pinged_at", ogr.OFTDateTime)]
    rows = [(xy, (f"Car {c + 1}", at)) for xy, c, at in zip(pings["xy"].tolist(), pings["car"].tolist(), stamps(pings["seconds"]))]
    layer("patrol_pings", ogr.wkbPoint, fields, rows, "Synthetic patrol-car GPS pings, 2025-12-01 to 12-14", index=False)
    fields = [("kind", ogr.OFTString), ("name", ogr.OFTString), ("centre_x", ogr.OFTReal), ("centre_y", ogr.OFTReal)]
    fields += [("radius_m", ogr.OFTReal), ("n_incidents", ogr.OFTInteger), ("street_id", ogr.OFTInteger)]
    rows = []
    for h in truth:
        values = (h["kind"], h["name"], round(X0 + h["centre"][0], 2), round(Y0 + h["centre"][1], 2), round(h["radius"], 2), h["n"])
        rows.append((h["polygon"].ExportToWkt(), values + (h["street_id"],)))
    layer("planted_hotspots", ogr.wkbPolygon, fields, rows, "Ground truth: the planted hot spots")
    dataset = None


def summary(path, lines, net, incidents, truth, pings):
    dataset = ogr.Open(path)
    for k in range(dataset.GetLayerCount()):
        layer = dataset.GetLayer(k)
        x1, x2, y1, y2 = layer.GetExtent()
        print(f"{layer.GetName():17s} {layer.GetFeatureCount():7,d} features, extent {x1:.0f} {y1:.0f} {x2:.0f} {y2:.0f}")
    print(f"street segments when split at every junction: {len(net['faces']):,}; street features: {len(lines)}")
    for h in truth:
        x, y = X0 + h["centre"][0], Y0 + h["centre"][1]
        print(f"  {h['kind']:15s} {h['name']:26s} centre {x:.2f} {y:.2f} radius {h['radius']:.2f} m, {h['n']} incidents")
    years = (EPOCH + incidents["seconds"].astype("timedelta64[s]")).astype("datetime64[Y]").astype(int) + 1970
    print(f"incidents per year: {dict(zip(*np.unique(years, return_counts=True)))}; pings: {len(pings['seconds']):,}")
    print(f"{path}: {os.path.getsize(path) / 1e6:.2f} MB")


if __name__ == "__main__":
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    main(os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.join(root, "resources", "sample_data", "sample_city.gpkg"))
