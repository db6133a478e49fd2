"""Tile throughput with 1 primary vs 1 primary + 1 streaming replica (issue 15, benchmarks), on
this machine and on loopback, and the CPU each part spends per tile (to model many machines).

A private throwaway primary (geo.cluster.Cluster) is loaded with the sample district (`djmap
samples generate` / `samples load`, bench_pagedata.load, `--members`), its derived builds are
made (`djmap tiles build`), and a hot standby is copied from it with pg_basebackup
(geo.cluster_replica.ReplicaCluster, what `djmap db replica up` runs). Two djmap servers run at
once (bench/serve_reuseport.py, `--workers` uvicorn processes each, tile cache off so every
request renders): **primary** reads from the primary only; **primary + replica** has
`DJMAP_REPLICA_URLS` naming the standby, so tiles read there (geo/db/reads.py). wrk (one thread,
bench/tiles.lua) drives each with anonymous requests for public tiles (buildings, roads, service
points, organisations at z13-16 under the district), `--seconds` per run, the two servers back to
back, `--rounds` times per concurrency, the 1-minute load average recorded beside each run.

Beside each run: the CPU seconds (user + system, from /proc) of the server's processes, of the
primary's PostgreSQL processes and of the replica's, and the transactions each database
committed (pg_stat_database), so the split of a tile's cost between the app and PostgreSQL is
measured, not assumed; docs/SCALE.md models the many-machine case from it.

Usage: .venv/bin/python bench/bench_replica_tiles.py [--seconds 10] [--rounds 2]
       [--concurrency 8,32] [--workers 2] [--members 3000]
JSON goes to test-output/bench_replica_tiles.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import morecantile
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_pagedata import load, machine  # noqa: E402
from tiles_servers import SERVE, check_free, run_wrk, stop, wait_http  # noqa: E402

from geo import db as geodb  # noqa: E402
from geo.cluster import Cluster, free_port  # noqa: E402
from geo.cluster_replica import ReplicaCluster  # noqa: E402

OUT = ROOT / "test-output" / "bench_replica_tiles.json"
TMS = morecantile.tms.get("WebMercatorQuad")
LAYERS = ("buildings", "roads", "service_points", "organisations")
ZOOMS = (13, 14, 15, 16)
TICK = os.sysconf("SC_CLK_TCK")


def cpu_of_tree(root: int) -> float:
    """CPU seconds (user + system) of `root` and its live descendants, plus what its reaped
    children spent (cutime + cstime of every process in the tree)."""
    stats: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ppid = int(fields[1])
        ticks = sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
        stats[int(entry.name)] = (ppid, ticks / TICK)
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        if pid in stats:
            total += stats[pid][1]
        todo += [p for p, (ppid, _) in stats.items() if ppid == pid]
    return total


def postmaster(cluster: Cluster) -> int:
    """The cluster's postmaster pid."""
    return int((cluster.datadir / "postmaster.pid").read_text().split()[0])


def commits(url: str) -> int:
    """Transactions committed in the database so far (this connection's own included)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        row = conn.execute(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()
    return int(row[0]) if row else 0


def tile_paths(url: str, count: int) -> list[str]:
    """Seeded public tile paths under the district, spread over the layers and zooms."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
            "FROM (SELECT ST_Extent(geom) AS e FROM buildings) x"
        ).fetchone()
    assert row is not None
    rng = random.Random(20261205)
    paths = []
    for z in ZOOMS:
        tiles = list(TMS.tiles(*row, [z]))
        for layer in LAYERS:
            for t in rng.sample(tiles, min(len(tiles), count // (len(ZOOMS) * len(LAYERS)))):
                paths.append(f"/api/tiles/{layer}/{z}/{t.x}/{t.y}.mvt")
    rng.shuffle(paths)
    return paths


def start_server(url: str, port: int, workers: int, home: Path, replica: str | None) -> Any:
    """djmap on `port` (bench/serve_reuseport.py), tile cache off, reading from `replica` too."""
    env = {**os.environ, "DJMAP_DATABASE_URL": url, "DJMAP_TILE_CACHE": "off"}
    env["DJMAP_HOME"] = str(home)
    env.pop("DJMAP_REPLICA_URLS", None)
    if replica:
        env["DJMAP_REPLICA_URLS"] = replica
    check_free(port)
    cmd = [sys.executable, str(SERVE), "--port", str(port), "--workers", str(workers)]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT)
    wait_http(f"http://127.0.0.1:{port}/api/health")
    return proc


def replica_ok(port: int, timeout: float = 120.0) -> dict[str, Any]:
    """Wait until /api/health shows the replica in the rotation; that replica's entry."""
    end = time.time() + timeout
    while True:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=10) as r:
            body = json.loads(r.read())
        found = (body.get("replicas") or [{}])[0]
        if found.get("in_rotation") or time.time() > end:
            return dict(found)
        time.sleep(0.5)


def measured_run(
    name: str, port: int, proc: Any, pair: tuple[Cluster, Cluster], paths: list[str], args: Any
) -> dict[str, Any]:
    """One wrk run with the CPU of each process tree and the commits of each database."""
    primary, replica = pair
    trees = {"server": proc.pid, "primary": postmaster(primary), "replica": postmaster(replica)}
    cpu0 = {k: cpu_of_tree(pid) for k, pid in trees.items()}
    tx0 = {"primary": commits(primary.url), "replica": commits(replica.url)}
    res = run_wrk(port, paths, args.conc, args.seconds)
    cpu = {k: round(cpu_of_tree(pid) - cpu0[k], 2) for k, pid in trees.items()}
    tx = {k: commits(c.url) - tx0[k] for k, c in (("primary", primary), ("replica", replica))}
    n = max(1, res["requests"])
    per_tile = {k: round(v * 1000 / n, 3) for k, v in cpu.items()}
    out = {"server": name, "conc": args.conc, **res, "cpu_s": cpu, "cpu_ms_per_tile": per_tile}
    out["db_commits"] = tx
    print(json.dumps(out), flush=True)
    return out


def prepare(home: Path, members: int) -> tuple[Cluster, ReplicaCluster]:
    """The loaded, built primary and its caught-up replica."""
    primary = Cluster(home=home / "primary", port=free_port(), dbname="djmap_replica_bench")
    primary.start()
    geodb.migrate(primary.url)
    load(primary.url, members, {}, home / "work")
    env = {**os.environ, "DJMAP_DATABASE_URL": primary.url, "DJMAP_HOME": str(home / "app")}
    env.pop("DJMAP_REPLICA_URLS", None)
    djmap = Path(sys.executable).with_name("djmap")
    subprocess.run([str(djmap), "tiles", "build"], env=env, check=True, stdout=subprocess.DEVNULL)
    with psycopg.connect(primary.url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    replica = ReplicaCluster(primary, home / "replica", free_port())
    replica.start()
    return primary, replica


def bench(primary: Cluster, replica: ReplicaCluster, args: Any, home: Path) -> list[dict]:
    """Both servers up, wrk runs back to back per concurrency and round."""
    paths = tile_paths(primary.url, args.tiles)
    ports = {"primary": free_port(), "primary + replica": free_port()}
    procs = {
        "primary": start_server(primary.url, ports["primary"], args.workers, home / "a", None),
        "primary + replica": start_server(
            primary.url, ports["primary + replica"], args.workers, home / "b", replica.url
        ),
    }
    runs: list[dict] = []
    try:
        print("replica:", replica_ok(ports["primary + replica"]), flush=True)
        for port in ports.values():  # warm-up: caches of PostgreSQL and of each app
            run_wrk(port, paths, 4, 3)
        for conc in (int(c) for c in args.concurrency.split(",")):
            args.conc = conc
            for i in range(args.rounds):
                order = list(ports) if i % 2 == 0 else list(reversed(ports))
                for name in order:
                    pair = (primary, replica)
                    runs.append(measured_run(name, ports[name], procs[name], pair, paths, args))
        runs.append({"replica_health": replica_ok(ports["primary + replica"], 0)})
    finally:
        for proc in procs.values():
            stop(proc)
    return runs


def parse() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--concurrency", default="8,32")
    ap.add_argument("--workers", type=int, default=2, help="uvicorn processes per server")
    ap.add_argument("--tiles", type=int, default=320, help="tile paths in the list")
    ap.add_argument("--members", type=int, default=3000)
    return ap.parse_args()


def main() -> None:
    """Prepare, measure, write the JSON; the clusters are destroyed afterwards."""
    args = parse()
    home = Path(tempfile.mkdtemp(prefix="djmap-replica-bench-"))
    home.chmod(0o755)  # the unprivileged cluster owner must reach it
    primary = replica = None
    report: dict[str, Any] = {"machine": machine(), "args": vars(args)}
    try:
        primary, replica = prepare(home, args.members)
        report["runs"] = bench(primary, replica, args, home)
        report["machine"]["load_average_end"] = os.getloadavg()
        OUT.parent.mkdir(exist_ok=True)
        OUT.write_text(json.dumps(report, indent=1, default=str))
    finally:
        for cluster in (replica, primary):
            if cluster is not None:
                cluster.destroy()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
