"""Reminders (issue 13 §4): one per item per secretary, created once and only once (a second
run the same day creates nothing), withdrawn when fulfilled, announced once each as
`reminder.created` to the organisation's leaders (not to another subtree's), read in the inbox
and marked read; the CLI and the scheduler's clock."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime, time

import asyncpg
import psycopg
import pytest
from health_world import make_world, principal
from live_world import client
from typer.testing import CliRunner

from api.cli import app as cli
from geo.health import evidence, reminders, rules
from geo.health.schedule import ReminderSettings, next_run
from geo.health.score import score_all
from geo.live.webhooks import check_patterns, matches

DAY = date(2026, 6, 10)


def run(url: str, day: date = DAY) -> reminders.RunResult:
    async def go() -> reminders.RunResult:
        conn = await asyncpg.connect(url)
        try:
            return await reminders.run(conn, day)
        finally:
            await conn.close()

    return asyncio.run(go())


def items_of(url: str, org_id: int, day: date = DAY) -> set[tuple[str, date]]:
    async def go() -> set[tuple[str, date]]:
        conn = await asyncpg.connect(url)
        try:
            orgs = await evidence.load(conn, day)
        finally:
            await conn.close()
        s = score_all(orgs, rules.defaults(), day)[org_id]
        return {(i.rule, i.due_on) for i in s.items}

    return asyncio.run(go())


def open_reminders(url: str) -> list[tuple[int, int, str, date, int | None]]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT user_id, org_id, rule_id, due_on, event_id FROM reminders "
            "WHERE state = 'open' ORDER BY id"
        ).fetchall()


@pytest.fixture
def world(clean_db: str) -> dict[str, int]:
    ids = make_world(clean_db)
    with psycopg.connect(clean_db) as conn:  # b2's secretary: every item met but 党小组会 in May
        for kind in ("支部党员大会", "支委会", "党课", "主题党日", "组织生活会", "民主评议"):
            for month in range(1, 7):
                conn.execute(
                    "INSERT INTO meetings (code, org_id, kind, held_on, source) "
                    "VALUES (%s, %s, %s, %s, 'import')",
                    (f"{kind}{month}", ids["b2"], kind, date(2026, month, 2)),
                )
    return ids


def test_one_reminder_per_item_per_secretary_once_and_only_once(
    clean_db: str, world: dict[str, int]
) -> None:
    first = run(clean_db)
    rows = open_reminders(clean_db)
    want = {
        (world[s], world[b], rule, due)
        for s, b in (("sec1", "b1"), ("sec2", "b2"), ("sec3", "b3"))
        for rule, due in items_of(clean_db, world[b])
    }
    assert {r[:4] for r in rows} == want
    assert first.created == len(rows) == len(want) > 0
    assert ("group_meeting", date(2026, 6, 7)) in items_of(clean_db, world["b2"])  # May's
    second = run(clean_db)
    assert (second.created, second.withdrawn) == (0, 0)
    assert open_reminders(clean_db) == rows
    with psycopg.connect(clean_db) as conn:
        events = conn.execute(
            "SELECT id, org_id, audience, data FROM events WHERE type = 'reminder.created'"
        ).fetchall()
    assert len(events) == len(rows)  # each reminder announced once
    assert sorted(e[0] for e in events) == sorted(r[4] for r in rows)
    assert {e[2] for e in events} == {"leader"}
    assert all(e[3]["org_id"] == e[1] and "title_zh" in e[3] for e in events)


def test_an_item_fulfilled_meanwhile_is_withdrawn(clean_db: str, world: dict[str, int]) -> None:
    run(clean_db)
    with psycopg.connect(clean_db) as conn:
        conn.execute(
            "INSERT INTO meetings (code, org_id, kind, held_on, source) "
            "VALUES ('late', %s, '党小组会', '2026-05-20', 'entry')",
            (world["b2"],),
        )
    again = run(clean_db)
    assert (again.created, again.withdrawn) == (0, 1)
    with psycopg.connect(clean_db) as conn:
        gone = conn.execute(
            "SELECT rule_id, state, withdrawn_reason FROM reminders WHERE org_id = %s "
            "AND rule_id = 'group_meeting'",
            (world["b2"],),
        ).fetchall()
    assert gone == [("group_meeting", "withdrawn", "fulfilled")]
    assert run(clean_db).withdrawn == 0


def test_the_inbox_mark_read_and_the_stream(clean_db: str, world: dict[str, int]) -> None:
    run(clean_db)
    mine = [r for r in open_reminders(clean_db) if r[0] == world["sec2"]]
    with client(clean_db, principal("leader", world["b2"], "sec2")) as c:
        body = c.get("/api/me/reminders").json()
        assert len(body["reminders"]) == len(mine) == body["unread"]
        first = body["reminders"][0]
        read = c.post(f"/api/me/reminders/{first['id']}/read")
        assert read.status_code == 200 and read.json()["read_at"] is not None
        assert c.get("/api/me/reminders").json()["unread"] == len(mine) - 1
        stream = c.get("/api/events?last_event_id=0", headers={"Accept": "application/json"})
        seen = [e for e in stream.json()["events"] if e["type"] == "reminder.created"]
        assert {e["data"]["org_id"] for e in seen} == {world["b2"]}
        others = [r for r in open_reminders(clean_db) if r[0] == world["sec1"]]
    with psycopg.connect(clean_db) as conn:
        other_id = conn.execute(
            "SELECT id FROM reminders WHERE user_id = %s LIMIT 1", (world["sec1"],)
        ).fetchone()[0]
    with client(clean_db, principal("leader", world["b2"], "sec2")) as c:
        assert c.post(f"/api/me/reminders/{other_id}/read").status_code == 404
    assert others
    with client(clean_db, principal("leader", world["c2"], "boss")) as c:
        assert c.get("/api/me/reminders").status_code == 404  # no such user row
    with client(clean_db, principal("public")) as c:
        assert c.get("/api/me/reminders").status_code == 401


def test_webhooks_take_reminder_events() -> None:
    assert check_patterns(["reminder.*"]) == ["reminder.*"]
    assert matches(["reminder.*"], "reminder.created")
    assert not matches(["activity.*"], "reminder.created")


def test_the_cli_runs_for_a_date(clean_db: str, world: dict[str, int]) -> None:
    runner = CliRunner()
    out = runner.invoke(cli, ["reminders", "run", "--date", DAY.isoformat()])
    assert out.exit_code == 0, out.output
    first = json.loads(out.stdout.strip().splitlines()[0])
    assert first["created"] > 0
    out = runner.invoke(cli, ["reminders", "run", "--date", DAY.isoformat()])
    assert json.loads(out.stdout.strip().splitlines()[0])["created"] == 0
    bad = runner.invoke(cli, ["reminders", "run", "--date", "June"])
    assert bad.exit_code == 1


def test_the_daily_clock() -> None:
    at = time(7, 30)
    before = datetime(2026, 6, 9, 23, 0, tzinfo=UTC)  # 07:00 in Beijing
    assert next_run(before, at) == datetime(2026, 6, 9, 23, 30, tzinfo=UTC)
    after = datetime(2026, 6, 9, 23, 30, tzinfo=UTC)
    assert next_run(after, at) == datetime(2026, 6, 10, 23, 30, tzinfo=UTC)
    assert ReminderSettings(reminders_at="off").at is None
    assert ReminderSettings().at == at
    with pytest.raises(ValueError):
        ReminderSettings(reminders_at="25:00")
