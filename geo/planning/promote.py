"""Promoting a scenario (issue 14 §1): its changes become live service points, through the writes
of OGC API Features Part 4 (geo/live/writes.py: the same checks, scope, audit entries and data
versions as a steward's own writes), all in one transaction with the scenario's removal.

Who: those who write service points (stewards and admins; a bound steward within their subtree)
and may read the scenario. Each live point a change names must still be the version the change
was made against (its `etag`, stamped when the scenario was saved): a point changed or deleted
since, or a change without a version, is a Conflict (409) and nothing is written. A moved point
and its set properties are one merge patch; a removed one is deleted (Conflict when other rows
still refer to it); an added one is created (its organisation: the scenario's subtree). Candidate
sites are not service points and stay behind. The scenario is deleted once it is live: the audit
keeps every write under one request id.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from geo.compose import sql_file
from geo.errors import Conflict, Forbidden, NotFound, PreconditionFailed
from geo.live import items, writes
from geo.live.audit import Actor
from geo.planning import scenarios
from geo.planning.scenario_changes import Changes, Site, normalise
from geo.scope import Principal, bound_org
from layers import catalog
from layers.base import Layer

LOCK_SQL = sql_file(__file__, "sql/scenario_lock.sql")
TABLE = "service_points"


def service_points(principal: Principal) -> Layer:
    """The collection of service points, if the caller may write it (Forbidden otherwise)."""
    for layer in catalog.collections(principal.audience):
        if items.table_name(layer) == TABLE:
            writes.writable(layer, principal)
            return layer
    raise Forbidden("service points are not writable by this role")


async def _unmoved(conn: asyncpg.Connection, principal: Principal, changes: Changes) -> None:
    """Every live point the changes name is there, the caller's, and of the version they were
    made against (Conflict, Forbidden otherwise)."""
    if not changes.touched:
        return
    rows = await conn.fetch(scenarios.TOUCHED_SQL, list(changes.touched), bound_org(principal))
    now = {int(r["id"]): str(r["etag"]) for r in rows}
    gone = sorted(set(changes.touched) - set(now))
    if gone:
        raise Conflict(f"service points {gone[:20]} were deleted since the scenario was made")
    outside = sorted(int(r["id"]) for r in rows if not r["mine"])
    if outside:
        raise Forbidden(f"service points {outside[:20]} are outside the caller's organisation")
    bare = sorted(set(changes.touched) - {i for i, _ in changes.etags})
    if bare:
        raise Conflict(
            f"the changes to service points {bare[:20]} carry no version (etag): save the "
            "scenario again to stamp the points' current versions, then promote it"
        )
    moved = sorted({i for i, tag in changes.etags if now[i] != tag})
    if moved:
        raise Conflict(
            f"service points {moved[:20]} changed since the scenario was made: review its "
            "changes and save them again (without their old etag) before promoting"
        )


def _properties(site: Site) -> dict[str, Any]:
    """A scenario point's properties as a service point feature's (capacity: whole m²)."""
    props: dict[str, Any] = {}
    for key in ("name", "kind", "opening_hours"):
        if getattr(site, key) is not None:
            props[key] = getattr(site, key)
    if site.capacity is not None:
        props["capacity"] = round(site.capacity)
    return props


async def _apply(conn: asyncpg.Connection, layer: Layer, principal: Principal, actor: Actor,
                 changes: Changes, org_id: int | None) -> dict[str, list[int]]:  # fmt: skip
    """Delete, patch and create through the writes path (each write a savepoint of ours)."""
    tag = {i: [f'"{t}"'] for i, t in changes.etags}
    out: dict[str, list[int]] = {"deleted": [], "updated": [], "created": []}
    for sid in changes.removed:
        await writes.delete(conn, layer, principal, actor, str(sid), tag[sid], None)
        out["deleted"].append(sid)
    for site in changes.patched:
        moved = site.lon is not None
        patch = writes.Feature(_properties(site), site.lon, site.lat, geometry_given=moved)
        done = await writes.update(conn, layer, principal, actor, str(site.id), tag[site.id], patch)
        out["updated"].append(done.id)
    for site in changes.added:
        props = _properties(site)
        if org_id is not None:
            props["org_id"] = org_id
        feature = writes.Feature(props, site.lon, site.lat)
        done = await writes.create(conn, layer, principal, actor, feature)
        out["created"].append(done.id)
    return out


async def promote(
    conn: asyncpg.Connection, principal: Principal, actor: Actor, scenario_id: int
) -> dict[str, Any]:
    """Make the scenario live in one transaction: the ids deleted, updated and created."""
    layer = service_points(principal)
    try:
        async with conn.transaction():
            if await conn.fetchval(LOCK_SQL, scenario_id) is None:
                raise NotFound(f"no scenario {scenario_id}")
            found = await scenarios.read(conn, principal, scenario_id)
            changes = normalise(found["changes"])
            await _unmoved(conn, principal, changes)
            org = found["org_id"] if found["org_id"] is not None else bound_org(principal)
            done = await _apply(conn, layer, principal, actor, changes, org)
            await conn.execute(scenarios.DELETE_SQL, scenario_id)
    except PreconditionFailed as exc:  # a point changed between our check and its write
        raise Conflict(str(exc)) from exc
    return {
        "scenario_id": scenario_id,
        **done,
        "candidates_left": len(changes.candidates),
        "request_id": actor.request_id,
    }
