"""The stream's parts in-process on the real database: a client whose queue overflows gets
`event: reset` and the stream ends; an idle stream sends heartbeats; a resume from an id no
longer kept (or never given) is told to reset with the id to go on from; the viewer rule."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import psycopg
from live_events import emit

from geo.live.sse import HEARTBEAT, frames
from geo.live.stream import EventHub
from geo.live.viewers import EVERYONE, Viewer


def _run(db_url: str, body: Callable[[EventHub, asyncpg.Pool], Awaitable[Any]], **hub: Any) -> Any:
    async def main() -> Any:
        events = EventHub(db_url, **hub)
        pool = await asyncpg.create_pool(db_url, min_size=1, max_size=2)
        await events.start()
        try:
            return await asyncio.wait_for(body(events, pool), 60)  # a cap, not a timing
        finally:
            await events.close()
            await pool.close()

    return asyncio.run(main())


async def _caught_up(hub: EventHub, event_id: int) -> None:
    while hub.watermark is None or hub.watermark < event_id:
        await asyncio.sleep(0.01)


async def _next(stream: AsyncIterator[bytes]) -> bytes:
    return await stream.__anext__()


def test_a_client_that_falls_behind_gets_reset_and_the_stream_ends(db_url: str):
    async def body(hub: EventHub, pool: asyncpg.Pool) -> list[bytes]:
        stream = frames(hub, pool, EVERYONE, None, heartbeat_s=60)
        assert (await _next(stream)).startswith(b"retry:")
        last = 0
        for i in range(5):  # the client reads nothing meanwhile: 5 events, room for 3
            last = await asyncio.to_thread(emit, db_url, "activity.created", None, n=i)
        await _caught_up(hub, last)
        return [chunk async for chunk in stream]

    chunks = _run(db_url, body, queue_limit=3)
    assert len(chunks) == 1 and chunks[0].startswith(b"event: reset\n")
    assert json.loads(chunks[0].split(b"data: ")[1]) == {"reason": "overflow"}


def test_a_client_that_keeps_up_gets_every_event_in_one_write(db_url: str):
    async def body(hub: EventHub, pool: asyncpg.Pool) -> tuple[list[int], bytes]:
        stream = frames(hub, pool, EVERYONE, None, heartbeat_s=60)
        await _next(stream)
        ids = [
            await asyncio.to_thread(emit, db_url, "activity.created", None, n=i) for i in range(3)
        ]
        await _caught_up(hub, ids[-1])
        return ids, await _next(stream)

    ids, chunk = _run(db_url, body, queue_limit=3)
    assert [int(line[4:]) for line in chunk.decode().splitlines() if line.startswith("id: ")] == ids


def test_an_idle_stream_sends_heartbeats(db_url: str):
    async def body(hub: EventHub, pool: asyncpg.Pool) -> list[bytes]:
        stream = frames(hub, pool, EVERYONE, None, heartbeat_s=0.05)
        return [await _next(stream) for _ in range(3)]

    chunks = _run(db_url, body)
    assert chunks[0].startswith(b"retry:") and chunks[1:] == [HEARTBEAT, HEARTBEAT]


def test_a_resume_from_an_id_no_longer_kept_or_never_given_is_told_to_reset(db_url: str):
    a = emit(db_url, "activity.created", None, n=1)
    b = emit(db_url, "activity.created", None, n=2)
    c = emit(db_url, "activity.created", None, n=3)
    with psycopg.connect(db_url) as conn:  # as the 48 h prune would
        conn.execute("DELETE FROM events WHERE id <= %s", (b,))

    async def body(hub: EventHub, pool: asyncpg.Pool) -> tuple[bytes, bytes, bytes]:
        await _caught_up(hub, c)
        old = frames(hub, pool, EVERYONE, a, heartbeat_s=60)
        await _next(old)
        future = frames(hub, pool, EVERYONE, c + 10**9, heartbeat_s=60)
        await _next(future)
        kept = frames(hub, pool, EVERYONE, b, heartbeat_s=60)
        await _next(kept)
        return await _next(old), await _next(future), await _next(kept)

    expired, unknown, fine = _run(db_url, body)
    assert expired.startswith(f"id: {c}\nevent: reset\n".encode()) and b"expired" in expired
    assert unknown.startswith(f"id: {c}\nevent: reset\n".encode()) and b"unknown_id" in unknown
    assert fine.startswith(f"id: {c}\ndata: ".encode())


def test_a_page_made_while_the_table_was_empty_gets_what_came_before_it_subscribed(db_url: str):
    """A page made when no event was kept says it saw none (`after` 0). Events committed before it
    subscribes come from the table, not as a reset, though their ids do not start at 1 (the
    sequence went on past the pruned or truncated ones)."""
    emit(db_url, "activity.created", None, n=1)
    with psycopg.connect(db_url) as conn:  # as the 48 h prune of every event would
        conn.execute("DELETE FROM events")
    d = emit(db_url, "activity.created", None, n=4)

    async def body(hub: EventHub, pool: asyncpg.Pool) -> bytes:
        await _caught_up(hub, d)
        stream = frames(hub, pool, EVERYONE, 0, heartbeat_s=60)
        await _next(stream)
        return await _next(stream)

    assert d > 1
    assert _run(db_url, body).startswith(f"id: {d}\ndata: ".encode())


def test_the_viewer_rule():
    chain = (5, 2, 1)  # the event's organisation 5, under 2, under 1
    member = Viewer(rank=1, chain=frozenset({7, 2, 1}))  # branch 7 under 2 under 1
    leader_2, leader_5, leader_9 = (Viewer(rank=2, root=r) for r in (2, 5, 9))
    district = Viewer(rank=2, whole=True)
    cases = [
        (Viewer(), "public", 5, True),  # public events are public, whoever organised them
        (Viewer(), "member", None, False),
        (member, "member", 5, False),  # 5 is neither the member's branch nor above it
        (member, "member", 2, True),
        (member, "leader", 2, False),
        (leader_2, "leader", 5, True),
        (leader_5, "leader", 5, True),
        (leader_9, "leader", 5, False),
        (leader_9, "leader", None, True),
        (district, "leader", 5, True),
        (district, "steward", None, False),
        (EVERYONE, "admin", 5, True),
    ]
    for viewer, audience, org, seen in cases:
        got = viewer.sees(audience, org, chain if org == 5 else (2, 1) if org == 2 else None)
        assert got is seen, (viewer, audience, org)


def test_the_worker_prunes_old_events_and_announces_moved_versions(db_url: str):
    from geo.live.settings import LiveSettings
    from geo.live.worker import LiveWorker

    with psycopg.connect(db_url) as conn:
        old = conn.execute(
            "INSERT INTO events (at, type, subject) VALUES (now() - interval '49 hours', "
            "'activity.created', 'old') RETURNING id"
        ).fetchone()[0]  # type: ignore[index]
    versions = {"layer_x": ("v1", "leader")}

    async def current() -> dict[str, tuple[str, str]]:
        return dict(versions)

    async def body(hub: EventHub, pool: asyncpg.Pool) -> list[tuple[str, str, Any]]:
        worker = LiveWorker(db_url, pool, hub, LiveSettings(lock_retry_s=0.05), current)
        worker.start()
        try:
            while (
                not worker.holding
                or "layer_x" not in worker._announced  # the first look (v1 noted) is done
                or await pool.fetchval("SELECT count(*) FROM events WHERE id = $1", old)
            ):
                await asyncio.sleep(0.02)
            mark = await pool.fetchval("SELECT max(id) FROM events")
            versions["layer_x"] = ("v2", "leader")
            worker.versions_changed()
            while not await pool.fetchval(
                "SELECT count(*) FROM events WHERE type = 'data.changed' AND id > $1", mark
            ):
                await asyncio.sleep(0.02)
            rows = await pool.fetch(
                "SELECT subject, audience, data::text FROM events "
                "WHERE type = 'data.changed' AND id > $1",
                mark,
            )
            return [(r[0], r[1], json.loads(r[2])) for r in rows]
        finally:
            await worker.close()

    announced = _run(db_url, body)
    assert announced == [("layers/layer_x", "leader", {"layer": "layer_x", "version": "v2"})]
