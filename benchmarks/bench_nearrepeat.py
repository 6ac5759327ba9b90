"""Speed and memory of hotspotpolicing:nearrepeat: 20,000 burglaries, the default bands
(0,1,101,201,301,401 m x 0,7,14,21,28 days, Manhattan), 999 permutations, in one process.

    /usr/bin/python3 benchmarks/bench_nearrepeat.py [--events 20000] [--permutations 999]

1. the Knox test itself (core.near_repeat.knox_test) on the events' coordinates and days:
   time and peak memory (tracemalloc: numpy's arrays included);
2. end to end through processing.run: GeoPackage in; table, HTML report and risk zones out;
3. beside it, the plain numpy way (as NearRepeat does in R): every pair's distance and day
   difference as full arrays, every permutation re-binning all n(n-1)/2 time differences; run
   on a subsample (it needs n^2 memory) and scaled to the full size by pairs x permutations,
   its observed table checked equal to ours on that subsample.
"""

import argparse
import os
import sys
import tempfile
import time
import tracemalloc

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from headless import qgis_session  # noqa: E402 - the scripts folder goes on the path first

SPACE, TIME = [0, 1, 101, 201, 301, 401], [0, 7, 14, 21, 28]
X0, Y0, SIDE = 440000.0, 4460000.0, 15000.0


def make_events(n, seed=1):
    """A city of 15 x 15 km over a year: 60 % of burglaries around 40 neighbourhood centres
    (500 m spread), 40 % anywhere; one in five starts a chain of up to 3 more within 80 m
    and 14 days."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, SIDE, (40, 2))
    seeds = int(n * 0.6)
    xy = np.where(
        (rng.random(seeds) < 0.6)[:, None],
        centres[rng.integers(0, 40, seeds)] + rng.normal(0, 500, (seeds, 2)),
        rng.uniform(0, SIDE, (seeds, 2)),
    )
    days = rng.integers(0, 365, seeds)
    xs, ys, ds = [xy[:, 0]], [xy[:, 1]], [days]
    left = n - seeds
    while left > 0:
        starts = rng.integers(0, seeds, min(left, seeds // 5))
        xs.append(xy[starts, 0] + rng.uniform(-80, 80, len(starts)))
        ys.append(xy[starts, 1] + rng.uniform(-80, 80, len(starts)))
        ds.append(np.minimum(days[starts] + rng.integers(0, 14, len(starts)), 364))
        left -= len(starts)
    x, y, d = (np.concatenate(v)[:n] for v in (xs, ys, ds))
    return np.clip(x, 0, SIDE).round(1) + X0, np.clip(y, 0, SIDE).round(1) + Y0, d


def write_geopackage(path, x, y, days):
    from osgeo import gdal

    csv = path + ".csv"
    stamps = np.datetime_as_string((days + 20089).astype("datetime64[D]").astype("datetime64[s]") + 36000, unit="s")
    with open(csv, "w") as handle:
        handle.write("x,y,occurred_at\n")
        handle.write("\n".join(f"{a:.1f},{b:.1f},{s}" for a, b, s in zip(x, y, stamps)) + "\n")
    table = gdal.OpenEx(
        csv, gdal.OF_VECTOR, open_options=["X_POSSIBLE_NAMES=x", "Y_POSSIBLE_NAMES=y", "KEEP_GEOM_COLUMNS=NO", "AUTODETECT_TYPE=YES"]
    )
    gdal.VectorTranslate(path, table, format="GPKG", layerName="burglaries", srcSRS="EPSG:32630", dstSRS="EPSG:32630", geometryType="POINT")
    table = None
    os.remove(csv)


def plain_numpy(x, y, days, permutations, seed=1):
    """NearRepeat's way in numpy: all pairs' distances and day differences (condensed, as R's
    dist()), cut into the bands, and each permutation re-cutting all day differences."""
    i, j = np.triu_indices(len(x), 1)
    distance = np.abs(x[i] - x[j]) + np.abs(y[i] - y[j])
    space = np.searchsorted(SPACE, distance, side="right") - 1
    rng = np.random.default_rng(seed)

    def table(d):
        band = np.searchsorted(TIME, np.abs(d[i] - d[j]), side="right") - 1
        ok = (space >= 0) & (space < len(SPACE) - 1) & (band >= 0) & (band < len(TIME) - 1)
        return np.bincount(space[ok] * (len(TIME) - 1) + band[ok], minlength=(len(SPACE) - 1) * (len(TIME) - 1))

    observed = table(days)
    for _ in range(permutations):
        table(days[rng.permutation(len(x))])
    return observed.reshape(len(SPACE) - 1, len(TIME) - 1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--permutations", type=int, default=999)
    parser.add_argument("--subsample", type=int, default=4_000, help="events the plain numpy way runs on")
    args = parser.parse_args()

    with qgis_session():
        import processing

        from hotspot_policing.core import near_repeat

        x, y, days = make_events(args.events)
        print(f"{args.events:,} events over {SIDE / 1000:g} x {SIDE / 1000:g} km and a year; bands {SPACE} m x {TIME} days, Manhattan")

        # 1. the Knox test
        tracemalloc.start()
        start = time.perf_counter()
        knox = near_repeat.knox_test(x, y, days, np.array(SPACE, float), np.array(TIME, float), "manhattan", args.permutations, seed=1)
        ours = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"Knox test, {args.permutations} permutations: {ours:.2f} s, peak memory {peak / 2**20:.0f} MB")
        print(f"  {knox.pairs_listed:,} pairs within 401 m; {ours / args.permutations * 1000:.1f} ms per permutation")
        print(f"  observed [1, 101) m x [0, 7) days: {knox.observed[1, 0]}, Knox ratio {knox.ratio[1, 0]:.2f}, p {knox.p_values[1, 0]:.3f}")

        # 2. end to end
        work = tempfile.mkdtemp(prefix="bench_nearrepeat_")
        source = os.path.join(work, "burglaries.gpkg")
        write_geopackage(source, x, y, days)
        start = time.perf_counter()
        result = processing.run(
            "hotspotpolicing:nearrepeat",
            {
                "INPUT": source,
                "TIME_FIELD": "occurred_at",
                "PERMUTATIONS": args.permutations,
                "OUTPUT_TABLE": os.path.join(work, "table.gpkg"),
                "OUTPUT_HTML": os.path.join(work, "report.html"),
                "OUTPUT_RISK": os.path.join(work, "risk.gpkg"),
            },
        )
        total = time.perf_counter() - start
        print(
            f"hotspotpolicing:nearrepeat end to end (GeoPackage in; table, report, risk zones out): {total:.2f} s "
            f"({result['SIGNIFICANT_BANDS']} significant bands; zones within {result['RISK_DISTANCE']:g} m for {result['RISK_DAYS']} days)"
        )
        try:
            import resource

            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"  peak resident memory of the whole process so far (QGIS included): {rss:.0f} MB")
        except ImportError:  # Windows has no resource module
            pass

        # 3. the plain numpy way on a subsample, scaled by pairs x permutations
        sub = np.random.default_rng(2).choice(args.events, args.subsample, replace=False)
        sub_permutations = 20
        tracemalloc.start()
        start = time.perf_counter()
        plain_observed = plain_numpy(x[sub], y[sub], days[sub], sub_permutations)
        plain = time.perf_counter() - start
        _, plain_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        check = near_repeat.knox_test(x[sub], y[sub], days[sub], np.array(SPACE, float), np.array(TIME, float), permutations=1)
        assert (check.observed == plain_observed).all(), "the plain numpy table differs from ours"
        scale = (
            (args.events * (args.events - 1)) / (args.subsample * (args.subsample - 1)) * (args.permutations + 1) / (sub_permutations + 1)
        )
        print(
            f"plain numpy, all pairs (NearRepeat's way): {args.subsample:,} events x {sub_permutations} permutations {plain:.1f} s, "
            f"peak {plain_peak / 2**20:.0f} MB (same observed table as ours)"
        )
        print(
            f"  scaled to {args.events:,} events x {args.permutations} permutations: about {plain * scale:,.0f} s and "
            f"{plain_peak * args.events**2 / args.subsample**2 / 2**30:.0f} GB -> ours {plain * scale / ours:,.0f}x faster"
        )


if __name__ == "__main__":
    main()
