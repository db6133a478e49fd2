"""Reads on streaming replicas: which replica may serve a read now, and whether it holds the data
the read must see.

`ReplicaSet` keeps one asyncpg pool per replica (`DJMAP_REPLICA_URLS`) and checks each one in the
background every `DJMAP_REPLICA_CHECK_S`: reachable, still a standby, and its lag. Lag is measured
against the primary's flushed WAL position, sampled at each check: a replica that has not replayed
the position the primary had flushed at time t lags at least now - t. A replica that is down, is no
longer a standby, or lags more than `DJMAP_REPLICA_MAX_LAG_S` leaves the rotation; the next check
that finds it well brings it back.

A read names what it must see (`choose(need)`): the data versions it is served with (the primary's,
as `tiles/versions.py` read them under its lease). A replica whose `data_versions` rows are older,
or that has not replayed the WAL of the last derived build (`floor`, raised by `raise_floor` after
each build commits, before the build is published), is waited for up to `DJMAP_REPLICA_WAIT_MS`,
then the read goes to the primary: a read is never served older data than the primary would serve.

The replicas' connections never touch `geo.db.pool.STATE` (the primary's reachability): losing a
replica is logged once per state change here, and reads carry on elsewhere (geo/db/reads.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

import asyncpg

from geo.compose import sql_file
from geo.db.pool import OUTAGE_ERRORS, Hook, as_unavailable, milliseconds

log = logging.getLogger("djmap.db.replicas")
POSITION_SQL = sql_file(__file__, "replica_position.sql")
FLUSHED_SQL = sql_file(__file__, "replica_floor.sql")
FLUSH_SQL = "SELECT pg_logical_emit_message(true, 'djmap', 'replica floor')"
APP_NAME = "djmap read"  # the replicas' connections, as pg_stat_activity names them
POLL_S = 0.005  # while a read waits for replay, the replica's position is re-read this often
CHECK_TIMEOUT_S = 1.0  # a background check waits this long for a connection
State = Literal["starting", "ok", "lagging", "down", "not_standby"]
Need = Mapping[str, tuple[int, int]]  # table → (version, last write µs): tiles/versions.py's map


@dataclass
class ReadMark:
    """Set by a read that lost its replica mid-request, so the request can be run again."""

    lost: bool = False


# The request being served (api/replicas.py sets one per GET): reads mark it when their replica
# goes away under them.
READ_MARK: ContextVar[ReadMark | None] = ContextVar("djmap_read_mark", default=None)


def endpoint(url: str) -> str:
    """host:port/dbname of a URL (never its password): how a replica is named in health."""
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or 5432}{parts.path}"


def short(exc: BaseException) -> str:
    """One line saying what went wrong."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


@dataclass
class Replica:
    """One replica: its pool and what the last look at it found."""

    url: str
    name: str
    pool: asyncpg.Pool | None = None
    state: State = "starting"
    lag_s: float | None = None
    replayed: int = 0  # WAL bytes replayed (pg_last_wal_replay_lsn - 0/0)
    paused: bool = False
    versions: dict[str, int] = field(default_factory=dict)
    checked_at: float | None = None  # unix time of the last successful look
    error: str | None = None
    reads: int = 0  # reads served here
    satisfied: object = None  # the last `need` met (the same map: no compare per read)
    _refresh: asyncio.Task[None] | None = None

    @property
    def in_rotation(self) -> bool:
        """True when reads may go here."""
        return self.state == "ok"

    def meets(self, need: Need | None, floor: int) -> bool:
        """True when this replica holds every version in `need` and the WAL up to `floor`."""
        if self.replayed < floor:
            return False
        if need is None or need is self.satisfied:
            return True
        have = self.versions
        for table, (version, _) in need.items():
            if have.get(table, 0) < version:
                return False
        self.satisfied = need
        return True

    async def refresh(self) -> None:
        """Read where the replica is now (one read in flight at a time; joiners share it)."""
        task = self._refresh
        if task is None or task.done():
            task = self._refresh = asyncio.get_running_loop().create_task(self._read())
            task.add_done_callback(_retrieved)  # a read whose waiters left is not logged
        await asyncio.shield(task)

    async def _read(self) -> None:
        assert self.pool is not None
        async with self.pool.acquire(timeout=CHECK_TIMEOUT_S) as conn:
            row = await conn.fetchrow(POSITION_SQL)
        self.replayed, self.paused = int(row["replayed"]), bool(row["paused"])
        self.versions = dict(zip(row["tables"], map(int, row["versions"]), strict=True))
        self.checked_at, self.error = time.time(), None
        if not row["standby"]:
            self.set_state("not_standby")

    def set_state(self, state: State, error: str | None = None) -> None:
        """Move to `state` (one log line when it changes)."""
        if error is not None:
            self.error = error
        if state != self.state and not (self.state == "starting" and state == "ok"):
            level = logging.INFO if state == "ok" else logging.WARNING
            log.log(level, "replica %s: %s -> %s %s", self.name, self.state, state, error or "")
        self.state = state


def _retrieved(task: asyncio.Task[None]) -> None:
    if not task.cancelled():
        task.exception()


class ReplicaSet:
    """The replicas of one primary, checked in the background (see the module docstring)."""

    def __init__(
        self,
        primary: asyncpg.Pool,
        urls: Iterable[str],
        *,
        max_lag_s: float = 5.0,
        wait_s: float = 0.2,
        check_s: float = 1.0,
    ) -> None:
        self.primary = primary
        self.replicas = [Replica(url, endpoint(url)) for url in urls]
        self.max_lag_s, self.wait_s, self.check_s = max_lag_s, wait_s, check_s
        self.floor = 0  # WAL every replica read must have replayed (derived builds)
        self.fallbacks = 0  # reads that found no replica with their data in time
        self._samples: deque[tuple[float, int]] = deque(maxlen=int(max_lag_s / check_s) + 3)
        self._rr = 0
        self._task: asyncio.Task[None] | None = None

    async def start(
        self, *, size: int, statement_timeout: float, init: Hook | None = None, cache: int = 100
    ) -> None:
        """Make the pools (connections are opened on first use) and look at every replica once."""
        for replica in self.replicas:
            replica.pool = await asyncpg.create_pool(
                replica.url,
                min_size=0,
                max_size=size,
                max_inactive_connection_lifetime=300.0,
                init=init,
                statement_cache_size=cache,
                timeout=CHECK_TIMEOUT_S * 5,
                server_settings={
                    "statement_timeout": str(milliseconds(statement_timeout)),
                    "application_name": APP_NAME,
                },
            )
        await self.check()
        self._task = asyncio.get_running_loop().create_task(self._monitor())

    async def close(self) -> None:
        """Stop checking and close the replicas' pools."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for replica in self.replicas:
            if replica.pool is not None:
                replica.pool.terminate()

    async def _monitor(self) -> None:
        while True:
            await asyncio.sleep(self.check_s)
            try:
                await self.check()
            except Exception:  # a bug here must not end the checks for good
                log.exception("replica check failed")

    async def check(self) -> None:
        """Sample the primary's flushed WAL, then look at every replica and set its state."""
        now = time.monotonic()
        try:
            self._samples.append((now, int(await self.primary.fetchval(FLUSHED_SQL))))
        except Exception as exc:  # the primary away: lag unknown, replicas judged on their own
            if as_unavailable(exc) is None:
                raise
        await asyncio.gather(*(self._check_one(r) for r in self.replicas))

    async def _check_one(self, replica: Replica) -> None:
        try:
            await replica.refresh()
        except Exception as exc:
            replica.set_state("down", short(exc))
            replica.lag_s = None
            return
        if replica.state == "not_standby":
            return
        replica.lag_s = self.lag(replica.replayed)
        late = replica.lag_s is not None and replica.lag_s > self.max_lag_s
        replica.set_state("lagging" if late else "ok")

    def lag(self, replayed: int) -> float | None:
        """Seconds since the primary had flushed WAL this replica has not replayed (0 when it
        has all the last sample; None before the primary was sampled)."""
        if not self._samples or time.monotonic() - self._samples[-1][0] > 3 * self.check_s:
            return None  # the primary was not sampled lately (away): the lag is unknown
        missing = [t for t, lsn in self._samples if lsn > replayed]
        return 0.0 if not missing else round(time.monotonic() - missing[0], 3)

    def lost(self, replica: Replica, exc: BaseException) -> None:
        """A read could not use `replica`: out of the rotation until a check finds it well."""
        if isinstance(exc, OUTAGE_ERRORS) or isinstance(exc.__cause__, OUTAGE_ERRORS):
            replica.set_state("down", short(exc))

    async def choose(self, need: Need | None) -> Replica | None:
        """A replica in the rotation holding `need` (round robin), waiting up to `wait_s` for
        replay; None: read on the primary."""
        live = [r for r in self.replicas if r.in_rotation]
        if not live:
            return None
        self._rr = (self._rr + 1) % len(live)
        ordered = live[self._rr :] + live[: self._rr]
        for replica in ordered:
            if replica.meets(need, self.floor):
                return replica
        return await self._wait_for(ordered[0], need)

    async def _wait_for(self, replica: Replica, need: Need | None) -> Replica | None:
        deadline = time.monotonic() + self.wait_s
        while True:
            try:
                await replica.refresh()
            except Exception as exc:
                replica.set_state("down", short(exc))
                break
            if replica.meets(need, self.floor):
                return replica
            if time.monotonic() >= deadline:
                break
            await asyncio.sleep(POLL_S)
        self.fallbacks += 1
        return None

    async def raise_floor(self) -> None:
        """After a commit replicas must hold before a reader may use it (a derived build): flush
        the WAL and make its position the floor of every replica read."""
        async with self.primary.acquire() as conn:
            async with conn.transaction():
                await conn.execute("SET LOCAL synchronous_commit = local")
                # a transaction must write WAL for its commit to be flushed (a bare xid's commit
                # is asynchronous: the floor then lagged the build's own asynchronous commit,
                # 50 times of 50 with synchronous_commit = off); a transactional message does
                await conn.execute(FLUSH_SQL)
            self.floor = max(self.floor, int(await conn.fetchval(FLUSHED_SQL)))

    def status(self) -> list[dict[str, Any]]:
        """What /api/health shows of each replica."""
        return [
            {
                "name": r.name,
                "state": r.state,
                "in_rotation": r.in_rotation,
                "lag_s": r.lag_s,
                "replay_paused": r.paused,
                "reads": r.reads,
                "checked_at": r.checked_at,
                "error": r.error if r.state != "ok" else None,
            }
            for r in self.replicas
        ]
