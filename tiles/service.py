"""The tile service the routes call: versions, cache and rendering behind one object (no FastAPI)."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import morecantile

from geo import pool as gpool
from geo.errors import Forbidden, InvalidInput
from geo.scope import Principal, RowScope, row_scope
from layers import catalog
from layers import filters as lf
from layers.catalog import Layer
from tiles import aggregate, heat
from tiles.cache import CacheKey, Tile, TileCache, make_tile
from tiles.mvt import (
    POINT_TYPES,
    TMS,
    UNSCOPED,
    TileRequest,
    check_tile,
    feature_budget,
    points_args,
    points_statement,
    render,
    request_statement,
    scope_start,
    tile_args,
    tile_bounds,
)
from tiles.orgs import OrgIds
from tiles.versions import VersionTracker, layer_token

log = logging.getLogger(__name__)


async def _session(conn: asyncpg.Connection) -> None:
    await conn.execute("SET jit = off")


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Tile statements leave no session state, so skip asyncpg's per-release reset round trip."""


async def tile_pool(
    dsn: str,
    size: int,
    statement_timeout: float = 5.0,
    acquire_timeout: float = 2.0,
    min_size: int = 1,
) -> asyncpg.Pool:
    """The tile service's pool: JIT off, a statement_timeout (seconds, 0 = none), a bounded wait
    for a connection (geo.pool), and no reset query when a connection goes back."""
    return await gpool.create_pool(
        dsn,
        min_size=min_size,
        max_size=size,
        acquire_timeout=acquire_timeout,
        statement_timeout=statement_timeout,
        init=_session,
        reset=_keep_session,
    )


@dataclass(frozen=True)
class Served:
    """A tile and the data-version token it was made from."""

    tile: Tile
    token: str


class TileService:
    """Renders, caches and versions the catalog's tiles over an asyncpg pool."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        cache: bool = True,
        root: Path | None = None,
        dsn: str | None = None,
        freshness: str = "strict",
        own_pool: bool = False,
        build_pool: asyncpg.Pool | None = None,
        cache_mb: int = 512,
    ) -> None:
        self.pool = pool
        # cluster and heat table builds: their own pool, so their longer statement_timeout
        self.build_pool = build_pool or pool
        self._own_pool = own_pool
        self.cache = TileCache(root, disk_bytes=cache_mb * 2**20) if cache else None
        self.versions = VersionTracker(pool, dsn, freshness)
        self.freshness = self.versions.freshness
        self._orgs = OrgIds(pool)
        self._agg: dict[str, tuple[str, dict[tuple[int, int, int], int]]] = {}
        self._agg_checked: dict[str, tuple[str, float]] = {}
        self._building: dict[str, asyncio.Task[None]] = {}
        self._heat: dict[str, tuple[str, str]] = {}  # layer → (data token asked, cells token)
        self._heat_locks: dict[str, asyncio.Lock] = {}

    @property
    def _known(self) -> dict[str, tuple[int, int]] | None:
        """Versions kept by notifications (notify freshness), None when read per request."""
        return self.versions.known

    async def current_versions(self) -> dict[str, tuple[int, int]]:
        """Data versions: read for this request (strict), or as kept by notifications (notify);
        the last ones read while the database is away."""
        return await self.versions.current()

    async def heat_built(self, layer: Layer, token: str) -> str:
        """Token of the heat cells published for `token`'s data (one build at a time per process)."""
        if self._heat.get(layer.id, ("", ""))[0] == token:
            return self._heat[layer.id][1]
        lock = self._heat_locks.setdefault(layer.id, asyncio.Lock())
        async with lock:
            if self._heat.get(layer.id, ("", ""))[0] != token:
                built = await heat.ensure_built(self.build_pool, layer, token)
                self._heat[layer.id] = (token, built)
            return self._heat[layer.id][1]

    async def close(self) -> None:
        """Stop background builds and close the version connection (and owned pools)."""
        for task in list(self._building.values()):
            task.cancel()
        await self.versions.close()
        if self._own_pool:
            await self.pool.close()
            if self.build_pool is not self.pool:
                await self.build_pool.close()

    async def check_orgs(self, bound: tuple[lf.Bound, ...]) -> None:
        """NotFound when a filter names an organisation that does not exist."""
        await self._orgs.check(bound, await self.current_versions())

    async def tokens(self, layers: tuple[Layer, ...]) -> dict[str, str]:
        """Current data-version token of each layer."""
        versions = await self.current_versions()
        return {layer.id: layer_token(layer, versions) for layer in layers}

    async def token(self, layer: Layer) -> str:
        """Current data-version token of one layer."""
        return layer_token(layer, await self.current_versions())

    async def tile(
        self,
        layer_id: str,
        z: int,
        x: int,
        y: int,
        params: dict[str, str],
        audience: str,
        principal: Principal | None = None,
    ) -> Served:
        """The tile of a layer for an audience, scoped to `principal` when given (geo.scope).

        NotFound, Forbidden or InvalidInput on bad input (a zoom outside the layer's range, an
        organisation that does not exist): never rendered, never cached."""
        layer = catalog.get(layer_id)
        if not catalog.can_see(layer, audience):
            raise Forbidden(f"layer {layer_id!r} is not available to the {audience} audience")
        check_tile(z, x, y)
        check_zoom(layer, z)
        bound = lf.parse(layer, params, audience=audience)
        versions = await self.current_versions()
        await self._orgs.check(bound, versions)
        token = layer_token(layer, versions)
        if layer.is_heat:
            token = await self.heat_built(layer, token)
        scope = tile_scope(layer, principal, len(bound))
        variant = scope_variant(audience, scope)
        key = CacheKey(layer.id, token, variant, lf.cache_key(bound), z, x, y)
        if self.cache is not None:
            hit = await self.cache.get(key)
            if hit is not None:
                return Served(hit, token)
        raw = await self._render(TileRequest(layer, z, x, y, bound, audience, scope), token)
        tile = make_tile(raw)
        if self.cache is not None:
            await self.cache.put(key, tile)
        return Served(tile, token)

    async def _render(self, req: TileRequest, token: str) -> bytes:
        if _uses_tables(req):
            counts = await self._counts(req.layer, token)
            if counts is not None:
                return await self._render_counted(req, token, counts)
        async with self.pool.acquire() as conn:
            if req.layer.is_heat:
                return await render_heat(conn, req, token)
            return await render(conn, req)

    async def _render_counted(
        self, req: TileRequest, token: str, counts: dict[tuple[int, int, int], int]
    ) -> bytes:
        """Render knowing the tile's source count from the cluster tables (no guard query)."""
        plan = counted_plan(req, token, counts)
        if plan is None:
            return b""
        async with self.pool.acquire() as conn:
            if plan[0] == "guarded":
                return await render(conn, req)
            body = bytes(await conn.fetchval(plan[1], *plan[2]) or b"")
            if not body:  # the counts promised features: never serve an empty tile for them
                log.warning(
                    "no %s rows for %s/%d/%d/%d; rendered live",
                    plan[0],
                    req.layer.id,
                    req.z,
                    req.x,
                    req.y,
                )
                return await render(conn, req)
            if plan[0] == "points" and len(body) > req.layer.aggregation.max_bytes:
                if req.z > aggregate.AGG_MAXZOOM:
                    return await render(conn, req)  # clusters it after the same byte check
                _, stmt, args = agg_plan(req, token)
                body = bytes(await conn.fetchval(stmt, *args) or b"")
            return body

    async def plan(self, req: TileRequest) -> tuple[str, str, list[object]] | None:
        """(kind, statement, args) djmap runs for a tile now, None for a known-empty tile (bench floor)."""
        token = await self.token(req.layer)
        if _uses_tables(req):
            counts = await self._counts(req.layer, token)
            if counts is not None:
                plan = counted_plan(req, token, counts)
                if plan is None or plan[0] != "guarded":
                    return plan
        return ("guarded", request_statement(req), tile_args(req, feature_budget(req)))

    async def _counts(self, layer: Layer, token: str) -> dict[tuple[int, int, int], int] | None:
        """Tile counts of the layer's cluster tables when they match `token` (else start a build)."""
        ready = self._agg.get(layer.id)
        if ready is not None and ready[0] == token:
            return ready[1]
        checked = self._agg_checked.get(layer.id)
        now = time.monotonic()
        if layer.id in self._building or (checked and checked[0] == token and now - checked[1] < 1):
            return None
        self._agg_checked[layer.id] = (token, now)
        async with self.pool.acquire() as conn:
            built = await aggregate.built_token(conn, layer)
        if built == token:
            self._agg[layer.id] = (
                token,
                await aggregate.tile_counts(self.build_pool, layer, token),
            )
            return self._agg[layer.id][1]
        task = asyncio.get_running_loop().create_task(self._build(layer))
        self._building[layer.id] = task
        return None

    async def _build(self, layer: Layer) -> None:
        try:
            token = await aggregate.build(self.build_pool, layer)
            self._agg[layer.id] = (
                token,
                await aggregate.tile_counts(self.build_pool, layer, token),
            )
        except Exception:  # the live path keeps serving; the next stale request retries
            log.exception("building the cluster tables of %s failed", layer.id)
        finally:
            self._building.pop(layer.id, None)

    async def prepare(self, layer_id: str) -> None:
        """Build the layer's cluster (or heat) tables for its current data and wait for them."""
        layer = catalog.get(layer_id)
        token = await self.token(layer)
        if layer.is_heat:
            await self.heat_built(layer, token)
        elif layer.aggregation.method == "cluster":
            built = await aggregate.build(self.build_pool, layer)
            self._agg[layer.id] = (
                built,
                await aggregate.tile_counts(self.build_pool, layer, built),
            )


def check_zoom(layer: Layer, z: int) -> None:
    """InvalidInput unless `z` is in the layer's zoom range (its TileJSON's minzoom..maxzoom)."""
    if not layer.minzoom <= z <= layer.maxzoom:
        raise InvalidInput(
            f"layer {layer.id!r} has tiles at zooms {layer.minzoom}..{layer.maxzoom}, not {z} "
            "(clients overzoom the last level)"
        )


def tile_scope(layer: Layer, principal: Principal | None, n_filters: int) -> RowScope:
    """The caller's row scope of a layer's tiles (geo.scope, the same rule as OGC features).

    Heat layers are not scoped: their published cells are district-wide counts that obey the ≥10
    rule (tiles/heat.py), and carry no row or field of any organisation."""
    if principal is None or layer.is_heat:
        return UNSCOPED
    scope = row_scope(principal, layer, alias="t", start=scope_start(n_filters))
    if scope.public_rest and not catalog.can_see(layer, "public"):
        return RowScope(scope.own, scope.params, False)  # no public rest on a non-public layer
    return scope


def scope_variant(audience: str, scope: RowScope) -> str:
    """The cache variant of an audience and scope: callers share tiles only within one scope."""
    if scope.unrestricted:
        return audience
    rest = "rest" if scope.public_rest else "own"
    return f"{audience}|{scope.own}|{','.join(map(str, scope.params))}|{rest}"


def _uses_tables(req: TileRequest) -> bool:
    """True when the precomputed cluster tables may serve the request (no filters, open scope)."""
    agg = req.layer.aggregation
    return (
        agg.method == "cluster"
        and not req.filters
        and req.scope.unrestricted
        and req.z <= aggregate.COUNT_MAXZOOM
    )


def agg_plan(req: TileRequest, token: str) -> tuple[str, str, list[object]]:
    """The cluster tile read from the cluster tables."""
    stmt = aggregate.TILE_SQL.format(layer=req.layer.id)
    m = TMS.xy_bounds(morecantile.Tile(req.x, req.y, req.z))
    return (
        "clusters",
        stmt,
        [req.z, req.x, req.y, req.layer.id, token, m.left, m.bottom, m.right, m.top],
    )


def counted_plan(
    req: TileRequest, token: str, counts: dict[tuple[int, int, int], int]
) -> tuple[str, str, list[object]] | None:
    """What to run when the tile's source count is known (None: a point tile with nothing in it)."""
    n = counts.get((req.z, req.x, req.y), 0)
    is_point = req.layer.geom_type in POINT_TYPES
    if is_point and n == 0:
        return None
    if n > 0 and (req.z < req.layer.aggregation.cluster_below or n > feature_budget(req)):
        if req.z <= aggregate.AGG_MAXZOOM or (
            req.z <= aggregate.DEEP_MAXZOOM and n > req.layer.aggregation.max_features
        ):
            return agg_plan(req, token)  # the tables hold this tile's clusters
        return "guarded", "", []
    if not is_point:
        return "guarded", "", []
    return "points", points_statement(req.layer.id, req.audience), points_args(req)


async def render_heat(conn: asyncpg.Connection, req: TileRequest, token: str) -> bytes:
    """A heat tile: the published cells of the zoom's resolution (see tiles/heat.py)."""
    b, _ = tile_bounds(req.z, req.x, req.y)
    stmt = heat.TILE_SQL.format(layer=req.layer.id)
    args = (req.z, req.x, req.y, req.layer.id, token, heat.res_for_zoom(req.z))
    body = await conn.fetchval(stmt, *args, b.left, b.bottom, b.right, b.top)
    return bytes(body or b"")


async def heat_cells(
    service: TileService, layer: Layer, token: str, res: int
) -> list[dict[str, Any]]:
    """Published heat items at resolution `res` as plain dicts (cell, res, count, merged, geometry)."""
    built = await service.heat_built(layer, token)
    rows = await service.pool.fetch(heat.CELLS_SQL, layer.id, built, res)
    return [dict(r) for r in rows]
