"""The event hub of one process: one LISTEN connection (asyncpg) fanned out to every subscriber.

Events are rows of `events` (geo/live/events.py), each NOTIFY'd at its commit. The hub reads the
rows (never the payload's data) and hands them to its subscribers in id order, each event once,
and only after every smaller id is settled. That order is what makes `Last-Event-ID` exact: a
client that has event n has every event below n it may see, so a resume reads `id > n` from the
table and misses nothing.

Why settling is needed: ids come from a sequence when a row is inserted, commits come in any order.
Event 7 may commit while the transaction that took id 6 is still running; delivering 7 then and 6
later would let a client resume "after 7" without 6. So when the hub sees an id missing below one
it has read, it notes the transactions that hold a row lock on `events` (events_writers.sql: only
an open transaction that inserted an event holds one) and waits until all of those have ended
(polling every POLL_S, woken sooner by NOTIFYs): then the missing id either committed (its row is
there) or was rolled back (a gap forever) and the hub moves on. Without an open writer no wait is
needed. A writer that keeps its transaction open for longer than `settle_s` after inserting an
event is not waited for further (logged); should its event commit later it is still delivered
live, out of order.

The watermark is the id up to which every event is settled and delivered: new subscribers start
there, `GET /api/events/latest` answers it. A lost connection is re-made in the background with
backoff and the hub then reads everything after its watermark, so an outage loses nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from geo import compose
from geo.db import pool as gpool
from geo.errors import Unavailable
from geo.live.events import CHANNEL, cloud_event
from geo.live.viewers import Viewer, shared_reach
from geo.scope import open_to

log = logging.getLogger("djmap.events")
APP_NAME = "djmap events"  # the LISTEN connection, as pg_stat_activity names it
BATCH = 500  # rows per read
POLL_S = 0.02  # while an id is unsettled, look again this often
BACKOFF_S = (0.05, 0.1, 0.2, 0.5, 1.0, 2.0)  # reconnect waits (the last repeats)
MAX_ID = 2**63 - 1
SKIPPED_KEEP = 10_000  # ids passed over unsettled, remembered for a late delivery

_READ = compose.sql_file(__file__, "events_read.sql")
RANGE_SQL = compose.sql(
    _READ,
    cond=compose.sql(
        "e.id > {after} AND e.id <= {upto}",
        after=compose.param("after"),
        upto=compose.param("upto"),
    ),
    limit=compose.param("limit"),
    open_to=open_to("a"),
).compile(order=("after", "upto", "limit"))
IDS_SQL = compose.sql(
    _READ,
    cond=compose.sql("e.id = ANY({ids}::bigint[])", ids=compose.param("ids")),
    limit=compose.param("limit"),
    open_to=open_to("a"),
).compile(order=("ids", "limit"))
WRITERS_SQL = compose.sql_file(__file__, "events_writers.sql")
BOUNDS_SQL = "SELECT min(id), max(id) FROM events"


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One event as read from the table: who may see it, its CloudEvents JSON and SSE frame."""

    id: int
    type: str
    audience: str
    org_id: int | None
    chain: tuple[int, ...] | None
    open_to: tuple[int, ...] | None  # its activity's organisations (geo.scope.open_to)
    cloud: dict[str, Any]
    frame: bytes
    reach: tuple[int, ...] | None = None  # told to leaders over these too (viewers.shared_reach)

    @classmethod
    def from_row(cls, row: Any) -> StoredEvent:
        """From a row of events_read.sql."""
        cloud = cloud_event(dict(row))
        text = json.dumps(cloud, ensure_ascii=False, separators=(",", ":"))
        chain = None if row["chain"] is None else tuple(row["chain"])
        opened = None if row["open_to"] is None else tuple(i for i in row["open_to"] if i)
        frame = f"id: {row['id']}\ndata: {text}\n\n".encode()
        audience, org = row["audience"], row["org_id"]
        reach = shared_reach(row["type"], cloud["data"], row["reach"])
        return cls(row["id"], row["type"], audience, org, chain, opened, cloud, frame, reach)

    def seen_by(self, viewer: Viewer) -> bool:
        """True when `viewer` may see this event (geo/live/viewers.py)."""
        return viewer.sees(self.audience, self.org_id, self.chain, self.open_to, self.reach)


async def read_range(
    conn: asyncpg.Connection | asyncpg.Pool, after: int, upto: int = MAX_ID, limit: int = BATCH
) -> list[StoredEvent]:
    """Events with after < id <= upto, in id order, at most `limit`."""
    rows = await conn.fetch(RANGE_SQL.text, after, upto, limit)
    return [StoredEvent.from_row(r) for r in rows]


async def id_bounds(conn: asyncpg.Connection | asyncpg.Pool) -> tuple[int | None, int | None]:
    """The smallest and largest id kept (None, None when the table is empty)."""
    row = await conn.fetchrow(BOUNDS_SQL)
    return (row[0], row[1]) if row is not None else (None, None)


class Subscriber:
    """One consumer of the hub (an SSE client, the webhooks' dispatcher): a bounded queue of the
    events it may see. On overflow the queue is dropped and `overflowed` set; the consumer then
    resumes from the table (a client by reconnecting with Last-Event-ID)."""

    __slots__ = ("_waiter", "after", "items", "limit", "overflowed", "start", "viewer")

    def __init__(self, viewer: Viewer, start: int, after: int, limit: int) -> None:
        self.viewer = viewer
        self.start = start  # the hub's watermark when it subscribed: live events come after it
        self.after = after  # events up to this id are not offered (the consumer has them)
        self.limit = limit
        self.items: deque[StoredEvent] = deque()
        self.overflowed = False
        self._waiter: asyncio.Future[bool] | None = None  # set while the consumer waits

    def offer(self, event: StoredEvent) -> None:
        """Queue `event` when this subscriber may see it and has not had it."""
        if self.overflowed or event.id <= self.after or not event.seen_by(self.viewer):
            return
        if len(self.items) >= self.limit:
            self.overflowed = True
            self.items.clear()
        else:
            self.items.append(event)
        _wake(self._waiter, True)

    async def next(self, timeout: float | None) -> list[StoredEvent] | None:
        """The queued events (waiting up to `timeout` s for one); None when none came in time.
        An overflowed subscriber gets an empty list at once. (A bare future and a timer handle,
        not asyncio.wait_for, which makes a task per wait: this runs once per event per client.)"""
        if not self.items and not self.overflowed:
            loop = asyncio.get_running_loop()
            waiter = self._waiter = loop.create_future()
            timer = None if timeout is None else loop.call_later(timeout, _wake, waiter, False)
            try:
                if not await waiter:
                    return None
            finally:
                self._waiter = None
                if timer is not None:
                    timer.cancel()
        out = list(self.items)
        self.items.clear()
        return out


def _wake(waiter: asyncio.Future[bool] | None, offered: bool) -> None:
    if waiter is not None and not waiter.done():
        waiter.set_result(offered)


@dataclass
class _Gap:
    """Ids missing just above the watermark: the writers seen when it was found, still open."""

    watermark: int
    writers: set[str]
    deadline: float


@dataclass
class _Late:
    skipped: deque[int] = field(default_factory=lambda: deque(maxlen=SKIPPED_KEEP))
    due: set[int] = field(default_factory=set)


class EventHub:
    """The process's one reader of the event stream (see the module docstring)."""

    def __init__(
        self,
        dsn: str,
        *,
        queue_limit: int = 256,
        settle_s: float = 5.0,
        connect_timeout: float = 2.0,
    ) -> None:
        self.dsn = dsn
        self.queue_limit = queue_limit
        self.settle_s = settle_s
        self.connect_timeout = connect_timeout
        self.watermark: int | None = None
        self.subscribers: set[Subscriber] = set()
        self._conn: asyncpg.Connection | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._reconnect: asyncio.Task[None] | None = None
        self._gap: _Gap | None = None
        self._late = _Late()
        self._closed = False

    async def start(self) -> None:
        """Connect and LISTEN (an outage is left to the background reconnect), start reading."""
        self._task = asyncio.get_running_loop().create_task(self._run())
        try:
            await self._connect()
        except Exception as exc:
            if gpool.as_unavailable(exc) is None:
                raise
            self._lost()

    def subscribe(self, viewer: Viewer, after: int | None = None, limit: int = 0) -> Subscriber:
        """A new subscriber that gets every event after the watermark (and after `after`, when
        the consumer already has more); Unavailable before the hub has read the table once."""
        if self.watermark is None:
            raise Unavailable("the event stream is not connected to the database yet")
        start = self.watermark
        sub = Subscriber(viewer, start, max(start, after or 0), limit or self.queue_limit)
        self.subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        """Stop offering events to `sub`."""
        self.subscribers.discard(sub)

    async def close(self) -> None:
        """Stop reading and reconnecting; close the LISTEN connection."""
        self._closed = True
        for task in (self._task, self._reconnect):
            if task is not None:
                task.cancel()
        self._task = self._reconnect = None
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.remove_termination_listener(self._terminated)
            await conn.close(timeout=5)

    # -- the connection ------------------------------------------------------------------------

    async def _connect(self) -> None:
        conn = await asyncpg.connect(
            self.dsn, timeout=self.connect_timeout, server_settings={"application_name": APP_NAME}
        )
        try:
            await conn.add_listener(CHANNEL, self._notified)
            if self.watermark is None:
                self.watermark = int(await conn.fetchval("SELECT coalesce(max(id), 0) FROM events"))
        except BaseException:
            conn.terminate()
            raise
        conn.add_termination_listener(self._terminated)
        self._conn = conn
        self._wake.set()  # read what committed while nobody listened

    def _notified(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        try:
            event_id = int(payload)
        except ValueError:
            return
        known = self.watermark is not None and event_id <= self.watermark
        if known and event_id in self._late.skipped:
            self._late.due.add(event_id)
        self._wake.set()

    def _terminated(self, conn: object) -> None:
        if conn is self._conn:
            self._lost()

    def _lost(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            conn.terminate()
        if self._reconnect is None and not self._closed:
            self._reconnect = asyncio.get_running_loop().create_task(self._reconnect_loop())

    async def _reconnect_loop(self) -> None:
        attempt = 0
        try:
            while self._conn is None and not self._closed:
                await asyncio.sleep(BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)])
                attempt += 1
                try:
                    await self._connect()
                except Exception as exc:
                    if gpool.as_unavailable(exc) is None:
                        log.exception("event stream: reconnecting failed")
        finally:
            self._reconnect = None

    # -- reading and delivering ----------------------------------------------------------------

    async def _run(self) -> None:
        while not self._closed:
            await self._wake.wait()
            self._wake.clear()
            conn = self._conn
            if conn is None or self.watermark is None:
                continue
            try:
                await self._deliver_late(conn)
                await self._drain(conn)
            except Exception as exc:
                if gpool.as_unavailable(exc) is None:
                    log.exception("event stream: reading events failed")
                    await asyncio.sleep(1.0)
                    self._wake.set()
                elif conn is self._conn:
                    self._lost()

    def _deliver(self, events: Sequence[StoredEvent]) -> None:
        for event in events:
            for sub in tuple(self.subscribers):
                sub.offer(event)

    async def _drain(self, conn: asyncpg.Connection) -> None:
        """Deliver every settled event after the watermark, in id order."""
        while True:
            assert self.watermark is not None
            events = await read_range(conn, self.watermark)
            ready = _contiguous(events, self.watermark)
            if ready:
                self._deliver(ready)
                self.watermark, self._gap = ready[-1].id, None
            if len(ready) == len(events):
                if len(events) < BATCH:
                    return
                continue
            if not ready:  # the next event read lies beyond missing ids
                if not await self._settled(conn):
                    asyncio.get_running_loop().call_later(POLL_S, self._wake.set)
                    return
                await self._pass_gap(conn, events[0].id)

    async def _settled(self, conn: asyncpg.Connection) -> bool:
        """True once every writer open when the ids above the watermark went missing has ended."""
        assert self.watermark is not None
        writers = {r[0] for r in await conn.fetch(WRITERS_SQL)}
        now = time.monotonic()
        gap = self._gap
        if gap is None or gap.watermark != self.watermark:
            gap = self._gap = _Gap(self.watermark, writers, now + self.settle_s)
        else:
            gap.writers &= writers
        if not gap.writers:
            return True
        if now >= gap.deadline:
            log.warning(
                "event stream: ids after %d stay unsettled for %.0f s (a transaction that "
                "inserted an event is still open); delivering on",
                self.watermark,
                self.settle_s,
            )
            return True
        return False

    async def _pass_gap(self, conn: asyncpg.Connection, first: int) -> None:
        """The writers have ended: deliver what committed below `first`, skip the rest."""
        assert self.watermark is not None
        below = await read_range(conn, self.watermark, first - 1)
        self._deliver(below)
        found = {e.id for e in below}
        self._late.skipped.extend(i for i in range(self.watermark + 1, first) if i not in found)
        self.watermark, self._gap = first - 1, None

    async def _deliver_late(self, conn: asyncpg.Connection) -> None:
        """Events that committed after the hub passed over their ids: delivered out of order."""
        if not self._late.due:
            return
        due, self._late.due = sorted(self._late.due), set()
        rows = await conn.fetch(IDS_SQL.text, due, len(due))
        late = [StoredEvent.from_row(r) for r in rows]
        for event in late:
            self._late.skipped.remove(event.id)
        self._deliver(late)


def _contiguous(events: Sequence[StoredEvent], watermark: int) -> list[StoredEvent]:
    """The events that follow `watermark` without a missing id."""
    out: list[StoredEvent] = []
    expected = watermark + 1
    for event in events:
        if event.id != expected:
            break
        out.append(event)
        expected += 1
    return out
