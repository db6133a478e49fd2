"""Organisation health (issue 13): the time to compute every organisation's score, for the
sample district's 60 organisations and for 50,000 generated ones.

For each organisation count it generates the sample district (`djmap samples generate
--organisations N`, members scaled to 50 a branch… capped by `--members-max`) and loads it with
`djmap samples load` (which adds twelve months of synthetic organisation life, geo/samples/
orglife.py) into its own database on a private throwaway cluster (or next to `--url`), then:

- **evidence**: reading every organisation's evidence (one pass of geo/health/evidence.load);
- **score**: scoring all of them in memory (geo/health/score.score_all), median of `--repeat`;
- **first build**: the derived build as the registry runs it (tiles/health_build.build_scores:
  evidence, scores, the stored rows and the 12 monthly snapshots, 11 of them computed as of
  their month's end), in one transaction;
- **rebuild**: the build after a write (one meeting added): the current month's snapshot only;
- **reminders**: one `djmap reminders run` (geo/health/reminders.run) with a secretary per branch.

Usage: .venv/bin/python bench/bench_health.py [--orgs 60,50000] [--repeat 3] [--url URL] [--keep]
JSON goes to test-output/bench_health.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import psycopg

from geo import db as geodb
from geo.cluster import Cluster, free_port
from geo.health import clock, evidence, reminders, rules
from geo.health.score import score_all
from tiles.health_build import build_scores

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "test-output" / "bench_health.json"


def run_cli(args: list[str], url: str, home: Path) -> float:
    """Seconds a `djmap` command takes in its own process."""
    env = {**os.environ, "DJMAP_DATABASE_URL": url, "DJMAP_HOME": str(home)}
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "api.cli", *args], env=env, check=True, cwd=ROOT)
    return time.perf_counter() - t0


def create_db(base: str, name: str) -> str:
    admin = base.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = base.rsplit("/", 1)[0] + "/" + name
    geodb.migrate(url)
    return url


def load(url: str, orgs: int, members: int, work: Path) -> dict[str, float]:
    folder, home = work / f"s{orgs}", work / "home"
    gen = run_cli(
        ["samples", "generate", "--out", str(folder), "--seed", "42",
         f"--today={date.today().isoformat()}", f"--organisations={orgs}",
         f"--members={members}", "--panoramas=0"],
        url, home,
    )  # fmt: skip
    loaded = run_cli(["samples", "load", "--dir", str(folder)], url, home)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        conn.execute(
            "INSERT INTO users (username, password_hash, role, org_id) "
            "SELECT 'sec' || id, '', 'leader', id FROM organisations WHERE type = '党支部'"
        )
    return {"generate_s": gen, "load_s": loaded}


async def measure(url: str, repeat: int) -> dict[str, Any]:
    day = clock.today()
    pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
    try:
        async with pool.acquire() as conn:
            t0 = time.perf_counter()
            records = await evidence.load(conn, day)
            evidence_s = time.perf_counter() - t0
            print(f"evidence: {evidence_s:.2f} s", flush=True)
            counts = await conn.fetchrow(
                "SELECT (SELECT count(*) FROM organisations) o, (SELECT count(*) FROM members) m,"
                " (SELECT count(*) FROM meetings) mt, (SELECT count(*) FROM dues_months) d"
            )
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            scores = score_all(records, rules.defaults(), day)
            times.append(time.perf_counter() - t0)
        statuses = {
            s: sum(1 for x in scores.values() if x.status == s) for s in ("green", "amber", "red")
        }
        t0 = time.perf_counter()
        await build_scores(pool, day)
        first = time.perf_counter() - t0
        print(f"first build: {first:.2f} s", flush=True)
        async with pool.acquire() as conn:
            await conn.execute(
                "INSERT INTO meetings (code, org_id, kind, held_on, source) SELECT 'bench', id,"
                " '党课', $1, 'entry' FROM organisations ORDER BY id LIMIT 1",
                day,
            )
        t0 = time.perf_counter()
        await build_scores(pool, day)
        rebuild = time.perf_counter() - t0
        print(f"rebuild: {rebuild:.2f} s", flush=True)
        async with pool.acquire() as conn:
            t0 = time.perf_counter()
            result = await reminders.run(conn, day)
            remind = time.perf_counter() - t0
    finally:
        await pool.close()
    return {
        "rows": dict(counts),
        "evidence_s": evidence_s,
        "score_s_median": statistics.median(times),
        "score_s_all": times,
        "first_build_s": first,
        "rebuild_s": rebuild,
        "reminders_run_s": remind,
        "reminders_created": result.created,
        "statuses": statuses,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orgs", default="60,50000", help="comma list of organisation counts")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--members-max", type=int, default=500_000)
    ap.add_argument("--url", help="a server's database to work next to (default: own cluster)")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="djmap-benchhealth-"))
    work.chmod(0o755)
    cluster = None
    report: dict[str, Any] = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "load_average_start": os.getloadavg()},
        "sizes": [],
    }  # fmt: skip
    try:
        base = args.url
        if base is None:
            cluster = Cluster(home=work / "cluster", port=free_port(), dbname="djmap_bench")
            cluster.start()
            base = cluster.url
        for n in (int(x) for x in args.orgs.split(",")):
            url = create_db(base, f"djmap_health_bench_{n}")
            members = 3000 if n <= 60 else min(args.members_max, n * 10)
            size = {"organisations": n, "members": members, **load(url, n, members, work)}
            size |= asyncio.run(measure(url, args.repeat))
            report["sizes"].append(size)
            print(json.dumps(size, indent=1, default=str), flush=True)
            OUT.parent.mkdir(exist_ok=True)
            OUT.write_text(json.dumps(report, indent=1, default=str))
        report["machine"]["load_average_end"] = os.getloadavg()
        OUT.write_text(json.dumps(report, indent=1, default=str))
    finally:
        if cluster is not None and not args.keep:
            cluster.destroy()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
