"""One client's view of the stream as `text/event-stream` bytes, and as a JSON page.

A client subscribes first, then reads what it missed from the table (from its `Last-Event-ID`
up to the hub's watermark at subscribe time), then gets the live events: nothing between the two
is lost or sent twice. Events are `id: <n>` and `data: <CloudEvents JSON>` frames (the default
`message` type); a comment line is the heartbeat; `event: reset` says the client should reload its
state: its queue overflowed (then the stream ends and the client reconnects with its
Last-Event-ID), or the events after its id are no longer kept (48 h; the frame carries the id
to go on from).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable

import asyncpg

from geo.errors import Unavailable
from geo.live.stream import EventHub, StoredEvent, Subscriber, id_bounds, read_range
from geo.live.viewers import Viewer

HEARTBEAT = b": heartbeat\n\n"
RETRY_MS = 2000  # how long an EventSource waits before it reconnects
MAX_SCAN = 20  # a JSON page reads at most this many batches of events
Keep = Callable[[StoredEvent], bool]


def reset_frame(reason: str, event_id: int | None = None) -> bytes:
    """An `event: reset` frame (with the id to go on from, when the client should move on)."""
    head = "" if event_id is None else f"id: {event_id}\n"
    data = json.dumps({"reason": reason})
    return f"{head}event: reset\ndata: {data}\n\n".encode()


async def frames(
    hub: EventHub,
    pool: asyncpg.Pool,
    viewer: Viewer,
    after: int | None,
    heartbeat_s: float,
    keep: Keep | None = None,
) -> AsyncIterator[bytes]:
    """The stream of one client: what it missed after `after` (None: nothing, it starts now),
    then live events, heartbeats while idle, until it goes away or its queue overflows. `keep`
    narrows the events the viewer may see further (the big screen's: geo/screen/read.py)."""
    sub = hub.subscribe(viewer, after)
    try:
        yield f"retry: {RETRY_MS}\n\n".encode()  # the first bytes: the client knows it is open
        if after is not None:
            async for chunk in _missed(pool, sub, after, keep):
                yield chunk
        while True:
            events = await sub.next(heartbeat_s)
            if sub.overflowed:
                yield reset_frame("overflow")
                return
            if events is None:
                yield HEARTBEAT
            elif shown := [e.frame for e in events if keep is None or keep(e)]:
                yield b"".join(shown)
    finally:
        hub.unsubscribe(sub)


async def _missed(
    pool: asyncpg.Pool, sub: Subscriber, after: int, keep: Keep | None = None
) -> AsyncIterator[bytes]:
    """The events after `after` up to the subscriber's start, read from the table."""
    if after >= sub.start:
        lowest, highest = await id_bounds(pool)
        if after > max(highest or 0, sub.start):  # an id this database never gave
            sub.after = sub.start
            yield reset_frame("unknown_id", sub.start)
        return
    lowest, _ = await id_bounds(pool)
    # Events after `after` were pruned (48 h) when the oldest kept one is further on. A client
    # that saw none (`after` 0: the table was empty when its page was made) missed nothing
    # pruned: ids do not start at 1 after a prune or a rolled-back write.
    if lowest is None or (after > 0 and lowest > after + 1):
        yield reset_frame("expired", sub.start)
        return
    cursor = after
    while cursor < sub.start:
        batch = await read_range(pool, cursor, sub.start)
        if not batch:
            return
        visible = [e.frame for e in batch if e.seen_by(sub.viewer) and (keep is None or keep(e))]
        if visible:
            yield b"".join(visible)
        cursor = batch[-1].id


async def page(
    hub: EventHub, pool: asyncpg.Pool, viewer: Viewer, after: int | None, limit: int
) -> tuple[list[StoredEvent], int, bool]:
    """The events a viewer may see after `after` (None: none, only the current id), at most
    `limit`; the id to ask from next and whether more may follow."""
    upto = hub.watermark
    if upto is None:
        raise Unavailable("the event stream is not connected to the database yet")
    if after is None or after >= upto:
        return [], max(upto, after or 0), False
    out: list[StoredEvent] = []
    cursor = after
    for _ in range(MAX_SCAN):
        batch = await read_range(pool, cursor, upto)
        for event in batch:
            cursor = event.id
            if event.seen_by(viewer):
                out.append(event)
                if len(out) == limit:
                    return out, cursor, cursor < upto
        if not batch:
            return out, upto, False
    return out, cursor, cursor < upto
