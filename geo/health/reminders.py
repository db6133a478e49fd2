"""Reminders (自动提醒): what falls due within a rule's reminder days (7 by default, 6 months for
换届) and what is overdue, one reminder per item for each secretary of the organisation (active
leaders bound to it).

`run` is idempotent: a reminder is unique per (secretary, organisation, rule, due date), so a
second run the same day creates nothing; an open reminder whose item is no longer due (fulfilled,
or replaced by a later due date) is withdrawn. Each new reminder is announced once, in the same
transaction, as a `reminder.created` event (audience leader, the organisation's subtree), which
the live loop streams (SSE) and hands to the webhooks (each delivered once). Runs hold an
advisory lock: one at a time across processes (the daily scheduler, the CLI).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from geo.compose import sql_file
from geo.health import evidence, rules
from geo.health.score import Item, score_all
from geo.live import events

LOCK_KEY = 0x646A6D6170_0E  # "djmap", issue 13: reminders
LOCK_SQL = "SELECT pg_advisory_xact_lock($1)"
SECRETARIES_SQL = sql_file(__file__, "sql/secretaries.sql")
OPEN_SQL = sql_file(__file__, "sql/reminders_open.sql")
INSERT_SQL = sql_file(__file__, "sql/reminder_insert.sql")
WITHDRAW_SQL = sql_file(__file__, "sql/reminder_withdraw.sql")
EVENT_SQL = sql_file(__file__, "sql/reminder_event.sql")
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


async def _announce(conn: Any, reminder_id: int, key: Key, item: Item, title: tuple[str, str]) -> None:  # fmt: skip
    data = {
        "id": reminder_id,
        "org_id": key[1],
        "rule": item.rule,
        "kind": item.kind,
        "due_on": item.due_on.isoformat(),
        "title_zh": title[0],
        "title_en": title[1],
    }
    event = events.NewEvent("reminder.created", f"reminders/{reminder_id}", key[1], "leader", data)
    text, args = events.insert(event)
    row = await conn.fetchrow(text, *args)
    await conn.execute(EVENT_SQL, reminder_id, int(row["id"]))


async def _withdraw(conn: Any, want: dict[Key, tuple[Item, str]]) -> tuple[int, int]:
    """Withdraw open reminders no longer wanted; (withdrawn, still open)."""
    current = {(k[0], k[1], k[2]) for k in want}
    withdrawn = kept = 0
    for r in await conn.fetch(OPEN_SQL):
        key = (int(r["user_id"]), int(r["org_id"]), str(r["rule_id"]), r["due_on"])
        if key in want:
            kept += 1
            continue
        reason = "superseded" if key[:3] in current else "fulfilled"
        await conn.execute(WITHDRAW_SQL, int(r["id"]), reason)
        withdrawn += 1
    return withdrawn, kept


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
        created = 0
        for key, (item, name) in sorted(want.items(), key=lambda kv: kv[0]):
            title = titles(name, item)
            new_id = await conn.fetchval(INSERT_SQL, *key[:3], item.kind, key[3], *title, day)
            if new_id is not None:
                created += 1
                await _announce(conn, int(new_id), key, item, title)
    return RunResult(day, created, withdrawn, kept + created)
