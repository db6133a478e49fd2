"""Coverage on Dask (issue 15 §3): speed-up with 1 and 2 workers, peak memory per worker, and
the check that the Dask path publishes exactly what the single process publishes.

For each member count it generates the sample district (`djmap samples generate --members N`;
above 3,000 members with issue 15's national-test counts: 5,000 organisations, 5,000 service
points, 100,000 buildings) and loads it, each in its own process, into its own database
(`<dbname>_dask_bench`, created and dropped, on a private throwaway cluster unless `--url` names a
server; the database `--url` names is never written). Then for each engine (`local`, then
`dask` with each worker count of `--workers`) it runs `djmap coverage`'s core (straight, 800 m,
member weight, the whole district in the admin scope, or `--province`) `--repeat` times in a
fresh process of its own, so that no engine finds the member spread another engine cached:

- **wall**: seconds of the run (best of the repeats, over `--rounds` rounds that run the engines
  one after the other, so that a change of the machine's load hits them alike), and separately
  the LocalCluster's start;
- **peak RSS** of the driver process (the one that reads the database and publishes), and of
  each worker process (`ru_maxrss`, asked of every worker after the runs; `worker_idle_rss_gb`:
  each worker's RSS before the first run, with dask_geopandas imported);
- **equal**: the result (summary, uncovered cells, service areas, proposals, notes) is the same
  JSON as the local engine's.

Usage: .venv/bin/python bench/bench_dask.py [--members 3000,1000000] [--workers 1,2]
       [--repeat 2] [--keep] [--url URL] [--db URL (an already loaded database: no load)]
JSON goes to test-output/bench_dask.json. `make bench-dask` runs the default.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg

from geo import db as geodb
from geo.cluster import Cluster, free_port

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_pagedata import counts_for, load, machine

OUT = Path(__file__).resolve().parent.parent / "test-output" / "bench_dask.json"
RADIUS_M = 800.0


def bench_url(base: str) -> str:
    """URL of a fresh, migrated `<dbname>_dask_bench` database next to `base`."""
    head, dbname = base.rsplit("/", 1)
    name = f"{dbname.split('?')[0]}_dask_bench"
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


def one(url: str, engine: str, workers: int, repeat: int, province: str | None) -> dict[str, Any]:
    """One engine's runs, in this process (called through `--one`): times, memory, result."""
    import psutil

    from geo.analysis import coverage as core
    from geo.analysis import member_demand, scoping
    from geo.analysis.coverage_dask import ImportGeo
    from geo.analysis.dask_cluster import DaskSettings, dask_client
    from geo.db import Direct
    from geo.scope import Principal

    req = core.CoverageRequest(meters=RADIUS_M)
    principal = Principal(role="admin")
    if province:
        with psycopg.connect(url) as conn:
            principal = scoping.province(conn, province)
    out: dict[str, Any] = {"engine": engine, "workers": workers if engine == "dask" else 0}

    def runs(client: Any) -> list[float]:
        times = []
        for _ in range(repeat):
            member_demand._cache.clear()
            t0 = time.perf_counter()
            out["result"] = core.run(Direct(url), req, principal, client=client)
            times.append(time.perf_counter() - t0)
        return times

    if engine == "local":
        out["runs_s"] = runs(None)
    else:
        t0 = time.perf_counter()
        with dask_client(DaskSettings(workers=workers, processes=True)) as client:
            out["cluster_start_s"] = time.perf_counter() - t0
            client.register_plugin(ImportGeo(), name="djmap-import-geo")
            idle = client.run(lambda: psutil.Process().memory_info().rss)
            out["worker_idle_rss_gb"] = sorted(v / 2**30 for v in idle.values())
            out["runs_s"] = runs(client)
            peaks = client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
            out["worker_peak_rss_gb"] = sorted(v / 2**20 for v in peaks.values())
    out["best_s"] = min(out["runs_s"])
    out["driver_peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    return out


def engine_run(url: str, engine: str, workers: int, args: argparse.Namespace) -> dict[str, Any]:
    """`one` in a fresh process; its JSON."""
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        cmd = [sys.executable, __file__, "--one", engine, "--db", url, "--out-one", f.name,
               "--workers", str(workers), "--repeat", str(args.repeat)]  # fmt: skip
        if args.province:
            cmd += ["--province", args.province]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        return json.loads(Path(f.name).read_text(encoding="utf-8"))


def measure(url: str, args: argparse.Namespace) -> dict[str, Any]:
    """Every engine on one loaded database, compared with the local engine's result."""
    engines = [("local", 0)] + [("dask", int(w)) for w in args.workers.split(",")]
    rounds = [[engine_run(url, e, w, args) for e, w in engines] for _ in range(args.rounds)]
    rows = []
    for i in range(len(engines)):  # each engine's best round; every round's runs are kept
        tries = [r[i] for r in rounds]
        best = min(tries, key=lambda r: r["best_s"])
        same = all(r["result"] == rounds[0][0]["result"] for r in tries)
        rows.append({**best, "rounds_s": [r["runs_s"] for r in tries], "equal_every_round": same})
    local = rows[0]
    expected = local["result"]
    for row in rows:
        row["equal"] = row["result"] == expected
        row["speedup"] = local["best_s"] / row["best_s"]
        row["summary"] = row.pop("result")["summary"]
        print(json.dumps(row, default=str), flush=True)
    return {"engines": rows}


def run_size(base: str, members: int, args: argparse.Namespace) -> dict[str, Any]:
    """Load `members` into the bench database and measure there."""
    url = bench_url(base)
    try:
        with tempfile.TemporaryDirectory(prefix="djmap-dask-") as tmp:
            counts = counts_for(members, False)
            result: dict[str, Any] = {"members": members, **load(url, members, counts, Path(tmp))}
            result.update(measure(url, args))
            return result
    finally:
        if not args.keep:
            drop(base, url)


def parse() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", default="3000,1000000", help="comma list of member counts")
    ap.add_argument("--workers", default="1,2", help="comma list of Dask worker counts")
    ap.add_argument("--repeat", type=int, default=2, help="runs per engine process (best kept)")
    ap.add_argument(
        "--rounds", type=int, default=2, help="engine after engine, this many times (best kept)"
    )
    ap.add_argument("--province", help="a top-level organisation's code (default: everyone)")
    ap.add_argument("--keep", action="store_true", help="keep the bench database")
    ap.add_argument("--url", help="a server's database to work next to (default: a private one)")
    ap.add_argument("--db", help="an already loaded database to measure (nothing is loaded)")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    ap.add_argument("--out-one", help=argparse.SUPPRESS)
    return ap.parse_args()


def main() -> None:
    """Run the sizes asked for and write the JSON report."""
    args = parse()
    if args.one:
        found = one(args.db, args.one, int(args.workers), args.repeat, args.province)
        Path(args.out_one).write_text(json.dumps(found, default=str), encoding="utf-8")
        return
    report: dict[str, Any] = {"machine": machine(), "sizes": []}
    OUT.parent.mkdir(exist_ok=True)
    if args.db:
        report["sizes"].append({"db": "given", **measure(args.db, args)})
        OUT.write_text(json.dumps(report, indent=1, default=str))
        return
    work = Path(tempfile.mkdtemp(prefix="djmap-benchdask-"))
    work.chmod(0o755)  # the unprivileged cluster owner must reach it
    cluster = None
    try:
        base = args.url
        if base is None:
            cluster = Cluster(home=work / "cluster", port=free_port(), dbname="djmap_bench")
            cluster.start()
            base = cluster.url
        for n in (int(x) for x in args.members.split(",")):
            report["sizes"].append(run_size(base, n, args))
            OUT.write_text(json.dumps(report, indent=1, default=str))
        report["machine"]["load_average_end"] = os.getloadavg()
        OUT.write_text(json.dumps(report, indent=1, default=str))
    finally:
        if cluster is not None:
            cluster.destroy()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
