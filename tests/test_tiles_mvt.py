"""Vector tiles against the real database: every tile decoded with mapbox-vector-tile and checked."""

from __future__ import annotations

import asyncio
import gzip
import json
import random
import subprocess
from collections.abc import Iterator
from pathlib import Path

import mapbox_vector_tile
import morecantile
import psycopg
import pyproj
import pytest
from builds import wait_built
from fastapi.testclient import TestClient

from api.app import create_app
from api.deps import get_principal
from api.settings import ApiSettings, Settings
from geo.ingest import import_file
from geo.scope import Principal
from geo.settings import DatabaseSettings
from layers import catalog
from tiles.mvt import TileRequest, tile_bounds
from tiles.versions import settle_write_sync

TMS = morecantile.tms.get("WebMercatorQuad")
WEB_MERCATOR = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
LON, LAT = 116.40, 39.90  # the sample area (inside one z8 tile and away from its edges)
KINDS = ("党群服务中心", "党群服务站", "党员活动室", "红色教育基地")


def make_client(url: str, home: Path, cache: str = "on") -> TestClient:
    settings = Settings(
        DatabaseSettings(database_url=url, home=home), ApiSettings(tile_cache=cache)
    )
    return TestClient(create_app(settings))


@pytest.fixture
def client(clean_db: str, tmp_path: Path) -> Iterator[TestClient]:
    with make_client(clean_db, tmp_path) as c:
        yield c


def execute(url: str, sql: str, *args: object) -> None:
    """A write as djmap's writers make it: committed, then settled (tiles/versions.py: seen by
    every request made from then on, in any process, whether or not its NOTIFY has arrived)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql, args or None)
    settle_write_sync()


def scalar(url: str, sql: str, *args: object) -> object:
    with psycopg.connect(url) as conn:
        row = conn.execute(sql, args or None).fetchone()
        assert row is not None
        return row[0]


def seed_orgs(url: str) -> None:
    execute(
        url,
        "INSERT INTO organisations (code, name, type, parent_id, geom) VALUES "
        "('o1', '街道党工委', '党委', NULL, ST_SetSRID(ST_MakePoint(116.40, 39.90), 4326)),"
        "('o2', '社区党总支', '党总支', 1, ST_SetSRID(ST_MakePoint(116.41, 39.90), 4326)),"
        "('o3', '第一支部', '党支部', 2, ST_SetSRID(ST_MakePoint(116.41, 39.91), 4326)),"
        "('o4', '其他党委', '党委', NULL, ST_SetSRID(ST_MakePoint(116.39, 39.89), 4326))",
    )


def seed_points(url: str, n: int, spread: float = 0.03, seed: float = 0.42) -> None:
    """n service points spread around the sample area, kinds and organisations cycling."""
    seed_orgs(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT setseed(%s)", (seed,))
        conn.execute(
            "INSERT INTO service_points (code, name, kind, org_id, phone, geom) "
            "SELECT 'sp' || i, '服务点' || i, (%s::text[])[1 + i %% 4], 1 + i %% 4, '010-' || i, "
            "ST_SetSRID(ST_MakePoint(%s + (random() - 0.5) * %s, %s + (random() - 0.5) * %s), 4326) "
            "FROM generate_series(1, %s) AS i",
            (list(KINDS), LON, spread, LAT, spread, n),
        )


def decode(body: bytes) -> dict[str, list[dict[str, object]]]:
    if not body:
        return {}
    tile = mapbox_vector_tile.decode(body)
    return {name: layer["features"] for name, layer in tile.items()}


def get_tile(client: TestClient, layer: str, tile: morecantile.Tile, query: str = "") -> bytes:
    r = client.get(f"/api/tiles/{layer}/{tile.z}/{tile.x}/{tile.y}.mvt{query}")
    assert r.status_code == 200, r.text
    return r.content


def ids_in_tile(url: str, table: str, tile: morecantile.Tile, where: str = "") -> set[int]:
    b = TMS.bounds(tile)
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            f"SELECT id FROM {table} WHERE ST_X(geom) >= %s AND ST_X(geom) < %s "
            f"AND ST_Y(geom) > %s AND ST_Y(geom) <= %s {where}",
            (b.left, b.right, b.bottom, b.top),
        ).fetchall()
    return {int(r[0]) for r in rows}


def covering(zoom: int, spread: float = 0.03) -> list[morecantile.Tile]:
    h = spread / 2 + 0.001
    return list(TMS.tiles(LON - h, LAT - h, LON + h, LAT + h, [zoom]))


def counted(features: list[dict[str, object]]) -> int:
    total = 0
    for f in features:
        props = f["properties"]
        assert isinstance(props, dict)
        total += int(props["count"]) if props.get("cluster") else 1
    return total


def test_high_zoom_features_equal_a_bbox_query(client: TestClient, clean_db: str) -> None:
    seed_points(clean_db, 800)
    tiles = covering(15)
    assert len(tiles) > 4
    seen: set[int] = set()
    for tile in tiles:
        features = decode(get_tile(client, "service_points", tile)).get("service_points", [])
        ids = {int(str(f["id"])) for f in features}
        assert ids == ids_in_tile(clean_db, "service_points", tile)
        assert all(not f["properties"].get("cluster") for f in features)  # type: ignore[union-attr]
        assert seen.isdisjoint(ids)
        seen |= ids
    assert len(seen) == 800


def test_low_zoom_clusters_account_for_every_feature(client: TestClient, clean_db: str) -> None:
    seed_points(clean_db, 3000, spread=0.2)
    for zoom in (3, 6, 8):
        total = 0
        for tile in covering(zoom, 0.2):
            features = decode(get_tile(client, "service_points", tile)).get("service_points", [])
            for f in features:
                props = f["properties"]
                assert isinstance(props, dict) and props["cluster"] is True
                kinds = sum(int(v) for k, v in props.items() if str(k).startswith("kind:"))
                assert kinds == props["count"]
            assert counted(features) == len(ids_in_tile(clean_db, "service_points", tile))
            total += counted(features)
        assert total == 3000


def test_over_budget_tile_is_clustered_not_truncated(client: TestClient, clean_db: str) -> None:
    seed_points(clean_db, 25_000, spread=0.004)  # far over the feature budget in one z15 tile
    tile = TMS.tile(LON, LAT, 15)
    body = get_tile(client, "service_points", tile)
    assert len(body) <= 500_000
    features = decode(body)["service_points"]
    assert features and all(f["properties"]["cluster"] for f in features)  # type: ignore[index]
    assert counted(features) == len(ids_in_tile(clean_db, "service_points", tile))
    by_kind: dict[str, int] = {}
    for f in features:
        for k, v in f["properties"].items():  # type: ignore[union-attr]
            if str(k).startswith("kind:"):
                by_kind[k[5:]] = by_kind.get(k[5:], 0) + int(v)
    expected = {
        kind: len(ids_in_tile(clean_db, "service_points", tile, f"AND kind = '{kind}'"))
        for kind in KINDS
    }
    assert by_kind == {k: v for k, v in expected.items() if v}


def test_polygons_and_lines(client: TestClient, clean_db: str) -> None:
    execute(
        clean_db,
        "INSERT INTO buildings (code, name, use, height_m, geom) "
        "SELECT 'b' || i, '楼' || i, (ARRAY['住宅', '办公'])[1 + i % 2], 10 + i % 50, "
        "ST_Multi(ST_Expand(ST_SetSRID(ST_MakePoint(116.39 + (i % 40) * 0.0005, "
        "39.895 + (i / 40) * 0.0005), 4326), 0.0001)) FROM generate_series(0, 799) AS i",
    )
    execute(
        clean_db,
        "INSERT INTO roads (code, name, kind, geom) SELECT 'r' || i, '路' || i, 'street', "
        "ST_SetSRID(ST_MakeLine(ST_MakePoint(116.38, 39.89 + i * 0.001), "
        "ST_MakePoint(116.42, 39.89 + i * 0.001)), 4326) FROM generate_series(0, 20) AS i",
    )
    for tile in covering(16, 0.02):
        features = decode(get_tile(client, "buildings", tile)).get("buildings", [])
        b = TMS.bounds(tile)
        pad = (b.right - b.left) * 64 / 4096
        with psycopg.connect(clean_db) as conn:
            rows = conn.execute(
                "SELECT id FROM buildings WHERE ST_Intersects(geom, ST_MakeEnvelope(%s, %s, %s, %s, 4326))",
                (b.left - pad, b.bottom - pad, b.right + pad, b.top + pad),
            ).fetchall()
        assert {int(str(f["id"])) for f in features} == {int(r[0]) for r in rows}
        assert all(f["geometry"]["type"] in ("Polygon", "MultiPolygon") for f in features)  # type: ignore[index]
    total = sum(
        counted(decode(get_tile(client, "buildings", t)).get("buildings", []))
        for t in covering(10, 0.05)
    )
    assert total == 800
    road_tile = TMS.tile(116.40, 39.90, 14)
    roads = decode(get_tile(client, "roads", road_tile))["roads"]
    assert {f["geometry"]["type"] for f in roads} <= {"LineString", "MultiLineString"}  # type: ignore[index]
    assert len(roads) >= 5


def test_filters_are_parameters_from_the_catalog(client: TestClient, clean_db: str) -> None:
    seed_points(clean_db, 600)
    tile = TMS.tile(LON, LAT, 12)
    kind = KINDS[1]
    features = decode(get_tile(client, "service_points", tile, f"?kind={kind}"))["service_points"]
    assert {f["properties"]["kind"] for f in features} == {kind}  # type: ignore[index]
    assert {int(str(f["id"])) for f in features} == ids_in_tile(
        clean_db, "service_points", tile, f"AND kind = '{kind}'"
    )
    subtree = decode(get_tile(client, "service_points", tile, "?org=2"))["service_points"]
    assert {f["properties"]["id"] for f in subtree} == ids_in_tile(  # type: ignore[index]
        clean_db, "service_points", tile, "AND org_id IN (2, 3)"
    )
    injected = client.get(f"/api/tiles/service_points/12/{tile.x}/{tile.y}.mvt?kind=' OR 1=1 --")
    assert injected.status_code == 400
    for query in (
        "?org=abc",
        "?colour=red",
        "?kind=x",
        "?org=1&org=2",
        "?org=99999999999999999999",
    ):
        r = client.get(f"/api/tiles/service_points/12/{tile.x}/{tile.y}.mvt{query}")
        assert r.status_code == 400, query
        assert r.json()["code"] == "InvalidParameterValue"


def test_activities_time_window(client: TestClient, clean_db: str) -> None:
    seed_orgs(clean_db)
    execute(
        clean_db,
        "INSERT INTO activities (code, title, kind, organiser_id, starts_at, ends_at, geom) "
        "SELECT 'a' || i, '活动' || i, '主题党日', 1, "
        "timestamptz '2026-05-01 09:00+08' + i * interval '1 day', "
        "timestamptz '2026-05-01 11:00+08' + i * interval '1 day', "
        "ST_SetSRID(ST_MakePoint(116.40 + i * 0.0001, 39.90), 4326) FROM generate_series(0, 29) AS i",
    )
    tile = TMS.tile(LON, LAT, 14)
    query = "?from=2026-05-10T00:00:00%2B08:00&to=2026-05-15T00:00:00%2B08:00"
    features = decode(get_tile(client, "activities", tile, query))["activities"]
    assert {f["properties"]["code"] for f in features} == {f"a{i}" for i in range(9, 14)}  # type: ignore[index]
    assert (
        client.get(f"/api/tiles/activities/14/{tile.x}/{tile.y}.mvt?from=yesterday").status_code
        == 400
    )
    assert (
        client.get(
            f"/api/tiles/activities/14/{tile.x}/{tile.y}.mvt?from=2026-05-10T00:00"
        ).status_code
        == 400
    )


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/tiles/service_points/25/0/0.mvt", 400),
        ("/api/tiles/service_points/3/8/0.mvt", 400),
        ("/api/tiles/service_points/3/0/-1.mvt", 400),
        ("/api/tiles/service_points/a/0/0.mvt", 400),
        ("/api/tiles/service_points/1/0/0.5.mvt", 400),
        ("/api/tiles/no_such_layer/1/0/0.mvt", 404),
        ("/api/tiles/no_such_layer/tilejson.json", 404),
        ("/api/tiles/members/1/0/0.mvt", 403),
        ("/api/tiles/member_heat/1/0/0.mvt", 403),
    ],
)
def test_bad_requests_get_clear_errors(client: TestClient, path: str, status: int) -> None:
    r = client.get(path)
    assert r.status_code == status, r.text
    assert r.json()["description"]


def test_empty_tile_is_an_empty_200(client: TestClient) -> None:
    r = client.get("/api/tiles/service_points/10/0/0.mvt", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200
    assert r.content == b""
    assert r.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    assert "content-encoding" not in r.headers
    assert r.headers["etag"]


def test_http_gzip_etag_304_and_versioned_caching(client: TestClient, clean_db: str) -> None:
    seed_points(clean_db, 300)
    tile = TMS.tile(LON, LAT, 13)
    path = f"/api/tiles/service_points/13/{tile.x}/{tile.y}.mvt"
    plain = client.get(path, headers={"Accept-Encoding": "identity"})
    zipped = client.get(path, headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in plain.headers
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.content == plain.content  # httpx decodes; the wire size is the gzip one
    assert int(zipped.headers["content-length"]) < len(plain.content)
    assert zipped.headers["etag"] != plain.headers["etag"]
    assert not zipped.headers["etag"].startswith("W/")
    assert "must-revalidate" in zipped.headers["cache-control"]
    assert zipped.headers["vary"] == "Accept-Encoding"
    again = client.get(
        path, headers={"Accept-Encoding": "gzip", "If-None-Match": zipped.headers["etag"]}
    )
    assert again.status_code == 304 and again.content == b""
    version = zipped.headers["x-data-version"]
    versioned = client.get(f"{path}?v={version}")
    assert "immutable" in versioned.headers["cache-control"]
    assert "max-age=31536000" in versioned.headers["cache-control"]
    layers = client.get("/api/layers").json()["layers"]
    sp = next(layer for layer in layers if layer["id"] == "service_points")
    assert sp["tiles"].endswith(f".mvt?v={version}")


def test_a_write_makes_cached_tiles_stale_at_once(clean_db: str, tmp_path: Path) -> None:
    seed_points(clean_db, 200)
    tile = TMS.tile(LON, LAT, 12)
    path = f"/api/tiles/service_points/12/{tile.x}/{tile.y}.mvt"
    with make_client(clean_db, tmp_path) as client:
        first = client.get(path)
        assert client.get(path).content == first.content  # from the cache
        renamed, deleted, kept = sorted(
            int(str(f["id"])) for f in decode(first.content)["service_points"]
        )[:3]
        execute(clean_db, "UPDATE service_points SET name = '新名字' WHERE id = %s", renamed)
        second = client.get(path)
        assert second.headers["etag"] != first.headers["etag"]
        names = {f["properties"]["name"] for f in decode(second.content)["service_points"]}  # type: ignore[index]
        assert "新名字" in names
        execute(clean_db, "DELETE FROM service_points WHERE id = %s", deleted)
        ids = {f["id"] for f in decode(client.get(path).content)["service_points"]}
        assert deleted not in ids and kept in ids
    assert any((tmp_path / "tiles" / "service_points").rglob("*.gz"))
    with make_client(clean_db, tmp_path) as fresh:  # new process: memory empty, disk warm
        assert fresh.get(path).content == client_body(clean_db, tmp_path, path)


def client_body(url: str, home: Path, path: str) -> bytes:
    with make_client(url, home, cache="off") as cold:
        return cold.get(path).content


def test_cache_off_renders_every_time(clean_db: str, tmp_path: Path) -> None:
    seed_points(clean_db, 50)
    tile = TMS.tile(LON, LAT, 12)
    with make_client(clean_db, tmp_path, cache="off") as client:
        body = client.get(f"/api/tiles/service_points/12/{tile.x}/{tile.y}.mvt").content
        assert counted(decode(body)["service_points"]) == len(
            ids_in_tile(clean_db, "service_points", tile)
        )
    assert not (tmp_path / "tiles").exists()


def test_tilejson(client: TestClient, clean_db: str) -> None:
    seed_points(clean_db, 20)
    doc = client.get("/api/tiles/service_points/tilejson.json?kind=党员活动室").json()
    assert doc["tilejson"] == "3.0.0"
    assert "kind=" in doc["tiles"][0] and "v=" in doc["tiles"][0]
    west, south, east, north = doc["bounds"]
    assert west < LON < east and south < LAT < north
    fields = doc["vector_layers"][0]["fields"]
    assert fields["name"] == "String" and fields["count"] == "Number"
    assert "phone" not in fields  # member-only field
    assert client.get("/api/tiles/service_points/tilejson.json?kind=nope").status_code == 400


def test_audiences_see_their_fields(clean_db: str, tmp_path: Path) -> None:
    seed_points(clean_db, 30)
    tile = TMS.tile(LON, LAT, 13)
    path = f"/api/tiles/service_points/13/{tile.x}/{tile.y}.mvt"
    with make_client(clean_db, tmp_path) as client:
        public = decode(client.get(path).content)["service_points"][0]["properties"]
        client.app.dependency_overrides[get_principal] = lambda: Principal(role="member")  # type: ignore[attr-defined]
        member = decode(client.get(path).content)["service_points"][0]["properties"]
        listing = {layer["id"] for layer in client.get("/api/layers").json()["layers"]}
    assert "phone" not in public and "phone" in member  # type: ignore[operator]
    assert set(member) - set(public) == {"phone"}  # type: ignore[arg-type]
    assert "members" not in listing and "member_heat" not in listing


def test_gzip_body_on_the_wire_is_valid(client: TestClient, clean_db: str) -> None:
    seed_points(clean_db, 100)
    tile = TMS.tile(LON, LAT, 13)
    with client.stream(
        "GET",
        f"/api/tiles/service_points/13/{tile.x}/{tile.y}.mvt",
        headers={"Accept-Encoding": "gzip"},
    ) as r:
        wire = b"".join(r.iter_raw())
    assert counted(decode(gzip.decompress(wire))["service_points"]) == len(
        ids_in_tile(clean_db, "service_points", tile)
    )


def live_tile(url: str, layer: str, tile: morecantile.Tile) -> bytes:
    """The tile rendered straight from the source rows (no cluster tables, no cache)."""
    import asyncio

    import asyncpg

    from layers import catalog
    from tiles.mvt import TileRequest, render

    async def run() -> bytes:
        conn = await asyncpg.connect(url)
        try:
            return await render(conn, TileRequest(catalog.get(layer), tile.z, tile.x, tile.y))
        finally:
            await conn.close()

    return asyncio.run(run())


def cluster_summary(body: bytes, layer: str) -> dict[object, tuple[object, ...]]:
    out: dict[object, tuple[object, ...]] = {}
    for f in decode(body).get(layer, []):
        props = dict(f["properties"])  # type: ignore[arg-type]
        key = props.pop("cell") if props.get("cluster") else f["id"]
        out[key] = (tuple(sorted(props.items())), tuple(f["geometry"]["coordinates"]))  # type: ignore[index]
    return out


def test_cluster_tables_match_live_rendering_and_follow_writes(
    client: TestClient, clean_db: str
) -> None:
    seed_points(clean_db, 4000, spread=0.1)
    wait_built(client, "clusters:service_points")
    for zoom in (2, 8, 11, 13, 14, 16):
        total = 0
        for tile in covering(zoom, 0.1)[:40]:
            served = get_tile(client, "service_points", tile)
            assert cluster_summary(served, "service_points") == cluster_summary(
                live_tile(clean_db, "service_points", tile), "service_points"
            )
            total += counted(decode(served).get("service_points", []))
        if zoom <= 11:
            assert total == 4000
    execute(clean_db, "DELETE FROM service_points WHERE id % 2 = 0")
    total = sum(
        counted(decode(get_tile(client, "service_points", t)).get("service_points", []))
        for t in covering(8, 0.1)
    )
    assert total == 2000  # right away, before the tables are rebuilt


def test_over_budget_deep_tiles_come_from_the_tables(client: TestClient, clean_db: str) -> None:
    """Above AGG_MAXZOOM the tables hold the clusters of the tiles over the feature budget only:
    those are read from them (equal to live clustering), the others are rendered as points."""
    seed_points(clean_db, 24_000, spread=0.004)  # ~0.4 km square: z15/z16 tiles over 5,000
    wait_built(client, "clusters:service_points")
    layer = catalog.get("service_points")
    app = client.app  # type: ignore[attr-defined]
    token = client.portal.call(app.state.tiles.token, layer)  # type: ignore[union-attr]
    kinds: dict[str, int] = {}
    for zoom in (15, 16, 17):
        for tile in covering(zoom, 0.004):
            source = len(ids_in_tile(clean_db, "service_points", tile))
            if source == 0:
                continue
            plan = app.state.renderer.plan(TileRequest(layer, tile.z, tile.x, tile.y), token)
            kind = plan[0] if plan else "empty"
            kinds[kind] = kinds.get(kind, 0) + 1
            deep = zoom <= 16 and source > layer.aggregation.max_features
            assert (kind == "clusters") == deep, (tile, source, kind)
            served = get_tile(client, "service_points", tile)
            features = decode(served)["service_points"]
            assert counted(features) == source
            if deep:
                assert cluster_summary(served, "service_points") == cluster_summary(
                    live_tile(clean_db, "service_points", tile), "service_points"
                )
    assert {"clusters", "encoded", "guarded"} <= set(kinds)  # z17 over budget: clustered live
    assert set(kinds) <= {"clusters", "encoded", "points", "guarded"}  # dense point tiles: encoded


def test_cluster_tables_fail_safe(clean_db: str, tmp_path: Path) -> None:
    """A build of an older format is rebuilt, and a tile the counts call non-empty is never served
    empty: missing table rows make it render live."""
    seed_points(clean_db, 12_000, spread=0.003)
    tile = TMS.tile(LON, LAT, 16)
    source = len(ids_in_tile(clean_db, "service_points", tile))
    assert source > catalog.get("service_points").aggregation.max_features
    with make_client(clean_db, tmp_path, cache="off") as client:
        wait_built(client, "clusters:service_points")
    old = (  # as djmap 0.1 wrote it
        "UPDATE tile_agg_state SET token = split_part(token, '@', 1) WHERE layer = 'service_points'"
    )
    execute(clean_db, old)
    execute(clean_db, "DELETE FROM tile_agg WHERE z > 14")
    with make_client(clean_db, tmp_path, cache="off") as client:
        # the older build is not taken for this data: the scheduler builds it again
        built = wait_built(client, "clusters:service_points", write=False)
        path = f"/api/tiles/service_points/{tile.z}/{tile.x}/{tile.y}.mvt"
        tile_token = client.get(path).headers["x-data-version"]
        assert built["clusters:service_points"]["built_version"] == tile_token
        deep = "SELECT count(*) FROM tile_agg WHERE z = 16 AND layer = 'service_points'"
        assert int(str(scalar(clean_db, deep))) > 0
        assert counted(decode(get_tile(client, "service_points", tile))["service_points"]) == source
        execute(clean_db, "DELETE FROM tile_agg WHERE z = 16")
        assert counted(decode(get_tile(client, "service_points", tile))["service_points"]) == source


def test_notify_freshness_follows_writes(clean_db: str, tmp_path: Path) -> None:
    seed_points(clean_db, 100)
    tile = TMS.tile(LON, LAT, 12)
    path = f"/api/tiles/service_points/12/{tile.x}/{tile.y}.mvt"
    settings = Settings(
        DatabaseSettings(database_url=clean_db, home=tmp_path),
        ApiSettings(tile_freshness="notify"),
    )
    with TestClient(create_app(settings)) as client:
        first = client.get(path)
        assert client.get(path).headers["etag"] == first.headers["etag"]
        service = client.app.state.tiles  # type: ignore[attr-defined]
        assert service.versions.known is not None  # versions kept in memory, no per-request read
        execute(clean_db, "DELETE FROM service_points")
        for _ in range(200):  # the notification arrives within milliseconds of the commit
            body = client.get(path).content
            if body == b"":
                break
            client.portal.call(asyncio.sleep, 0.01)  # type: ignore[union-attr]
        assert body == b""


def test_boundary_layer_without_aggregation(client: TestClient, clean_db: str) -> None:
    execute(
        clean_db,
        "INSERT INTO districts (code, name, level, geom) VALUES ('330102', '上城区', 'district', "
        "ST_Multi(ST_Buffer(ST_SetSRID(ST_MakePoint(116.40, 39.90), 4326), 0.05, 64)))",
    )
    for zoom in (3, 6, 10, 13):  # at z0–2 the 11 km disc is under a tile unit and vanishes
        features = decode(get_tile(client, "boundary", TMS.tile(LON, LAT, zoom)))["boundary"]
        assert [f["properties"]["name"] for f in features] == ["上城区"]  # type: ignore[index]
        assert features[0]["geometry"]["type"] in ("Polygon", "MultiPolygon")  # type: ignore[index]
    assert client.get("/api/tiles/boundary/tilejson.json").json()["bounds"][0] < LON


def test_tile_bounds_are_morecantiles() -> None:
    """The transformer made once gives exactly the bounds morecantile gives, grid-wide."""
    rng = random.Random(7)
    for _ in range(3000):
        z = rng.randint(0, 24)
        x, y = rng.randrange(1 << z), rng.randrange(1 << z)
        geo, merc = tile_bounds(z, x, y)
        tile = morecantile.Tile(x, y, z)
        assert tuple(geo) == tuple(TMS.bounds(tile))
        assert tuple(merc) == tuple(TMS.xy_bounds(tile))


MVT_CHECK = Path(__file__).resolve().parent.parent / "tiles" / "mvt_check.mjs"


def _vertices(geometry: dict[str, object]) -> set[tuple[int, int]]:
    """Every vertex of a GeoJSON-like geometry in tile units."""
    found: set[tuple[int, int]] = set()

    def walk(c: object) -> None:
        if isinstance(c, (list, tuple)) and c and isinstance(c[0], (int, float)):
            found.add((int(c[0]), int(c[1])))
        elif isinstance(c, (list, tuple)):
            for item in c:
                walk(item)

    walk(geometry["coordinates"])
    return found


def test_standard_clients_decode_what_we_serve(
    client: TestClient, clean_db: str, tmp_path: Path
) -> None:
    """MapLibre's decoder (@mapbox/vector-tile 3 + pbf 5) and deck.gl's (loaders.gl MVTLoader)
    read the gzip bodies on the wire exactly as mapbox-vector-tile does: layers, extent, feature
    ids, properties (clusters' counts and breakdowns included) and every vertex."""
    seed_points(clean_db, 400, spread=0.01)
    execute(
        clean_db,
        "INSERT INTO buildings (code, name, use, height_m, geom) "
        "SELECT 'b' || i, '楼' || i, '住宅', 12, ST_Multi(ST_Expand(ST_SetSRID(ST_MakePoint("
        "116.399 + (i % 10) * 0.0003, 39.899 + (i / 10) * 0.0003), 4326), 0.0001)) "
        "FROM generate_series(0, 59) AS i",
    )
    execute(
        clean_db,
        "INSERT INTO roads (code, name, kind, geom) SELECT 'r' || i, '路' || i, 'street', "
        "ST_SetSRID(ST_MakeLine(ST_MakePoint(116.38, 39.89 + i * 0.002), "
        "ST_MakePoint(116.42, 39.895 + i * 0.002)), 4326) FROM generate_series(0, 9) AS i",
    )
    asks = [
        ("service_points", TMS.tile(LON, LAT, 15)),
        ("service_points", TMS.tile(LON, LAT, 8)),  # clusters
        ("buildings", TMS.tile(116.4, 39.9, 16)),
        ("roads", TMS.tile(116.4, 39.9, 14)),
    ]
    files, expected = [], []
    for i, (layer, tile) in enumerate(asks):
        path = f"/api/tiles/{layer}/{tile.z}/{tile.x}/{tile.y}.mvt"
        with client.stream("GET", path, headers={"Accept-Encoding": "gzip"}) as r:
            wire = b"".join(r.iter_raw())
        assert r.headers["content-encoding"] == "gzip"
        files.append(tmp_path / f"{i}.mvt.gz")
        files[-1].write_bytes(wire)
        expected.append(
            mapbox_vector_tile.decode(gzip.decompress(wire), default_options={"y_coord_down": True})
        )
    out = subprocess.run(
        ["node", str(MVT_CHECK), *map(str, files)], capture_output=True, text=True, check=True
    )
    decoded = json.loads(out.stdout)
    assert len(decoded) == len(asks)
    for (layer, _), py, js in zip(asks, expected, decoded, strict=True):
        assert set(js["maplibre"]) == set(py) == {layer}
        ours, theirs = py[layer], js["maplibre"][layer]
        assert theirs["extent"] == ours["extent"] == 4096 and theirs["version"] == 2
        assert len(theirs["features"]) == len(ours["features"]) > 0
        assert js["loaders"] == {layer: len(ours["features"])}
        for mine, other in zip(ours["features"], theirs["features"], strict=True):
            if other["properties"].get("cluster"):
                assert other["id"] is None  # clusters carry no feature id (decoded as 0 here)
            else:
                assert other["id"] == mine["id"] == other["properties"]["id"]
            assert other["properties"] == mine["properties"]
            assert {tuple(p) for ring in other["geometry"] for p in ring} == _vertices(
                mine["geometry"]
            )
    clusters = expected[1]["service_points"]["features"]
    assert all(f["properties"]["cluster"] is True for f in clusters)
    assert sum(f["properties"]["count"] for f in clusters) == 400


def test_an_import_makes_cached_tiles_stale(clean_db: str, tmp_path: Path) -> None:
    """Tiles cached before `djmap import` (here a CSV in Web Mercator) show the imported points
    right after it: features at high zoom, and counts of the cluster tables at low zoom."""
    seed_points(clean_db, 50, spread=0.004)
    lon, lat = LON + 0.0004, LAT + 0.0003  # where the imported points go (1 m apart)
    high, low = TMS.tile(lon, lat, 18), TMS.tile(lon, lat, 6)
    paths = [f"/api/tiles/service_points/{t.z}/{t.x}/{t.y}.mvt" for t in (high, low)]
    x, y = WEB_MERCATOR.transform(lon, lat)
    csv = tmp_path / "new-points.csv"
    csv.write_text(
        "code,name,kind,x,y\n"
        + "".join(f"IMP{i},新站{i},党群服务站,{x + i},{y - i}\n" for i in range(3)),
        encoding="utf-8",
    )
    with make_client(clean_db, tmp_path) as client:
        before = [client.get(p) for p in paths]
        assert [client.get(p).content for p in paths] == [r.content for r in before]  # cached
        assert counted(decode(before[1].content)["service_points"]) == 50
        result = import_file(clean_db, "service-points", csv, crs="EPSG:3857", progress=False)
        settle_write_sync()  # what `djmap import` does after its commit
        assert result.rows_inserted == 3
        after = [client.get(p) for p in paths]
    assert all(a.headers["etag"] != b.headers["etag"] for a, b in zip(after, before, strict=True))
    names = {str(f["properties"]["name"]) for f in decode(after[0].content)["service_points"]}  # type: ignore[index]
    assert {"新站0", "新站1", "新站2"} <= names
    assert counted(decode(after[1].content)["service_points"]) == 53
