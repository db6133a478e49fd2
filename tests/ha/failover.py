"""`make test-ha`: kill the primary of a pg_auto_failover formation under load (issue 15 §2).

djmap serves from a multi-host libpq URL (target_session_attrs=read-write) with the standby as its
read replica. Two writers create service points through the API (OGC Features Part 4) and two
readers read features and tiles; the primary node is SIGKILLed (pg_autoctl and postmaster). The
run reports the time to the first successful write after the kill, the requests that failed
meanwhile, and the acknowledged writes missing afterwards (must be 0), in test-output/failover.json.
Exit status 1 when a write was lost or writes never resumed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from formation import Formation, wait_connect

from geo import db as geodb
from geo.cluster import free_port
from geo.users import add_user

ROOT = Path(__file__).resolve().parents[2]
ITEMS = "/api/collections/service_points/items"
LOAD_S, AFTER_S = 4.0, 4.0


def commit_cost(url: str, n: int = 200) -> dict[str, float]:
    """Mean ms of a one-row INSERT commit, synchronous (the standby acknowledges) or local."""
    out = {}
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS ha_probe (id serial PRIMARY KEY, at timestamptz)")
        for mode in ("on", "local", "on"):
            conn.execute(f"SET synchronous_commit = {mode}")
            t0 = time.perf_counter()
            for _ in range(n):
                conn.execute("INSERT INTO ha_probe (at) VALUES (now())")
            out[f"commit_ms_{mode}"] = round((time.perf_counter() - t0) * 1000 / n, 3)
    return out


def seed(url: str) -> None:
    geodb.migrate(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO organisations (code, name, type, geom) VALUES "
            "('c1', '一号党委', '党委', ST_SetSRID(ST_MakePoint(120.2, 30.25), 4326))"
        )
    add_user(url, "ha-admin", "ha-admin-password-1", "admin")


def serve(f: Formation, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJMAP_")}
    env.update(
        DJMAP_DATABASE_URL=f.multi_host_url(),
        DJMAP_REPLICA_URLS=f.url(f.ports["node_b"]),
        DJMAP_HOME=str(f.base / "app"),
        DJMAP_POOL_TIMEOUT="1",
    )
    cmd = [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory", "--port", str(port)]
    log = (f.base / "app.log").open("ab")
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


class Load:
    """Writers and readers against the app; every answer recorded with its time."""

    def __init__(self, base: str, token: str) -> None:
        self.base, self.token = base, token
        self.stop = threading.Event()
        self.results: list[tuple[float, str, int, str]] = []  # (t, kind, status, code)
        self.lock = threading.Lock()

    def note(self, kind: str, status: int, code: str = "") -> None:
        with self.lock:
            self.results.append((time.monotonic(), kind, status, code))

    def writer(self, w: int) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        with httpx.Client(base_url=self.base, timeout=10, headers=headers) as c:
            n = 0
            while not self.stop.is_set():
                n += 1
                code = f"ha{w}-{n}"
                body = {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [120.21, 30.26]},
                    "properties": {
                        "code": code,
                        "name": code,
                        "kind": "党员活动室",
                        "所属组织": "c1",
                    },
                }
                try:
                    status = c.post(ITEMS, json=body).status_code
                except httpx.HTTPError:
                    status = 0
                self.note("write", status, code)

    def reader(self) -> None:
        with httpx.Client(base_url=self.base, timeout=10) as c:
            while not self.stop.is_set():
                for path in (f"{ITEMS}?limit=20", "/api/tiles/service_points/12/3418/1664.mvt"):
                    try:
                        status = c.get(path).status_code
                    except httpx.HTTPError:
                        status = 0
                    self.note("read", status)

    def start(self) -> list[threading.Thread]:
        threads = [threading.Thread(target=self.writer, args=(w,)) for w in range(2)]
        threads += [threading.Thread(target=self.reader) for _ in range(2)]
        for t in threads:
            t.start()
        return threads


def token(base: str) -> str:
    form = {"username": "ha-admin", "password": "ha-admin-password-1"}
    r = httpx.post(f"{base}/api/auth/token", data=form, timeout=10)
    r.raise_for_status()
    return str(r.json()["access_token"])


def wait_http(base: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/api/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("djmap did not come up")


def run_load(f: Formation, base: str) -> dict[str, Any]:
    load = Load(base, token(base))
    threads = load.start()
    time.sleep(LOAD_S)
    killed = time.monotonic()
    f.kill("node_a")
    first = None
    deadline = killed + 120
    while first is None and time.monotonic() < deadline:
        time.sleep(0.1)
        with load.lock:
            ok = [t for t, k, s, _ in load.results if k == "write" and s == 201 and t > killed]
        first = min(ok) if ok else None
    time.sleep(AFTER_S)
    load.stop.set()
    for t in threads:
        t.join()
    return report(f, load, killed, first)


def report(f: Formation, load: Load, killed: float, first: float | None) -> dict[str, Any]:
    acked = {c for _, k, s, c in load.results if k == "write" and s == 201}
    with psycopg.connect(f.multi_host_url()) as conn:
        rows = conn.execute("SELECT code FROM service_points WHERE code LIKE 'ha%%'").fetchall()
        port = conn.execute("SELECT inet_server_port()").fetchone()
    stored = {r[0] for r in rows}
    window = [r for r in load.results if killed <= r[0] <= (first or killed + 120)]
    return {
        "first_write_after_kill_s": round(first - killed, 2) if first else None,
        "writes_acknowledged": len(acked),
        "writes_lost": len(acked - stored),
        "failed_in_window": {
            kind: sum(1 for _, k, s, _ in window if k == kind and s != 201 and s != 200)
            for kind in ("write", "read")
        },
        "answered_in_window": {
            kind: sum(1 for _, k, s, _ in window if k == kind and s in (200, 201))
            for kind in ("write", "read")
        },
        "requests_total": len(load.results),
        "primary_after": "node_b" if port and port[0] == f.ports["node_b"] else "node_a",
        "states_after": f.states(),
    }


def main() -> int:
    f = Formation(Path(tempfile.mkdtemp(prefix="djmap-ha-")))
    app = None
    t0 = time.monotonic()
    try:
        f.prepare()
        f.start_monitor()
        f.start_node("node_a", first=True)
        f.wait_states({"node_a": "single"})
        f.set_node_passwords("node_a")
        seed(f.url(f.ports["node_a"]))
        f.start_node("node_b", first=False)
        f.wait_states({"node_a": "primary", "node_b": "secondary"})
        setup_s = time.monotonic() - t0
        wait_connect(f.multi_host_url())
        cost = commit_cost(f.multi_host_url())
        port = free_port()
        app = serve(f, port)
        base = f"http://127.0.0.1:{port}"
        wait_http(base)
        result = {"setup_s": round(setup_s, 1), **cost, **run_load(f, base)}
    finally:
        if app is not None:
            app.terminate()
            app.wait(timeout=30)
        f.stop()
    out = ROOT / "test-output" / "failover.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    print(json.dumps(result, indent=2, ensure_ascii=False))
    ok = result["writes_lost"] == 0 and result["first_write_after_kill_s"] is not None
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
