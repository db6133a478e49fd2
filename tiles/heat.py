"""Privacy-safe heat: counts per H3 cell, published under one rule that no request can undo.

The rule (K = 10) is geo/privacy/tree.py's: one fixed, filter-free H3 tree published
top-down so that every number is a sum of disjoint atoms of 0 or at least K. Heat layers accept no
filter (two filtered views of a cell could be subtracted), and every zoom, tile and `res` reads the
same published set, so no request can split an atom.
Known limit: the rule holds within one data version. Someone who reads the heat before and after
a single write (one member moving home) sees the difference of two versions; the counts are
rebuilt from scratch per version, so this needs a view of both moments and of the write itself.

At zoom z the tiles show resolution `res_for_zoom(z)`: the published cells of that resolution plus
the `merged` remainders of published coarser cells, which partition every published point.
"""

from __future__ import annotations

import asyncio
import hashlib

import asyncpg
import h3

from geo.privacy.tree import RES_MAX, HeatItem, K, publish, view
from layers.catalog import Layer

__all__ = ["RES_MAX", "HeatItem", "K", "ensure_built", "publish", "res_for_zoom", "view"]

SOURCE_SQL = "SELECT ST_X(t.{geom}), ST_Y(t.{geom}) FROM {source} WHERE t.{geom} IS NOT NULL"
TILE_SQL = """
    SELECT ST_AsMVT(q, '{layer}', 4096, 'geom') FROM (
        SELECT ST_AsMVTGeom(ST_Transform(h.geom, 3857), ST_TileEnvelope($1, $2, $3), 4096, 64, true)
               AS geom, h.cell, h.res, h.count, h.merged
        FROM heat_cells AS h
        WHERE h.layer = $4 AND h.token = $5
          AND ((h.res = $6 AND NOT h.merged) OR (h.res < $6 AND h.merged))
          AND h.geom && ST_Expand(ST_MakeEnvelope($7, $8, $9, $10, 4326), ($9 - $7) / 64)
    ) AS q WHERE q.geom IS NOT NULL
"""
CELLS_SQL = """
    SELECT cell, res, count, merged, ST_AsGeoJSON(geom, 7) AS geom FROM heat_cells
    WHERE layer = $1 AND token = $2 AND ((res = $3 AND NOT merged) OR (res < $3 AND merged))
    ORDER BY res, cell, merged
"""


def res_for_zoom(z: int) -> int:
    """H3 resolution drawn at web-mercator zoom z (hexagons of a few pixels to a dozen)."""
    return max(0, min(RES_MAX, round(5 + (z - 8) / 1.4)))


def _polygon_wkt(cell: str) -> str:
    ring = [(lng, lat) for lat, lng in h3.cell_to_boundary(cell)]
    ring.append(ring[0])
    return "POLYGON((" + ",".join(f"{x} {y}" for x, y in ring) + "))"


async def _snapshot(
    conn: asyncpg.Connection, layer: Layer
) -> tuple[str, list[tuple[float, float]]]:
    """The layer's token and points, read in one snapshot."""
    from tiles.versions import VERSIONS_SQL, layer_token

    rows = await conn.fetch(VERSIONS_SQL)
    token = layer_token(layer, {str(n): (int(v), int(s)) for n, v, s in rows})
    points = await conn.fetch(SOURCE_SQL.format(geom=layer.geom_column, source=layer.source))
    return token, [(float(x), float(y)) for x, y in points]


async def ensure_built(pool: asyncpg.Pool, layer: Layer, token: str) -> str:
    """Make sure the heat cells of `layer` are built for its current data; return their token."""
    async with pool.acquire() as conn:
        built = await conn.fetchval("SELECT token FROM heat_state WHERE layer = $1", layer.id)
        if built == token:
            return token
        async with conn.transaction(isolation="repeatable_read"):
            lock = int.from_bytes(hashlib.blake2b(layer.id.encode(), digest_size=4).digest(), "big")
            await conn.execute("SELECT pg_advisory_xact_lock($1)", lock)
            snap_token, points = await _snapshot(conn, layer)
        built = await conn.fetchval("SELECT token FROM heat_state WHERE layer = $1", layer.id)
        if built == snap_token:
            return snap_token
        items = await asyncio.to_thread(publish, points)
        records = [
            (layer.id, snap_token, i.res, i.cell, i.merged, i.count, _polygon_wkt(i.cell))
            for i in items
        ]
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", lock)
            await conn.execute("DELETE FROM heat_cells WHERE layer = $1", layer.id)
            await conn.executemany(
                "INSERT INTO heat_cells (layer, token, res, cell, merged, count, geom) "
                "VALUES ($1, $2, $3, $4, $5, $6, ST_GeomFromText($7, 4326))",
                records,
            )
            await conn.execute(
                "INSERT INTO heat_state (layer, token) VALUES ($1, $2) ON CONFLICT (layer) "
                "DO UPDATE SET token = EXCLUDED.token, built_at = now()",
                layer.id,
                snap_token,
            )
        return snap_token
