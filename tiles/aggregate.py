"""Precomputed cluster tables: the clusters of every tile up to `AGG_MAXZOOM`, and of the tiles
over the layer's feature budget up to `DEEP_MAXZOOM`, per data version.

For an unfiltered cluster tile the service reads the tile's rows from `tile_agg` instead of
grouping the source rows (same cells, counts, breakdowns and mean positions as the live SQL in
`tiles/sql.py`). Each build is tagged with the layer's data-version token read in the same
snapshot as the data, and used only while that token is current: after a write, tiles are rendered
live (always exact) until the rebuild, started in the background, lands. `tile_agg_count` holds
each tile's source count (up to `COUNT_MAXZOOM`), so the service knows empty tiles and over-budget tiles without a query.
"""

from __future__ import annotations

import hashlib

import asyncpg

from layers.catalog import Layer
from tiles.versions import VERSIONS_SQL, layer_token

AGG_MAXZOOM = 14  # clusters of every tile are precomputed up to this zoom
DEEP_MAXZOOM = 16  # and of the tiles holding more than the feature budget up to this one
COUNT_MAXZOOM = 16  # tile counts up to this one (≤ DEEP_MAXZOOM + log2(cells))
# What the tables hold; a build of another format (an older djmap) is rebuilt even for the same data.
FORMAT = "deep16"
HALF = 20037508.342789244  # half the Web Mercator world width in metres

# Level-L grid cells of every point (L = AGG_MAXZOOM + log2(cells)), summed by kind.
FINEST_SQL = """
    CREATE TEMP TABLE __agg_{z} ON COMMIT DROP AS
    SELECT floor((ST_X(ll) + 180.0) / 360.0 * {n})::bigint AS gx,
           floor(({half} - ST_Y(g)) / ({world} / {n}))::bigint AS gy,
           k, count(*)::bigint AS n, sum(ST_X(g)) AS sx, sum(ST_Y(g)) AS sy
    FROM (SELECT r.ll, ST_Transform(r.ll, 3857) AS g, r.k
          FROM (SELECT {rep} AS ll, {breakdown} AS k FROM {source}
                WHERE t.{geom} IS NOT NULL) AS r) AS p
    WHERE ST_X(ll) >= -180 AND ST_X(ll) < 180 AND abs(ST_Y(g)) < {half}
    GROUP BY 1, 2, 3
"""
# The next coarser level: each cell's four children summed.
ROLLUP_SQL = """
    CREATE TEMP TABLE __agg_{z} ON COMMIT DROP AS
    SELECT gx >> 1 AS gx, gy >> 1 AS gy, k, sum(n)::bigint AS n, sum(sx) AS sx, sum(sy) AS sy
    FROM __agg_{finer} GROUP BY 1, 2, 3
"""
# One zoom's clusters: the level's cells grouped per tile cell with the breakdown as jsonb.
LEVEL_SQL = """
    INSERT INTO tile_agg (layer, token, z, x, y, cell, n, mx, my, kinds)
    SELECT $1, $2, $3::smallint, (gx >> {bits})::int, (gy >> {bits})::int,
           ((gx & {mask}) * {cells} + (gy & {mask}))::int,
           sum(n), sum(sx) / sum(n), sum(sy) / sum(n),
           jsonb_object_agg('{breakdown_name}:' || coalesce(k, ''), n)
    FROM __agg_{z} GROUP BY gx, gy
"""
# A deep zoom's clusters, only in the tiles holding more than $4 source features.
DEEP_LEVEL_SQL = """
    INSERT INTO tile_agg (layer, token, z, x, y, cell, n, mx, my, kinds)
    SELECT $1, $2, $3::smallint, (a.gx >> {bits})::int, (a.gy >> {bits})::int,
           ((a.gx & {mask}) * {cells} + (a.gy & {mask}))::int,
           sum(a.n), sum(a.sx) / sum(a.n), sum(a.sy) / sum(a.n),
           jsonb_object_agg('{breakdown_name}:' || coalesce(a.k, ''), a.n)
    FROM __agg_{z} AS a
    JOIN (SELECT gx >> {bits} AS tx, gy >> {bits} AS ty FROM __agg_{z}
          GROUP BY 1, 2 HAVING sum(n) > $4) AS big
      ON big.tx = a.gx >> {bits} AND big.ty = a.gy >> {bits}
    GROUP BY a.gx, a.gy
"""
FINE_COUNT_SQL = """
    INSERT INTO tile_agg_count (layer, token, z, x, y, n)
    SELECT $1, $2, $3::smallint, (gx >> {shift})::int, (gy >> {shift})::int, sum(n)
    FROM __agg_{finest} GROUP BY 4, 5
"""
COUNT_SQL = """
    INSERT INTO tile_agg_count (layer, token, z, x, y, n)
    SELECT layer, token, z, x, y, sum(n) FROM tile_agg
    WHERE layer = $1 AND token = $2 AND z <= {agg_maxzoom}
    GROUP BY layer, token, z, x, y
"""
# The cluster tile read from the table ($1 z, $2 x, $3 y, $4 layer, $5 token, $6..$9 the tile's
# Mercator west, south, east, north): positions go to tile units by arithmetic, the same integers
# ST_AsMVTGeom would give.
TILE_SQL = """
    SELECT ST_AsMVT(q, '{layer}', 4096, 'geom') FROM (
        SELECT ST_MakePoint(round((a.mx - $6) / ($8 - $6) * 4096),
                            round(($9 - a.my) / ($9 - $7) * 4096)) AS geom,
               a.n AS count, true AS cluster, a.cell, a.kinds
        FROM tile_agg AS a
        WHERE a.layer = $4 AND a.token = $5 AND a.z = $1 AND a.x = $2 AND a.y = $3
    ) AS q
"""


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


async def built_token(conn: asyncpg.Connection, layer: Layer) -> str | None:
    """Data token of the layer's current build in this FORMAT, or None."""
    state: str | None = await conn.fetchval(
        "SELECT token FROM tile_agg_state WHERE layer = $1", layer.id
    )
    token, _, fmt = (state or "").partition("@")
    return token if state and fmt == FORMAT else None


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


async def _build_in(conn: asyncpg.Connection, layer: Layer) -> str:
    """The build's statements, in the caller's repeatable-read transaction."""
    bits = cell_bits(layer)
    level = DEEP_MAXZOOM + bits
    breakdown = (
        f"t.{layer.aggregation.breakdown}::text" if layer.aggregation.breakdown else "NULL::text"
    )
    rows = await conn.fetch(VERSIONS_SQL)
    token = layer_token(layer, {str(n): (int(v), int(s)) for n, v, s in rows})
    if await built_token(conn, layer) == token:
        return token
    await conn.execute(
        FINEST_SQL.format(
            z=DEEP_MAXZOOM,
            half=HALF,
            world=2 * HALF,
            n=1 << level,
            rep=_rep(layer),
            breakdown=breakdown,
            source=layer.source,
            geom=layer.geom_column,
        )
    )
    await conn.execute("DELETE FROM tile_agg WHERE layer = $1", layer.id)
    await conn.execute("DELETE FROM tile_agg_count WHERE layer = $1", layer.id)
    for z in range(DEEP_MAXZOOM, -1, -1):
        if z < DEEP_MAXZOOM:
            await conn.execute(ROLLUP_SQL.format(z=z, finer=z + 1))
        names = {
            "z": z,
            "bits": bits,
            "mask": (1 << bits) - 1,
            "cells": 1 << bits,
            "breakdown_name": layer.aggregation.breakdown or "kind",
        }
        if z <= AGG_MAXZOOM:
            await conn.execute(LEVEL_SQL.format(**names), layer.id, token, z)
        else:
            budget = layer.aggregation.max_features
            await conn.execute(DEEP_LEVEL_SQL.format(**names), layer.id, token, z, budget)
    await conn.execute(COUNT_SQL.format(agg_maxzoom=AGG_MAXZOOM), layer.id, token)
    for z in range(AGG_MAXZOOM + 1, COUNT_MAXZOOM + 1):
        stmt = FINE_COUNT_SQL.format(shift=level - z, finest=DEEP_MAXZOOM)
        await conn.execute(stmt, layer.id, token, z)
    await conn.execute(
        "INSERT INTO tile_agg_state (layer, token) VALUES ($1, $2) ON CONFLICT (layer) "
        "DO UPDATE SET token = EXCLUDED.token, built_at = now()",
        layer.id,
        f"{token}@{FORMAT}",
    )
    return token


async def tile_counts(
    pool: asyncpg.Pool, layer: Layer, token: str
) -> dict[tuple[int, int, int], int]:
    """Source count of every non-empty tile (z ≤ AGG_MAXZOOM) of a build."""
    rows = await pool.fetch(
        "SELECT z, x, y, n FROM tile_agg_count WHERE layer = $1 AND token = $2", layer.id, token
    )
    return {(int(r[0]), int(r[1]), int(r[2])): int(r[3]) for r in rows}
