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
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache

import asyncpg
import h3
import h3.api.basic_int as h3int

from geo import compose
from geo.privacy.tree import RES_MAX, HeatItem, K, publish, publish_counts, view
from layers.base import Layer
from tiles import heat_dask, sql

__all__ = [
    "RES_MAX",
    "HeatItem",
    "K",
    "ensure_built",
    "publish",
    "res_for_zoom",
    "tile_statement",
    "view",
]

SOURCE_SQL = "SELECT ST_X(t.{geom}), ST_Y(t.{geom}) FROM {source} WHERE t.{geom} IS NOT NULL"
# A heat tile's parameters, in this order (`tile_statement`).
TILE_KEYS = ("z", "x", "y", "layer", "token", "res", "west", "south", "east", "north")
CELLS_SQL = sql.template("heat_cells")
CHUNK = 100_000  # points read per cursor fetch in a build


@lru_cache(maxsize=16)
def tile_statement(layer: Layer) -> str:
    """The statement of a heat tile of `layer` (parameters: TILE_KEYS)."""
    slots = {k: compose.param(k) for k in TILE_KEYS}
    stmt = compose.sql(sql.template("heat_tile"), name=compose.literal(layer.id), **slots)
    return stmt.compile(order=TILE_KEYS).text


def source_statement(layer: Layer) -> str:
    """The points a heat layer counts (its source's geometries)."""
    geom = compose.raw(layer.geom_column)
    return compose.sql(SOURCE_SQL, geom=geom, source=compose.raw(layer.source)).compile().text


def res_for_zoom(z: int) -> int:
    """H3 resolution drawn at web-mercator zoom z (hexagons of a few pixels to a dozen)."""
    return max(0, min(RES_MAX, round(5 + (z - 8) / 1.4)))


def _polygon_wkt(cell: str) -> str:
    ring = [(lng, lat) for lat, lng in h3.cell_to_boundary(cell)]
    ring.append(ring[0])
    return "POLYGON((" + ",".join(f"{x} {y}" for x, y in ring) + "))"


def count_cells(points: Iterable[Sequence[float]], counts: Counter[int]) -> None:
    """Add (lon, lat) points to the counts per RES_MAX cell (as H3 integers: no string per
    point; the same cells as geo/privacy/tree.finest_cells)."""
    cell = h3int.latlng_to_cell
    counts.update(cell(lat, lon, RES_MAX) for lon, lat in points)


async def _snapshot(conn: asyncpg.Connection, layer: Layer) -> tuple[str, Counter[str]]:
    """The layer's token and its points' counts per RES_MAX cell, read in one snapshot (the
    caller's transaction). The points stream through a cursor in chunks: memory holds one chunk
    and the cell counts, never every point (10,000,000 members)."""
    from tiles.versions import layer_token, read_versions

    token = layer_token(layer, await read_versions(conn))
    counts: Counter[int] = Counter()
    remote = heat_dask.counter()  # None: no Dask scheduler configured, count here
    cursor = await conn.cursor(source_statement(layer))
    while chunk := await cursor.fetch(CHUNK):
        if remote is None:
            await asyncio.to_thread(count_cells, chunk, counts)
        else:
            await asyncio.to_thread(remote.add, chunk)
    if remote is not None:
        counts = await asyncio.to_thread(remote.total)
    return token, Counter({h3int.int_to_str(c): n for c, n in counts.items()})


async def ensure_built(pool: asyncpg.Pool, layer: Layer, token: str) -> str:
    """Make sure the heat cells of `layer` are built for its current data; return their token."""
    async with pool.acquire() as conn:
        built = await conn.fetchval("SELECT token FROM heat_state WHERE layer = $1", layer.id)
        if built == token:
            return token
        async with conn.transaction(isolation="repeatable_read"):
            lock = int.from_bytes(hashlib.blake2b(layer.id.encode(), digest_size=4).digest(), "big")
            await conn.execute("SELECT pg_advisory_xact_lock($1)", lock)
            snap_token, finest = await _snapshot(conn, layer)
        built = await conn.fetchval("SELECT token FROM heat_state WHERE layer = $1", layer.id)
        if built == snap_token:
            return snap_token
        items, _ = await asyncio.to_thread(publish_counts, finest)
        records = [
            (layer.id, snap_token, i.res, i.cell, i.merged, i.count, _polygon_wkt(i.cell))
            for i in items
        ]
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", lock)
            await conn.execute("DELETE FROM heat_cells WHERE layer = $1", layer.id)
            await conn.executemany(sql.template("heat_insert"), records)
            await conn.execute(sql.template("heat_state"), layer.id, snap_token)
        return snap_token
