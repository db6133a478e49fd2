"""Partitioning by province (issue 15 §1, docs/SCALE.md): what `djmap db partition` costs and
changes at national size.

Generates the national data set (`djmap samples generate --scale national`, default 1,000,000
members; service points and activities 1 % of that, buildings 10 %) and loads it with the real
load path into a private cluster (bench/bench_national.py's steps), then measures in the default layout, converts (`geo.db.partition.convert`, what `djmap db
partition` runs; wall time per step), and measures again:
- nearest: p50 / p95 of `GET /api/nearest` (k=5, straight) from seeded points, in-process app;
- a bound leader's scoped query: `count(*)` of the members of a province's subtree through
  RowScope (geo.scope), p50 / p95 over repeats, and the partitions its plan reads;
- a members import upsert: `import_file` of --import-rows rows, half renamed members, half new.

Usage: .venv/bin/python bench/bench_partition.py [--members 1000000] [--organisations 50000]
       [--queries 200] [--import-rows 10000] [--dir GENERATED]
JSON goes to test-output/bench_partition.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd
import psycopg
from bench_national import generate, load, machine
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from geo import db as geodb
from geo.cluster import Cluster, free_port
from geo.db import partition
from geo.ingest import import_file
from geo.scope import Principal, scope_filter_psycopg
from geo.settings import DatabaseSettings

SCAN = r" on (members_prov_(?:\d+|default))\b"  # a partition read (not an index of it)
OUT = Path(__file__).resolve().parent.parent / "test-output" / "bench_partition.json"
BOX_SQL = "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) e FROM service_points) s"
ROOT_SQL = (
    "SELECT o.id FROM organisations o WHERE o.parent_id IS NULL ORDER BY"
    " (SELECT count(*) FROM organisations c WHERE c.parent_id = o.id) DESC, o.id LIMIT 1"
)
MEMBERS_SQL = (
    "SELECT m.external_id, m.name, b.code AS branch_code, m.status, m.joined, ST_X(m.home) AS lon,"
    " ST_Y(m.home) AS lat FROM members m JOIN organisations b ON b.id = m.branch_id"
    " WHERE m.home IS NOT NULL ORDER BY m.id OFFSET %s LIMIT %s"
)


def percentiles(times: list[float]) -> dict[str, float]:
    times = sorted(times)
    return {
        "p50_ms": round(times[len(times) // 2] * 1000, 2),
        "p95_ms": round(times[min(len(times) - 1, int(0.95 * len(times)))] * 1000, 2),
        "n": len(times),
    }


def nearest(url: str, queries: int) -> dict[str, Any]:
    with psycopg.connect(url) as conn:
        box = conn.execute(BOX_SQL).fetchone()
    assert box is not None
    rng = random.Random(15)
    points = [(rng.uniform(box[0], box[2]), rng.uniform(box[1], box[3])) for _ in range(queries)]
    app = create_app(Settings(db=DatabaseSettings(database_url=url)))
    times = []
    with TestClient(app) as client:
        client.get("/api/nearest", params={"lon": points[0][0], "lat": points[0][1], "k": 5})
        for lon, lat in points:
            t0 = time.perf_counter()
            r = client.get("/api/nearest", params={"lon": lon, "lat": lat, "k": 5})
            times.append(time.perf_counter() - t0)
            assert r.status_code == 200, r.text
    return percentiles(times)


def leader_query(url: str, repeats: int) -> dict[str, Any]:
    """A leader bound to the largest province: count its members through RowScope."""
    with psycopg.connect(url) as conn:
        root = conn.execute(ROOT_SQL).fetchone()[0]  # type: ignore[index]
        cond, args = scope_filter_psycopg(Principal(role="leader", org_id=root), "members")
        query = "SELECT count(*) FROM members t WHERE " + cond
        n = conn.execute(query, args).fetchone()[0]  # type: ignore[index]
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            conn.execute(query, args).fetchone()
            times.append(time.perf_counter() - t0)
        plan = [r[0] for r in conn.execute("EXPLAIN (ANALYZE, COSTS OFF) " + query, args)]
    scanned = [re.search(SCAN, line) for line in plan if "never executed" not in line]
    read = sorted({m.group(1) for m in scanned if m})
    return {**percentiles(times), "members": n, "partitions_read": read or ["members"]}


def members_import(url: str, work: Path, rows: int, offset: int) -> dict[str, Any]:
    """`rows` members: half of them stored ones renamed, half new (external ids made up)."""
    with psycopg.connect(url) as conn:
        found = conn.execute(MEMBERS_SQL, (offset, rows))
        frame = pd.DataFrame(found.fetchall(), columns=[d.name for d in found.description or ()])
    half = len(frame) // 2
    frame.loc[: half - 1, "name"] = frame.loc[: half - 1, "name"] + "改"
    frame.loc[half:, "external_id"] = [f"BENCH-{offset}-{i}" for i in range(len(frame) - half)]
    path = work / f"members-{offset}.csv"
    frame.to_csv(path, index=False)
    t0 = time.perf_counter()
    res = import_file(url, "members", path, progress=False)
    seconds = time.perf_counter() - t0
    return {"s": round(seconds, 2), "rows": len(frame), "inserted": res.rows_inserted,
            "updated": res.rows_updated, "rows_per_s": round(len(frame) / seconds)}  # fmt: skip


def measure(url: str, work: Path, args: argparse.Namespace, offset: int) -> dict[str, Any]:
    return {
        "nearest": nearest(url, args.queries),
        "leader_members": leader_query(url, 20),
        "members_import": members_import(url, work, args.import_rows, offset),
    }


def convert(url: str) -> dict[str, Any]:
    marks: list[tuple[str, float]] = []
    report = partition.convert(url, step=lambda label: marks.append((label, time.perf_counter())))
    end = time.perf_counter()
    steps = {
        label: round((marks[i + 1][1] if i + 1 < len(marks) else end) - at, 2)
        for i, (label, at) in enumerate(marks)
    }
    with psycopg.connect(url) as conn:
        size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]  # type: ignore[index]
    return {"s": round(report.seconds, 1), "steps_s": steps, "provinces": len(report.provinces),
            "rows": report.rows, "database_gb_after": round(size / 2**30, 2)}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--members", type=int, default=1_000_000)
    ap.add_argument("--organisations", type=int, default=50_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--import-rows", type=int, default=10_000)
    ap.add_argument("--dir", type=Path, help="a folder generated before (skip generation)")
    args = ap.parse_args()
    gen_args = argparse.Namespace(members=args.members, organisations=args.organisations,
                                  service_points=args.members // 100,
                                  buildings=args.members // 10, activities=args.members // 100,
                                  provinces=None)  # fmt: skip
    work = Path(tempfile.mkdtemp(prefix="djmap-partition-"))
    work.chmod(0o755)  # the unprivileged cluster owner must reach it
    cluster = Cluster(home=work / "cluster", port=free_port(), dbname="djmap_partition")
    report: dict[str, Any] = {"machine": machine()}
    try:
        folder = args.dir or work / "national"
        env = {**os.environ, "DJMAP_HOME": str(work / "home")}
        if args.dir is None:
            report["generate"] = generate(folder, gen_args, env)
        cluster.start()
        geodb.migrate(cluster.url)
        report["load"] = load(cluster.url, folder, work, {**env, "DJMAP_DATABASE_URL": cluster.url})
        report["before"] = measure(cluster.url, work, args, offset=0)
        print(json.dumps(report, indent=1, default=str), flush=True)
        report["convert"] = convert(cluster.url)
        print(json.dumps(report["convert"], indent=1), flush=True)
        report["after"] = measure(cluster.url, work, args, offset=args.import_rows)
        report["machine"]["load_average_end"] = os.getloadavg()
        OUT.parent.mkdir(exist_ok=True)
        OUT.write_text(json.dumps(report, indent=1, default=str))
        print(json.dumps(report, indent=1, default=str), flush=True)
    finally:
        partition.set_partitioned(False)
        cluster.destroy()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
