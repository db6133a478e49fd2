"""Database work is bounded: a statement_timeout per request class, a bounded wait for a pooled
connection, and driver errors answered 503 with Retry-After (one log line, not a traceback each)."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from privacy import two_subtrees

from api.app import create_app
from api.settings import ApiSettings, Settings
from geo.db import pool as gpool
from geo.settings import DatabaseSettings

FEATURES = "/api/collections/service_points/items?limit=5"


def boundary_tile(x: int) -> str:
    """A boundary tile (rendered by the database on its first request, cached after)."""
    return f"/api/tiles/boundary/14/{13480 + x}/6208.mvt"


def make_client(url: str, home: Path, db: dict[str, Any] | None = None, **api: Any) -> TestClient:
    settings = Settings(
        DatabaseSettings(database_url=url, home=home, **(db or {})), ApiSettings(**api)
    )
    return TestClient(create_app(settings))


def assert_503(r: Any) -> None:
    assert r.status_code == 503, r.text
    assert int(r.headers["retry-after"]) >= 1
    body = r.json()
    assert body["code"] == "ServiceUnavailable" and body["description"]


class TableLock:
    """An ACCESS EXCLUSIVE lock on a table held by another session (every statement reading the
    table waits on it, and statement_timeout counts the wait), released after `hold` seconds at
    the latest so that code without a timeout answers (and its test fails) instead of hanging."""

    def __init__(self, url: str, table: str, hold: float = 8.0) -> None:
        self.conn = psycopg.connect(url)
        self.conn.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        self.timer = threading.Timer(hold, self.release)
        self.timer.start()
        self.lock = threading.Lock()

    def release(self) -> None:
        with self.lock:
            if not self.conn.closed:
                self.conn.rollback()
                self.conn.close()

    def __enter__(self) -> TableLock:
        return self

    def __exit__(self, *_: object) -> None:
        self.timer.cancel()
        self.release()


@pytest.fixture
def seeded(clean_db: str) -> str:
    two_subtrees(clean_db)
    return clean_db


def test_features_and_tiles_answer_503_past_their_statement_timeout(
    seeded: str, tmp_path: Path
) -> None:
    # 1 s: a statement under the lock waits it out (8 s), one without it never gets near, even
    # on two cores shared with the app's first builds
    with make_client(seeded, tmp_path, statement_timeout=1.0) as client:
        assert client.get(FEATURES).status_code == 200
        with TableLock(seeded, "service_points"):
            assert_503(client.get(FEATURES))
        assert client.get(boundary_tile(0)).status_code == 200
        with TableLock(seeded, "districts"):
            assert_503(client.get(boundary_tile(1)))
            assert client.get(boundary_tile(0)).status_code == 200  # cached: no statement
        assert client.get(FEATURES).status_code == 200  # the pool's connections still work
        assert client.get(boundary_tile(1)).status_code == 200


def test_analysis_runs_under_its_own_longer_timeout(seeded: str, tmp_path: Path) -> None:
    async def timeouts(app: FastAPI) -> tuple[str, str]:
        pool = app.state.pool
        async with pool.acquire() as conn:
            await gpool.set_statement_timeout(conn, 60)
            raised = await conn.fetchval("SHOW statement_timeout")
        async with pool.acquire() as conn:  # the pool's reset brings its own limit back
            again = await conn.fetchval("SHOW statement_timeout")
        return str(raised), str(again)

    with make_client(seeded, tmp_path, statement_timeout=0.3, analysis_timeout=60) as client:
        raised, again = client.portal.call(timeouts, client.app)  # type: ignore[union-attr, arg-type]
        assert (raised, again) == ("1min", "300ms")
        with psycopg.connect(gpool.timed_url(seeded, 42.5)) as conn:  # the CLI's sync session
            assert conn.execute("SHOW statement_timeout").fetchone() == ("42500ms",)
        with client.app.state.analysis_pool.connection() as conn:  # type: ignore[attr-defined]
            assert conn.execute("SHOW statement_timeout").fetchone() == ("1min",)


def test_coverage_runs_on_pooled_connections(seeded: str, tmp_path: Path) -> None:
    """Coverage borrows its connection from the app's analysis pool instead of opening one per
    request, and a connection the server dropped is replaced, not handed to a run."""
    body = {"meters": 800, "weight": "buildings", "bbox": [116.29, 39.89, 116.32, 39.92]}
    with make_client(seeded, tmp_path) as client:
        pool = client.app.state.analysis_pool  # type: ignore[attr-defined]
        for _ in range(3):
            assert client.post("/api/coverage", json=body).status_code == 200
        assert pool.get_stats()["connections_num"] == 1
        with pool.connection() as conn:
            pid = conn.info.backend_pid
        with psycopg.connect(seeded, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        assert client.post("/api/coverage", json=body).status_code == 200
        assert pool.get_stats()["connections_lost"] == 1  # found by the check, not by the run


def test_no_free_connection_in_time_is_503_with_retry_after(seeded: str, tmp_path: Path) -> None:
    db = {"pool_min": 1, "pool_max": 1}
    with make_client(seeded, tmp_path, db, pool_timeout=0.3) as client:
        pool = client.app.state.pool  # type: ignore[attr-defined]

        async def take() -> Any:
            return await pool.acquire()

        held = client.portal.call(take)  # type: ignore[union-attr]
        released = threading.Event()

        def give_back() -> None:
            if not released.is_set():
                released.set()
                client.portal.call(pool.release, held)  # type: ignore[union-attr]

        # without a bounded wait the request would wait for ever: give the connection back later
        timer = threading.Timer(8, give_back)
        timer.start()
        try:
            r = client.get(FEATURES)
        finally:
            timer.cancel()
            give_back()
        assert_503(r)
        assert "busy" in r.json()["description"]
        # the connection is back: the pool serves again (the live worker's own queries, queued
        # on the one connection meanwhile, may go first and make a request wait past 0.3 s)
        deadline = time.monotonic() + 30
        while (status := client.get(FEATURES).status_code) != 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert status == 200


DRIVER_ERRORS = [
    ConnectionRefusedError(111, "Connection refused"),
    asyncpg.CannotConnectNowError("the database system is starting up"),
    asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
    asyncpg.InterfaceError("connection is closed"),
    asyncpg.AdminShutdownError("terminating connection due to administrator command"),
    asyncpg.PostgresConnectionError("lost"),
    asyncpg.QueryCanceledError("canceling statement due to statement timeout"),
    asyncpg.TooManyConnectionsError("sorry, too many clients already"),
    psycopg.OperationalError("connection failed: Connection refused"),
    TimeoutError(),
]


@pytest.fixture
def failing_app(db_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, list[BaseException]]]:
    app = create_app(Settings(DatabaseSettings(database_url=db_url, home=tmp_path)))
    raised: list[BaseException] = []

    async def fail() -> None:
        raise raised[-1]

    app.add_api_route("/test/fail", fail)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, raised


def test_every_driver_error_is_503_with_one_log_line_per_outage(
    failing_app: tuple[TestClient, list[BaseException]], caplog: pytest.LogCaptureFixture
) -> None:
    client, raised = failing_app
    caplog.set_level(logging.WARNING)
    gpool.STATE.down_since = None
    for exc in DRIVER_ERRORS * 3:
        raised.append(exc)
        assert_503(client.get("/test/fail"))
    raised.append(ValueError("a bug"))
    assert client.get("/test/fail").status_code == 500  # other errors stay server errors
    down = [r for r in caplog.records if "database unavailable since" in r.getMessage()]
    assert len(down) == 1
    assert not [r for r in caplog.records if r.exc_info and r.name.startswith(("djmap", "geo"))]
    assert gpool.STATE.down
    gpool.STATE.succeeded(gpool.STATE.last_failure)  # still among the failures: not back yet
    assert gpool.STATE.down
    gpool.STATE.succeeded(gpool.STATE.last_failure + gpool.SETTLE_S)
    back = [r for r in caplog.records if "database back after" in r.getMessage()]
    assert len(back) == 1 and not gpool.STATE.down


def test_notify_listener_reconnects_in_the_background(seeded: str, tmp_path: Path) -> None:
    listener = (
        "SELECT pid FROM pg_stat_activity WHERE application_name = 'djmap versions'"
        " AND datname = current_database()"  # the session's servers listen on other databases
    )
    with make_client(seeded, tmp_path, tile_freshness="notify") as client:
        service = client.app.state.tiles  # type: ignore[attr-defined]
        assert client.get(boundary_tile(0)).status_code == 200
        with psycopg.connect(seeded, autocommit=True) as conn:
            first = [r[0] for r in conn.execute(listener).fetchall()]
            assert len(first) == 1
            conn.execute("SELECT pg_terminate_backend(%s)", (first[0],))
            for _ in range(500):  # no request is made: the tracker reconnects by itself
                found = [r[0] for r in conn.execute(listener).fetchall() if r[0] != first[0]]
                if found:
                    break
                client.portal.call(asyncio.sleep, 0.02)  # type: ignore[union-attr]
            assert found, "the LISTEN connection did not come back"
        assert client.get(boundary_tile(0)).status_code == 200
        assert service.versions.known is not None  # kept by the new listener
        heard = service.versions.heard
        with psycopg.connect(seeded, autocommit=True) as conn:
            conn.execute("UPDATE organisations SET name = name")  # its notification must arrive
        for _ in range(500):
            if service.versions.heard > heard:
                break
            client.portal.call(asyncio.sleep, 0.02)  # type: ignore[union-attr]
        assert service.versions.heard > heard  # the write's notification reached the new listener
