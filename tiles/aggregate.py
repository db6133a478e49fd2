"""Precomputed cluster tables: the clusters of every tile up to `AGG_MAXZOOM`, and of the tiles
over the layer's feature budget up to `DEEP_MAXZOOM`, per data version.

For an unfiltered cluster tile the service reads the tile's rows from `tile_agg` instead of
grouping the source rows (same cells, counts, breakdowns and mean positions as the live SQL in
`tiles/sql.py`). Each build is tagged with the layer's data-version token read in the same
snapshot as the data, and used only while that token is current: after a write, tiles are rendered
live (always exact) until the rebuild, started in the background, lands. `tile_agg_count` holds
each tile's source count (up to `COUNT_MAXZOOM`), so the service knows empty tiles and over-budget tiles without a query.
The same build encodes the dense point tiles (tiles/encoded.py).
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

import asyncpg

from geo import compose
from geo.compose import Fragment
from layers.base import Layer
from tiles import encoded, sql
from tiles.versions import layer_token, read_versions

AGG_MAXZOOM = 14  # clusters of every tile are precomputed up to this zoom
DEEP_MAXZOOM = 16  # and of the tiles holding more than the feature budget up to this one
COUNT_MAXZOOM = 16  # tile counts up to this one (≤ DEEP_MAXZOOM + log2(cells))
# What the tables hold; a build of another format (an older djmap) is rebuilt even for the same data.
FORMAT = "deep16mvt"  # deep16 and the dense point tiles encoded (tiles/encoded.py)
HALF = 20037508.342789244  # half the Web Mercator world width in metres
# The cluster tile read from the tables: its parameters in this order (`tile_statement`).
TILE_KEYS = ("z", "x", "y", "layer", "token", "left", "bottom", "right", "top")
_BUILD_KEYS = ("layer", "token", "zoom", "budget")
_SLOTS = {k: compose.param(k) for k in (*TILE_KEYS, *_BUILD_KEYS)}


@lru_cache(maxsize=64)
def tile_statement(layer: Layer) -> str:
    """The statement reading a cluster tile of `layer` from the tables (parameters: TILE_KEYS)."""
    stmt = compose.sql(sql.template("agg_tile"), name=compose.literal(layer.id), **_SLOTS)
    return stmt.compile(order=TILE_KEYS).text


def _build_sql(name: str, **pieces: compose.Piece) -> str:
    """A build statement (parameters: layer, token, zoom, budget, those it uses, in that order)."""
    return compose.sql(sql.template(name), **{**_SLOTS, **pieces}).compile(order=_BUILD_KEYS).text


def _lock_id(layer: Layer) -> int:
    return int.from_bytes(
        hashlib.blake2b(b"agg:" + layer.id.encode(), digest_size=4).digest(), "big"
    )


def _rep(layer: Layer) -> str:
    if layer.geom_type in ("Point", "MultiPoint"):
        return f"t.{layer.geom_column}"
    return f"ST_PointOnSurface(t.{layer.geom_column})"


def cell_bits(layer: Layer) -> int:
    """log2 of the cells per tile side."""
    bits = layer.aggregation.cells.bit_length() - 1
    assert 1 << bits == layer.aggregation.cells, "cells per tile side must be a power of two"
    return bits


def build_format(layer: Layer) -> str:
    """FORMAT and a digest of what the layer selects: a build made before the layer's source
    or fields changed (a new release) is made again, not served."""
    what = layer.source + "|" + "|".join(f"{f.name}={f.expr}" for f in layer.fields)
    return f"{FORMAT}:{hashlib.sha1(what.encode()).hexdigest()[:10]}"


async def built_token(conn: asyncpg.Connection, layer: Layer) -> str | None:
    """Data token of the layer's current build in this format, or None."""
    state: str | None = await conn.fetchval(
        "SELECT token FROM tile_agg_state WHERE layer = $1", layer.id
    )
    token, _, fmt = (state or "").partition("@")
    return token if state and fmt == build_format(layer) else None


async def build(pool: asyncpg.Pool, layer: Layer) -> str:
    """Rebuild the layer's cluster tables from one snapshot of its data; return their token."""
    lock = _lock_id(layer)
    # The lock is taken before the snapshot, so a build that waited for another sees what it wrote.
    async with pool.acquire() as conn:
        await conn.execute("SELECT pg_advisory_lock($1)", lock)
        try:
            async with conn.transaction(isolation="repeatable_read"):
                return await _build_in(conn, layer)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", lock)


def _finest(layer: Layer, level: int) -> str:
    breakdown = layer.aggregation.breakdown
    return _build_sql(
        "agg_finest",
        z=DEEP_MAXZOOM,
        half=HALF,
        world=2 * HALF,
        n=1 << level,
        rep=compose.raw(_rep(layer)),
        breakdown=compose.raw(f"t.{breakdown}::text" if breakdown else "NULL::text"),
        source=compose.raw(layer.source),
        geom=compose.raw(layer.geom_column),
    )


def _level(layer: Layer, z: int, bits: int) -> str:
    """The statement filling zoom z's clusters (every tile, or only the over-budget ones)."""
    name = "agg_level" if z <= AGG_MAXZOOM else "agg_deep_level"
    breakdown: Fragment = compose.literal(f"{layer.aggregation.breakdown or 'kind'}:")
    return _build_sql(
        name, z=z, bits=bits, mask=(1 << bits) - 1, cells=1 << bits, breakdown=breakdown
    )


async def _build_in(conn: asyncpg.Connection, layer: Layer) -> str:
    """The build's statements, in the caller's repeatable-read transaction."""
    bits = cell_bits(layer)
    level = DEEP_MAXZOOM + bits
    token = layer_token(layer, await read_versions(conn))
    if await built_token(conn, layer) == token:
        return token
    await conn.execute(_finest(layer, level))
    await conn.execute("DELETE FROM tile_agg WHERE layer = $1", layer.id)
    await conn.execute("DELETE FROM tile_agg_count WHERE layer = $1", layer.id)
    for z in range(DEEP_MAXZOOM, -1, -1):
        if z < DEEP_MAXZOOM:
            await conn.execute(_build_sql("agg_rollup", z=z, finer=z + 1))
        if z <= AGG_MAXZOOM:
            await conn.execute(_level(layer, z, bits), layer.id, token, z)
        else:
            budget = layer.aggregation.max_features
            await conn.execute(_level(layer, z, bits), layer.id, token, z, budget)
    await conn.execute(_build_sql("agg_count", agg_maxzoom=AGG_MAXZOOM), layer.id, token)
    for z in range(AGG_MAXZOOM + 1, COUNT_MAXZOOM + 1):
        stmt = _build_sql("agg_fine_count", shift=level - z, finest=DEEP_MAXZOOM)
        await conn.execute(stmt, layer.id, token, z)
    await encoded.fill(conn, layer, token)
    await conn.execute(_build_sql("agg_state"), layer.id, f"{token}@{build_format(layer)}")
    return token


async def tile_counts(
    pool: asyncpg.Pool, layer: Layer, token: str
) -> dict[tuple[int, int, int], int]:
    """Source count of every non-empty tile (z ≤ AGG_MAXZOOM) of a build."""
    rows = await pool.fetch(
        "SELECT z, x, y, n FROM tile_agg_count WHERE layer = $1 AND token = $2", layer.id, token
    )
    return {(int(r[0]), int(r[1]), int(r[2])): int(r[3]) for r in rows}
