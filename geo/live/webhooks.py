"""Webhooks for the portal: events delivered by POST, signed, retried with backoff, recorded.

A webhook names the event types it wants (`activity.*`, `checkin.created`, `*`). Each matching
event becomes one row of `webhook_deliveries` (the event's CloudEvents JSON kept with it), made
by the dispatcher from the hub's ordered stream (geo/live/stream.py) and, after a restart, from
the table: nothing is lost and nothing is delivered twice by djmap (the row is unique per webhook
and event). A delivery is POSTed with `X-Djmap-Signature: sha256=<hex HMAC-SHA256 of the body
under the webhook's secret>`; a 2xx answer delivers it, anything else (a redirect included) is
retried after 1 s, 5 s, 30 s, 2 min and 10 min, then the delivery is failed. Only the process
holding the live worker's lock dispatches (geo/live/worker.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import secrets
import urllib.error
import urllib.request
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import psycopg

from geo.compose import sql_file
from geo.db.pool import DRIVER_ERRORS, as_unavailable
from geo.errors import InvalidInput, NotFound
from geo.live.stream import EventHub, StoredEvent, read_range
from geo.live.viewers import EVERYONE
from geo.vocab import EVENT_TYPES

log = logging.getLogger("djmap.webhooks")
SIGNATURE_HEADER = "X-Djmap-Signature"
USER_AGENT = "djmap-webhooks/1"
DUE_SQL = sql_file(__file__, "webhook_due.sql")
RECORD_SQL = sql_file(__file__, "webhook_record.sql")
ENQUEUE_SQL = sql_file(__file__, "webhook_enqueue.sql")
LIST_SQL = sql_file(__file__, "webhook_list.sql")
HOOKS_SQL = "SELECT id, events, created_at FROM webhooks WHERE active"
CURSOR_SQL = "SELECT coalesce(max(event_id), 0) FROM webhook_deliveries"
NEXT_DUE_SQL = (
    "SELECT extract(epoch FROM min(next_attempt_at) - now()) FROM webhook_deliveries "
    "WHERE status = 'pending'"
)
AT_ONCE = 8  # deliveries attempted together
DISPATCH_QUEUE = 10_000
MAX_ERROR = 500


def check_patterns(patterns: Sequence[str]) -> list[str]:
    """The event patterns of a webhook, checked: `*`, an event type, or `<prefix>.*`."""
    prefixes = {t.split(".")[0] for t in EVENT_TYPES}
    out = []
    for raw in patterns:
        for p in (s.strip() for s in raw.split(",")):
            if not p:
                continue
            if p != "*" and p not in EVENT_TYPES and not (p.endswith(".*") and p[:-2] in prefixes):
                known = ", ".join(EVENT_TYPES)
                raise InvalidInput(
                    f"unknown event pattern {p!r}: use *, <type>.* or one of {known}"
                )
            out.append(p)
    if not out:
        raise InvalidInput("name at least one event pattern, e.g. --events 'activity.*'")
    return out


def matches(patterns: Sequence[str], event_type: str) -> bool:
    """True when an event of `event_type` is wanted by one of `patterns`."""
    for p in patterns:
        if p in ("*", event_type) or (p.endswith(".*") and event_type.startswith(p[:-1])):
            return True
    return False


def sign(secret: str, body: bytes) -> str:
    """The signature header's value for `body`: `sha256=<hex HMAC-SHA256>`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def check_url(url: str) -> str:
    """An http(s) URL with a host."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"webhook URL must be http:// or https:// with a host, not {url!r}")
    return url


@dataclass(frozen=True)
class Webhook:
    """A webhook as `djmap webhooks list` shows it."""

    id: int
    url: str
    events: tuple[str, ...]
    active: bool
    created_at: datetime
    pending: int = 0
    delivered: int = 0
    failed: int = 0


def add_webhook(url: str, db_url: str, patterns: Sequence[str], secret: str | None) -> Webhook:
    """Add a webhook; its secret is generated unless given (read it back with `secret_of`)."""
    check_url(url)
    events = check_patterns(patterns)
    secret = secret or secrets.token_urlsafe(32)
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "INSERT INTO webhooks (url, events, secret) VALUES (%s, %s, %s) RETURNING id, created_at",
            (url, events, secret),
        ).fetchone()
    assert row is not None
    return Webhook(int(row[0]), url, tuple(events), True, row[1])


def secret_of(db_url: str, webhook_id: int) -> str:
    """The signing secret of a webhook."""
    with psycopg.connect(db_url) as conn:
        row = conn.execute("SELECT secret FROM webhooks WHERE id = %s", (webhook_id,)).fetchone()
    if row is None:
        raise NotFound(f"no webhook {webhook_id}")
    return str(row[0])


def list_webhooks(db_url: str) -> list[Webhook]:
    """Every webhook with its delivery counts."""
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(LIST_SQL).fetchall()
    return [Webhook(r[0], r[1], tuple(r[2]), r[3], r[4], r[5], r[6], r[7]) for r in rows]


def remove_webhook(db_url: str, webhook_id: int) -> None:
    """Remove a webhook and its deliveries."""
    with psycopg.connect(db_url) as conn:
        gone = conn.execute("DELETE FROM webhooks WHERE id = %s", (webhook_id,)).rowcount
    if not gone:
        raise NotFound(f"no webhook {webhook_id}")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a redirect is an answer like any other non-2xx: retried, not followed


_OPENER = urllib.request.build_opener(_NoRedirect())


def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int | None, str]:
    """POST `body`; the HTTP status (None when none came) and an error text ('' on 2xx)."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _OPENER.open(request, timeout=timeout) as res:
            res.read(65536)
            return res.status, ""
    except urllib.error.HTTPError as exc:
        return exc.code, f"HTTP {exc.code} {exc.reason}"[:MAX_ERROR]
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, f"{type(exc).__name__}: {reason}"[:MAX_ERROR]


class Dispatcher:
    """Turns the hub's events into deliveries and delivers them (see the module docstring)."""

    def __init__(
        self, pool: asyncpg.Pool, hub: EventHub, backoff: Sequence[float], timeout: float
    ) -> None:
        self.pool, self.hub = pool, hub
        self.backoff = tuple(backoff)
        self.timeout = timeout
        self._wake = asyncio.Event()

    async def run(self) -> None:
        """Enqueue every matching event and deliver what is due, until cancelled."""
        deliver = asyncio.get_running_loop().create_task(self._deliver_loop())
        sub = self.hub.subscribe(EVERYONE, limit=DISPATCH_QUEUE)
        try:
            await self._catch_up(sub.start)
            while True:
                events = await sub.next(None)
                if sub.overflowed:  # behind by more than the queue: read the table instead
                    self.hub.unsubscribe(sub)
                    sub = self.hub.subscribe(EVERYONE, limit=DISPATCH_QUEUE)
                    await self._catch_up(sub.start)
                elif events:
                    await self.enqueue(events)
        finally:
            self.hub.unsubscribe(sub)
            deliver.cancel()

    async def _catch_up(self, upto: int) -> None:
        """Enqueue the events after the last one with a delivery, up to `upto`."""
        cursor = int(await self.pool.fetchval(CURSOR_SQL))
        while cursor < upto:
            batch = await read_range(self.pool, cursor, upto)
            if not batch:
                return
            await self.enqueue(batch)
            cursor = batch[-1].id

    async def enqueue(self, events: Sequence[StoredEvent]) -> int:
        """One delivery per matching webhook of each event; how many were new."""
        hooks = await self.pool.fetch(HOOKS_SQL)
        rows = []
        for event in events:
            at = datetime.fromisoformat(event.cloud["time"])
            for hook in hooks:
                if at >= hook["created_at"] and matches(hook["events"], event.type):
                    rows.append((hook["id"], event.id, json.dumps(event.cloud, ensure_ascii=False)))
        if rows:
            await self.pool.executemany(ENQUEUE_SQL, rows)
            self._wake.set()
        return len(rows)

    async def _deliver_loop(self) -> None:
        while True:
            try:
                if await self.deliver_due():
                    continue
                wait = await self.pool.fetchval(NEXT_DUE_SQL)
            except DRIVER_ERRORS as exc:  # the database away or busy: one line (no traceback)
                as_unavailable(exc)  # noted in the process's database state (one line an outage)
                wait = 5.0
            except Exception:  # a bad row: logged, tried again shortly
                log.exception("webhooks: delivering failed")
                wait = 5.0
            timeout = 60.0 if wait is None else min(60.0, max(0.05, float(wait)))
            with suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
            self._wake.clear()

    async def deliver_due(self) -> int:
        """Attempt the deliveries due now (a few at once); how many were attempted."""
        due = await self.pool.fetch(DUE_SQL, AT_ONCE)
        await asyncio.gather(*(self._attempt(row) for row in due))
        return len(due)

    async def _attempt(self, row: Any) -> None:
        event = json.loads(row["event"])
        body = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/cloudevents+json; charset=utf-8",
            "User-Agent": USER_AGENT,
            SIGNATURE_HEADER: sign(row["secret"], body),
            "X-Djmap-Event": str(event.get("type")),
            "X-Djmap-Delivery": str(row["id"]),
        }
        status, error = await asyncio.to_thread(post, row["url"], body, headers, self.timeout)
        attempts = row["attempts"] + 1
        if status is not None and 200 <= status < 300:
            state, wait = "delivered", 0.0
        elif attempts > len(self.backoff):
            state, wait = "failed", 0.0
        else:
            state, wait = "pending", self.backoff[attempts - 1]
        await self.pool.execute(RECORD_SQL, row["id"], state, attempts, status, error or None, wait)
