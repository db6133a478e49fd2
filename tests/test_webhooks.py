"""Webhooks: `djmap webhooks add|list|remove`; deliveries of the matching events only, signed
with HMAC-SHA256 over the body, retried after a failure and recorded (delivered, or failed after
the last retry); events committed while no dispatcher ran are delivered when one starts, once;
and the app's own live worker delivers (a real server)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import asyncpg
import psycopg
import pytest
from live_events import Server, emit
from typer.testing import CliRunner

from api.cli import app as cli
from geo.errors import InvalidInput
from geo.live import webhooks as wh
from geo.live.stream import EventHub


class Receiver:
    """A portal stand-in: answers each POST with the next scripted status (then 200)."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = list(statuses)
        self.posts: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.posts.append((dict(self.headers), body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def receivers() -> Iterator[list[Receiver]]:
    made: list[Receiver] = []
    yield made
    for r in made:
        r.close()


@pytest.fixture
def no_webhooks(db_url: str) -> str:
    with psycopg.connect(db_url) as conn:
        conn.execute("DELETE FROM webhooks")  # their deliveries go with them
    return db_url


def _states(db_url: str) -> dict[int, tuple[str, int, int | None]]:
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT event_id, status, attempts, last_status FROM webhook_deliveries"
        ).fetchall()
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def _wait(db_url: str, done: Any) -> dict[int, tuple[str, int, int | None]]:
    deadline = time.monotonic() + 60  # a cap, not a timing
    while True:
        states = _states(db_url)
        if done(states):
            return states
        assert time.monotonic() < deadline, states
        time.sleep(0.05)


def _dispatch(db_url: str, until: Any, backoff: tuple[float, ...] = (0.05, 0.05)) -> Any:
    """Run a hub and a dispatcher until `until(states)` holds (checked in a thread)."""

    async def main() -> Any:
        hub = EventHub(db_url)
        pool = await asyncpg.create_pool(db_url, min_size=1, max_size=3)
        await hub.start()
        task = asyncio.create_task(wh.Dispatcher(pool, hub, backoff, 5.0).run())
        try:
            return await asyncio.to_thread(_wait, db_url, until)
        finally:
            task.cancel()
            await hub.close()
            await pool.close()

    return asyncio.run(main())


def test_patterns_matching_and_signature():
    assert wh.check_patterns(["activity.*,checkin.created", "*"]) == [
        "activity.*",
        "checkin.created",
        "*",
    ]
    for bad in (["activity"], ["nope.*"], [""], ["activity.created.x"]):
        with pytest.raises(InvalidInput):
            wh.check_patterns(bad)
    assert wh.matches(["activity.*"], "activity.cancelled")
    assert not wh.matches(["activity.*"], "checkin.created")
    assert wh.matches(["*"], "data.changed") and wh.matches(["data.changed"], "data.changed")
    expected = hmac.new(b"k", b"body", hashlib.sha256).hexdigest()
    assert wh.sign("k", b"body") == f"sha256={expected}"
    with pytest.raises(InvalidInput):
        wh.check_url("ftp://portal.example/hook")


def test_cli_adds_lists_and_removes(no_webhooks: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DJMAP_DATABASE_URL", no_webhooks)
    runner = CliRunner()
    added = runner.invoke(
        cli, ["webhooks", "add", "https://portal.example/h", "--events", "activity.*"]
    )
    assert added.exit_code == 0, added.output
    hook = json.loads(added.stdout.splitlines()[0])
    assert hook["events"] == ["activity.*"] and len(hook["secret"]) >= 32
    listed = runner.invoke(cli, ["webhooks", "list", "--json"])
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(r["id"], r["url"], r["pending"]) for r in rows] == [(hook["id"], hook["url"], 0)]
    bad = runner.invoke(cli, ["webhooks", "add", "https://p.example/h", "--events", "activity"])
    assert bad.exit_code == 1
    assert runner.invoke(cli, ["webhooks", "remove", str(hook["id"])]).exit_code == 0
    assert runner.invoke(cli, ["webhooks", "list", "--json"]).stdout.strip() == ""
    assert runner.invoke(cli, ["webhooks", "remove", str(hook["id"])]).exit_code == 1


def test_deliveries_are_signed_retried_and_recorded(no_webhooks: str, receivers: list[Receiver]):
    db_url = no_webhooks
    flaky, down = Receiver([500, 503]), Receiver([500] * 10)
    receivers += [flaky, down]
    a = wh.add_webhook(flaky.url, db_url, ["activity.*"], "secret-a")
    wh.add_webhook(down.url, db_url, ["checkin.created"], "secret-b")
    created = emit(db_url, "activity.created", None, id=5, title="党课")
    checkin = emit(db_url, "checkin.created", None, "leader", count=12)
    emit(db_url, "data.changed", None, layer="x", version="v")  # wanted by nobody
    states = _dispatch(db_url, lambda s: len(s) == 2 and all(v[0] != "pending" for v in s.values()))
    assert states == {created: ("delivered", 3, 200), checkin: ("failed", 3, 500)}
    assert len(flaky.posts) == 3 and len(down.posts) == 3
    for headers, body in flaky.posts:
        assert headers["X-Djmap-Signature"] == wh.sign("secret-a", body)
        event = json.loads(body)
        assert (event["id"], event["type"], event["data"]["title"]) == (
            str(created),
            "activity.created",
            "党课",
        )
    assert flaky.posts[0][1] == flaky.posts[2][1]  # a retry sends the same bytes
    listed = {h.id: h for h in wh.list_webhooks(db_url)}
    assert (listed[a.id].delivered, listed[a.id].failed, listed[a.id].pending) == (1, 0, 0)


def test_events_from_before_a_dispatcher_started_are_delivered_once(
    no_webhooks: str, receivers: list[Receiver]
):
    db_url = no_webhooks
    portal = Receiver([])
    receivers.append(portal)
    wh.add_webhook(portal.url, db_url, ["*"], None)
    first = emit(db_url, "import.finished", None, "steward", id=1)
    _dispatch(db_url, lambda s: s.get(first, ("",))[0] == "delivered")
    second = emit(db_url, "activity.created", None, id=2)  # no dispatcher now
    _dispatch(db_url, lambda s: s.get(second, ("",))[0] == "delivered")  # a restart
    ids = [json.loads(body)["id"] for _, body in portal.posts]
    assert ids == [str(first), str(second)]


def test_the_apps_live_worker_delivers(no_webhooks: str, receivers: list[Receiver], tmp_path: Path):
    db_url = no_webhooks
    portal = Receiver([])
    receivers.append(portal)
    secret = wh.secret_of(db_url, wh.add_webhook(portal.url, db_url, ["activity.*"], None).id)
    server = Server(db_url, tmp_path, DJMAP_EVENTS_LOCK_RETRY_S="0.2").start()
    try:
        event_id = emit(db_url, "activity.cancelled", None, id=3, cancel_reason="雨")
        states = _wait(db_url, lambda s: s.get(event_id, ("",))[0] == "delivered")
    finally:
        server.stop()
    assert states[event_id] == ("delivered", 1, 200)
    headers, body = portal.posts[-1]
    assert headers["X-Djmap-Signature"] == wh.sign(secret, body)
    assert json.loads(body)["data"]["cancel_reason"] == "雨"


def test_the_live_worker_prunes_old_finished_deliveries(no_webhooks: str):
    from geo.live.settings import LiveSettings
    from geo.live.worker import LiveWorker

    db_url = no_webhooks
    hook = wh.add_webhook("https://portal.example/h", db_url, ["*"], None).id
    rows = {  # event_id: (status, days since the last attempt)
        1: ("delivered", 8),
        2: ("failed", 8),
        3: ("pending", 30),  # still to deliver: kept whatever its age
        4: ("delivered", 6),
        5: ("failed", 1),
    }
    with psycopg.connect(db_url) as conn:
        conn.execute("UPDATE webhooks SET active = false")  # nothing is attempted meanwhile
        for event_id, (status, days) in rows.items():
            conn.execute(
                "INSERT INTO webhook_deliveries (webhook_id, event_id, event, status, "
                "next_attempt_at, delivered_at) VALUES (%s, %s, '{}', %s, "
                "now() - make_interval(days => %s), CASE WHEN %s = 'delivered' "
                "THEN now() - make_interval(days => %s) END)",
                (hook, event_id, status, days, status, days),
            )
    assert LiveSettings().webhook_keep_days == 7

    async def main() -> tuple[int, int]:
        hub = EventHub(db_url)
        pool = await asyncpg.create_pool(db_url, min_size=1, max_size=3)
        await hub.start()
        worker = LiveWorker(db_url, pool, hub, LiveSettings(lock_retry_s=0.05))
        worker.start()
        try:
            while not worker.holding or await pool.fetchval(
                "SELECT count(*) FROM webhook_deliveries WHERE event_id IN (1, 2)"
            ):
                await asyncio.sleep(0.02)
            return await worker.prune()  # a second pass finds nothing more
        finally:
            await worker.close()
            await hub.close()
            await pool.close()

    again = asyncio.run(asyncio.wait_for(main(), 60))  # a cap, not a timing
    assert again[1] == 0
    assert sorted(_states(db_url)) == [3, 4, 5]
