"""The tile cache is bounded: a size cap on disk (LRU), no files for zooms outside a layer's range
or for organisations that do not exist, and a full disk never turns a rendered tile into an error."""

from __future__ import annotations

import asyncio
import errno
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import mapbox_vector_tile
import morecantile
import psycopg
import pytest
from fastapi.testclient import TestClient
from privacy import two_subtrees

from api.app import create_app
from api.settings import ApiSettings, Settings
from geo.settings import DatabaseSettings
from tiles.cache import CacheKey, TileCache, make_tile

TMS = morecantile.tms.get("WebMercatorQuad")
LON, LAT = 116.30, 39.90  # organisation tree A of privacy.two_subtrees
BLOCK = 4096  # the bound counts whole filesystem blocks per file


def disk_size(n: int) -> int:
    return max(1, -(-n // BLOCK)) * BLOCK


def tile_url(layer: str, z: int, query: str = "") -> str:
    t = TMS.tile(LON + 0.001, LAT + 0.001, z)
    return f"/api/tiles/{layer}/{z}/{t.x}/{t.y}.mvt{query}"


def cached_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def used(root: Path) -> int:
    return sum(disk_size(p.stat().st_size) for p in cached_files(root))


def make_client(url: str, home: Path, **api: object) -> TestClient:
    settings = Settings(DatabaseSettings(database_url=url, home=home), ApiSettings(**api))
    return TestClient(create_app(settings))


@pytest.fixture
def data(clean_db: str) -> dict[str, dict[str, object]]:
    return two_subtrees(clean_db)


@pytest.fixture
def client(clean_db: str, data: object, tmp_path: Path) -> Iterator[TestClient]:
    with make_client(clean_db, tmp_path) as c:
        yield c


def key(i: int) -> CacheKey:
    return CacheKey("service_points", "t1", "public", "", 18, i, 7)


def put_all(cache: TileCache, tiles: list[tuple[CacheKey, bytes]]) -> None:
    async def run() -> None:
        for k, raw in tiles:
            await cache.put(k, make_tile(raw))

    asyncio.run(run())


def test_disk_cache_keeps_to_its_bound_least_recently_used_first(tmp_path: Path) -> None:
    bound = 64 * BLOCK
    raw = os.urandom(6000)  # incompressible: two blocks per file on disk

    def tiles(ids: range) -> list[tuple[CacheKey, bytes]]:
        return [(key(i), raw + i.to_bytes(2, "big")) for i in ids]

    cache = TileCache(tmp_path, disk_bytes=bound)
    put_all(cache, tiles(range(30)))  # 60 blocks: under the bound
    assert len(cached_files(tmp_path)) == 30
    reader = TileCache(tmp_path, disk_bytes=bound)  # another worker: reads from disk
    assert asyncio.run(reader.get(key(0))) is not None  # tile 0 is now the most recently used
    put_all(cache, tiles(range(30, 33)))  # 66 blocks: over, evicted down to 90 %
    assert used(tmp_path) <= bound
    assert key(0).path(tmp_path).exists()  # read lately: kept
    assert not key(1).path(tmp_path).exists()  # the oldest unread: evicted first
    assert key(32).path(tmp_path).exists()  # the newest: kept
    put_all(cache, tiles(range(33, 300)))
    assert used(tmp_path) <= bound
    assert cache.disk is not None and cache.disk.used == used(tmp_path)
    assert key(299).path(tmp_path).exists()


def test_full_disk_still_serves_the_tile_and_logs_one_line(
    client: TestClient,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    real = Path.write_bytes

    def full_disk(self: Path, data: bytes) -> int:
        if self.suffix == ".tmp":  # half the bytes land, then the disk is full
            real(self, data[: len(data) // 2])
            raise OSError(errno.ENOSPC, "No space left on device", str(self))
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", full_disk)
    caplog.set_level(logging.WARNING, logger="tiles.cache")
    bodies = []
    for z in (12, 13, 14):
        r = client.get(tile_url("service_points", z))
        assert r.status_code == 200, r.text
        bodies.append(r.content)
    features = mapbox_vector_tile.decode(bodies[-1])["service_points"]["features"]
    assert features, "the tile rendered fine and is served"
    assert client.get(tile_url("service_points", 14)).content == bodies[-1]  # from memory
    assert not [p for p in cached_files(tmp_path / "tiles") if p.suffix != ".gz"]  # no .tmp
    assert not cached_files(tmp_path / "tiles")
    lines = [r for r in caplog.records if "tile cache" in r.getMessage()]
    assert len(lines) == 1, [r.getMessage() for r in lines]
    monkeypatch.setattr(Path, "write_bytes", real)
    assert client.get(tile_url("service_points", 15)).status_code == 200
    assert len(cached_files(tmp_path / "tiles")) == 1  # writes work again


def test_zoom_outside_a_layers_range_is_refused_and_never_cached(
    client: TestClient, tmp_path: Path
) -> None:
    for layer, z in (("service_points", 23), ("service_points", 24), ("boundary", 19)):
        r = client.get(tile_url(layer, z))
        assert r.status_code == 400, (layer, z, r.text)
        assert "zooms 0.." in r.json()["description"]
    assert client.get(tile_url("boundary", 18)).status_code == 200  # its maxzoom is served
    assert client.get(tile_url("service_points", 22)).status_code == 200
    names = {p.parts[-3] for p in cached_files(tmp_path / "tiles")}  # …/<z>/<x>/<y>.gz
    assert names == {"18", "22"}


def test_unknown_organisation_is_404_and_never_cached(
    client: TestClient, clean_db: str, data: dict[str, dict[str, int]], tmp_path: Path
) -> None:
    org = data["A"]["committee"]
    assert client.get(tile_url("service_points", 14, f"?org={org}")).status_code == 200
    files = len(cached_files(tmp_path / "tiles"))
    for made_up in (999_999, 123_456_789, 2**62):
        r = client.get(tile_url("service_points", 14, f"?org={made_up}"))
        assert r.status_code == 404, r.text
        assert r.json()["description"] == f"organisation {made_up} does not exist"
    r = client.get(f"/api/tiles/service_points/tilejson.json?org={999_999}")
    assert r.status_code == 404
    assert len(cached_files(tmp_path / "tiles")) == files  # nothing written for them
    with psycopg.connect(clean_db, autocommit=True) as conn:  # the organisation comes to exist
        row = conn.execute(
            "INSERT INTO organisations (id, code, name, type, geom) VALUES (999999, 'N', 'N', "
            "'党支部', ST_SetSRID(ST_MakePoint(116.3, 39.9), 4326)) RETURNING id"
        ).fetchone()
    assert row is not None
    assert client.get(tile_url("service_points", 14, "?org=999999")).status_code == 200
