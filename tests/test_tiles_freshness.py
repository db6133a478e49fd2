"""Tile freshness under the default `notify` mode (tiles/versions.py): versions kept in memory
under a lease, no read per request, and a committed write seen by every request made once the
writer's settle wait is over, even when its notification never arrives or the listener is lost."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from test_tiles_mvt import LAT, LON, TMS, seed_points

from api.app import create_app
from api.freshness import SettleWrites
from api.settings import ApiSettings, Settings
from geo.settings import DatabaseSettings
from tiles import versions as tv

TILE = TMS.tile(LON, LAT, 12)
PATH = f"/api/tiles/service_points/12/{TILE.x}/{TILE.y}.mvt"
WRITE = "UPDATE service_points SET name = name || '·' WHERE id = 1"


@pytest.fixture
def client(clean_db: str, tmp_path: Path) -> Iterator[TestClient]:
    seed_points(clean_db, 50)
    settings = Settings(
        DatabaseSettings(database_url=clean_db, home=tmp_path), ApiSettings(tile_cache="on")
    )
    assert settings.api.tile_freshness == "notify"  # the default
    with TestClient(create_app(settings)) as c:
        yield c


@contextmanager
def no_notifications(url: str) -> Iterator[None]:
    """Writes commit without their NOTIFY (as if every notification were late)."""
    sql = "ALTER TABLE data_versions {} TRIGGER data_versions_notify"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.format("DISABLE"))
    try:
        yield
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.format("ENABLE"))


def write(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(WRITE)


def token(client: TestClient) -> str:
    r = client.get(PATH)
    assert r.status_code == 200, r.text
    return r.headers["x-data-version"]


def test_requests_are_served_without_a_versions_read_each(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tv, "LEASE_S", 3600.0)  # one read, then the lease holds
    monkeypatch.setattr(tv, "BEAT_S", 3600.0)
    versions = client.app.state.versions  # type: ignore[attr-defined]
    first = token(client)
    reads = versions.reads
    assert {token(client) for _ in range(40)} == {first}
    assert versions.reads - reads <= 1  # at most the heartbeat's first read, never one each


def test_a_write_without_notification_is_seen_once_the_writer_settled(
    client: TestClient, clean_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tv, "BEAT_S", 3600.0)  # no heartbeat read after the write either
    before = token(client)
    with no_notifications(clean_db):
        write(clean_db)
        tv.settle_write_sync()
        assert token(client) != before  # the lease ran out: the request read the versions


def test_a_write_through_an_api_is_seen_by_the_next_request(
    client: TestClient, clean_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process's write route (SettleWrites answers after the lease): its caller's next
    tile request sees the write even though no notification tells this app about it."""

    async def post(request: Request) -> Response:
        write(clean_db)
        return Response(status_code=201)

    writer = SettleWrites(Starlette(routes=[Route("/write", post, methods=["POST"])]))
    monkeypatch.setattr(tv, "BEAT_S", 3600.0)
    before = token(client)
    with no_notifications(clean_db), TestClient(writer) as other:
        assert token(client) == before
        assert other.post("/write").status_code == 201
        assert token(client) != before


def test_a_lost_listener_falls_back_to_reads(
    client: TestClient, clean_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tv, "BEAT_S", 3600.0)
    before = token(client)
    listener = (  # this database's listener (the session's servers listen on others)
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s"
        " AND datname = current_database()"
    )
    with no_notifications(clean_db), psycopg.connect(clean_db, autocommit=True) as conn:
        assert conn.execute(listener, (tv.APP_NAME,)).fetchall() == [(True,)]
        conn.execute(WRITE)
        tv.settle_write_sync()
        assert token(client) != before  # read through the pool, not the last versions
