"""Attacks on logins (issue 9, item 3): forged X-Forwarded-For against real uvicorn servers,
trusted proxies, a full failure table, and a flood of logins while others are served (the edges'
hardening: tests/test_edge_hardening.py)."""

from __future__ import annotations

import asyncio
import functools
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg
import pytest
from argon2 import PasswordHasher
from privacy import PASSWORD

from api.app import create_app
from api.login import VERIFY_SLOTS, LoginThrottle, PasswordVerifier, VerifierBusy
from api.settings import ApiSettings, Settings
from geo import users
from geo.settings import DatabaseSettings

ROOT = Path(__file__).resolve().parents[1]
DJMAP = ROOT / ".venv" / "bin" / "djmap"
KEY = "auth-attack-test-key-" + "x" * 32
VICTIM = "victim"
PORTAL = "https://portal.example.org"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(db_url: str, how: str, env: dict[str, str] | None = None) -> Iterator[tuple[str, Path]]:
    """A real server process on 127.0.0.1: `djmap serve` or plain `uvicorn` (its defaults trust
    proxy headers from 127.0.0.1), access log on; yields the base URL and the log's path."""
    port = free_port()
    home = tempfile.mkdtemp(prefix="djmap-attack-home-")
    log_path = Path(home) / "server.log"
    if how == "djmap serve":
        cmd = [str(DJMAP), "serve", "--port", str(port), "--log-level", "info"]
    else:
        cmd = [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory"]
        cmd += ["--port", str(port), "--log-level", "info"]
    proc_env = {
        **os.environ,
        "DJMAP_DATABASE_URL": db_url,
        "DJMAP_SECRET_KEY": KEY,
        "DJMAP_HOME": home,
        **(env or {}),
    }
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=proc_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90  # a start-up wait cap, not a timed assertion
        while not _up(base):
            assert proc.poll() is None, log_path.read_text()[-3000:]
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)
        yield base, log_path
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _up(base: str) -> bool:
    try:
        with urllib.request.urlopen(base + "/api/health", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def login(base: str, password: str, forwarded: str | None = None, name: str = VICTIM) -> int:
    """Status of one POST /api/auth/token (optionally naming a client in X-Forwarded-For)."""
    data = urllib.parse.urlencode({"username": name, "password": password}).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if forwarded is not None:
        headers["X-Forwarded-For"] = forwarded
    req = urllib.request.Request(base + "/api/auth/token", data=data, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status
    except urllib.error.HTTPError as err:
        return err.code


@pytest.fixture
def victim_db(clean_db: str) -> str:
    """The test database with one admin account to guess at."""
    with psycopg.connect(clean_db, autocommit=True) as conn:
        conn.execute("DELETE FROM users")
    users.add_user(clean_db, VICTIM, PASSWORD, "admin")
    return clean_db


# forged X-Forwarded-For -------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["djmap serve", "uvicorn"])
def test_forged_forwarded_for_cannot_dodge_the_throttle(victim_db: str, how: str) -> None:
    """Eight wrong passwords from 127.0.0.1, each naming another client in X-Forwarded-For: the
    sixth on is 429 (they were eight 401s: uvicorn took the client from the header)."""
    with server(victim_db, how) as (base, _):
        codes = [login(base, "wrong-guess", f"203.0.113.{i}") for i in range(8)]
        assert codes == [401] * 5 + [429] * 3, codes
        assert login(base, PASSWORD, "198.51.100.1") == 429  # no forged address gets it back


def test_trusted_proxy_forwarded_address_is_used(victim_db: str) -> None:
    """With DJMAP_TRUSTED_PROXIES=127.0.0.1 the forwarded client is the key: eight addresses are
    eight clients; one address is locked after five; hops left of it cannot unlock it."""
    key = users.add_embed_key(victim_db, "门户", [PORTAL]).key
    trusted = {"DJMAP_TRUSTED_PROXIES": "127.0.0.1"}
    with server(victim_db, "djmap serve", trusted) as (base, log):
        assert [login(base, "wrong-guess", f"203.0.113.{i}") for i in range(8)] == [401] * 8
        assert [login(base, "wrong-guess", "198.51.100.7") for _ in range(5)] == [401] * 5
        assert login(base, PASSWORD, "198.51.100.7") == 429
        # the client forges a hop of its own; the proxy appends the address it saw
        assert login(base, PASSWORD, "192.0.2.44, 198.51.100.7") == 429
        assert login(base, PASSWORD, "198.51.100.7, 127.0.0.1") == 429  # trusted hops skipped
        assert login(base, PASSWORD, "198.51.100.8") == 200  # another client logs in
        req = urllib.request.Request(f"{base}/embed?key={key}", headers={"Referer": PORTAL})
        with urllib.request.urlopen(req, timeout=60) as r:
            assert r.status == 200
    lines = log.read_text().splitlines()
    assert any("198.51.100.7" in line and "/api/auth/token" in line for line in lines)
    assert any("/embed?key=***" in line for line in lines) and key not in "\n".join(lines)


# the failure table ------------------------------------------------------------------------------


def test_full_failure_table_evicts_the_oldest_only() -> None:
    """A table at its cap drops the least recently failed key, not every key (the old table was
    emptied at 10,000 entries, wiping a guesser's count)."""
    throttle = LoginThrottle()
    for i in range(10_000):
        throttle.failed(f"name{i}", "203.0.113.9")
    throttle.failed(VICTIM, "198.51.100.1")
    assert not throttle.tracked("name0", "203.0.113.9")  # the oldest went
    assert throttle.tracked("name1", "203.0.113.9") and throttle.tracked(VICTIM, "198.51.100.1")
    assert throttle.sizes()[0] == 10_000
    for _ in range(4):  # the victim's count carried on: 5 in all lock it
        throttle.failed(VICTIM, "198.51.100.1")
    assert throttle.wait(VICTIM, "198.51.100.1") > 0


def test_full_table_never_frees_a_lock() -> None:
    """A locked name stays locked for its whole window whatever fills the tables, and the
    per-name rule (100 failures from all addresses) survives a churning per-address table."""
    throttle = LoginThrottle(max_entries=10)
    for _ in range(5):
        throttle.failed(VICTIM, "203.0.113.9")
    for i in range(5_000):
        throttle.failed(f"spray{i}", f"198.51.100.{i % 250}")
    assert throttle.wait(VICTIM, "203.0.113.9") > 0
    by_client, by_name, _ = throttle.sizes()
    assert by_client <= 10 and by_name <= 10
    for i in range(95):  # 100 failures of the name in all, from as many addresses
        throttle.failed("owner", f"192.0.2.{i}")
    for i in range(5):
        throttle.failed("owner", f"10.9.9.{i}")
    assert throttle.wait("owner", "10.0.0.1") > 0  # locked for every address


# argon2 off the event loop ----------------------------------------------------------------------


@functools.cache
def _slow_hash() -> str:
    """A password hash whose verification takes several times the default's 0.17 s (made once:
    making it takes as long)."""
    return PasswordHasher(time_cost=24, memory_cost=65536, parallelism=4).hash("not-this")


def test_bad_logins_in_flight_do_not_stall_health(victim_db: str) -> None:
    """Four wrong passwords (twice the verifier's slots: two checked, two queued) for an account
    with a slow hash; GET /api/health answers again and again before the first of them is
    answered (on the event loop it waited for the verification in progress)."""
    with psycopg.connect(victim_db, autocommit=True) as conn:
        conn.execute(
            "UPDATE users SET password_hash = %s WHERE username = %s", (_slow_hash(), VICTIM)
        )
    with server(victim_db, "djmap serve") as (base, _):
        done: list[str] = []
        lock = threading.Lock()
        sent = threading.Barrier(2 * VERIFY_SLOTS + 1)

        def bad_login(i: int) -> int:
            sent.wait()
            code = login(base, f"wrong-{i}")
            with lock:
                done.append("login")
            return code

        with ThreadPoolExecutor(2 * VERIFY_SLOTS) as pool:
            futures = [pool.submit(bad_login, i) for i in range(2 * VERIFY_SLOTS)]
            sent.wait()
            while "login" not in done:
                with urllib.request.urlopen(base + "/api/health", timeout=120) as r:
                    ok = r.status == 200
                with lock:
                    done.append("health" if ok else "health-error")
            codes = [f.result() for f in futures]
        assert set(codes) <= {401, 429, 503} and 401 in codes, codes
        first_login = done.index("login")
        assert done[:first_login].count("health") >= 3, done[: first_login + 1]
        assert "health-error" not in done


def test_verifier_admits_a_bounded_number() -> None:
    """Past its slots and queue the verifier refuses at once (the route answers 503 with
    Retry-After), so a flood of logins cannot pile up threads or 64 MiB buffers."""
    slow = _slow_hash()

    async def run() -> list[object]:
        verifier = PasswordVerifier(slots=1, waiting=1)
        first = asyncio.create_task(verifier.verify(slow, "x"))
        second = asyncio.create_task(verifier.verify(slow, "y"))
        while verifier._in_flight < 2:
            await asyncio.sleep(0)
        with pytest.raises(VerifierBusy):
            await verifier.verify(slow, "z")
        return list(await asyncio.gather(first, second))

    assert asyncio.run(run()) == [False, False]


def test_busy_verifier_is_503_with_retry_after(victim_db: str) -> None:
    settings = Settings(
        db=DatabaseSettings(database_url=victim_db), api=ApiSettings(secret_key=KEY)
    )
    app = create_app(settings)
    with psycopg.connect(victim_db, autocommit=True) as conn:
        conn.execute(
            "UPDATE users SET password_hash = %s WHERE username = %s", (_slow_hash(), VICTIM)
        )

    async def run() -> httpx.Response:
        app.state.password_verifier = verifier = PasswordVerifier(slots=1, waiting=0)
        transport = httpx.ASGITransport(app=app)
        client = httpx.AsyncClient(transport=transport, base_url="http://t")
        async with app.router.lifespan_context(app), client:
            form = {"username": VICTIM, "password": "wrong"}
            first = asyncio.create_task(client.post("/api/auth/token", data=form))
            while verifier._in_flight < 1:
                await asyncio.sleep(0.01)
            second = await client.post("/api/auth/token", data=form)
            assert (await first).status_code == 401
            return second

    r = asyncio.run(run())
    assert r.status_code == 503 and r.headers["retry-after"] == "1", r.text
