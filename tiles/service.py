"""The tile service the routes call: versions, cache and rendering behind one object (no FastAPI)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import morecantile

from geo.errors import Forbidden
from layers import catalog
from layers import filters as lf
from layers.catalog import Layer
from tiles import heat
from tiles.cache import CacheKey, Tile, TileCache, make_tile
from tiles.mvt import TMS, TileRequest, check_tile, render
from tiles.versions import VERSIONS_SQL, VersionReader, layer_token


@dataclass(frozen=True)
class Served:
    """A tile and the data-version token it was made from."""

    tile: Tile
    token: str


class TileService:
    """Renders, caches and versions the catalog's tiles over an asyncpg pool."""

    def __init__(self, pool: asyncpg.Pool, cache: bool = True, root: Path | None = None) -> None:
        self.pool = pool
        self.cache = TileCache(root) if cache else None
        self.versions = VersionReader(self._fetch_versions)

    async def _fetch_versions(self) -> list[tuple[str, int, int]]:
        rows = await self.pool.fetch(VERSIONS_SQL)
        return [(r[0], r[1], r[2]) for r in rows]

    async def tokens(self, layers: tuple[Layer, ...]) -> dict[str, str]:
        """Current data-version token of each layer."""
        versions = await self.versions.current()
        return {layer.id: layer_token(layer, versions) for layer in layers}

    async def token(self, layer: Layer) -> str:
        """Current data-version token of one layer."""
        return layer_token(layer, await self.versions.current())

    async def tile(
        self, layer_id: str, z: int, x: int, y: int, params: dict[str, str], audience: str
    ) -> Served:
        """The tile of a layer for an audience (NotFound, Forbidden or InvalidInput on bad input)."""
        layer = catalog.get(layer_id)
        if not catalog.can_see(layer, audience):
            raise Forbidden(f"layer {layer_id!r} is not available to the {audience} audience")
        check_tile(z, x, y)
        bound = lf.parse(layer, params)
        token = await self.token(layer)
        if layer.is_heat:
            token = await heat.ensure_built(self.pool, layer, token)
        key = CacheKey(layer.id, token, audience, lf.cache_key(bound), z, x, y)
        if self.cache is not None:
            hit = await self.cache.get(key)
            if hit is not None:
                return Served(hit, token)
        raw = await self._render(TileRequest(layer, z, x, y, bound, audience), token)
        tile = make_tile(raw)
        if self.cache is not None:
            await self.cache.put(key, tile)
        return Served(tile, token)

    async def _render(self, req: TileRequest, token: str) -> bytes:
        async with self.pool.acquire() as conn:
            if req.layer.is_heat:
                return await render_heat(conn, req, token)
            return await render(conn, req)


async def render_heat(conn: asyncpg.Connection, req: TileRequest, token: str) -> bytes:
    """A heat tile: the published cells of the zoom's resolution (see tiles/heat.py)."""
    b = TMS.bounds(morecantile.Tile(req.x, req.y, req.z))
    stmt = heat.TILE_SQL.format(layer=req.layer.id)
    args = (req.z, req.x, req.y, req.layer.id, token, heat.res_for_zoom(req.z))
    body = await conn.fetchval(stmt, *args, b.left, b.bottom, b.right, b.top)
    return bytes(body or b"")


async def heat_cells(
    pool: asyncpg.Pool, layer: Layer, token: str, res: int
) -> list[dict[str, Any]]:
    """Published heat items at resolution `res` as plain dicts (cell, res, count, merged, geometry)."""
    built = await heat.ensure_built(pool, layer, token)
    rows = await pool.fetch(heat.CELLS_SQL, layer.id, built, res)
    return [dict(r) for r in rows]
