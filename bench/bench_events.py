"""Event stream benchmark (issue 12 §4): N SSE clients on one `djmap serve` process on loopback,
M activity changes committed; commit → delivery on every client, server CPU and memory, events
lost, memory per idle client.

Runs in its own database (`<dbname>_bench_events` on the server in use), created and dropped.
Each change is one transaction, as a write through the API makes it: the activity row updated
and its `activity.updated` event inserted (geo/live/events.py). Latency is from just before the
COMMIT is sent to the moment the client's read returns the event's bytes (an upper bound: it
includes the commit itself). Clients are anonymous (activity events are public) and read with raw
asyncio streams on uvloop in this process, so the server, PostgreSQL and the clients share the
machine's cores.

Usage: .venv/bin/python bench/bench_events.py [--clients 1000] [--changes 100]
       [--interval 0.05] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import statistics
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

import psutil
import psycopg
import uvloop

from geo import db as geodb
from geo.cluster import free_port
from geo.live import events
from geo.settings import get_db_settings

ROOT = Path(__file__).resolve().parent.parent
DJMAP = ROOT / ".venv" / "bin" / "djmap"
ID = re.compile(rb"\nid: (\d+)\n")
CAP_S = 120.0  # how long the bench waits for the last event on every client before giving up


def bench_url(base: str) -> str:
    """A fresh, migrated `<dbname>_bench_events` next to `base`, with one activity to change."""
    head, dbname = base.rsplit("/", 1)
    name = f"{dbname.split('?')[0]}_bench_events"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{head}/{name}"
    geodb.migrate(url)
    now = datetime.now(UTC)
    with psycopg.connect(url) as conn:
        org = conn.execute(
            "INSERT INTO organisations (code, name, type, geom) VALUES ('B1', '测试党委', '党委', "
            "ST_SetSRID(ST_MakePoint(120.15, 30.25), 4326)) RETURNING id"
        ).fetchone()[0]  # type: ignore[index]
        conn.execute(
            "INSERT INTO activities (code, title, kind, organiser_id, starts_at, ends_at, geom) "
            "VALUES ('A1', '主题党日', '主题党日', %s, %s, %s, "
            "ST_SetSRID(ST_MakePoint(120.15, 30.25), 4326))",
            (org, now + timedelta(days=1), now + timedelta(days=1, hours=2)),
        )
    return url


def drop(base: str, url: str) -> None:
    """Drop the bench database."""
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def start_server(url: str, home: Path) -> tuple[subprocess.Popen[bytes], int]:
    """`djmap serve` (one process) on a free port, once it answers."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJMAP_")}
    env |= {"DJMAP_DATABASE_URL": url, "DJMAP_HOME": str(home), "DJMAP_TILE_CACHE": "off"}
    env["DJMAP_SECRET_KEY"] = "bench-events-" + "k" * 40
    log = (home / "server.log").open("wb")
    proc = subprocess.Popen(
        [str(DJMAP), "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    import urllib.request

    for _ in range(600):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/events/latest", timeout=2):
                return proc, port
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("djmap serve did not start")


def server_process(proc: subprocess.Popen[bytes]) -> psutil.Process:
    """The process that serves (djmap serve runs uvicorn in itself with one worker)."""
    return psutil.Process(proc.pid)


class Client(asyncio.Protocol):
    """One SSE client as a bare protocol (no task per client: the bench's own cost stays low):
    when each event id arrived."""

    def __init__(self) -> None:
        self.got: dict[int, float] = {}
        self.opened = asyncio.Event()
        self.transport: asyncio.Transport | None = None
        self.tail = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Send the request."""
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is no asyncio.Transport
        self.transport.write(
            b"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n"
        )

    def data_received(self, data: bytes) -> None:
        """Note the arrival time of each event id in `data`."""
        now = time.time()
        if not self.opened.is_set() and b"retry:" in data:
            self.opened.set()
        text = self.tail + data
        for m in ID.finditer(text):
            self.got.setdefault(int(m.group(1)), now)
        self.tail = text[-64:]


def commit_changes(url: str, changes: int, interval: float) -> dict[int, float]:
    """Commit `changes` activity updates with their events; event id → time before COMMIT."""
    sent: dict[int, float] = {}
    with psycopg.connect(url) as conn:
        for i in range(changes):
            conn.execute(
                "UPDATE activities SET title = %s, updated_at = now() WHERE code = 'A1'",
                (f"主题党日 {i}",),
            )
            event = events.NewEvent(
                "activity.updated", "activities/1", None, "public", {"id": 1, "n": i}
            )
            text, args = events.insert(event, psycopg=True)
            event_id = int(conn.execute(text, args).fetchone()[0])  # type: ignore[index]
            sent[event_id] = time.time()
            conn.commit()
            if interval:
                time.sleep(interval)
    return sent


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


async def connect_all(port: int, n: int) -> list[Client]:
    """Open n clients (in waves of 100) and wait until every one is subscribed."""
    loop = asyncio.get_running_loop()
    clients: list[Client] = []
    for start in range(0, n, 100):
        wave = []
        for _ in range(min(100, n - start)):
            _, client = await loop.create_connection(Client, "127.0.0.1", port)
            wave.append(client)
        await asyncio.wait_for(asyncio.gather(*(c.opened.wait() for c in wave)), CAP_S)
        clients += wave
    return clients


async def measure(args: argparse.Namespace, url: str, port: int, server: psutil.Process) -> dict:
    """Connect the clients, commit the changes, wait for every delivery; the figures."""
    await asyncio.sleep(2.0)
    rss0 = server.memory_info().rss
    clients = await connect_all(port, args.clients)
    await asyncio.sleep(2.0)
    rss_idle = server.memory_info().rss
    me = psutil.Process()
    cpu0, mine0, t0 = server.cpu_times(), me.cpu_times(), time.monotonic()
    load0 = os.getloadavg()[0]
    sent = await asyncio.to_thread(commit_changes, url, args.changes, args.interval)
    last = max(sent)
    deadline = time.monotonic() + CAP_S
    while time.monotonic() < deadline and not all(last in c.got for c in clients):
        await asyncio.sleep(0.05)
    cpu1, mine1, t1 = server.cpu_times(), me.cpu_times(), time.monotonic()
    rss_after = server.memory_info().rss
    lat = [c.got[i] - sent[i] for c in clients for i in sent if i in c.got]
    lost = sum(1 for c in clients for i in sent if i not in c.got)
    for client in clients:
        if client.transport is not None:
            client.transport.close()
    cpu = (cpu1.user + cpu1.system) - (cpu0.user + cpu0.system)
    mine = (mine1.user + mine1.system) - (mine0.user + mine0.system)
    return {
        "clients": args.clients,
        "changes": args.changes,
        "deliveries": len(lat),
        "lost": lost,
        "p50": pct(lat, 50),
        "p95": pct(lat, 95),
        "p99": pct(lat, 99),
        "max": max(lat) if lat else float("nan"),
        "mean": statistics.fmean(lat) if lat else float("nan"),
        "cpu_s": cpu,
        "cpu_pct": 100 * cpu / (t1 - t0),
        "phase_s": t1 - t0,
        "bench_cpu_s": mine,
        "load": load0,
        "rss0_mb": rss0 / 2**20,
        "rss_idle_mb": rss_idle / 2**20,
        "rss_after_mb": rss_after / 2**20,
        "per_client_kb": (rss_idle - rss0) / args.clients / 1024,
    }


def report(r: dict, args: argparse.Namespace) -> str:
    """The result as a Markdown table."""
    ms = 1000
    rows = [
        (
            "machine",
            f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
            f"load average {r['load']:.1f} at the start",
        ),
        ("clients × changes", f"{r['clients']} × {r['changes']} (one every {args.interval} s)"),
        ("deliveries", f"{r['deliveries']:,} (lost: {r['lost']})"),
        (
            "commit → delivery p50 / p95 / p99 / max",
            f"{r['p50'] * ms:.1f} / {r['p95'] * ms:.1f} / {r['p99'] * ms:.1f} / "
            f"{r['max'] * ms:.1f} ms",
        ),
        (
            "server CPU during the changes",
            f"{r['cpu_s']:.2f} s in {r['phase_s']:.1f} s ({r['cpu_pct']:.0f} % of a core); "
            f"the bench's 1 process of clients: {r['bench_cpu_s']:.2f} s",
        ),
        (
            "server RSS: before clients / idle clients / after",
            f"{r['rss0_mb']:.1f} / {r['rss_idle_mb']:.1f} / {r['rss_after_mb']:.1f} MiB",
        ),
        ("memory per idle client", f"{r['per_client_kb']:.1f} KiB"),
    ]
    lines = ["| measure | value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in rows]
    return "\n".join(lines)


def main() -> None:
    """Set up, measure, report, clean up."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--changes", type=int, default=100)
    parser.add_argument("--interval", type=float, default=0.05, help="seconds between commits")
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    args = parser.parse_args()
    base = geodb.ensure_database(get_db_settings())
    url = bench_url(base)
    proc = None
    try:
        with tempfile.TemporaryDirectory(prefix="djmap-bench-events-") as home:
            proc, port = start_server(url, Path(home))
            result = uvloop.run(measure(args, url, port, server_process(proc)))
            proc.terminate()
            proc.wait(timeout=30)
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
        if not args.keep:
            drop(base, url)
    print(report(result, args))


if __name__ == "__main__":
    main()
