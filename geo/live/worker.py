"""The live stream's housekeeping, done by one process at a time: the holder of an advisory lock.

- `data.changed`: after every committed change of `data_versions` (and every few seconds, for
  builds that land later, like heat cells) the served version of each layer is compared with the
  one last announced; each layer that moved gets an event (audience: the layer's own).
- events older than 48 h are deleted, and so are finished webhook deliveries (delivered or
  failed) older than `webhook_keep_days` (7 by default; pending ones stay);
- webhooks are dispatched (geo/live/webhooks.py).

Every process runs a worker; the others ask for the lock every `lock_retry_s` seconds, so when
the holder dies (its session ends, the lock with it) another takes over. Which layers exist and
what version each serves is the caller's knowledge (`LayerVersions`): this module knows no layer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress

import asyncpg

from geo.compose import sql_file
from geo.db import pool as gpool
from geo.live import events
from geo.live.settings import LiveSettings
from geo.live.stream import EventHub
from geo.live.webhooks import Dispatcher

log = logging.getLogger("djmap.events")
LOCK_KEY = 0x646A6D6170_0C  # "djmap", issue 12
APP_NAME = "djmap live worker"
TICK_S = 5.0  # versions looked at this often even without a change (builds land later)
LAST_SQL = sql_file(__file__, "data_changed_last.sql")
PRUNE_DELIVERIES_SQL = sql_file(__file__, "webhook_prune.sql")

# layer id → (served version, audience)
LayerVersions = Callable[[], Awaitable[dict[str, tuple[str, str]]]]


class _LockLost(Exception):
    pass


def _count(status: str) -> int:
    """The row count of a command's status (`DELETE 3` → 3)."""
    return int(status.rsplit(" ", 1)[-1])


class LiveWorker:
    """Runs the housekeeping above while this process holds the lock (see the module docstring)."""

    def __init__(
        self,
        dsn: str,
        pool: asyncpg.Pool,
        hub: EventHub,
        settings: LiveSettings,
        layer_versions: LayerVersions | None = None,
    ) -> None:
        self.dsn, self.pool, self.hub, self.settings = dsn, pool, hub, settings
        self.layer_versions = layer_versions
        self.holding = False
        self.dispatcher = Dispatcher(
            pool, hub, settings.webhook_backoff_s, settings.webhook_timeout_s
        )
        self._changed = asyncio.Event()
        self._announced: dict[str, str] = {}
        self._task: asyncio.Task[None] | None = None

    def versions_changed(self) -> None:
        """Call after a change of the data versions (a VersionTracker `on_change` callback)."""
        self._changed.set()

    def start(self) -> None:
        """Ask for the lock in the background, and work while holding it."""
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        """Stop working; the lock goes with the session."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            conn = await self._try_lock()
            if conn is None:
                await asyncio.sleep(self.settings.lock_retry_s)
                continue
            self.holding = True
            try:
                await self._work(conn)
            except* _LockLost:
                log.warning("live worker: the lock's connection was lost; asking again")
            finally:
                self.holding = False
                if not conn.is_closed():
                    conn.terminate()

    async def _try_lock(self) -> asyncpg.Connection | None:
        try:
            conn = await asyncpg.connect(
                self.dsn, timeout=5, server_settings={"application_name": APP_NAME}
            )
        except Exception as exc:
            if gpool.as_unavailable(exc) is None:
                log.exception("live worker: cannot connect")
            return None
        try:
            if await conn.fetchval("SELECT pg_try_advisory_lock($1)", LOCK_KEY):
                return conn
        except Exception as exc:
            if gpool.as_unavailable(exc) is None:
                log.exception("live worker: cannot ask for the lock")
        conn.terminate()
        return None

    async def _work(self, conn: asyncpg.Connection) -> None:
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _c: lost.set())
        async with asyncio.TaskGroup() as group:
            group.create_task(self._watch(lost))
            group.create_task(self._forever("pruning events", self._prune))
            group.create_task(self._forever("dispatching webhooks", self.dispatcher.run))
            if self.layer_versions is not None:
                group.create_task(self._forever("announcing data versions", self._announce))

    @staticmethod
    async def _watch(lost: asyncio.Event) -> None:
        await lost.wait()
        raise _LockLost

    async def _forever(self, what: str, job: Callable[[], Awaitable[None]]) -> None:
        """Run `job` again whenever it stops on an error (an outage, a bug: logged)."""
        while True:
            try:
                await job()
            except Exception as exc:
                if gpool.as_unavailable(exc) is None:
                    log.exception("live worker: %s failed", what)
                await asyncio.sleep(self.settings.lock_retry_s)

    async def _prune(self) -> None:
        while True:
            await self.prune()
            await asyncio.sleep(self.settings.prune_every_s)

    async def prune(self) -> tuple[int, int]:
        """Delete old events and old finished webhook deliveries; how many of each."""
        gone_events = await self.pool.execute(events.PRUNE_SQL, events.KEEP_HOURS)
        gone_deliveries = await self.pool.execute(
            PRUNE_DELIVERIES_SQL, self.settings.webhook_keep_days
        )
        return _count(gone_events), _count(gone_deliveries)

    async def _announce(self) -> None:
        rows = await self.pool.fetch(LAST_SQL)
        self._announced = {r["layer"]: r["version"] for r in rows}
        first = True
        while True:
            await self.announce(baseline=first)
            first = False
            with suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), TICK_S)
            self._changed.clear()

    async def announce(self, baseline: bool = False) -> int:
        """Emit `data.changed` for each layer whose served version moved; how many. On the
        first look (`baseline`) a layer never announced is only noted."""
        assert self.layer_versions is not None
        current = await self.layer_versions()
        new = []
        for layer, (version, audience) in sorted(current.items()):
            last = self._announced.get(layer)
            if last == version or (baseline and last is None):
                self._announced[layer] = version
                continue
            data = {"layer": layer, "version": version}
            new.append(events.NewEvent("data.changed", f"layers/{layer}", None, audience, data))
        if new:
            async with self.pool.acquire() as conn, conn.transaction():
                for event in new:
                    text, args = events.insert(event)
                    await conn.execute(text, *args)
            for event in new:
                self._announced[event.data["layer"]] = event.data["version"]
        return len(new)
