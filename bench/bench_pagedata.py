"""Page data as derived data (issue 10 §7): latency of every page's data at 3,000, 1,000,000 and
10,000,000 members, and what the builds behind it cost.

For each member count it generates the sample district with `djmap samples generate` (`--members
N`; the other counts are the sample's defaults at 3,000 and issue 15's national-test counts above:
5,000 organisations, 5,000 service points, 100,000 buildings) and loads it with `djmap samples
load`, each in its own process (wall time and peak RSS), into its own database
(`<dbname>_pagedata_bench`, created and dropped, on a private throwaway cluster unless `--url`
names a server: the database `--url` names is never written), and measures:

- **before** (up to `--per-request-max` members): the member figures as the old `/web/stats.json`
  counted them on every request, and with this version's statement (what the figures build runs);
- **builds**: the time from the app's start to the page figures, heat cells and cluster tables
  of the loaded data (the scheduler builds them; `GET /api/builds`) and each build's duration;
- **served**: each page's data (`/web/stats.json`, the same for one committee, `/web/orgs.json`,
  the leader deck, a service point card, a search, `/api/heatmap/members`, a `member_heat` tile,
  the leader page `/`), warm, as a leader, through the app in-process (`TestClient`, no socket):
  median, 95th percentile and worst of `--requests`;
- **after a write** (one member's home moved, by SQL): the first stats and heat tile requests
  (served from the last build while the next is made) and how long the rebuild took.

Usage: .venv/bin/python bench/bench_pagedata.py [--members 3000,1000000,10000000] [--requests 30]
       [--keep] [--sample-counts] [--per-request-max 1000000] [--url URL]
JSON goes to test-output/bench_pagedata.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
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
SAMPLE_MAX = 3000  # up to this many members the other counts are the sample district's
# Issue 15's national test at 10,000,000 members (and here at 1,000,000 too, so the two sizes
# differ by their members only).
LARGE_COUNTS = {"organisations": 5000, "service_points": 5000, "buildings": 100_000}
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
    """URL of a fresh, migrated `<dbname>_pagedata_bench` database next to `base` (the database
    `base` names is never written)."""
    head, dbname = base.rsplit("/", 1)
    name = f"{dbname.split('?')[0]}_pagedata_bench"
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


def counts_for(members: int, sample_counts: bool) -> dict[str, int]:
    """The other counts generated beside `members`: the sample district's defaults up to
    SAMPLE_MAX members, issue 15's national-test counts above (or the defaults everywhere)."""
    if sample_counts or members <= SAMPLE_MAX:
        return {}
    return dict(LARGE_COUNTS)


def run_cli(args: list[str], url: str, home: Path) -> dict[str, float]:
    """Run a `djmap` command in its own process: wall seconds and its peak RSS (GB)."""
    env = {**os.environ, "DJMAP_DATABASE_URL": url, "DJMAP_HOME": str(home)}
    exe = Path(sys.executable).with_name("djmap")
    t0 = time.perf_counter()
    proc = subprocess.Popen([str(exe), *args], env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise RuntimeError(f"djmap {' '.join(args)} exited {proc.returncode}")
    return {"s": seconds, "peak_rss_gb": usage.ru_maxrss / 2**20}  # ru_maxrss is in KiB


def load(url: str, members: int, counts: dict[str, int], work: Path) -> dict[str, Any]:
    """Generate and load the sample district with `members` members (`djmap samples generate`
    and `djmap samples load`, each in its own process); seconds and peak RSS of each step."""
    folder, home = work / "s", work / "home"
    opts = [f"--{k.replace('_', '-')}={v}" for k, v in counts.items()]
    gen = run_cli(
        ["samples", "generate", "--out", str(folder), "--seed", "42",
         f"--today={date.today().isoformat()}", f"--members={members}", *opts],
        url, home,
    )  # fmt: skip
    loaded = run_cli(["samples", "load", "--dir", str(folder)], url, home)
    t0 = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        size = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    return {
        "counts": {"members": members, **counts},
        "generate": gen,
        "load": loaded,
        "vacuum_analyze_s": time.perf_counter() - t0,
        "database_gb": (size[0] if size else 0) / 2**30,
    }


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
    """Poll the app's build registry (what `GET /api/builds` shows, read without the route)
    until every named build is of the current data; their statuses."""
    builds = client.app.state.builds
    while True:
        client.portal.call(builds.refresh)  # in the app's event loop
        body = {s.name: s for s in builds.status()}
        if all(
            body[n].state == "ready" and body[n].built_version == body[n].wanted_version
            for n in names
        ):
            return body
        failed = [body[n].error for n in names if body[n].state == "failed"]
        if failed:
            raise RuntimeError(failed)
        time.sleep(0.05)


def page_paths(url: str) -> dict[str, str]:
    """What the pages ask for (a committee for the subtree stats, the heat tile at its office,
    the first service point's card, a search the leader page's box would send)."""
    with psycopg.connect(url) as conn:
        org, lon, lat = conn.execute(
            "SELECT id, ST_X(geom), ST_Y(geom) FROM organisations WHERE type = '党委' "
            "ORDER BY id LIMIT 1"
        ).fetchone()  # type: ignore[misc]
        sp = conn.execute("SELECT min(id) FROM service_points").fetchone()[0]  # type: ignore[index]
    tile = TMS.tile(lon, lat, 12)
    return {
        "stats": "/web/stats.json",
        "stats_committee": f"/web/stats.json?org={org}",
        "orgs": "/web/orgs.json",
        "deck_leader": "/web/deck/leader.json",
        "service_point_card": f"/web/service-points/{sp}.json",
        "search": "/web/search.json?q=%E6%9C%8D%E5%8A%A1",  # 服务
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
    app.dependency_overrides[get_principal] = lambda: Principal(role="leader")
    out: dict[str, Any] = {}
    with TestClient(app) as client:
        t0 = time.perf_counter()
        status = wait_ready(client, BUILDS)
        out["first_builds_s"] = time.perf_counter() - t0
        out["build_seconds"] = {n: status[n].seconds for n in BUILDS}
        paths = page_paths(url)
        out["served"] = {name: timed(client, path, requests) for name, path in paths.items()}
        out["after_write"] = after_write(client, url, paths)
    return out


def after_write(client: Any, url: str, paths: dict[str, str]) -> dict[str, Any]:
    """Move one member's home; the first requests after it and the rebuild's duration."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "UPDATE members SET home = ST_Translate(home, 0.0001, 0) "
            "WHERE id = (SELECT min(id) FROM members WHERE home IS NOT NULL)"
        )
    t0 = time.perf_counter()
    first = {
        name: timed(client, paths[name], 1)["max_ms"] for name in ("stats", "member_heat_tile")
    }
    status = wait_ready(client, BUILDS[:2])
    return {
        "first_request_ms": first,
        "rebuilt_within_s": time.perf_counter() - t0,
        "rebuild_seconds": {n: status[n].seconds for n in BUILDS[:2]},
    }


def run_size(base: str, members: int, args: argparse.Namespace) -> dict[str, Any]:
    """Everything measured at one member count."""
    from web.settings import WebSettings

    url = bench_url(base)
    try:
        with tempfile.TemporaryDirectory(prefix="djmap-pagedata-") as tmp:
            counts = counts_for(members, args.sample_counts)
            result: dict[str, Any] = {"members": members, **load(url, members, counts, Path(tmp))}
            print(json.dumps(result, default=str), flush=True)
            if members <= args.per_request_max:
                radius = WebSettings().coverage_radius_m
                result["per_request"] = asyncio.run(per_request_figures(url, radius))
            result.update(serve_and_measure(url, Path(tmp) / "home", args.requests))
            result["bench_peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
            return result
    finally:
        if not args.keep:
            drop(base, url)


@contextmanager
def kept_cluster(home_arg: str | None, keep: bool, prefix: str) -> Iterator[tuple[Cluster, Path]]:
    """A private cluster in `home_arg` (a new temporary folder when None) on the port an earlier
    run used there; stopped and kept with `keep` (its databases are reused), else destroyed."""
    home = Path(home_arg) if home_arg else Path(tempfile.mkdtemp(prefix=prefix))
    home.mkdir(parents=True, exist_ok=True)
    home.chmod(0o755)  # the unprivileged cluster owner must reach it
    port_file = home / "port"
    port = int(port_file.read_text()) if port_file.exists() else free_port()
    port_file.write_text(str(port))
    cluster = Cluster(home=home / "cluster", port=port, dbname="djmap_bench")
    try:
        cluster.start()
        yield cluster, home
    finally:
        if keep:
            cluster.stop()
        else:
            cluster.destroy()
            shutil.rmtree(home, ignore_errors=True)


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
    ap.add_argument(
        "--members", default="3000,1000000,10000000", help="comma list of member counts"
    )
    ap.add_argument("--requests", type=int, default=30, help="GETs per page data")
    ap.add_argument("--keep", action="store_true", help="keep the bench database")
    ap.add_argument(
        "--sample-counts",
        action="store_true",
        help="the sample district's other counts at every size (default: issue 15's above 3,000)",
    )
    ap.add_argument(
        "--per-request-max",
        type=int,
        default=1_000_000,
        help="count the figures per request (old and new statement) up to this many members",
    )
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
            report["sizes"].append(run_size(base, n, args))
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
