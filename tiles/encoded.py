"""Dense point tiles encoded once per data version, in the cluster build (tiles/aggregate.py).

A point tile that holds hundreds or thousands of points costs its `ST_AsMVT` on every cold
request, and half of that is PostGIS encoding the properties (bench/bench_mvt_cost.py). The
cluster build already knows every tile's count (`tile_agg_count`); in the same transaction, so of
the same snapshot and token, it encodes the point tiles holding at least DENSE_MIN points for the
public audience with the very statement the renderer runs (`tiles.mvt.points_compiled`) and
stores the bytes in `tile_mvt`. The renderer then reads such a tile by key. Other audiences,
filters and row scopes, sparse tiles and tiles of data newer than the build render live, as
before: a build is only used while its token is the data's (tiles/renderer.py).
"""

from __future__ import annotations

from functools import lru_cache

import asyncpg

from geo import compose
from layers.base import Layer
from tiles import sql
from tiles.mvt import POINT_TYPES, TileRequest, points_args, points_compiled

DENSE_MIN = 256  # points in a tile from which it is encoded at build time (~1 ms live)
AUDIENCE = "public"  # the audience whose tiles are encoded (the anonymous map)
BATCH = 200  # tiles encoded per round trip of inserts
READ_KEYS = ("layer", "token", "audience", "z", "x", "y")
_DENSE_KEYS = ("layer", "token", "dense", "budget", "minzoom")
_SLOTS = {k: compose.param(k) for k in (*READ_KEYS, *_DENSE_KEYS)}
COLUMNS = ("layer", "token", "audience", "z", "x", "y", "body")


@lru_cache(maxsize=1)
def read_statement() -> str:
    """The statement reading one pre-encoded tile (parameters: READ_KEYS)."""
    return compose.sql(sql.template("mvt_read"), **_SLOTS).compile(order=READ_KEYS).text


@lru_cache(maxsize=1)
def _dense_statement() -> str:
    return compose.sql(sql.template("mvt_dense"), **_SLOTS).compile(order=_DENSE_KEYS).text


def encodes(layer: Layer) -> bool:
    """True for the layers whose dense tiles a cluster build encodes."""
    return layer.aggregation.method == "cluster" and layer.geom_type in POINT_TYPES


def read_args(req: TileRequest, token: str) -> list[object]:
    """Parameters of `read_statement` for a request."""
    return [req.layer.id, token, AUDIENCE, req.z, req.x, req.y]


async def fill(conn: asyncpg.Connection, layer: Layer, token: str) -> int:
    """Encode the layer's dense point tiles of this build (the caller's transaction, after the
    counts); returns how many were stored."""
    await conn.execute("DELETE FROM tile_mvt WHERE layer = $1", layer.id)
    if not encodes(layer):
        return 0
    agg = layer.aggregation
    tiles = await conn.fetch(
        _dense_statement(), layer.id, token, DENSE_MIN, agg.max_features, agg.cluster_below
    )
    stmt = await conn.prepare(points_compiled(layer, AUDIENCE).text)
    stored = 0
    for start in range(0, len(tiles), BATCH):
        rows = []
        for z, x, y in tiles[start : start + BATCH]:
            body = await stmt.fetchval(*points_args(TileRequest(layer, z, x, y)))
            if body and len(body) <= agg.max_bytes:  # larger ones are clustered, live
                rows.append((layer.id, token, AUDIENCE, z, x, y, bytes(body)))
        await conn.copy_records_to_table("tile_mvt", records=rows, columns=COLUMNS)
        stored += len(rows)
    return stored
