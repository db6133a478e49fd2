"""The tile lane (api/routers/tiles.py `TileLane`): a public tile the memory cache holds is
answered before the app's middleware and routing, exactly as the full path answers it, and only
for anonymous callers under versions whose lease holds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from privacy import add_users, bearer, two_subtrees
from test_tiles_mvt import LAT, LON, TMS, decode, seed_points

from api.app import create_app
from api.settings import ApiSettings, Settings
from geo.settings import DatabaseSettings
from tiles import versions as tv

KEY = "tiles-lane-key-" + "k" * 32
TILE = TMS.tile(LON, LAT, 14)
PATH = f"/api/tiles/service_points/14/{TILE.x}/{TILE.y}.mvt"
VARYING = ("date", "server")


@pytest.fixture
def client(clean_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setattr(tv, "LEASE_S", 3600.0)  # the lease holds for the whole test
    seed_points(clean_db, 30, spread=0.004)
    two_subtrees(clean_db)
    add_users(clean_db)
    settings = Settings(
        DatabaseSettings(database_url=clean_db, home=tmp_path),
        ApiSettings(secret_key=KEY, tile_cache="on"),
    )
    with TestClient(create_app(settings)) as c:
        yield c


def full_path_calls(client: TestClient) -> list[str]:
    """Count the requests that reach TileService.tile (the full path)."""
    service = client.app.state.tiles  # type: ignore[attr-defined]
    calls: list[str] = []
    original = service.tile

    async def counted(layer_id: str, *args: object, **kw: object) -> object:
        calls.append(layer_id)
        return await original(layer_id, *args, **kw)

    service.tile = counted
    return calls


def answer(r: object) -> tuple[int, bytes, dict[str, str]]:
    headers = {k: v for k, v in r.headers.items() if k not in VARYING}  # type: ignore[attr-defined]
    return r.status_code, r.content, headers  # type: ignore[attr-defined]


@pytest.mark.parametrize("encoding", ["gzip", "identity"])
def test_a_cached_public_tile_is_answered_as_the_full_path_answers_it(
    client: TestClient, encoding: str
) -> None:
    calls = full_path_calls(client)
    hdr = {"Accept-Encoding": encoding}
    first = client.get(PATH, headers=hdr)  # a miss: rendered and cached by the full path
    assert calls == ["service_points"] and first.status_code == 200
    again = client.get(PATH, headers=hdr)
    assert calls == ["service_points"]  # answered by the lane
    assert answer(again) == answer(first)
    assert "content-security-policy" in again.headers  # the hardening headers too
    etag = {**hdr, "If-None-Match": first.headers["etag"]}
    lane_304 = client.get(PATH, headers=etag)
    assert calls == ["service_points"]
    versioned = client.get(f"{PATH}?v={first.headers['x-data-version']}", headers=etag)
    assert len(calls) == 2  # a query goes the full way
    assert lane_304.status_code == versioned.status_code == 304
    assert answer(lane_304)[2] == {**answer(versioned)[2], "cache-control": REVALIDATE}


REVALIDATE = "public, max-age=0, must-revalidate"


def test_callers_and_cors_take_the_full_path(client: TestClient) -> None:
    calls = full_path_calls(client)
    public = client.get(PATH)
    leader = client.get(PATH, headers=bearer(client, "admin"))
    assert len(calls) == 2
    fields = {k for f in decode(leader.content)["service_points"] for k in f["properties"]}  # type: ignore[union-attr]
    public_fields = {k for f in decode(public.content)["service_points"] for k in f["properties"]}  # type: ignore[union-attr]
    assert fields > public_fields  # the admin's tile, not the cached public one
    client.get(PATH, headers={"Origin": "https://example.org"})
    assert len(calls) == 3


def test_no_lease_no_lane(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = full_path_calls(client)
    client.get(PATH)
    monkeypatch.setattr(tv, "LEASE_S", 0.0)  # versions never fresh enough: every request reads
    client.get(PATH)
    assert len(calls) == 2
