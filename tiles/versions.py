"""Data versions of the layers: the one reader of `data_versions` (requests, builds, the scheduler).

The guarantee: a write committed at time c is seen by every tile request that arrives at c +
LEASE_S or later, in every process; djmap's own writers wait LEASE_S after their commit before
they answer (`settle_write`, api/freshness.py), so whoever made a write through djmap sees it in
the very next request, whichever process serves it.

`notify` (the default) keeps it without a query per request. A dedicated connection LISTENs to
the write trigger's NOTIFY and, while requests come, re-reads the versions every BEAT_S (the
heartbeat, which also proves the connection is healthy). A request is served from the versions
in memory only when they were read by a query that *started* less than LEASE_S ago and no
notification was heard since that query began; otherwise it reads them (below). Why that is
enough: a read that starts after a commit sees it (its snapshot is taken later), so versions read
by a query started at w hold every write committed before w; serving them at r < w + LEASE_S
means every write committed before r - LEASE_S is in them. A NOTIFY only makes writes visible
sooner (usually within a millisecond), it is not needed for the bound. If the listener is lost,
slow or stalled the lease runs out and requests fall back to reading the versions.

The heartbeat is a plain read, not a self-NOTIFY ping: a NOTIFY is a transaction that takes an
XID and the database-wide notify lock, 100 times a second per process, where a read takes
neither; and the read already carries the versions the ping would only vouch for.

`strict` reads the versions for every request. Reads are shared: requests that arrive while a
read is running wait for the next read (single flight), so a request never uses versions read
before it arrived, and under load one query serves many requests. `notify` uses the same reads
when its lease has run out.

While the database is away the last versions read stand in (stale-if-error): cached tiles and
TileJSON stay servable, and a lost version connection is reconnected in the background with
backoff, after which the versions are read again.

`on_change` callbacks (the derived-build scheduler, tiles/builds.py) hear every committed write,
and a lost or re-made connection, where writes may have been missed. Builds that must see
versions and data in one snapshot call `read_versions` on their own connection.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping

import asyncpg

from geo.db import pool as gpool
from geo.db.versions import VERSIONS_SQL, Versions, parse_versions
from layers.catalog import Layer

# Bump when the tile rendering changes so no cache (memory, disk, CDN) serves old renderings.
RENDER_VERSION = "r1"
CHANNEL = "djmap_data_versions"
APP_NAME = "djmap versions"  # the dedicated connection, as pg_stat_activity names it
RETRY_S = 0.2  # in an outage, the last versions stand in this long before the next try
BACKOFF_S = (0.05, 0.1, 0.2, 0.4)  # reconnect waits (the last repeats): back within half a second
LEASE_S = 0.05  # versions read by a query begun this recently serve a request (notify)
BEAT_S = 0.01  # the heartbeat re-reads them this often while requests come (notify)
IDLE_S = 2.0  # and stops this long after the last request (the next one reads, then restarts it)

VersionMap = Mapping[str, tuple[int, int]]


async def read_versions(conn: asyncpg.Connection) -> Versions:
    """The versions as `conn` sees them (in its transaction's snapshot, if any)."""
    return parse_versions(await conn.fetch(VERSIONS_SQL))


def table_versions(versions: VersionMap, tables: Iterable[str]) -> dict[str, int]:
    """The version numbers of some tables (0 for a table never written)."""
    return {table: versions.get(table, (0, 0))[0] for table in tables}


def data_token(label: str, versions: VersionMap, tables: Iterable[str]) -> str:
    """Short token naming the data of `tables` something was made from (changes on every write
    to them); `label` keeps tokens of different products apart."""
    parts = [RENDER_VERSION, label]
    for table in tables:
        version, stamp = versions.get(table, (0, 0))
        parts.append(f"{table}:{version}:{stamp}")
    return hashlib.blake2b("|".join(parts).encode(), digest_size=6).hexdigest()


def layer_token(layer: Layer, versions: VersionMap) -> str:
    """Short token naming the data a layer's tiles were made from (changes on every write)."""
    return data_token(layer.id, versions, layer.version_tables)


class VersionReader:
    """Linearizable, coalesced reads of `data_versions`."""

    def __init__(self, fetch: Callable[[], Awaitable[list[tuple[str, int, int]]]]) -> None:
        self._fetch = fetch
        self._next: asyncio.Future[Versions] | None = None
        self._running = False

    async def current(self) -> Versions:
        """Versions read by a query that started after this call."""
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
            if not self._running:
                self._running = True
                asyncio.get_running_loop().create_task(self._run())
        return await asyncio.shield(self._next)

    async def _run(self) -> None:
        try:
            while self._next is not None:
                fut, self._next = self._next, None
                try:
                    rows = await self._fetch()
                except Exception as exc:  # handed to every waiter
                    fut.set_exception(exc)
                    fut.exception()  # retrieved: a read nobody waits for any more is not logged
                else:
                    fut.set_result(parse_versions(rows))
        finally:
            self._running = False


class VersionTracker:
    """The versions a tile request uses: read per request (strict) or kept under a lease by
    LISTEN/NOTIFY and a heartbeat read (notify), over one dedicated connection, with the last
    versions read as the outage fallback (see the module docstring)."""

    def __init__(
        self, pool: asyncpg.Pool, dsn: str | None, freshness: str, connect_timeout: float = 2.0
    ) -> None:
        self.pool = pool
        self.dsn = dsn
        self.freshness = freshness if dsn else "strict"
        self.connect_timeout = connect_timeout
        self.known: Versions | None = None  # read by a query begun at `known_at` (notify)
        self.known_at = 0.0
        self.last: Versions | None = None  # the last versions read (the outage fallback)
        self.heard = 0  # notifications heard (and connections lost): each ends `known`
        self.reads = 0  # versions reads completed (requests' and the heartbeat's)
        self._retry_at = 0.0
        self._asked_at = 0.0  # the last request (the heartbeat runs while they come)
        self._conn: asyncpg.Connection | None = None
        self._reconnect: asyncio.Task[None] | None = None
        self._beat: asyncio.Task[None] | None = None
        self._reader = VersionReader(self._fetch)
        self._callbacks: list[Callable[[], None]] = []

    def on_change(self, callback: Callable[[], None]) -> None:
        """Call `callback` (in the event loop, it must not block) after every committed change
        of `data_versions` and whenever changes may have been missed (connection lost or back)."""
        self._callbacks.append(callback)

    def _changed(self) -> None:
        for callback in self._callbacks:
            callback()

    @property
    def leased(self) -> bool:
        """True while the versions in memory may serve a request without a read."""
        return self.known is not None and time.monotonic() - self.known_at < LEASE_S

    def peek(self) -> Versions | None:
        """The versions in memory if their lease holds, without waiting (None: call `current`);
        counts as a request for the heartbeat."""
        now = time.monotonic()
        self._asked_at = now
        known = self.known
        return known if known is not None and now - self.known_at < LEASE_S else None

    async def current(self) -> Versions:
        """The versions to serve with now (the last ones read while the database is away)."""
        now = time.monotonic()
        self._asked_at = now
        known = self.known
        if known is not None and now - self.known_at < LEASE_S:
            return known
        if self.freshness == "notify" and self._beat is None and self._conn is not None:
            self._beat = asyncio.get_running_loop().create_task(self._heartbeat())
        if self.last is not None and now < self._retry_at:
            return self.last
        try:
            return await self._read()
        except Exception as exc:
            if gpool.as_unavailable(exc) is None:
                raise
            if self.last is None:
                gpool.reraise(exc)
                raise
            self._retry_at = time.monotonic() + RETRY_S
            return self.last

    async def _read(self) -> Versions:
        """Versions read by a query begun after this call; kept under the lease (notify) when no
        notification was heard while it ran."""
        heard, since = self.heard, time.monotonic()
        versions = await self._reader.current()
        self.reads += 1
        gpool.STATE.succeeded(since)
        self.last, self._retry_at = versions, 0.0
        if self.freshness == "notify" and self._conn is not None and heard == self.heard:
            self.known, self.known_at = versions, since  # the query began after `since`
        return versions

    async def _heartbeat(self) -> None:
        """Re-read the versions every BEAT_S while requests come, so the lease stays fresh."""
        try:
            while self._conn is not None and time.monotonic() - self._asked_at < IDLE_S:
                try:
                    await self._read()
                except Exception as exc:  # an outage: the lease runs out, requests fall back
                    if gpool.as_unavailable(exc) is None:
                        raise
                    return
                await asyncio.sleep(BEAT_S)
        finally:
            self._beat = None

    async def _fetch(self) -> list[tuple[str, int, int]]:
        # Reads are single-flight, so one dedicated connection serves them (no pool round trip);
        # while it is away (lost, being re-made) they go through the pool, never stale.
        conn = self._conn
        if conn is not None and not conn.is_closed():
            try:
                rows = await conn.fetch(VERSIONS_SQL)
                return [(r[0], r[1], r[2]) for r in rows]
            except Exception:  # whatever broke the read, a fresh connection is the way back
                self._lost()
        elif self.dsn is not None and self._reconnect is None:
            self._lost()  # starts the background reconnect
        rows = await self.pool.fetch(VERSIONS_SQL)
        return [(r[0], r[1], r[2]) for r in rows]

    async def _connect(self) -> None:
        assert self.dsn is not None
        conn = await asyncpg.connect(
            self.dsn, timeout=self.connect_timeout, server_settings={"application_name": APP_NAME}
        )
        try:
            await conn.add_listener(CHANNEL, self._notified)
        except BaseException:
            conn.terminate()
            raise
        conn.add_termination_listener(self._terminated)
        self._conn = conn

    async def listen(self) -> None:
        """Open the dedicated connection now (changes are heard from here on); an outage is
        left to the background reconnect."""
        if self.dsn is None or self._conn is not None:
            return
        try:
            await self._connect()
        except Exception as exc:
            if gpool.as_unavailable(exc) is None:
                raise
            self._lost()

    def _notified(self, *_: object) -> None:
        self.heard += 1
        self.known = None
        self._changed()

    def _terminated(self, conn: object) -> None:
        if conn is self._conn:  # not a connection already replaced
            self._lost()

    def _lost(self) -> None:
        """The dedicated connection is gone: forget what it kept and reconnect in the background."""
        self.heard += 1
        self.known = None
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            conn.terminate()
        if self._reconnect is None and self.dsn is not None:
            self._reconnect = asyncio.get_running_loop().create_task(self._reconnect_loop())
        self._changed()

    async def _reconnect_loop(self) -> None:
        attempt = 0
        try:
            while self._conn is None:
                await asyncio.sleep(BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)])
                attempt += 1
                since = time.monotonic()
                try:
                    await self._connect()
                except Exception as exc:
                    if gpool.as_unavailable(exc) is None:
                        raise
                    continue
                gpool.STATE.succeeded(since)
                self._retry_at = 0.0  # the next request reads the versions again
                self._changed()  # writes may have happened while nobody listened
        finally:
            self._reconnect = None

    async def close(self) -> None:
        """Stop reconnecting and the heartbeat, and close the dedicated connection."""
        for task in (self._reconnect, self._beat):
            if task is not None:
                task.cancel()
        self._reconnect = self._beat = None
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.remove_termination_listener(self._terminated)
            await conn.close(timeout=5)


SETTLE_S = LEASE_S + 0.002  # a writer's wait: the lease and a margin for timer granularity


async def settle_write() -> None:
    """Await after a commit, before answering the writer: from then on every process's tile
    requests see the write (the lease bound of the module docstring)."""
    await asyncio.sleep(SETTLE_S)


def settle_write_sync() -> None:
    """`settle_write` for synchronous writers (the CLI's imports)."""
    time.sleep(SETTLE_S)
