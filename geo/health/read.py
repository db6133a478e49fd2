"""Reads of organisation health for the API: one organisation's breakdown and trend, its
children ranked, the rules in force, a user's reminders. Only the stored build is read (a GET
never scores); who may read is checked here (`visible_org`): leaders and up, within their
subtree. The public and members never see a score."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from geo.compose import sql_file
from geo.errors import Forbidden, NotFound, Unavailable
from geo.health import rules
from geo.health.periods import add_months
from geo.scope import Principal
from geo.vocab import HEALTH_STATUSES, ROLES

ORG_SQL = sql_file(__file__, "sql/org_one.sql")
HEALTH_SQL = sql_file(__file__, "sql/health_one.sql")
TREND_SQL = sql_file(__file__, "sql/trend.sql")
RANKING_SQL = sql_file(__file__, "sql/ranking.sql")
IN_SCOPE_SQL = sql_file(__file__, "sql/in_scope.sql")
MINE_SQL = sql_file(__file__, "sql/my_reminders.sql")
UNREAD_SQL = sql_file(__file__, "sql/my_unread.sql")
READ_SQL = sql_file(__file__, "sql/reminder_read.sql")
ONE_SQL = sql_file(__file__, "sql/my_reminder_one.sql")
USER_SQL = sql_file(__file__, "sql/user_id.sql")
LEADER = ROLES.index("leader")


def may_read_scores(principal: Principal) -> bool:
    """Leaders and up (planner, steward, admin)."""
    return principal.role in ROLES and ROLES.index(principal.role) >= LEADER


async def visible_org(conn: Any, principal: Principal, org_id: int) -> dict[str, Any]:
    """The organisation (NotFound when unknown), when the caller may see its health: a leader
    and up whose subtree holds it (Forbidden otherwise)."""
    if not may_read_scores(principal):
        raise Forbidden("organisation health is for leaders and up")
    row = await conn.fetchrow(ORG_SQL, org_id)
    if row is None:
        raise NotFound(f"no organisation {org_id}")
    root = None if principal.role == "admin" else principal.org_id
    if root is not None and not await conn.fetchval(IN_SCOPE_SQL, root, org_id):
        raise Forbidden(f"organisation {org_id} is outside the caller's organisation")
    return dict(row)


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


async def health(conn: Any, principal: Principal, org_id: int) -> dict[str, Any]:
    """One organisation's score, breakdown and 12-month trend (from the last build)."""
    org = await visible_org(conn, principal, org_id)
    row = await conn.fetchrow(HEALTH_SQL, org_id)
    if row is None:
        raise Unavailable("the health scores are being built; try again shortly", 5)
    as_of: date = row["as_of"]
    since = add_months(as_of.replace(day=1), -11)
    trend = [dict(r) for r in await conn.fetch(TREND_SQL, org_id, since)]
    out = {"org_id": org["id"], "code": org["code"], "name": org["name"], "type": org["type"]}
    out |= {k: row[k] for k in ("score", "status", "own_score", "children_score", "as_of")}
    out |= {"rules_version": row["rules_version"], "built_at": row["built_at"]}
    return out | {"breakdown": _json(row["breakdown"]), "trend": trend}


def ranks(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Competition ranks by score (equal scores share a rank; unscored last, unranked)."""
    out, previous, rank = [], None, 0
    for i, r in enumerate(rows, start=1):
        if r["score"] is not None and r["score"] != previous:
            rank, previous = i, r["score"]
        out.append(r | {"rank": rank if r["score"] is not None else None})
    return out


async def ranking(conn: Any, principal: Principal, org_id: int, branches: bool) -> dict[str, Any]:
    """The organisation's children (or every branch of its subtree) ranked by score, and how
    many are green, amber and red."""
    await visible_org(conn, principal, org_id)
    rows = [dict(r) for r in await conn.fetch(RANKING_SQL, org_id, branches)]
    ranked = ranks([{"org_id": r.pop("id"), **r} for r in rows])
    counts = {s: sum(1 for r in ranked if r["status"] == s) for s in HEALTH_STATUSES}
    return {"org_id": org_id, "of": "branches" if branches else "children", "items": ranked} | {
        "distribution": counts
    }


async def rules_in_force(conn: Any, principal: Principal) -> dict[str, Any]:
    """The rules in force and their version."""
    if not may_read_scores(principal):
        raise Forbidden("the health rules are for leaders and up")
    ruleset, set_id = await rules.current(conn)
    version = rules.version_label(ruleset, set_id)
    return {"version": version, "set_id": set_id, "rules": ruleset.model_dump(mode="json")}


async def user_id(conn: Any, principal: Principal) -> int:
    """The caller's user id (NotFound for a user that is gone)."""
    found = await conn.fetchval(USER_SQL, principal.username)
    if found is None:
        raise NotFound("no such user")
    return int(found)


async def my_reminders(conn: Any, principal: Principal, open_only: bool, limit: int) -> dict[str, Any]:  # fmt: skip
    """The caller's reminders (newest first) and how many are open and unread."""
    uid = await user_id(conn, principal)
    rows = [dict(r) for r in await conn.fetch(MINE_SQL, uid, open_only, limit)]
    return {"reminders": rows, "unread": int(await conn.fetchval(UNREAD_SQL, uid))}


async def mark_read(conn: Any, principal: Principal, reminder_id: int) -> dict[str, Any]:
    """Mark one of the caller's reminders read; the reminder (NotFound when not theirs)."""
    uid = await user_id(conn, principal)
    if await conn.fetchval(READ_SQL, reminder_id, uid) is None:
        raise NotFound(f"no reminder {reminder_id} of yours")
    return dict(await conn.fetchrow(ONE_SQL, reminder_id, uid))
