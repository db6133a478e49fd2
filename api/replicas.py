"""Reads on replicas, for the app: the lifespan's `ReplicaSet` and read pools, builds that raise
the replicas' floor, and the middleware that runs a GET again when its replica went away.

With no `DJMAP_REPLICA_URLS` none of this exists: `app.state.read_pool` is the primary pool, the
tile renderer keeps the tiles' own pool, and no middleware is added (the path of today).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, cast

import asyncpg
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.settings import Settings
from geo.db.pool import STATEMENT_CACHE
from geo.db.reads import ReadPool
from geo.db.replicas import READ_MARK, ReadMark, ReplicaSet
from tiles.builds import Builder, Built
from tiles.versions import VersionTracker


@asynccontextmanager
async def replica_reads(
    app: Any, tile_pool: asyncpg.Pool, versions: VersionTracker
) -> AsyncIterator[asyncpg.Pool]:
    """Put `replicas` and `read_pool` on `app.state` and yield the pool tiles read from (the
    tiles' own pool when no replica is configured)."""
    settings: Settings = app.state.settings
    db, api = settings.db, settings.api
    app.state.replicas = None
    app.state.read_pool = app.state.pool
    if not db.replicas:
        yield tile_pool
        return
    replicas = ReplicaSet(
        app.state.pool,
        db.replicas,
        max_lag_s=db.replica_max_lag_s,
        wait_s=db.replica_wait_ms / 1000,
        check_s=db.replica_check_s,
    )
    await replicas.start(
        size=db.pool_max,
        statement_timeout=api.statement_timeout,
        init=_no_jit,
        cache=STATEMENT_CACHE["size"],
    )
    try:
        app.state.replicas = replicas
        pools = (
            ReadPool(replicas, p, versions.current, api.pool_timeout)
            for p in (app.state.pool, tile_pool)
        )
        # A ReadPool answers what the read paths ask of an asyncpg pool (acquire, fetch*).
        app.state.read_pool, tiles = (cast(asyncpg.Pool, p) for p in pools)
        yield tiles
    finally:
        await replicas.close()


async def _no_jit(conn: asyncpg.Connection) -> None:
    await conn.execute("SET jit = off")


class FloorAfterBuild:
    """A derived build that raises the replicas' floor after it commits, before the registry
    publishes it: no replica read uses a build the replica has not replayed."""

    def __init__(self, inner: Builder, raise_floor: Callable[[], Awaitable[None]]) -> None:
        self.inner, self.raise_floor = inner, raise_floor
        self.name, self.kind, self.auto = inner.name, inner.kind, inner.auto
        self.reload, self.lane = inner.reload, inner.lane

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def wanted(self, versions: Any) -> str | None:
        """The inner builder's."""
        return await self.inner.wanted(versions)

    async def load(self) -> Built | None:
        """The inner builder's last build; its store may be newer than what replicas replayed."""
        found = await self.inner.load()
        if found is not None and not self.reload:
            await self.raise_floor()
        return found

    async def build(self) -> Built:
        """The inner build, then the floor."""
        built = await self.inner.build()
        await self.raise_floor()
        return built


def with_floor(app: Any, builders: list[Builder]) -> list[Builder]:
    """The builders, wrapped to raise the replicas' floor when replicas are configured."""
    replicas: ReplicaSet | None = getattr(app.state, "replicas", None)
    if replicas is None:
        return builders
    return [FloorAfterBuild(b, replicas.raise_floor) for b in builders]


class RetryReplicaReads:
    """A GET whose read lost its replica mid-statement (a 503 marked by geo/db/reads.py) is run
    once more before anything is sent: the replica is out of the rotation by then, so the second
    run reads elsewhere."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        mark, seen = ReadMark(), []
        dropped = False

        async def first_receive() -> Message:
            message = await receive()
            seen.append(message)
            return message

        async def first_send(message: Message) -> None:
            nonlocal dropped
            if message["type"] == "http.response.start" and mark.lost:
                dropped = message["status"] == 503
            if not dropped:
                await send(message)

        token = READ_MARK.set(mark)
        try:
            await self.app(scope, first_receive, first_send)
        finally:
            READ_MARK.reset(token)
        if dropped:
            replay = list(seen)

            async def again() -> Message:
                return replay.pop(0) if replay else await receive()

            await self.app(scope, again, send)
