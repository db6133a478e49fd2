"""Growth curves (issue 15 §1): how each cost grows with the members, on one loaded database per
member count.

For each member count it generates and loads the sample district (`djmap samples generate` /
`samples load`, each in its own process, bench_pagedata.load: the sample's other counts at 3,000,
issue 15's national-test counts above it: 5,000 organisations, 5,000 service points, 100,000
buildings) into `djmap_growth_<members>` on a private throwaway cluster (`--home DIR --keep`
keeps it; a later run with the same `--home` measures without loading again), then measures,
through the app in-process (`TestClient`, no socket, tile cache off, as an admin):

- **load**: seconds and peak RSS of generate and load; members per second of the whole load
  (organisations, buildings, roads and twelve months of organisation life included, so a lower
  bound of the import rate); database size after VACUUM ANALYZE;
- **builds**: every derived build the app's scheduler makes at start (cluster tables, heat cells,
  page figures, health scores, accessibility), each build's own seconds (they run side by side);
- **cold tiles**: p50 / p95 / worst ms of `members` (cluster tables), `member_heat` (heat build)
  and `service_points` tiles at z5, z8, z11 and z14 (the tiles under the members' extent, at most
  `--tiles` per zoom, cycled to `--reps` requests);
- **nearest**: p50 / p95 ms of `GET /api/nearest` (k=5) straight and walk from `--queries`
  seeded random points in the members' extent;
- **coverage**: `djmap coverage`'s core (straight 800 m, member weight, local engine, member
  spread cache emptied) for everyone (admin) and for one top-level organisation's subtree (the
  `--province` path), `--repeat` runs each.

Usage: .venv/bin/python bench/bench_growth.py [--members 3000,1000000] [--home DIR] [--keep]
JSON goes to test-output/bench_growth.json (with /proc/loadavg beside every part).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import morecantile
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_pagedata import counts_for, kept_cluster, load, machine  # noqa: E402

from geo import db as geodb  # noqa: E402
from layers import catalog  # noqa: E402

OUT = ROOT / "test-output" / "bench_growth.json"
TMS = morecantile.tms.get("WebMercatorQuad")
MARKER = "bench_growth_loaded"
ZOOMS = (5, 8, 11, 14)


def tile_layers() -> tuple[str, ...]:
    """The layers timed cold: every layer over the members table (homes, heat) and service points."""
    over_members = tuple(x.id for x in catalog.layers() if x.table == "members")
    points = catalog.of_table("service_points")
    return over_members + ((points.id,) if points is not None else ())


def percentiles(times_ms: list[float]) -> dict[str, float]:
    """p50, p95 and worst of the samples (ms), rounded."""
    times = sorted(times_ms)
    return {
        "p50_ms": round(statistics.median(times), 2),
        "p95_ms": round(times[min(len(times) - 1, int(0.95 * len(times)))], 2),
        "max_ms": round(times[-1], 2),
        "n": len(times),
    }


def database(base: str, members: int, work: Path) -> tuple[str, dict[str, Any]]:
    """The size's loaded database (loaded now unless a kept earlier run loaded it)."""
    head = base.rsplit("/", 1)[0]
    name = f"djmap_growth_{members}"
    url = f"{head}/{name}"
    with psycopg.connect(f"{head}/postgres", autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    if found is not None:
        with psycopg.connect(url) as conn:
            done = conn.execute("SELECT obj_description(to_regclass('members'))").fetchone()
        if done is not None and done[0] == MARKER:
            return url, {"loaded": "kept from an earlier run"}
        with psycopg.connect(f"{head}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    with psycopg.connect(f"{head}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    geodb.migrate(url)
    loaded = load(url, members, counts_for(members, False), work / str(members))
    loaded["load_average_after"] = os.getloadavg()
    loaded["members_per_s_whole_load"] = round(members / loaded["load"]["s"])
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"COMMENT ON TABLE members IS '{MARKER}'")
    return url, loaded


def extent(url: str) -> tuple[float, float, float, float]:
    """The members' extent (west, south, east, north)."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
            "FROM (SELECT ST_Extent(home) AS e FROM members) x"
        ).fetchone()
    assert row is not None
    return (float(row[0]), float(row[1]), float(row[2]), float(row[3]))


def wait_builds(client: Any, timeout: float = 3600.0) -> dict[str, Any]:
    """Wait until every build the app wants is of the current data; each one's seconds."""
    builds = client.app.state.builds
    t0 = time.perf_counter()
    while True:
        client.portal.call(builds.refresh)  # in the app's event loop
        body = {s.name: s for s in builds.status() if s.wanted_version is not None}
        failed = {n: s.error for n, s in body.items() if s.state == "failed"}
        if failed:
            raise RuntimeError(failed)
        if all(s.state == "ready" and s.built_version == s.wanted_version for s in body.values()):
            break
        if time.perf_counter() - t0 > timeout:
            raise TimeoutError({n: s.state for n, s in body.items()})
        time.sleep(0.1)
    return {
        "all_ready_after_s": round(time.perf_counter() - t0, 2),
        "seconds": {n: round(s.seconds or 0.0, 3) for n, s in sorted(body.items())},
        "load_average": os.getloadavg(),
    }


def cold_tiles(client: Any, box: tuple[float, ...], args: argparse.Namespace) -> dict[str, Any]:
    """Cold (cache off) tile latency per layer and zoom over the tiles under the extent."""
    rng = random.Random(42)
    out: dict[str, Any] = {"load_average": os.getloadavg()}
    for z in ZOOMS:
        tiles = list(TMS.tiles(*box, [z]))
        tiles = rng.sample(tiles, min(args.tiles, len(tiles)))
        out[f"z{z}_tiles"] = len(tiles)
        for layer in tile_layers():
            times = []
            for i in range(args.reps):
                t = tiles[i % len(tiles)]
                t0 = time.perf_counter()
                r = client.get(f"/api/tiles/{layer}/{z}/{t.x}/{t.y}.mvt")
                times.append((time.perf_counter() - t0) * 1000)
                assert r.status_code == 200, (layer, z, r.status_code, r.text[:200])
            out[f"{layer}_z{z}"] = percentiles(times)
    return out


def nearest(client: Any, box: tuple[float, ...], args: argparse.Namespace) -> dict[str, Any]:
    """GET /api/nearest k=5, straight and walk, from seeded random points."""
    rng = random.Random(7)
    points = [
        (rng.uniform(box[0], box[2]), rng.uniform(box[1], box[3])) for _ in range(args.queries)
    ]
    out: dict[str, Any] = {"load_average": os.getloadavg()}
    for mode in ("straight", "walk"):
        times = []
        client.get("/api/nearest", params={"lon": points[0][0], "lat": points[0][1], "k": 5})
        for lon, lat in points:
            t0 = time.perf_counter()
            r = client.get("/api/nearest", params={"lon": lon, "lat": lat, "k": 5, "mode": mode})
            times.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 200, (mode, r.status_code, r.text[:200])
        out[mode] = percentiles(times)
    return out


def coverage(url: str, repeat: int) -> dict[str, Any]:
    """Straight 800 m member coverage, local engine, for everyone and for one province."""
    from geo.analysis import coverage as core
    from geo.analysis import member_demand, scoping
    from geo.analysis.coverage_request import CoverageRequest
    from geo.db import Direct
    from geo.scope import Principal

    req, db = CoverageRequest(meters=800.0), Direct(url, statement_timeout=3600.0)
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT code FROM organisations WHERE parent_id IS NULL ORDER BY code LIMIT 1"
        ).fetchone()
        assert row is not None
        scopes = {"everyone": Principal(role="admin"), "province": scoping.province(conn, row[0])}
    out: dict[str, Any] = {"province_code": row[0]}
    for name, principal in scopes.items():
        runs, summary = [], None
        for _ in range(repeat):
            member_demand._cache.clear()
            t0 = time.perf_counter()
            summary = core.run(db, req, principal)["summary"]
            runs.append(round(time.perf_counter() - t0, 3))
        out[name] = {"best_s": min(runs), "runs_s": runs, "load_average": os.getloadavg()}
        out[name]["summary"] = summary
    return out


def serve_and_measure(url: str, home: Path, args: argparse.Namespace) -> dict[str, Any]:
    """The app in-process: its builds, then cold tiles and nearest."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.deps import get_principal
    from api.settings import ApiSettings, Settings
    from geo.scope import Principal
    from geo.settings import DatabaseSettings

    settings = Settings(
        DatabaseSettings(database_url=url, home=home), ApiSettings(tile_cache="off")
    )
    app = create_app(settings)
    app.dependency_overrides[get_principal] = lambda: Principal(role="admin")
    box = extent(url)
    with TestClient(app) as client:
        out: dict[str, Any] = {"builds": wait_builds(client)}
        print(json.dumps(out["builds"]), flush=True)
        out["tiles"] = cold_tiles(client, box, args)
        out["nearest"] = nearest(client, box, args)
    return out


def bench_size(base: str, members: int, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Load (or reuse) one size and measure it."""
    url, loaded = database(base, members, work)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        size = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    result: dict[str, Any] = {"members": members, "load": loaded}
    result["database_gb_measured"] = round((size[0] if size else 0) / 2**30, 3)
    print(json.dumps(result, default=str), flush=True)
    result.update(serve_and_measure(url, work / f"home{members}", args))
    result["coverage"] = coverage(url, args.repeat)
    print(json.dumps(result, indent=1, default=str), flush=True)
    return result


def parse() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", default="3000,1000000", help="comma list of member counts")
    ap.add_argument("--tiles", type=int, default=20, help="tiles per zoom at most")
    ap.add_argument("--reps", type=int, default=40, help="cold requests per layer and zoom")
    ap.add_argument("--queries", type=int, default=50, help="nearest queries per mode")
    ap.add_argument("--repeat", type=int, default=2, help="coverage runs per scope")
    ap.add_argument("--home", help="a folder for the cluster (kept with --keep, reused after)")
    ap.add_argument("--keep", action="store_true", help="keep the cluster and its databases")
    return ap.parse_args()


def main() -> None:
    """Measure each size asked for and write the JSON report."""
    args = parse()
    report: dict[str, Any] = {"machine": machine(), "sizes": []}
    OUT.parent.mkdir(exist_ok=True)
    with kept_cluster(args.home, args.keep, "djmap-growth-") as (cluster, home):
        for n in (int(x) for x in args.members.split(",")):
            report["sizes"].append(bench_size(cluster.url, n, args, home / "work"))
            OUT.write_text(json.dumps(report, indent=1, default=str))
        report["machine"]["load_average_end"] = os.getloadavg()
        OUT.write_text(json.dumps(report, indent=1, default=str))


if __name__ == "__main__":
    main()
