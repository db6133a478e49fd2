"""API benchmarks (issue 4 §8): nearest straight and walk, coverage straight and walk, MCLP.

Runs in its own database (`<dbname>_bench_api` on the server in use), which it creates and drops:
1. the sample district (`djmap samples load`'s core): nearest walk and walk coverage there;
2. + 100,000 service points in the district's box: nearest straight, against the floor (the bare
   KNN query: `ORDER BY geom <-> point LIMIT k`, no re-ranking), in the core and over HTTP;
3. the extra service points replaced by 5,000 service points and 1,000,000 members over a
   60 × 55 km box around it: straight coverage of the members, and MCLP proposing 5 sites.

Usage: .venv/bin/python bench/bench_api.py [--targets 100000] [--members 1000000] [--sites 5000]
       [--queries 300] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import numpy as np
import psycopg
from pyproj import Geod

from geo import db as geodb
from geo.analysis import coverage, nearest
from geo.scope import Principal
from geo.settings import DatabaseSettings, get_db_settings

GEOD = Geod(ellps="WGS84")

BIG_BOX = (119.95, 30.05, 120.55, 30.55)  # Hangzhou and around (WGS84), about 58 × 55 km
ADMIN = Principal(role="admin")


def bench_url(base: str) -> str:
    """URL of a fresh `<dbname>_bench_api` database next to `base`, migrated."""
    head, dbname = base.rsplit("/", 1)
    name = f"{dbname.split('?')[0]}_bench_api"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{head}/{name}"
    geodb.migrate(url)
    return url


def drop(base: str, url: str) -> None:
    """Drop the bench database."""
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def load_sample(url: str) -> tuple[str, tuple[float, float, float, float]]:
    """Load the sample district; return its code and bbox."""
    from geo.samples.load import load_samples

    with tempfile.TemporaryDirectory() as pano:
        load_samples(url, get_db_settings().home / "samples", Path(pano), progress=False)
    with psycopg.connect(url) as conn:
        code, x0, y0, x1, y1 = conn.execute(
            "SELECT code, ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom) FROM districts LIMIT 1"
        ).fetchone()  # type: ignore[misc]
    return str(code), (x0, y0, x1, y1)


def copy_service_points(url: str, n: int, box: tuple[float, ...], prefix: str, seed: int) -> None:
    """n service points uniformly in box, with COPY."""
    rng = np.random.default_rng(seed)
    lon, lat = rng.uniform(box[0], box[2], n), rng.uniform(box[1], box[3], n)
    buf = io.StringIO()
    for i in range(n):
        buf.write(
            f"{prefix}{i}\t服务点{i}\t党员活动室\tSRID=4326;POINT({lon[i]:.7f} {lat[i]:.7f})\n"
        )
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        with cur.copy("COPY service_points (code, name, kind, geom) FROM STDIN") as cp:
            cp.write(buf.getvalue())
        conn.execute("ANALYZE service_points")


def copy_members(url: str, n: int, box: tuple[float, ...], seed: int) -> None:
    """n members with homes uniformly in box, spread over the existing branches, with COPY."""
    rng = np.random.default_rng(seed)
    with psycopg.connect(url) as conn:
        branches = [
            r[0]
            for r in conn.execute("SELECT id FROM organisations WHERE type = '党支部' ORDER BY id")
        ]
        lon, lat = rng.uniform(box[0], box[2], n), rng.uniform(box[1], box[3], n)
        br = np.array(branches)[rng.integers(0, len(branches), n)]
        with (
            conn.cursor() as cur,
            cur.copy("COPY members (external_id, name, branch_id, status, home) FROM STDIN") as cp,
        ):
            for i in range(n):
                cp.write(
                    f"BM{i}\t党员\t{br[i]}\t正式\tSRID=4326;POINT({lon[i]:.7f} {lat[i]:.7f})\n"
                )
        conn.execute("ANALYZE members")


def percentiles(samples: list[float]) -> dict[str, float]:
    """p50 and p95 in milliseconds."""
    ms = sorted(s * 1000 for s in samples)
    return {"p50": statistics.median(ms), "p95": ms[int(0.95 * (len(ms) - 1))], "n": len(ms)}


async def timed_loop(
    fn: Callable[[float, float], Awaitable[Any]], points: np.ndarray, warm: int = 10
) -> dict[str, float]:
    """Run fn over the points (after a warm-up) and return latency percentiles."""
    for lon, lat in points[:warm]:
        await fn(float(lon), float(lat))
    out = []
    for lon, lat in points:
        t = time.perf_counter()
        await fn(float(lon), float(lat))
        out.append(time.perf_counter() - t)
    return percentiles(out)


def random_points(box: tuple[float, ...], n: int, seed: int) -> np.ndarray:
    """n uniform points in box."""
    rng = np.random.default_rng(seed)
    return np.column_stack([rng.uniform(box[0], box[2], n), rng.uniform(box[1], box[3], n)])


def street_points(url: str, n: int, seed: int) -> np.ndarray:
    """n origins on the sample's streets: random road points moved up to 60 m off the road."""
    rng = np.random.default_rng(seed)
    with psycopg.connect(url) as conn:
        sql = "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_LineInterpolatePoint(geom, 0.37) AS p FROM roads ORDER BY id) s"
        pts = np.array(conn.execute(sql).fetchall())
    pick = pts[rng.integers(0, len(pts), n)]
    lon, lat, _ = GEOD.fwd(pick[:, 0], pick[:, 1], rng.uniform(0, 360, n), rng.uniform(0, 60, n))
    return np.column_stack([lon, lat])


async def nearest_walk(url: str, points: np.ndarray) -> tuple[dict[str, float], int]:
    """Walk nearest (k=5) from the points; also how many calls were answered on foot."""
    conn = await asyncpg.connect(url)
    walked = 0
    try:

        async def one(lon: float, lat: float) -> Any:
            nonlocal walked
            body = await nearest.nearest(conn, nearest.NearestQuery(lon, lat, k=5, mode="walk"))
            walked += body["mode"] == "walk"

        return await timed_loop(one, points), walked
    finally:
        await conn.close()


async def nearest_straight(url: str, box: tuple[float, ...], n: int) -> dict[str, dict[str, float]]:
    """Straight nearest (k=5): the bare KNN floor and the exact geodesic ranking, in-process."""
    conn = await asyncpg.connect(url)
    try:
        floor = await conn.prepare(nearest.BARE_KNN_SQL)

        async def bare(lon: float, lat: float) -> Any:
            return await floor.fetch(lon, lat, 5)

        async def core(lon: float, lat: float) -> Any:
            return await nearest.nearest(conn, nearest.NearestQuery(lon, lat, k=5))

        pts = random_points(box, n, 4)
        return {"floor": await timed_loop(bare, pts), "core": await timed_loop(core, pts)}
    finally:
        await conn.close()


def nearest_http(url: str, pts: np.ndarray, mode: str) -> dict[str, float]:
    """GET /api/nearest through the whole app (in-process ASGI client, no network)."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.settings import Settings

    out = []
    with TestClient(create_app(Settings(db=DatabaseSettings(database_url=url)))) as client:
        for i, (lon, lat) in enumerate(pts):
            t = time.perf_counter()
            r = client.get("/api/nearest", params={"lon": lon, "lat": lat, "k": 5, "mode": mode})
            if i >= 10:
                out.append(time.perf_counter() - t)
            assert r.status_code == 200, r.text
    return percentiles(out)


def timed_coverage(
    url: str, req: coverage.CoverageRequest, repeat: int
) -> tuple[float, dict[str, Any]]:
    """Best wall time of `repeat` coverage runs, and the last result."""
    best, result = float("inf"), {}
    for _ in range(repeat):
        t = time.perf_counter()
        result = coverage.run(geodb.Direct(url), req, ADMIN)
        best = min(best, time.perf_counter() - t)
    return best, result


Row = tuple[str, str, str]  # benchmark, measured, target


def district_rows(url: str, code: str, origins: np.ndarray, repeat: int) -> list[Row]:
    """Walk nearest (core and HTTP) and walk coverage on the sample district."""
    walk, walked = asyncio.run(nearest_walk(url, origins))
    rows: list[Row] = [
        (
            "nearest walk, sample district, k=5 (core)",
            f"p50 {walk['p50']:.1f} ms, p95 {walk['p95']:.1f} ms "
            f"({walked} of {walk['n'] + 10} calls on foot)",
            "≤ 150 ms p50",
        )
    ]
    http = nearest_http(url, origins, "walk")
    rows.append(
        (
            "nearest walk, sample district, k=5 (HTTP)",
            f"p50 {http['p50']:.1f} ms, p95 {http['p95']:.1f} ms",
            "≤ 150 ms p50",
        )
    )
    t, res = timed_coverage(
        url, coverage.CoverageRequest(minutes=15, mode="walk", district=code), repeat
    )
    rows.append(
        (
            "coverage walk 15 min, sample district, members",
            f"{t:.2f} s ({res['summary']['coverage_pct_weight']} %)",
            "≤ 30 s",
        )
    )
    t, res = timed_coverage(
        url, coverage.CoverageRequest(minutes=15, mode="walk", district=code, propose=5), 1
    )
    rows.append(("coverage walk + MCLP 5 sites, sample district", f"{t:.2f} s", "(≤ 60 s)"))
    return rows


def straight_rows(url: str, box: tuple[float, ...], targets: int, queries: int) -> list[Row]:
    """Straight nearest over `targets` service points: the bare KNN floor, the core and HTTP."""
    copy_service_points(url, targets, box, "BSP", 1)
    s = asyncio.run(nearest_straight(url, box, queries))
    http = nearest_http(url, random_points(box, queries, 5), "straight")
    return [
        (
            f"nearest straight, {targets:,} targets, floor (bare KNN)",
            f"p50 {s['floor']['p50']:.2f} ms, p95 {s['floor']['p95']:.2f} ms",
            "floor",
        ),
        (
            f"nearest straight, {targets:,} targets (core)",
            f"p50 {s['core']['p50']:.2f} ms, p95 {s['core']['p95']:.2f} ms",
            "≤ 10 ms p50",
        ),
        (
            f"nearest straight, {targets:,} targets (HTTP)",
            f"p50 {http['p50']:.2f} ms, p95 {http['p95']:.2f} ms",
            "≤ 10 ms p50",
        ),
    ]


def big_coverage_rows(url: str, members: int, sites: int, repeat: int) -> list[Row]:
    """Straight coverage and MCLP over `members` members and `sites` service points."""
    with psycopg.connect(url) as conn:
        conn.execute("DELETE FROM service_points WHERE code LIKE 'BSP%'")
        existing = conn.execute("SELECT count(*) FROM service_points").fetchone()[0]  # type: ignore[index]
    copy_service_points(url, max(0, sites - existing), BIG_BOX, "BIG", 2)
    t0 = time.perf_counter()
    copy_members(url, members, BIG_BOX, 6)
    print(f"loaded {members:,} members in {time.perf_counter() - t0:.1f} s", flush=True)
    straight = coverage.CoverageRequest(minutes=10, mode="straight", bbox=BIG_BOX)
    t, res = timed_coverage(url, straight, repeat)
    rows: list[Row] = [
        (
            f"coverage straight 800 m, {members:,} members, {sites:,} sites",
            f"{t:.2f} s ({res['summary']['coverage_pct_weight']} %)",
            "≤ 10 s",
        )
    ]
    mclp = coverage.CoverageRequest(
        minutes=10, mode="straight", bbox=BIG_BOX, propose=5, candidates="grid"
    )
    t2, res = timed_coverage(url, mclp, 1)
    gains = ", ".join(str(p["gain_weight"]) for p in res["proposed"])
    rows.append(
        (
            "MCLP proposing 5 sites (grid candidates), same data",
            f"{t2:.2f} s total, {t2 - t:.2f} s over coverage; gains {gains}",
            "≤ 60 s",
        )
    )
    return rows


def main() -> None:
    """Run every benchmark and print a Markdown table."""
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--targets", type=int, default=100_000)
    ap.add_argument("--members", type=int, default=1_000_000)
    ap.add_argument("--sites", type=int, default=5000)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--keep", action="store_true", help="keep the bench database")
    args = ap.parse_args()
    base = geodb.ensure_database(get_db_settings())
    url = bench_url(base)
    rows: list[Row] = []
    try:
        code, box = load_sample(url)
        origins = street_points(url, args.queries, 3)
        rows += district_rows(url, code, origins, args.repeat)
        rows += straight_rows(url, box, args.targets, args.queries)
        rows += big_coverage_rows(url, args.members, args.sites, args.repeat)
    finally:
        if not args.keep:
            drop(base, url)
    print(
        f"\nmachine: {platform.node()} · {platform.processor() or platform.machine()} · {os.cpu_count()} cores · "
        f"Python {platform.python_version()}"
    )
    print("\n| benchmark | measured | target |\n|---|---|---|")
    for name, value, target in rows:
        print(f"| {name} | {value} | {target} |")


if __name__ == "__main__":
    main()
