"""Page data as derived data (issue 10 §7): latency of every page's data at sample sizes.

For each member count it generates the sample district with `djmap samples generate`'s core
(`--members N`, the other counts at their defaults), loads it into its own database
(`<dbname>_bench_pagedata`, created and dropped, on a private throwaway cluster unless `--url`
names a server) and measures:

- **before**: the member figures as the old `/web/stats.json` counted them on every request (the
  coverage test without the index-assisted box), and with this version's statement (what a page
  request still pays when no build exists at all);
- **builds**: the time from the app's start to the page figures, heat cells and cluster tables
  of the loaded data (the scheduler builds them; `GET /api/builds`);
- **served**: each page's data (`/web/stats.json`, the same for one committee, `/web/orgs.json`,
  `/api/heatmap/members`, a `member_heat` tile, the leader page `/`), warm, as a leader, through
  the app in-process (`TestClient`, no socket): median, 95th percentile and worst of `--requests`;
- **after a write** (one member's home moved, by SQL): the first stats and heat tile requests
  (served from the last build while the next is made) and how long the rebuild took.

Usage: .venv/bin/python bench/bench_pagedata.py [--members 3000,1000000] [--requests 30] [--keep]
JSON goes to test-output/bench_pagedata.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import morecantile
import psycopg

from geo import db as geodb
from geo.cluster import Cluster, free_port
from geo.settings import DatabaseSettings

OUT = Path(__file__).resolve().parent.parent / "test-output" / "bench_pagedata.json"
TMS = morecantile.tms.get("WebMercatorQuad")
BUILDS = ("pagedata:figures", "heat:member_heat", "clusters:service_points")
# The statement /web/stats.json ran per request before this change (issue 10: 50 s at 1,000,000).
OLD_ORG_MEMBERS_SQL = """
SELECT o.id, o.parent_id, o.code,
       count(m.id) AS members,
       count(m.id) FILTER (WHERE $1::float8 IS NOT NULL AND m.home IS NOT NULL AND EXISTS (
           SELECT 1 FROM service_points s
           WHERE ST_DWithin(s.geom::geography, m.home::geography, $1::float8))) AS covered,
       count(m.id) FILTER (WHERE m.home IS NULL) AS no_home
FROM organisations o LEFT JOIN members m ON m.branch_id = o.id
GROUP BY o.id
ORDER BY o.code, o.id
"""


def bench_url(base: str) -> str:
    """URL of a fresh, migrated `<dbname>_bench_pagedata` database next to `base`."""
    head, dbname = base.rsplit("/", 1)
    name = f"{dbname.split('?')[0]}_bench_pagedata"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{head}/{name}"
    geodb.migrate(url)
    return url


def drop(base: str, url: str) -> None:
    """Drop the bench database."""
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def load(url: str, members: int, work: Path) -> dict[str, float]:
    """Generate and load the sample district with `members` members; seconds of each step."""
    from geo.samples import SampleSpec, generate
    from geo.samples.load import load_samples

    t0 = time.perf_counter()
    generate(SampleSpec(seed=42, today=date.today().isoformat(), members=members), work / "s")
    t1 = time.perf_counter()
    load_samples(url, work / "s", work / "panoramas", progress=False)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return {"generate_s": t1 - t0, "load_s": time.perf_counter() - t1}


async def per_request_figures(url: str, radius: float) -> dict[str, float]:
    """Seconds the member figures take when counted for one request: old and new statement."""
    from web.queries import ORG_MEMBERS_SQL, figures_of

    conn = await asyncpg.connect(url)
    try:
        out = {}
        for label, sql in (("old_sql_s", OLD_ORG_MEMBERS_SQL), ("new_sql_s", ORG_MEMBERS_SQL)):
            t0 = time.perf_counter()
            rows = await conn.fetch(sql, radius)
            figures_of(rows, radius)
            out[label] = time.perf_counter() - t0
        old = figures_of(await conn.fetch(OLD_ORG_MEMBERS_SQL, radius), radius)
        new = figures_of(await conn.fetch(ORG_MEMBERS_SQL, radius), radius)
        assert old == new, "the index-assisted statement must give the same figures"
        return out
    finally:
        await conn.close()


def timed(client: Any, path: str, n: int) -> dict[str, float]:
    """Median, 95th percentile and worst latency (ms) of n GETs (each must answer 200), after
    one untimed GET when n > 1 (warm: the app's first OpenAPI document, the page templates)."""
    if n > 1:
        client.get(path)
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        r = client.get(path)
        times.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 200, (path, r.status_code, r.text[:200])
    times.sort()
    return {
        "p50_ms": statistics.median(times),
        "p95_ms": times[min(len(times) - 1, int(0.95 * len(times)))],
        "max_ms": times[-1],
    }


def wait_ready(client: Any, names: tuple[str, ...]) -> dict[str, Any]:
    """Poll /api/builds until every named build is of the current data; their statuses."""
    while True:
        body = {b["name"]: b for b in client.get("/api/builds").json()["builds"]}
        if all(
            body[n]["state"] == "ready" and body[n]["built_version"] == body[n]["wanted_version"]
            for n in names
        ):
            return body
        failed = [body[n]["error"] for n in names if body[n]["state"] == "failed"]
        if failed:
            raise RuntimeError(failed)
        time.sleep(0.05)


def page_paths(url: str) -> dict[str, str]:
    """What each page asks for (a committee for the subtree stats, the heat tile at the centre)."""
    with psycopg.connect(url) as conn:
        org, lon, lat = conn.execute(
            "SELECT id, ST_X(geom), ST_Y(geom) FROM organisations WHERE type = '党委' "
            "ORDER BY id LIMIT 1"
        ).fetchone()  # type: ignore[misc]
    tile = TMS.tile(lon, lat, 12)
    return {
        "stats": "/web/stats.json",
        "stats_committee": f"/web/stats.json?org={org}",
        "orgs": "/web/orgs.json",
        "heatmap_json": "/api/heatmap/members?res=8",
        "member_heat_tile": f"/api/tiles/member_heat/12/{tile.x}/{tile.y}.mvt",
        "leader_page": "/",
    }


def serve_and_measure(url: str, home: Path, requests: int) -> dict[str, Any]:
    """Start the app, wait for its builds, time the pages' data, then a write and its rebuild."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.deps import get_principal
    from api.settings import ApiSettings, Settings
    from geo.scope import Principal

    app = create_app(Settings(DatabaseSettings(database_url=url, home=home), ApiSettings()))
    app.dependency_overrides[get_principal] = lambda: Principal(role="admin")
    out: dict[str, Any] = {}
    with TestClient(app) as client:
        t0 = time.perf_counter()
        status = wait_ready(client, BUILDS)
        out["first_builds_s"] = time.perf_counter() - t0
        out["build_seconds"] = {n: status[n]["seconds"] for n in BUILDS}
        app.dependency_overrides[get_principal] = lambda: Principal(role="leader")
        paths = page_paths(url)
        out["served"] = {name: timed(client, path, requests) for name, path in paths.items()}
        out["after_write"] = after_write(client, app, url, paths)
    return out


def after_write(client: Any, app: Any, url: str, paths: dict[str, str]) -> dict[str, Any]:
    """Move one member's home; the first requests after it and the rebuild's duration."""
    from api.deps import get_principal
    from geo.scope import Principal

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "UPDATE members SET home = ST_Translate(home, 0.0001, 0) "
            "WHERE id = (SELECT min(id) FROM members WHERE home IS NOT NULL)"
        )
    t0 = time.perf_counter()
    first = {
        name: timed(client, paths[name], 1)["max_ms"] for name in ("stats", "member_heat_tile")
    }
    app.dependency_overrides[get_principal] = lambda: Principal(role="admin")
    status = wait_ready(client, BUILDS[:2])
    return {
        "first_request_ms": first,
        "rebuilt_within_s": time.perf_counter() - t0,
        "rebuild_seconds": {n: status[n]["seconds"] for n in BUILDS[:2]},
    }


def run_size(base: str, members: int, requests: int, keep: bool) -> dict[str, Any]:
    """Everything measured at one member count."""
    from web.settings import WebSettings

    url = bench_url(base)
    try:
        with tempfile.TemporaryDirectory(prefix="djmap-pagedata-") as tmp:
            result: dict[str, Any] = {"members": members, **load(url, members, Path(tmp))}
            radius = WebSettings().coverage_radius_m
            result["per_request"] = asyncio.run(per_request_figures(url, radius))
            result.update(serve_and_measure(url, Path(tmp) / "home", requests))
            return result
    finally:
        if not keep:
            drop(base, url)


def machine() -> dict[str, Any]:
    """Where the figures were taken."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu": model,
        "platform": platform.platform(),
        "load_average": os.getloadavg(),
        "when": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


def main() -> None:
    """Run the sizes asked for and write the JSON report."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", default="3000,1000000", help="comma list of member counts")
    ap.add_argument("--requests", type=int, default=30, help="GETs per page data")
    ap.add_argument("--keep", action="store_true", help="keep the bench database")
    ap.add_argument(
        "--url", help="a server's database to work next to (default: a private cluster)"
    )
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="djmap-benchpage-"))
    work.chmod(0o755)  # the unprivileged cluster owner must reach it
    cluster = None
    try:
        base = args.url
        if base is None:
            cluster = Cluster(home=work / "cluster", port=free_port(), dbname="djmap_bench")
            cluster.start()
            base = cluster.url
        report: dict[str, Any] = {"machine": machine(), "sizes": []}
        for n in (int(x) for x in args.members.split(",")):
            report["sizes"].append(run_size(base, n, args.requests, args.keep))
            OUT.parent.mkdir(exist_ok=True)
            OUT.write_text(json.dumps(report, indent=1, default=str))
            print(json.dumps(report["sizes"][-1], indent=1, default=str), flush=True)
        report["machine"]["load_average_end"] = os.getloadavg()
        OUT.write_text(json.dumps(report, indent=1, default=str))
    finally:
        if cluster is not None:
            cluster.destroy()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
