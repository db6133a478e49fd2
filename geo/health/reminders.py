"""Reminders (自动提醒): what falls due within a rule's reminder days (7 by default, 6 months for
换届) and what is overdue, one reminder per item for each secretary of the organisation (active
leaders bound to it).

`run` is idempotent: a reminder is unique per (secretary, organisation, rule, due date), so a
second run the same day creates nothing; an open reminder whose item is no longer due (fulfilled,
or replaced by a later due date) is withdrawn. Each new reminder is announced once, in the same
transaction, as a `reminder.created` event (audience leader, the organisation's subtree; the
events of a run are written by one statement, the rows geo/live/events.py would write), which
the live loop streams (SSE) and hands to the webhooks (each delivered once). Runs hold an
advisory lock: one at a time across processes (the daily scheduler, the CLI).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from geo.compose import sql_file
from geo.health import evidence, rules
from geo.health.score import Item, score_all

LOCK_KEY = 0x646A6D6170_0E  # "djmap", issue 13: reminders
LOCK_SQL = "SELECT pg_advisory_xact_lock($1)"
SECRETARIES_SQL = sql_file(__file__, "sql/secretaries.sql")
OPEN_SQL = sql_file(__file__, "sql/reminders_open.sql")
INSERT_SQL = sql_file(__file__, "sql/reminders_insert_many.sql")
WITHDRAW_SQL = sql_file(__file__, "sql/reminder_withdraw.sql")
EVENTS_SQL = sql_file(__file__, "sql/reminders_events.sql")
EVENT_IDS_SQL = sql_file(__file__, "sql/reminders_event_ids.sql")
Key = tuple[int, int, str, date]  # user, organisation, rule, due date


@dataclass(frozen=True)
class RunResult:
    """What a run did."""

    day: date
    created: int
    withdrawn: int
    open: int


def titles(org_name: str, item: Item) -> tuple[str, str]:
    """The reminder's title in Chinese and English."""
    due = item.due_on.isoformat()
    if item.kind == "overdue":
        return (
            f"{org_name}：{item.name_zh}已逾期（应于{due}前完成）",
            f"{org_name}: {item.name_en} overdue (due {due})",
        )
    return (
        f"{org_name}：{item.name_zh}将于{due}到期",
        f"{org_name}: {item.name_en} due on {due}",
    )


def wanted(
    items: dict[int, tuple[Item, ...]], secretaries: Iterable[tuple[int, int, str]]
) -> dict[Key, tuple[Item, str]]:
    """Every reminder that should be open: each item of an organisation, for each of its
    secretaries (user id, organisation id, organisation name)."""
    out: dict[Key, tuple[Item, str]] = {}
    for user_id, org_id, name in secretaries:
        for item in items.get(org_id, ()):
            out[(user_id, org_id, item.rule, item.due_on)] = (item, name)
    return out


async def _create(conn: Any, want: dict[Key, tuple[Item, str]], day: date) -> int:
    """Insert the wanted reminders that are new, and announce each once; how many."""
    keys = sorted(want)
    cols: list[list[Any]] = [[] for _ in range(7)]
    for key in keys:
        item, name = want[key]
        for col, v in zip(cols, (*key[:3], item.kind, key[3], *titles(name, item)), strict=True):
            col.append(v)
    new = await conn.fetch(INSERT_SQL, *cols, day)
    if not new:
        return 0
    data = [
        json.dumps(
            {
                "id": r["id"],
                "org_id": r["org_id"],
                "rule": r["rule_id"],
                "kind": r["kind"],
                "due_on": r["due_on"].isoformat(),
                "title_zh": r["title_zh"],
                "title_en": r["title_en"],
            },
            ensure_ascii=False,
        )
        for r in new
    ]
    ids = [int(r["id"]) for r in new]
    made = await conn.fetch(EVENTS_SQL, ids, [int(r["org_id"]) for r in new], data)
    event_of = {str(e["subject"]): int(e["id"]) for e in made}
    await conn.execute(EVENT_IDS_SQL, ids, [event_of[f"reminders/{i}"] for i in ids])
    return len(new)


async def _withdraw(conn: Any, want: dict[Key, tuple[Item, str]]) -> tuple[int, int]:
    """Withdraw open reminders no longer wanted; (withdrawn, still open)."""
    current = {(k[0], k[1], k[2]) for k in want}
    gone: list[int] = []
    reasons: list[str] = []
    kept = 0
    for r in await conn.fetch(OPEN_SQL):
        key = (int(r["user_id"]), int(r["org_id"]), str(r["rule_id"]), r["due_on"])
        if key in want:
            kept += 1
            continue
        gone.append(int(r["id"]))
        reasons.append("superseded" if key[:3] in current else "fulfilled")
    if gone:
        await conn.execute(WITHDRAW_SQL, gone, reasons)
    return len(gone), kept


async def run(conn: Any, day: date) -> RunResult:
    """One run for `day` in one transaction (see the module docstring)."""
    async with conn.transaction():
        await conn.execute(LOCK_SQL, LOCK_KEY)
        ruleset, _ = await rules.current(conn)
        orgs = await evidence.load(conn, day)
        scores = score_all(orgs, ruleset, day)
        items = {org_id: s.items for org_id, s in scores.items() if s.items}
        secretaries = [(int(r[0]), int(r[1]), str(r[2])) for r in await conn.fetch(SECRETARIES_SQL)]
        want = wanted(items, secretaries)
        withdrawn, kept = await _withdraw(conn, want)
        created = await _create(conn, want, day)
    return RunResult(day, created, withdrawn, kept + created)
