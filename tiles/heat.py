"""Privacy-safe heat: counts per H3 cell, published under one rule that no request can undo.

The rule (K = 10):
1. Every point is put in its H3 cell at `RES_MAX`; coarser cells are its `cell_to_parent`s, so
   the cells form one fixed tree (the root holds every point). Filters are not accepted by heat
   layers: two filtered views of a cell could be subtracted.
2. Publishing goes top-down. Of a published node's children (the root's are resolution 0 cells),
   those with at least K points are candidates; if what would be left of the node, its count
   minus its published children's, is between 1 and K-1, the smallest candidate is withdrawn too
   (its count joins the remainder, which is then at least K). A child that is not published hides
   its whole subtree.
3. What is published: every published cell's count, and its remainder as a `merged` item (the
   points of the cell that lie in no published finer cell). Each remainder is 0 (not listed) or
   at least K.

Why no smaller count can be derived: the published numbers are all sums of disjoint "atoms",
the published leaves' counts and the remainders, each 0 or at least K, and no request can split
an atom (every zoom, tile and `res` reads the same fixed, filter-free set). So any count an
attacker can pin down, for any union of areas, is a sum of atoms: 0 or at least K.
Known limit: the rule holds within one data version. Someone who reads the heat before and after
a single write (one member moving home) sees the difference of two versions; the counts are
rebuilt from scratch per version, so this needs a view of both moments and of the write itself.

At zoom z the tiles show resolution `res_for_zoom(z)`: the published cells of that resolution plus
the `merged` remainders of published coarser cells, which partition every published point.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import asyncpg
import h3

from layers.catalog import Layer

K = 10
RES_MAX = 10
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


@dataclass(frozen=True)
class HeatItem:
    """One published number: a cell's count, or (merged) its remainder."""

    res: int
    cell: str
    count: int
    merged: bool


def res_for_zoom(z: int) -> int:
    """H3 resolution drawn at web-mercator zoom z (hexagons of a few pixels to a dozen)."""
    return max(0, min(RES_MAX, round(5 + (z - 8) / 1.4)))


def _tree(points: Iterable[tuple[float, float]]) -> list[Counter[str]]:
    """Counts per cell at every resolution 0..RES_MAX, all derived from the finest cell."""
    finest: Counter[str] = Counter(h3.latlng_to_cell(lat, lon, RES_MAX) for lon, lat in points)
    levels: list[Counter[str]] = [Counter() for _ in range(RES_MAX + 1)]
    levels[RES_MAX] = finest
    for res in range(RES_MAX - 1, -1, -1):
        for cell, n in levels[res + 1].items():
            levels[res][h3.cell_to_parent(cell, res)] += n
    return levels


def _choose(children: list[tuple[str, int]], total: int) -> tuple[list[tuple[str, int]], int]:
    """Children to publish under a node of `total` points, and the node's remainder."""
    chosen = sorted((c for c in children if c[1] >= K), key=lambda c: (c[1], c[0]))
    remainder = total - sum(n for _, n in chosen)
    while 0 < remainder < K and chosen:
        remainder += chosen.pop(0)[1]
    return chosen, remainder


def publish(points: Iterable[tuple[float, float]]) -> list[HeatItem]:
    """The published heat items of a set of (lon, lat) points under the rule above."""
    levels = _tree(points)
    children: list[dict[str, list[tuple[str, int]]]] = [
        defaultdict(list) for _ in range(RES_MAX + 1)
    ]
    for res in range(1, RES_MAX + 1):
        for cell, n in levels[res].items():
            children[res - 1][h3.cell_to_parent(cell, res - 1)].append((cell, n))
    total = sum(levels[0].values())
    items: list[HeatItem] = []
    frontier, _ = _choose(list(levels[0].items()), total)
    res = 0
    while frontier:
        following: list[tuple[str, int]] = []
        for cell, n in frontier:
            items.append(HeatItem(res, cell, n, False))
            if res == RES_MAX:
                continue
            chosen, remainder = _choose(children[res][cell], n)
            if remainder:
                items.append(HeatItem(res, cell, remainder, True))
            following.extend(chosen)
        frontier, res = following, res + 1
    return items


def view(items: Iterable[HeatItem], res: int) -> list[HeatItem]:
    """What resolution `res` shows: its published cells and coarser cells' merged remainders."""
    return [i for i in items if (i.res == res and not i.merged) or (i.res < res and i.merged)]


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
