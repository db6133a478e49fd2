"""The organisations an activity invites besides its organiser (受邀组织), written with it.

A write names them as `invited_org_ids` (or 受邀组织, 邀请组织, invited_orgs; the draft keeps them
aside: geo/live/feature_rows.py): a list of organisation ids, `[]` or null for none. Each must
exist and lie in the organiser's top-level tree (the subtree of the organisation at the top of
the organiser's chain, its committee): an organiser invites organisations of its own tree, not of
another. A bad list is a 400 naming each wrong id. They are stored in the write's transaction and
served back, and kept in the audit, as the item's `invited_org_ids` (the activities layer's
field). A POST or PUT without them invites none; a PATCH without them keeps them.

Who may then attend, register and check in is geo.scope.attendable.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from geo.compose import sql_file
from geo.errors import Rejected
from geo.live.feature_rows import Draft

MAX_INVITED = 500
BIGINT = 2**63
EXISTING_SQL = "SELECT id FROM organisations WHERE id = ANY($1::bigint[])"
OUTSIDE_SQL = sql_file(__file__, "sql/invited_outside_tree.sql")
STORE_SQL = sql_file(__file__, "sql/invited_store.sql")


def _ids(d: Draft) -> list[int] | None:
    """The named ids in order, once each (None and a problem when the value is no such list)."""
    value: Any = d.invited
    if value is None:
        return []
    name = str(d.invited_sent)
    fine = isinstance(value, list) and all(
        isinstance(v, int) and not isinstance(v, bool) and -BIGINT <= v < BIGINT for v in value
    )
    if not fine:
        d.problem(["properties", name], "bad_value", f"{name} must be a list of organisation ids")
        return None
    if len(value) > MAX_INVITED:
        d.problem(["properties", name], "too_many", f"{name}: at most {MAX_INVITED} organisations")
        return None
    return list(dict.fromkeys(value))


async def read(conn: asyncpg.Connection, d: Draft) -> None:
    """Check the named organisations' list and that each exists (problems on the draft); the
    draft's `invited` becomes their ids. Nothing when the write names none."""
    if d.invited_sent is None:
        return
    ids = _ids(d)
    if ids is None:
        return
    found = {r["id"] for r in await conn.fetch(EXISTING_SQL, ids)}
    for i, org in enumerate(ids):
        if org not in found:
            where: list[str | int] = ["properties", d.invited_sent, i]
            d.problem(where, "unknown_org", f"{d.invited_sent}: no organisation {org}")
    d.invited = ids


async def check_tree(conn: asyncpg.Connection, d: Draft, organiser_id: object) -> None:
    """Rejected (400) when an invited organisation lies outside the organiser's top-level tree."""
    if d.invited_sent is None or not d.invited or not isinstance(organiser_id, int):
        return
    rows = await conn.fetch(OUTSIDE_SQL, organiser_id, d.invited)
    if not rows:
        return
    name, top = d.invited_sent, rows[0]["top"]
    problems: list[dict[str, object]] = [
        {
            "loc": ["body", "properties", name, d.invited.index(r["id"])],
            "code": "org_out_of_tree",
            "msg": f"{name}: organisation {r['id']} is not under {top}, the organiser's "
            "top-level organisation: invite organisations of the organiser's own tree",
        }
        for r in rows
    ]
    raise Rejected(f"the feature has {len(problems)} problem(s): {problems[0]['msg']}", problems)


async def store(conn: asyncpg.Connection, activity_id: int, d: Draft) -> None:
    """The activity's invitations become the draft's (in the caller's transaction); a draft
    naming none leaves them (a PATCH without `invited_org_ids`)."""
    if d.invited_sent is not None and isinstance(d.invited, list):
        await conn.execute(STORE_SQL, activity_id, d.invited)
