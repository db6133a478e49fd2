"""Render one vector tile: from the cluster tables when their build is of the tile's data (their
clusters, or a dense point tile they encoded: tiles/encoded.py), else live from the source rows
(tiles/mvt.py); heat tiles from their published cells (tiles/heat.py).

The renderer never starts a build: it reads the registry's latest build from memory
(tiles/builds.py) and renders live while it is missing or of older data.
"""

from __future__ import annotations

import logging

import asyncpg
import morecantile

from geo.db import pool as gpool
from tiles import aggregate, encoded, heat
from tiles.builders import clusters_name
from tiles.builds import DerivedBuilds
from tiles.mvt import (
    POINT_TYPES,
    TMS,
    TileRequest,
    feature_budget,
    points_args,
    points_statement,
    render,
    request_statement,
    tile_args,
    tile_bounds,
)

log = logging.getLogger(__name__)
Plan = tuple[str, str, list[object]]  # (kind, statement, args): guarded, clusters, encoded, points
Counts = dict[tuple[int, int, int], int]


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
    """The tiles' pool: JIT off, a statement_timeout (seconds, 0 = none), a bounded wait
    for a connection (geo.db.pool), and no reset query when a connection goes back."""
    return await gpool.create_pool(
        dsn,
        min_size=min_size,
        max_size=size,
        acquire_timeout=acquire_timeout,
        statement_timeout=statement_timeout,
        init=_session,
        reset=_keep_session,
    )


class TileRenderer:
    """Renders tiles over a pool, planning with the cluster builds the registry holds."""

    def __init__(self, pool: asyncpg.Pool, builds: DerivedBuilds | None = None) -> None:
        self.pool = pool
        self.builds = builds

    def counts(self, req: TileRequest, token: str) -> Counts | None:
        """Tile counts of the layer's cluster tables when they may serve the request and are
        of the data `token` names (None: render live)."""
        if self.builds is None or not _uses_tables(req):
            return None
        built = self.builds.latest(clusters_name(req.layer))
        return built.value if built is not None and built.token == token else None  # type: ignore[no-any-return]

    async def render(self, req: TileRequest, token: str) -> bytes:
        """The tile's MVT bytes (empty for an empty tile)."""
        counts = self.counts(req, token)
        if counts is not None:
            return await self._render_counted(req, token, counts)
        async with self.pool.acquire() as conn:
            if req.layer.is_heat:
                return await render_heat(conn, req, token)
            return await render(conn, req)

    async def _render_counted(self, req: TileRequest, token: str, counts: Counts) -> bytes:
        """Render knowing the tile's source count from the cluster tables (no guard query)."""
        plan = counted_plan(req, token, counts)
        if plan is None:
            return b""
        async with self.pool.acquire() as conn:
            if plan[0] == "guarded":
                return await render(conn, req)
            if plan[0] == "encoded":
                found = await conn.fetchval(plan[1], *plan[2])
                if found is not None:
                    return bytes(found)
                plan = points_plan(req)  # not stored (over the byte budget): the live path
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

    def plan(self, req: TileRequest, token: str) -> Plan | None:
        """(kind, statement, args) run for a tile of the data `token` names now; None for a
        tile the counts know is empty (the benchmark's floor)."""
        counts = self.counts(req, token)
        if counts is not None:
            plan = counted_plan(req, token, counts)
            if plan is None or plan[0] != "guarded":
                return plan
        return ("guarded", request_statement(req), tile_args(req, feature_budget(req)))


def _uses_tables(req: TileRequest) -> bool:
    """True when the precomputed cluster tables may serve the request (no filters, open scope)."""
    agg = req.layer.aggregation
    return (
        agg.method == "cluster"
        and not req.filters
        and req.scope.unrestricted
        and req.z <= aggregate.COUNT_MAXZOOM
    )


def agg_plan(req: TileRequest, token: str) -> Plan:
    """The cluster tile read from the cluster tables."""
    stmt = aggregate.tile_statement(req.layer)
    m = TMS.xy_bounds(morecantile.Tile(req.x, req.y, req.z))
    return (
        "clusters",
        stmt,
        [req.z, req.x, req.y, req.layer.id, token, m.left, m.bottom, m.right, m.top],
    )


def counted_plan(req: TileRequest, token: str, counts: Counts) -> Plan | None:
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
    if n >= encoded.DENSE_MIN and req.audience == encoded.AUDIENCE:
        return "encoded", encoded.read_statement(), encoded.read_args(req, token)
    return points_plan(req)


def points_plan(req: TileRequest) -> Plan:
    """The point tile rendered live (its count known to be under the budget)."""
    return "points", points_statement(req.layer, req.audience), points_args(req)


async def render_heat(conn: asyncpg.Connection, req: TileRequest, token: str) -> bytes:
    """A heat tile: the published cells of the zoom's resolution (see tiles/heat.py)."""
    b, _ = tile_bounds(req.z, req.x, req.y)
    stmt = heat.tile_statement(req.layer)
    args = (req.z, req.x, req.y, req.layer.id, token, heat.res_for_zoom(req.z))
    body = await conn.fetchval(stmt, *args, b.left, b.bottom, b.right, b.top)
    return bytes(body or b"")
