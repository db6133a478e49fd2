"""Organisation life entered by its secretary: a meeting, a committee election, a month's dues;
and an admin's new version of the health rules. Every write is scoped and audited in its own
transaction (geo/live/audit.py); the scores follow as a derived build.

Who writes: a leader bound to an organisation (its secretary) for its subtree, a steward (bound:
its subtree) or an admin; an unbound leader, a planner, a member or the public may not.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from geo.compose import sql_file
from geo.errors import Conflict, Forbidden, InvalidInput, NotFound
from geo.health import rules
from geo.health.read import IN_SCOPE_SQL, ORG_SQL
from geo.live import audit
from geo.scope import Principal

MEETING_SQL = sql_file(__file__, "sql/meeting_insert.sql")
TERM_SQL = sql_file(__file__, "sql/term_insert.sql")
DUES_SQL = sql_file(__file__, "sql/dues_upsert.sql")
DUES_BEFORE_SQL = sql_file(__file__, "sql/dues_before.sql")
ACTIVITY_SQL = sql_file(__file__, "sql/activity_of.sql")
RULESET_SQL = sql_file(__file__, "sql/ruleset_insert.sql")


@dataclass(frozen=True)
class MeetingIn:
    """A meeting as entered."""

    kind: str
    held_on: date
    attendance: int | None = None
    activity_id: int | None = None
    note: str | None = None


def _plain(row: Any) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in dict(row).items()}


async def writable_org(conn: Any, principal: Principal, org_id: int) -> dict[str, Any]:
    """The organisation when the caller may record its life (see the module docstring)."""
    if principal.role not in ("leader", "steward", "admin"):
        raise Forbidden("organisation life is recorded by its secretary, a steward or an admin")
    if principal.role == "leader" and principal.org_id is None:
        raise Forbidden("only a leader bound to an organisation (its secretary) records its life")
    org = await conn.fetchrow(ORG_SQL, org_id)
    if org is None:
        raise NotFound(f"no organisation {org_id}")
    root = None if principal.role == "admin" else principal.org_id
    if root is not None and not await conn.fetchval(IN_SCOPE_SQL, root, org_id):
        raise Forbidden(f"organisation {org_id} is outside the caller's organisation")
    return dict(org)


async def add_meeting(conn: Any, actor: audit.Actor, principal: Principal, org_id: int, m: MeetingIn) -> dict[str, Any]:  # fmt: skip
    """Record a meeting (409 when one of that kind is recorded that day)."""
    async with conn.transaction():
        org = await writable_org(conn, principal, org_id)
        if m.activity_id is not None:
            organiser = await conn.fetchval(ACTIVITY_SQL, m.activity_id)
            if organiser != org_id:
                raise InvalidInput(f"activity {m.activity_id} is not one of this organisation's")
        code = f"{org['code']}:{m.kind}:{m.held_on.isoformat()}"
        args = (code, org_id, m.kind, m.held_on, m.activity_id, m.attendance, m.note)
        row = await conn.fetchrow(MEETING_SQL, *args)
        if row is None:
            raise Conflict(f"a {m.kind} of this organisation on {m.held_on} is recorded already")
        after = _plain(row)
        await audit.record(conn, actor, "create", "meetings", int(row["id"]), None, after)
    return after


async def add_term(conn: Any, actor: audit.Actor, principal: Principal, org_id: int, elected_on: date, years: int) -> dict[str, Any]:  # fmt: skip
    """Record a committee election (409 when one is recorded that day)."""
    async with conn.transaction():
        org = await writable_org(conn, principal, org_id)
        code = f"{org['code']}:{elected_on.isoformat()}"
        row = await conn.fetchrow(TERM_SQL, code, org_id, elected_on, years)
        if row is None:
            raise Conflict(f"an election of this organisation on {elected_on} is recorded already")
        after = _plain(row)
        await audit.record(conn, actor, "create", "committee_terms", int(row["id"]), None, after)
    return after


async def set_dues(conn: Any, actor: audit.Actor, principal: Principal, org_id: int, month: date, share: float, arrears: int) -> tuple[dict[str, Any], bool]:  # fmt: skip
    """Record or correct a month's dues; (the row, whether it is new)."""
    async with conn.transaction():
        org = await writable_org(conn, principal, org_id)
        before = await conn.fetchrow(DUES_BEFORE_SQL, org_id, month)
        code = f"{org['code']}:{month.strftime('%Y-%m')}"
        row = dict(await conn.fetchrow(DUES_SQL, code, org_id, month, share, arrears))
        created = bool(row.pop("created"))
        after = _plain(row)
        action = "create" if created else "update"
        old = None if before is None else _plain(before)
        await audit.record(conn, actor, action, "dues_months", int(row["id"]), old, after)
    return after, created


async def new_ruleset(conn: Any, actor: audit.Actor, principal: Principal, doc: Any) -> dict[str, Any]:  # fmt: skip
    """An admin's new version of the rules (checked first); the rules now in force."""
    if principal.role != "admin":
        raise Forbidden("only an admin changes the health rules")
    ruleset = rules.parse(doc)
    async with conn.transaction():
        before, before_id = await rules.current(conn)
        text = json.dumps(ruleset.model_dump(mode="json"), ensure_ascii=False)
        set_id = int(await conn.fetchval(RULESET_SQL, text, actor.name))
        old = {"version": rules.version_label(before, before_id)}
        after = {"version": rules.version_label(ruleset, set_id), "rules": json.loads(text)}
        await audit.record(conn, actor, "create", "health_rules", set_id, old, after)
    return {"version": after["version"], "set_id": set_id, "rules": after["rules"]}
