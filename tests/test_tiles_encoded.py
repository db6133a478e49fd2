"""Dense point tiles encoded by the cluster build (tiles/encoded.py): served by key, the features
the live statement draws, and never in place of newer data."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import asyncpg
import morecantile
import psycopg
from builds import wait_built
from test_tiles_mvt import LAT, LON, TMS, decode, get_tile, make_client, seed_points

from layers import catalog
from tiles import encoded
from tiles.mvt import TileRequest, points_args, points_compiled
from tiles.versions import settle_write_sync

LAYER = "service_points"


def stored(url: str) -> list[tuple[int, int, int]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT z, x, y FROM tile_mvt WHERE layer = %s AND audience = %s ORDER BY z, x, y",
            (LAYER, encoded.AUDIENCE),
        ).fetchall()
    return [(int(z), int(x), int(y)) for z, x, y in rows]


async def live_points(url: str, z: int, x: int, y: int) -> bytes:
    """The tile drawn now by the statement the renderer runs for a point tile."""
    layer = catalog.get(LAYER)
    conn = await asyncpg.connect(url)
    try:
        text = points_compiled(layer, encoded.AUDIENCE).text
        body = await conn.fetchval(text, *points_args(TileRequest(layer, z, x, y)))
    finally:
        await conn.close()
    return bytes(body or b"")


def features(body: bytes) -> list[str]:
    """The tile's features, whatever their order in it."""
    return sorted(json.dumps(f, sort_keys=True) for f in decode(body).get(LAYER, []))


def ids(body: bytes) -> set[object]:
    return {f["properties"]["id"] for f in decode(body).get(LAYER, [])}  # type: ignore[index]


def test_dense_tiles_are_encoded_and_equal_the_live_tile(clean_db: str, tmp_path: Path) -> None:
    seed_points(clean_db, 3000, spread=0.01)
    with make_client(clean_db, tmp_path, cache="off") as client:
        wait_built(client, f"clusters:{LAYER}")
        tiles = stored(clean_db)
        assert {z for z, _, _ in tiles} >= {14, 15, 16}  # 3,000 points: under the budget at z14
        for z, x, y in tiles:
            served = get_tile(client, LAYER, _t(z, x, y))
            assert features(served) == features(asyncio.run(live_points(clean_db, z, x, y)))
            assert len(ids(served)) >= encoded.DENSE_MIN
        (z0, x0, y0), (z1, x1, y1) = tiles[0], tiles[-1]
        with psycopg.connect(clean_db, autocommit=True) as conn:
            conn.execute(  # the stored bytes are what is served: swap one for another's
                "UPDATE tile_mvt SET body = (SELECT body FROM tile_mvt WHERE z = %s AND x = %s "
                "AND y = %s) WHERE z = %s AND x = %s AND y = %s",
                (z1, x1, y1, z0, x0, y0),
            )
        assert get_tile(client, LAYER, _t(z0, x0, y0)) == get_tile(client, LAYER, _t(z1, x1, y1))
        with psycopg.connect(clean_db, autocommit=True) as conn:
            conn.execute("DELETE FROM tile_mvt")  # gone: drawn live, the same features
        for z, x, y in tiles:
            live = asyncio.run(live_points(clean_db, z, x, y))
            assert features(get_tile(client, LAYER, _t(z, x, y))) == features(live)


def test_a_write_is_drawn_before_the_rebuild(clean_db: str, tmp_path: Path) -> None:
    seed_points(clean_db, 3000, spread=0.01)
    with make_client(clean_db, tmp_path, cache="off") as client:
        wait_built(client, f"clusters:{LAYER}")
        tile = TMS.tile(LON, LAT, 16)
        assert (16, tile.x, tile.y) in stored(clean_db)
        before = ids(get_tile(client, LAYER, tile))
        b = TMS.bounds(tile)
        with psycopg.connect(clean_db, autocommit=True) as conn:
            new = conn.execute(
                "INSERT INTO service_points (code, name, kind, geom) VALUES ('new', '新', %s, "
                "ST_SetSRID(ST_MakePoint(%s, %s), 4326)) RETURNING id",
                ("党群服务站", (b.left + b.right) / 2, (b.bottom + b.top) / 2),
            ).fetchone()
        settle_write_sync()
        assert new is not None
        assert ids(get_tile(client, LAYER, tile)) == before | {new[0]}


def _t(z: int, x: int, y: int) -> morecantile.Tile:
    return morecantile.Tile(x, y, z)
