"""`ReadPool`: the pool read paths use when replicas are configured (geo/db/replicas.py).

It answers `acquire()`, `fetch`, `fetchrow` and `fetchval` like the asyncpg pool it stands in for:
each acquire asks the `ReplicaSet` for a replica in the rotation that holds the data versions the
read is served with (`need`, the primary's versions under tiles/versions.py's lease) and the last
derived build's WAL, and falls back to the primary pool when none does within the wait.

A replica that refuses a connection leaves the rotation and the read goes to the primary at once.
A replica that fails under a statement (shut down, connection lost, a query cancelled by replay)
leaves the rotation too; the read ends in a 503 marked on the request's `READ_MARK`, and
api/replicas.py runs the GET again, now on the primary or another replica: the caller never sees
a replica go away. Without replicas the app uses the primary pool itself (no ReadPool at all).
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any

import asyncpg

from geo.db.pool import OUTAGE_ERRORS, as_unavailable
from geo.db.replicas import READ_MARK, Need, Replica, ReplicaSet
from geo.errors import Unavailable

# A replica's failures that a read on another node would not meet: it went away, or replay
# cancelled the query (a recovery conflict is SQLSTATE 40001).
REPLICA_ERRORS: tuple[type[BaseException], ...] = (*OUTAGE_ERRORS, asyncpg.SerializationError)


def replica_failure(exc: BaseException | None) -> bool:
    """True when `exc` (or what it was raised from) is a replica's own failure."""
    return exc is not None and (
        isinstance(exc, REPLICA_ERRORS) or isinstance(exc.__cause__, REPLICA_ERRORS)
    )


class ReadPool:
    """Reads on a replica holding the data they need, else on the primary (module docstring)."""

    def __init__(
        self,
        replicas: ReplicaSet,
        primary: asyncpg.Pool,
        need: Callable[[], Awaitable[Need]],
        acquire_timeout: float = 2.0,
    ) -> None:
        self.replicas = replicas
        self.primary = primary
        self.need = need
        self.acquire_timeout = acquire_timeout

    def acquire(self, *, timeout: float | None = None) -> _ReadAcquire:
        """A connection for a read (`async with`)."""
        return _ReadAcquire(self, self.acquire_timeout if timeout is None else timeout)

    async def fetch(self, query: str, *args: object, timeout: float | None = None) -> list[Any]:
        """Rows of one read statement."""
        async with self.acquire() as conn:
            return await conn.fetch(query, *args, timeout=timeout)  # type: ignore[no-any-return]

    async def fetchrow(self, query: str, *args: object, timeout: float | None = None) -> Any:
        """The first row of one read statement (None when there is none)."""
        async with self.acquire() as conn:
            return await conn.fetchrow(query, *args, timeout=timeout)

    async def fetchval(self, query: str, *args: object, timeout: float | None = None) -> Any:
        """The first value of one read statement."""
        async with self.acquire() as conn:
            return await conn.fetchval(query, *args, timeout=timeout)

    async def needed(self) -> Need | None:
        """The versions this read must see (None when the primary never answered: a replica
        is then as good as anything this process knows)."""
        try:
            return await self.need()
        except Exception as exc:
            if as_unavailable(exc) is None:
                raise
            return None


class _ReadAcquire:
    """`ReadPool.acquire()`: a replica's connection or the primary's (module docstring)."""

    __slots__ = ("_conn", "_ctx", "_owner", "_replica", "_timeout")

    def __init__(self, owner: ReadPool, timeout: float) -> None:
        self._owner, self._timeout = owner, timeout
        self._replica: Replica | None = None
        self._conn: asyncpg.Connection | None = None
        self._ctx: Any = None

    async def __aenter__(self) -> asyncpg.Connection:
        owner = self._owner
        replica = await owner.replicas.choose(await owner.needed())
        if replica is not None and replica.pool is not None:
            try:
                conn = await replica.pool.acquire(timeout=self._timeout)
            except Exception as exc:  # refused or full: the primary takes this read
                owner.replicas.lost(replica, exc)
            else:
                self._replica, self._conn = replica, conn
                replica.reads += 1
                return conn
        self._ctx = owner.primary.acquire(timeout=self._timeout)
        return await self._ctx.__aenter__()  # type: ignore[no-any-return]

    async def __aexit__(
        self,
        et: type[BaseException] | None,
        ev: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        replica = self._replica
        if replica is None:
            await self._ctx.__aexit__(et, ev, tb)
            return
        assert replica.pool is not None
        with contextlib.suppress(Exception):  # a connection the server dropped is discarded
            await replica.pool.release(self._conn)
        if replica_failure(ev):
            assert ev is not None
            self._owner.replicas.lost(replica, ev)
            mark = READ_MARK.get()
            if mark is not None:
                mark.lost = True
            raise Unavailable(
                "a read replica failed under this read; asking again reads elsewhere",
                retry_after=1,
            ) from ev
