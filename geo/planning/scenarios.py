"""Keeping scenarios (issue 14 §1): create, read, list, replace, edit and delete a planner's
scenario, and the merged changes an analysis applies. Never a write to the live tables: a
scenario is one row of `scenarios`, applied only inside the analyses' SQL.

Who: planners, stewards and admins (the router checks the role). A scenario belongs to the
subtree of the planner who made it (`org_id`; NULL for unbound callers) and is shared by its URL
within that subtree: every planner of the subtree or above reads and edits it, anyone else gets
404 (as for other rows they cannot see). A bound planner's changes may only name service points
of their subtree (403 otherwise); an unknown service point id is 400. Saving stamps each change
that names a live point with the row's current version (`etag`) unless it carries one.
"""

from __future__ import annotations

import json
from typing import Any

from geo.compose import sql_file
from geo.errors import Forbidden, InvalidInput, NotFound
from geo.planning.scenario_changes import Changes, normalise
from geo.scope import Principal, bound_org

INSERT_SQL = sql_file(__file__, "sql/scenario_insert.sql")
ONE_SQL = sql_file(__file__, "sql/scenario_one.sql")
UPDATE_SQL = sql_file(__file__, "sql/scenario_update.sql")
DELETE_SQL = sql_file(__file__, "sql/scenario_delete.sql")
LIST_SQL = sql_file(__file__, "sql/scenario_list.sql")
TOUCHED_SQL = sql_file(__file__, "sql/scenario_touched.sql")
MAX_NAME = 200
LIVE_OPS = ("move", "remove", "set")  # the changes that name a live point


def _name(name: Any) -> str:
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= MAX_NAME or "\x00" in name:
        raise InvalidInput(f"name must be text of 1 to {MAX_NAME} characters")
    return name.strip()


def _row(row: Any) -> dict[str, Any]:
    out = dict(row)
    if isinstance(out["changes"], str):
        out["changes"] = json.loads(out["changes"])
    out["url"] = f"/api/scenarios/{out['id']}"
    return out


async def check_touched(conn: Any, principal: Principal, changes: Changes) -> dict[int, str]:
    """The live ids the changes name exist (400) and lie in the caller's subtree (403); their
    current versions (ETags)."""
    if not changes.touched:
        return {}
    rows = await conn.fetch(TOUCHED_SQL, list(changes.touched), bound_org(principal))
    found = {int(r["id"]): bool(r["mine"]) for r in rows}
    missing = sorted(set(changes.touched) - set(found))
    if missing:
        raise InvalidInput(f"no service point with id {missing[:20]}")
    outside = sorted(i for i, mine in found.items() if not mine)
    if outside:
        raise Forbidden(f"service points {outside[:20]} are outside the caller's organisation")
    return {int(r["id"]): str(r["etag"]) for r in rows}


async def _checked(conn: Any, principal: Principal, changes: Any) -> str:
    """The changes checked, each naming a live point stamped with its version, as JSON."""
    current = await check_touched(conn, principal, normalise(changes))
    stamped = [
        {**c, "etag": current[c["id"]]} if c["op"] in LIVE_OPS and "etag" not in c else c
        for c in changes
    ]
    return json.dumps(stamped, ensure_ascii=False)


async def create(conn: Any, principal: Principal, name: Any, changes: Any) -> dict[str, Any]:
    """Save a new scenario in the caller's subtree; the answer has its id and URL."""
    body = await _checked(conn, principal, changes)
    row = await conn.fetchrow(
        INSERT_SQL, _name(name), bound_org(principal), principal.username, body
    )
    return _row(row)


async def read(conn: Any, principal: Principal, scenario_id: int) -> dict[str, Any]:
    """One scenario the caller may see (NotFound otherwise)."""
    row = await conn.fetchrow(ONE_SQL, scenario_id, bound_org(principal))
    if row is None:
        raise NotFound(f"no scenario {scenario_id}")
    return _row(row)


async def listed(conn: Any, principal: Principal, limit: int = 100) -> list[dict[str, Any]]:
    """The scenarios the caller may see, newest first."""
    return [_row(r) for r in await conn.fetch(LIST_SQL, bound_org(principal), limit)]


async def update(conn: Any, principal: Principal, scenario_id: int, name: Any = None,
                 changes: Any = None) -> dict[str, Any]:  # fmt: skip
    """Replace the name and/or the changes (None: kept) of a scenario the caller may see."""
    async with conn.transaction():
        old = await read(conn, principal, scenario_id)
        new_name = old["name"] if name is None else _name(name)
        body = await _checked(conn, principal, old["changes"] if changes is None else changes)
        return _row(await conn.fetchrow(UPDATE_SQL, scenario_id, new_name, body))


async def delete(conn: Any, principal: Principal, scenario_id: int) -> None:
    """Delete a scenario the caller may see."""
    async with conn.transaction():
        await read(conn, principal, scenario_id)
        await conn.execute(DELETE_SQL, scenario_id)


async def changes_for(conn: Any, principal: Principal, scenario_id: int | None) -> Changes | None:
    """The merged changes of a scenario for an analysis (None: the baseline); the caller must
    see it, and its points must still exist and be theirs."""
    if scenario_id is None:
        return None
    found = await read(conn, principal, scenario_id)
    changes = normalise(found["changes"])
    await check_touched(conn, principal, changes)
    return changes
