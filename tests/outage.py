"""Outage drill: restart PostgreSQL under concurrent load and count the answers per second.

`drill(workdir, …)` starts a private cluster (geo.cluster.Cluster) or takes the one it is given
(the test run's own: no second initdb and migration), seeds it, runs `djmap serve` against it on
a free port, warms some tiles, keeps `clients` threads sending a mix of requests,
stops PostgreSQL (`pg_ctl stop -m fast`), keeps it down for `down` seconds, starts it again and
keeps the load on for `after` seconds more. Every answer is recorded with its start and end time,
its class and its status ("drop" for a connection that failed or hung). `tests/test_outage.py`
runs a short drill; `make outage` runs `python tests/outage.py` (a longer one) and prints the table.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from privacy import PASSWORD, add_users, two_subtrees  # noqa: E402

from geo import db as geodb  # noqa: E402
from geo.cluster import Cluster, free_port  # noqa: E402

DJMAP = ROOT / ".venv" / "bin" / "djmap"
LON, LAT = 116.30, 39.90
CLASSES = (
    "cached_tile",
    "leader_tile",
    "layers",
    "tilejson",
    "cold_tile",
    "features",
    "nearest",
    "page",
)
LEADER = "leader_a"  # a bound leader: their cached tiles stay readable while the database is away


@dataclass
class Answer:
    """One request as a client saw it."""

    start: float
    end: float
    kind: str
    status: int | str  # HTTP status, or "drop:<httpx error>" (failed or hung connection)
    well_formed: bool = True  # a 503 carries Retry-After and a JSON error body


@dataclass
class Drill:
    """What a drill saw: answers, the moments of the restart, the server log."""

    answers: list[Answer] = field(default_factory=list)
    marks: dict[str, float] = field(default_factory=dict)
    log: str = ""


def _tile_path(layer: str, z: int, lon: float, lat: float) -> str:
    import morecantile

    t = morecantile.tms.get("WebMercatorQuad").tile(lon, lat, z)
    return f"/api/tiles/{layer}/{z}/{t.x}/{t.y}.mvt"


WARM = [
    _tile_path(layer, z, LON, LAT)
    for layer in ("service_points", "organisations")
    for z in (10, 12, 14, 16)
]


def _request(rng: random.Random) -> tuple[str, str]:
    kind = rng.choice(CLASSES)
    if kind in ("cached_tile", "leader_tile"):
        return kind, rng.choice(WARM)
    if kind == "layers":
        return kind, "/api/layers"
    if kind == "tilejson":
        return kind, "/api/tiles/service_points/tilejson.json"
    if kind == "cold_tile":  # a boundary tile nobody asked for yet: rendered by the database
        z = 17
        return kind, f"/api/tiles/boundary/{z}/{rng.randrange(1 << z)}/{rng.randrange(1 << z)}.mvt"
    if kind == "features":
        return kind, f"/api/collections/service_points/items?limit=5&offset={rng.randrange(3)}"
    if kind == "page":
        return kind, "/nearest"
    return kind, f"/api/nearest?lon={LON}&lat={LAT}&target=service_points&k=3"


def _well_formed(r: httpx.Response) -> bool:
    if r.status_code != 503:
        return True
    try:
        body = r.json()
    except ValueError:
        return False
    return bool(r.headers.get("retry-after")) and isinstance(body, dict) and "description" in body


def _client(
    base: str, seed: int, stop: threading.Event, out: list[Answer], auth: dict[str, str]
) -> None:
    rng = random.Random(seed)
    with httpx.Client(base_url=base, timeout=10) as http:
        while not stop.is_set():
            kind, path = _request(rng)
            start = time.monotonic()
            try:
                r = http.get(path, headers=auth if kind == "leader_tile" else None)
                answer = Answer(start, time.monotonic(), kind, r.status_code, _well_formed(r))
            except httpx.HTTPError as exc:
                answer = Answer(start, time.monotonic(), kind, f"drop:{type(exc).__name__}", False)
            out.append(answer)


def _serve(
    url: str, home: Path, port: int, workers: int, log: Path, freshness: str
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DJMAP_DATABASE_URL": url,
        "DJMAP_HOME": str(home),
        "DJMAP_TILE_FRESHNESS": freshness,
    }
    cmd = [str(DJMAP), "serve", "--port", str(port), "--workers", str(workers)]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 90  # start-up wait cap
    while True:
        try:
            up = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=5).status_code == 200
            if up and _listeners(port) >= workers:  # every worker takes connections
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("djmap serve did not start:\n" + log.read_text(errors="replace"))
        time.sleep(0.3)


def _listeners(port: int) -> int:
    """Sockets listening on the port (each worker has its own, SO_REUSEPORT)."""
    found = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as f:
            for line in f.readlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                found += state == "0A" and int(local.rsplit(":", 1)[1], 16) == port
    return found


def _warm(base: str) -> dict[str, str]:
    """Read the warm set twice (anonymously and as the leader); the leader's Authorization."""
    with httpx.Client(base_url=base, timeout=30) as http:
        r = http.post("/api/auth/token", data={"username": LEADER, "password": PASSWORD})
        assert r.status_code == 200, r.text
        auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
        for path in [*WARM, "/api/layers", "/api/tiles/service_points/tilejson.json"]:
            for headers in ({}, auth, {}, auth):  # the second reads come from the cache
                r = http.get(path, headers=headers)
                assert r.status_code == 200, (path, r.status_code, r.text[:200])
    return auth


def _load(
    base: str, clients: int, out: list[Answer], auth: dict[str, str]
) -> tuple[threading.Event, list[threading.Thread]]:
    stop = threading.Event()
    threads = [
        threading.Thread(target=_client, args=(base, i, stop, out, auth), daemon=True)
        for i in range(clients)
    ]
    for t in threads:
        t.start()
    return stop, threads


def drill(
    workdir: Path,
    *,
    clients: int = 16,
    before: float = 2.0,
    down: float = 3.0,
    after: float = 3.0,
    workers: int = 1,
    freshness: str = "strict",
    cluster: Cluster | None = None,
) -> Drill:
    """Run one outage drill in `workdir` (a cluster, a server, the load) and return what it saw.

    `cluster`: a running cluster whose database (`cluster.url`) is migrated and empty; the drill
    stops and starts it and leaves it running. None: a private one, made and destroyed here."""
    workdir.mkdir(parents=True, exist_ok=True)
    workdir.chmod(0o755)  # the unprivileged cluster owner must reach it
    private = cluster is None
    if cluster is None:
        cluster = Cluster(home=workdir / "cluster", port=free_port(), dbname="djmap_outage")
        cluster.start()
    result = Drill()
    try:
        if private:
            geodb.migrate(cluster.url)
        two_subtrees(cluster.url)
        add_users(cluster.url)
        port = free_port()
        log = workdir / "server.log"
        proc = _serve(cluster.url, workdir / "home", port, workers, log, freshness)
        try:
            base = f"http://127.0.0.1:{port}"
            auth = _warm(base)
            stop, threads = _load(base, clients, result.answers, auth)
            time.sleep(before)
            result.marks["stop"] = time.monotonic()
            cluster.stop()
            result.marks["stopped"] = time.monotonic()
            time.sleep(down)
            result.marks["start"] = time.monotonic()
            cluster.start()
            result.marks["up"] = time.monotonic()
            time.sleep(after)
            stop.set()
            for t in threads:
                t.join(timeout=30)
        finally:
            stop_server(proc)
        result.log = log.read_text(errors="replace")
    finally:
        if private:
            cluster.destroy()
        else:
            cluster.start()  # up again even when the drill failed half-way (no-op when running)
    return result


def stop_server(proc: subprocess.Popen[bytes], seconds: float = 30) -> None:
    """SIGTERM, then SIGKILL after `seconds` (never left running); a server that needed the kill
    is an error: stopping must not hang after the database came back."""
    proc.terminate()
    try:
        proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise RuntimeError(f"djmap serve did not stop within {seconds:.0f} s of SIGTERM") from None


def phase(answer: Answer, marks: dict[str, float]) -> str:
    """`before` (ended before the stop), `after` (started a second after the database was back)
    or `outage` (everything between)."""
    if answer.end < marks["stop"]:
        return "before"
    if answer.start >= marks["up"] + 1.0:
        return "after"
    return "outage"


def table(result: Drill) -> list[dict[str, Any]]:
    """Answers per second (from the stop) and class: {status: count}."""
    marks = result.marks
    rows: dict[int, dict[str, Counter[str]]] = {}
    for a in result.answers:
        second = int((a.start - marks["stop"]) // 1)
        rows.setdefault(second, {}).setdefault(a.kind, Counter())[str(a.status)] += 1
    return [
        {
            "second": s,
            "database": _db_state(s, marks),
            **{k: dict(sorted(v.items())) for k, v in sorted(rows[s].items())},
        }
        for s in sorted(rows)
    ]


def _db_state(second: int, marks: dict[str, float]) -> str:
    t = marks["stop"] + second
    if t + 1 <= marks["stop"]:
        return "up"
    if t < marks["stopped"]:
        return "stopping"
    if t + 1 <= marks["start"]:
        return "down"
    if t < marks["up"]:
        return "starting"
    return "up"


def summary(result: Drill) -> dict[str, Any]:
    """Counts per phase and status, tracebacks and outage lines in the server log."""
    per_phase: dict[str, Counter[str]] = {}
    for a in result.answers:
        per_phase.setdefault(phase(a, result.marks), Counter())[str(a.status)] += 1
    m = result.marks
    ends_503 = [a.end for a in result.answers if a.status == 503]
    return {
        "phases": {p: dict(sorted(c.items())) for p, c in per_phase.items()},
        "stopping_s": round(m["stopped"] - m["stop"], 2),
        "down_s": round(m["up"] - m["stop"], 2),
        "tracebacks": result.log.count("Traceback"),
        "outage_lines": result.log.count("database unavailable since"),
        "recovery_lines": result.log.count("database back after"),
        "malformed_503": sum(1 for a in result.answers if a.status == 503 and not a.well_formed),
        # when the last 503 was sent, from the moment Cluster.start() returned (< 0: before it)
        "last_503_after_up_s": round(max(ends_503) - m["up"], 2) if ends_503 else None,
    }


def write_report(result: Drill, path: Path) -> dict[str, Any]:
    """Write the per-second table and the summary as JSON; return them."""
    report = {"summary": summary(result), "per_second": table(result)}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=1, ensure_ascii=False))
    path.with_suffix(".log").write_text(result.log)  # the server's log, beside the table
    return report


def print_report(report: dict[str, Any]) -> None:
    """The table as text: one line per second."""
    print(f"{'s':>4} {'database':<9} " + " ".join(f"{c:<17}" for c in CLASSES))
    for row in report["per_second"]:
        cells = [",".join(f"{k}×{n}" for k, n in row.get(c, {}).items()) or "-" for c in CLASSES]
        print(f"{row['second']:>4} {row['database']:<9} " + " ".join(f"{x:<17}" for x in cells))
    print(json.dumps(report["summary"], ensure_ascii=False))


def main() -> None:
    """`make outage`: a longer drill, printed and written to test-output/outage.json."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--before", type=float, default=3.0)
    ap.add_argument("--down", type=float, default=8.0)
    ap.add_argument("--after", type=float, default=5.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--freshness", choices=("strict", "notify"), default="strict")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="djmap-outage-") as tmp:
        result = drill(
            Path(tmp),
            clients=args.clients,
            before=args.before,
            down=args.down,
            after=args.after,
            workers=args.workers,
            freshness=args.freshness,
        )
    report = write_report(result, ROOT / "test-output" / "outage.json")
    print_report(report)


if __name__ == "__main__":
    main()
