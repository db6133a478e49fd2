"""Planning (issue 14): the accessibility surface's build, a scenario's coverage beside the live
run, and the two-step floating catchment (2SFCA), on the sample district and on a city.

Sizes: `sample` is the sample district (seed 42, the generator's defaults: 3,000 members, 3,000
buildings, 30 service points); `city` is the same district generated with issue 14's city counts
(1,000,000 members, 100,000 buildings, 5,000 service points, 5,000 organisations). Each is
generated and loaded with `djmap samples generate` / `djmap samples load` (bench_pagedata.load,
each in its own process) into its own database (`djmap_planning_<size>`) on a private throwaway
cluster (`--home`: a folder to keep it in; with `--keep` the cluster and its databases stay
there and a later run with the same `--home` measures them without loading again).

For each size, `--rounds` times (median and best; the machine's load average is recorded):

- **accessibility build**: what the derived build does (tiles/accessibility_build.build_surface:
  the surface of every district at H3 resolution 9, minutes to the nearest and third nearest
  service point on the walking network, written to accessibility_cells in one transaction);
- **coverage, live and scenario**: `djmap coverage`'s core (walk, 15 minutes, member weight, the
  whole district, as admin) on the live service points, then on a scenario that removes every
  20th point, moves every 20th other one by about 300 m and adds 1 % new points at buildings;
  each run with the member spread and walking area caches emptied first (cold), and the
  comparison as the page asks it (live then scenario, the caches kept between the two: the
  server's case);
- **2SFCA**: `POST /api/capacity`'s core (geo/planning/capacity.run) over the district, with
  household demand from buildings, and (`members`) with demand from the members' privacy atoms.

Usage: .venv/bin/python bench/bench_planning.py [--sizes sample,city] [--rounds 3] [--home DIR]
       [--keep]
JSON goes to test-output/bench_planning.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_pagedata import kept_cluster, load, machine  # noqa: E402

from geo import db as geodb  # noqa: E402

OUT = ROOT / "test-output" / "bench_planning.json"
CITY = {"organisations": 5000, "service_points": 5000, "buildings": 100_000}
SIZES = {"sample": (3000, {}), "city": (1_000_000, CITY)}
MARKER = "bench_planning_loaded"


def timed(fn: Callable[[], Any], rounds: int) -> tuple[dict[str, Any], Any]:
    """Median and best seconds of `rounds` calls (each call's seconds too), and the last result."""
    times, last = [], None
    for _ in range(rounds):
        t0 = time.perf_counter()
        last = fn()
        times.append(round(time.perf_counter() - t0, 3))
    return {
        "median_s": round(statistics.median(times), 3),
        "best_s": min(times),
        "runs_s": times,
        "load_average": os.getloadavg(),
    }, last


def database(base: str, size: str, work: Path) -> tuple[str, dict[str, Any]]:
    """The size's loaded database (loaded now unless an earlier kept run loaded it)."""
    head = base.rsplit("/", 1)[0]
    name = f"djmap_planning_{size}"
    url = f"{head}/{name}"
    with psycopg.connect(f"{head}/postgres", autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    if found is not None:
        with psycopg.connect(url) as conn:
            done = conn.execute("SELECT obj_description('members'::regclass)").fetchone()
        if done is not None and done[0] == MARKER:
            return url, {"loaded": "kept from an earlier run"}
        with psycopg.connect(f"{head}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    with psycopg.connect(f"{head}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    geodb.migrate(url)
    members, counts = SIZES[size]
    loaded = load(url, members, counts, work / size)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"COMMENT ON TABLE members IS '{MARKER}'")
    return url, loaded


def counts(url: str) -> dict[str, int]:
    """What the database holds."""
    out = {}
    with psycopg.connect(url) as conn:
        for table in ("members", "buildings", "service_points", "roads", "districts"):
            row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
            out[table] = int(row[0]) if row else 0
    return out


def bench_build(url: str, rounds: int) -> dict[str, Any]:
    """The accessibility surface's build, as the registry runs it (a new token each round)."""
    from tiles.accessibility_build import build_surface

    n = iter(range(rounds))
    figures, _ = timed(lambda: build_surface(url, f"bench-{time.time()}-{next(n)}"), rounds)
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*), count(t1_min) FROM accessibility_cells").fetchone()
    assert row is not None
    return {**figures, "cells": int(row[0]), "cells_within_30_min": int(row[1])}


def scenario_changes(url: str) -> list[dict[str, Any]]:
    """Remove every 20th service point, move every 20th other one (~300 m east), add 1 % new
    points at buildings."""
    with psycopg.connect(url) as conn:
        sps = conn.execute(
            "SELECT id, ST_X(geom), ST_Y(geom) FROM service_points ORDER BY id"
        ).fetchall()
        n_add = max(1, len(sps) // 100)
        adds = conn.execute(
            "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(geom) AS c FROM buildings"
            " ORDER BY id) b LIMIT %s",
            (n_add * 37,),
        ).fetchall()[::37]
    changes: list[dict[str, Any]] = []
    for i, (sid, lon, lat) in enumerate(sps):
        if i % 20 == 0:
            changes.append({"op": "remove", "id": sid})
        elif i % 20 == 10:
            point = {"type": "Point", "coordinates": [lon + 0.003, lat]}
            changes.append({"op": "move", "id": sid, "geometry": point})
    for lon, lat in adds:
        point = {"type": "Point", "coordinates": [lon, lat]}
        changes.append({"op": "add", "geometry": point, "properties": {"capacity": 150}})
    return changes[:1000]  # a scenario holds at most 1,000 changes


def bench_coverage(url: str, district: str, rounds: int) -> dict[str, Any]:
    """Live and scenario coverage runs, cold, and the comparison (both, the cache kept)."""
    from geo.analysis import coverage, member_demand, service_areas
    from geo.analysis.coverage_request import CoverageRequest
    from geo.db import Direct
    from geo.planning.scenario_changes import normalise
    from geo.scope import Principal

    admin, db = Principal(role="admin"), Direct(url, statement_timeout=600.0)
    raw = scenario_changes(url)
    changes = normalise(raw)
    live = CoverageRequest(mode="walk", minutes=15.0, weight="members", district=district)
    scen = dataclasses.replace(live, scenario=changes)

    def clear() -> None:
        member_demand._cache.clear()
        service_areas._cache.clear()

    def cold(req: CoverageRequest) -> Callable[[], Any]:
        def go() -> Any:
            clear()
            return coverage.run(db, req, admin)

        return go

    def both() -> Any:
        clear()
        return coverage.run(db, live, admin), coverage.run(db, scen, admin)

    out: dict[str, Any] = {"scenario_changes": {
        "removed": len(changes.removed), "moved": len(changes.patched),
        "added": len(changes.added)}}  # fmt: skip
    out["live"], a = timed(cold(live), rounds)
    out["scenario"], b = timed(cold(scen), rounds)
    out["comparison"], _ = timed(both, rounds)
    out["live"]["summary"], out["scenario"]["summary"] = a["summary"], b["summary"]
    for key in ("scenario", "comparison"):
        out[f"{key}_over_live"] = round(out[key]["median_s"] / out["live"]["median_s"], 2)
    return out


def bench_2sfca(url: str, district: str, rounds: int) -> dict[str, Any]:
    """2SFCA over the district: household demand, and member demand (as admin)."""
    from geo.analysis import member_demand
    from geo.analysis.demand import load_area
    from geo.planning import capacity
    from geo.scope import Principal

    def run(**kw: Any) -> Callable[[], Any]:
        def go() -> Any:
            member_demand._cache.clear()
            with psycopg.connect(url) as conn:
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                area = load_area(conn, district, None)
                return capacity.run(conn, area, **kw)

        return go

    out: dict[str, Any] = {}
    out["households"], found = timed(run(), rounds)
    out["households"]["summary"] = found["summary"]
    admin = Principal(role="admin")
    out["members"], found = timed(run(demand="members", principal=admin), rounds)
    out["members"]["summary"] = found["summary"]
    return out


def bench_size(base: str, size: str, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Load (or reuse) one size and measure it."""
    url, loaded = database(base, size, work)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        row = conn.execute("SELECT code FROM districts ORDER BY id LIMIT 1").fetchone()
    assert row is not None
    district = str(row[0])
    result: dict[str, Any] = {"size": size, "load": loaded, "counts": counts(url)}
    parts = args.parts.split(",")
    if "build" in parts:
        result["accessibility_build"] = bench_build(url, args.rounds)
        print(size, "build", json.dumps(result["accessibility_build"]), flush=True)
    if "coverage" in parts:
        result["coverage"] = bench_coverage(url, district, args.rounds)
        print(size, "coverage", json.dumps(result["coverage"], default=str), flush=True)
    if "2sfca" in parts:
        result["2sfca"] = bench_2sfca(url, district, args.rounds)
        print(size, "2sfca", json.dumps(result["2sfca"], default=str), flush=True)
    return result


def parse() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="sample,city", help="comma list of sample, city")
    ap.add_argument("--parts", default="build,coverage,2sfca", help="comma list of what to time")
    ap.add_argument("--rounds", type=int, default=3, help="runs of each measure (median, best)")
    ap.add_argument("--home", help="a folder for the cluster (kept with --keep, reused after)")
    ap.add_argument("--keep", action="store_true", help="keep the cluster and its databases")
    return ap.parse_args()


def main() -> None:
    """Measure each size asked for and write the JSON report."""
    args = parse()
    report: dict[str, Any] = {"machine": machine(), "sizes": []}
    OUT.parent.mkdir(exist_ok=True)
    with kept_cluster(args.home, args.keep, "djmap-benchplan-") as (cluster, home):
        for size in args.sizes.split(","):
            report["sizes"].append(bench_size(cluster.url, size, args, home / "work"))
            OUT.write_text(json.dumps(report, indent=1, default=str))
        report["machine"]["load_average_end"] = os.getloadavg()
        OUT.write_text(json.dumps(report, indent=1, default=str))


if __name__ == "__main__":
    main()
