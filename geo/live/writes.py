"""Writes through OGC API Features Part 4: create, replace, update (merge patch) and delete.

Who may write (issue 12 §1):
- activities: a leader bound to an organisation (its secretary) writes the activities of its
  subtree; a steward or admin any (a steward bound to an organisation: its subtree, as for
  imports);
- service points and organisations: stewards and admins (bound stewards: their subtree);
- 党建网格 (grids, shapes): planners, stewards and admins (bound ones: grids of their subtree);
- members, planners and the public write nothing; other collections are read-only here.
An item the caller may not see is NotFound; one it sees but may not write, or a write that would
put a row outside the caller's subtree, is `OutOfScope` (403).

Every write checks the feature as an import checks a row (geo/live/feature_rows.py), runs in one
transaction with its audit entry (geo/live/audit.py) and, for activities, their invited
organisations (geo/live/invitations.py) and its `activity.*` event (geo/live/events.py), and is conditional: PUT, PATCH and DELETE name the ETag they saw
(`PreconditionFailed` when it is stale). Deleting an activity that has registrations or check-ins
cancels it instead (status 'cancelled' with the reason): its members see it in their activities.
A replace or patch of an activity that raises (or lifts) its capacity moves the waitlist up in the
same transaction (geo.live.registrations.fill_waitlist, with its `registration.changed`).
"""

from __future__ import annotations

import asyncio
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg

from geo.compose import sql_file
from geo.errors import Conflict, Forbidden, NotFound, PreconditionFailed, Rejected
from geo.live import audit, events, invitations, items, registrations
from geo.live.audit import Actor
from geo.live.feature_rows import (
    COORDINATES,
    INVITED,
    TABLES,
    Draft,
    Refs,
    Table,
    check,
    draft,
    place_at_service_point,
    read_ids,
    references,
)
from geo.live.items import Stored
from geo.scope import Principal, bound_org
from layers.base import Layer

IN_SUBTREE = sql_file(__file__, "sql/in_subtree.sql")
IN_USE = sql_file(__file__, "sql/activity_in_use.sql")
CANCEL = sql_file(__file__, "sql/cancel_activity.sql")
MAX_REASON = 500
EVENT_FIELDS = ("id", "title", "kind", "starts_at", "ends_at", "service_point_id", "organiser_id")


class OutOfScope(Forbidden):
    """The item, or what the write would make of it, lies outside the caller's subtree."""

    code = "out_of_scope"


@dataclass(frozen=True)
class Feature:
    """A feature as written: its Point's coordinates (None: no point) or its shape's GeoJSON
    geometry, and properties; `geometry_given` is False when a merge patch leaves it alone."""

    properties: dict[str, Any]
    lon: float | None = None
    lat: float | None = None
    geometry_given: bool = True
    shape: dict[str, Any] | None = None


@dataclass(frozen=True)
class Written:
    """What a write did: the item's id, its new ETag and record (None once deleted)."""

    id: int
    action: str
    etag: str | None = None
    record: dict[str, Any] | None = None


def writable(layer: Layer, principal: Principal) -> str:
    """The table the caller may write behind this collection (Forbidden otherwise)."""
    name = items.table_name(layer)
    if name is None:
        raise Forbidden(f"{layer.id} is read-only through the API (import it instead)")
    roles = TABLES[name].writers
    if principal.role not in roles:
        raise Forbidden(f"role {principal.role!r} may not write {layer.id} ({', '.join(roles)})")
    if principal.role == "leader" and principal.org_id is None:
        raise Forbidden("only a leader bound to an organisation (its secretary) writes activities")
    return name


def if_match(item: Stored, tags: list[str]) -> None:
    """PreconditionFailed unless one of the If-Match tags is the item's current ETag."""
    if f'"{item.etag}"' not in tags:
        raise PreconditionFailed(
            f'the item changed since the ETag you sent (now "{item.etag}"): reload it and retry'
        )


async def _found(conn: asyncpg.Connection, layer: Layer, principal: Principal, key: int) -> Stored:
    item = await items.stored(conn, layer, principal, key)
    if item is None or not item.visible:
        raise NotFound(f"no feature {key} in {layer.id}")
    if not item.writable:
        raise OutOfScope(f"feature {key} of {layer.id} is outside your organisation's subtree")
    return item


async def _in_subtree(conn: asyncpg.Connection, root: int, org: object) -> bool:
    return isinstance(org, int) and bool(await conn.fetchval(IN_SUBTREE, root, org))


async def _check_owner(
    conn: asyncpg.Connection,
    principal: Principal,
    name: str,
    cols: dict[str, Any],
    before: Stored | None,
) -> None:
    """OutOfScope when a bound caller's write would put the row outside its subtree (the root
    organisation itself may change but not move)."""
    root = bound_org(principal)
    if root is None:
        return
    if TABLES[name].owner == "id":  # an organisation hangs on the tree by its parent
        if before is not None and before.id == root:
            if cols["parent_id"] != before.record.get("parent_id"):
                raise OutOfScope("your own organisation may not be moved to another parent")
            return
        owner = cols["parent_id"]
    else:
        owner = cols[TABLES[name].owner]
    if not await _in_subtree(conn, root, owner):
        raise OutOfScope("the item would belong to an organisation outside your subtree")


def _read_only(d: Draft, before: dict[str, Any]) -> None:
    """Read-only properties may be sent back unchanged, never changed."""
    for name, value in d.read_only.items():
        if name == "updated_at" or value is None or value == before.get(name):
            continue
        why = "set by DELETE (cancel)" if name in ("status", "cancel_reason") else "the item's own"
        d.problem(["properties", name], "read_only", f"{name} is read-only ({why})")


def _locate(d: Draft, feature: Feature, base: dict[str, Any] | None) -> None:
    if feature.geometry_given or base is None:
        d.row["lon"], d.row["lat"] = (
            (None, None) if feature.lon is None else (repr(feature.lon), repr(feature.lat))
        )
        d.shape = feature.shape
    else:
        d.row["lon"], d.row["lat"] = base.get("lon"), base.get("lat")
        d.shape = json.loads(base["geometry"]) if base.get("geometry") else None


async def _checked(
    conn: asyncpg.Connection, table: Table, d: Draft
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The draft checked: its columns (references as ids) and its values (with lon/lat)."""
    await read_ids(conn, table, d)
    await invitations.read(conn, d)
    refs: Refs = await references(conn, table, d.row)
    place_at_service_point(table, d.row, refs)
    values = await asyncio.to_thread(check, table, d, refs)
    ids = {
        f.name: refs.id_of(f.ref or "", values.get(f.name))
        for f in table.spec.fields
        if f.type == "ref"
    }
    return items.columns(table, values, ids), values


def _new_code(table: Table) -> str:
    day = datetime.now(UTC).strftime("%Y%m%d")
    return f"{table.prefix}-{day}-{secrets.token_hex(3)}"


async def _announce(
    conn: asyncpg.Connection, layer: Layer, kind: str, record: dict[str, Any], deleted: bool = False
) -> None:
    """The activity.* event of an activity write, in its transaction."""
    data = {k: record.get(k) for k in EVENT_FIELDS}
    data.update(status="cancelled" if deleted else record.get("status"), layer=layer.id)
    if data["status"] == "cancelled":
        data["cancel_reason"] = record.get("cancel_reason")
    if deleted:
        data["deleted"] = True
    event = events.NewEvent(
        kind, f"{layer.table}/{record['id']}", record.get("organiser_id"), "public", data
    )
    text, args = events.insert(event)
    await conn.fetchrow(text, *args)


async def _finish(
    conn: asyncpg.Connection,
    layer: Layer,
    actor: Actor,
    action: str,
    before: Stored | None,
    key: int,
    principal: Principal,
) -> Written:
    """Audit (and announce) the write just made, in its transaction; what it did."""
    after = await items.stored(conn, layer, principal, key, lock=False)
    record = after.record if after else None
    old = before.record if before else None
    await audit.record(conn, actor, action, layer.id, key, old, record)
    name = items.table_name(layer)
    if name is not None and TABLES[name].activities:
        kind = {"create": "activity.created", "cancel": "activity.cancelled"}.get(
            action, "activity.updated" if record else "activity.cancelled"
        )
        await _announce(conn, layer, kind, record or old or {}, deleted=record is None)
    return Written(key, action, after.etag if after else None, record)


def _write_errors(exc: asyncpg.PostgresError) -> Exception:
    if isinstance(exc, asyncpg.UniqueViolationError):
        return Conflict("an item with this code exists already: choose another code")
    if isinstance(exc, asyncpg.ForeignKeyViolationError):
        return Conflict("other rows still refer to this item (or it refers to a removed one)")
    return exc


async def create(
    conn: asyncpg.Connection, layer: Layer, principal: Principal, actor: Actor, feature: Feature
) -> Written:
    """A new item (an activity's organiser defaults to the caller's organisation; a missing
    code is made up: `ACT-20261205-a1b2c3`)."""
    name = writable(layer, principal)
    table = TABLES[name]
    d = draft(table, feature.properties)
    _read_only(d, {"status": "scheduled"} if table.activities else {})
    if "id" in d.read_only and d.read_only["id"] is not None:
        d.problem(["properties", "id"], "read_only", "id is chosen by the server")
    owner = table.id_props.get(table.owner)
    absent = owner is not None and owner not in d.row and owner not in d.ids
    if table.activities and absent and principal.org_id is not None:
        d.ids[str(owner)] = principal.org_id
        d.sent[str(owner)] = table.owner
    d.row.setdefault("code", _new_code(table))
    _locate(d, feature, None)
    cols, values = await _checked(conn, table, d)
    await _check_owner(conn, principal, name, cols, None)
    await invitations.check_tree(conn, d, cols.get(table.owner))
    try:
        async with conn.transaction():
            key = await items.insert(conn, name, cols, values)
            await invitations.store(conn, key, d)
            return await _finish(conn, layer, actor, "create", None, key, principal)
    except asyncpg.PostgresError as exc:
        raise _write_errors(exc) from exc


async def _rewrite(
    conn: asyncpg.Connection,
    layer: Layer,
    principal: Principal,
    actor: Actor,
    key: int,
    tags: list[str],
    make: Any,
) -> Written:
    """Replace or patch: lock the item, check its ETag, build the draft with `make(before,
    fields)`, check it, write it."""
    name = writable(layer, principal)
    table = TABLES[name]
    try:
        async with conn.transaction():
            before = await _found(conn, layer, principal, key)
            if_match(before, tags)
            fields = await items.current_fields(conn, name, key)
            d, action = make(table, before, fields)
            _read_only(d, before.record)
            cols, values = await _checked(conn, table, d)
            await _check_owner(conn, principal, name, cols, before)
            await invitations.check_tree(conn, d, cols.get(table.owner))
            await items.update(conn, name, key, cols, values)
            await invitations.store(conn, key, d)
            done = await _finish(conn, layer, actor, action, before, key, principal)
            if table.activities:  # a raised capacity moves the waitlist up, in this transaction
                await registrations.fill_waitlist(conn, key)
            return done
    except asyncpg.PostgresError as exc:
        raise _write_errors(exc) from exc


async def replace(
    conn: asyncpg.Connection,
    layer: Layer,
    principal: Principal,
    actor: Actor,
    fid: str,
    tags: list[str],
    feature: Feature,
) -> Written:
    """PUT: the item becomes the feature (its code stays when the feature names none; an
    activity naming no invited organisations invites none)."""

    def make(table: Table, before: Stored, fields: dict[str, Any]) -> tuple[Draft, str]:
        d = draft(table, feature.properties)
        d.row.setdefault("code", fields["code"])
        if table.activities and d.invited_sent is None:
            d.invited_sent, d.invited = INVITED[0], []
        _locate(d, feature, None)
        return d, "replace"

    return await _rewrite(conn, layer, principal, actor, items.key_of(layer, fid), tags, make)


async def update(
    conn: asyncpg.Connection,
    layer: Layer,
    principal: Principal,
    actor: Actor,
    fid: str,
    tags: list[str],
    patch: Feature,
) -> Written:
    """PATCH (JSON merge patch, RFC 7396): the patch's properties over the stored ones (null
    removes a value), its geometry when it has one; the result is checked whole."""

    def make(table: Table, before: Stored, fields: dict[str, Any]) -> tuple[Draft, str]:
        d = draft(table, patch.properties)
        kept = (*COORDINATES, "geometry")
        base = {k: v for k, v in fields.items() if k not in d.ids and k not in kept}
        d.row = {**base, **d.row}
        _locate(d, patch, fields)
        return d, "update"

    return await _rewrite(conn, layer, principal, actor, items.key_of(layer, fid), tags, make)


async def delete(
    conn: asyncpg.Connection,
    layer: Layer,
    principal: Principal,
    actor: Actor,
    fid: str,
    tags: list[str],
    reason: str | None,
) -> Written:
    """DELETE: the item is removed; an activity with registrations or check-ins is cancelled
    with `reason` instead (Conflict when it is cancelled already)."""
    name = writable(layer, principal)
    key = items.key_of(layer, fid)
    try:
        async with conn.transaction():
            before = await _found(conn, layer, principal, key)
            if_match(before, tags)
            if TABLES[name].activities and await conn.fetchval(IN_USE, key):
                await _cancel(conn, before, reason)
                return await _finish(conn, layer, actor, "cancel", before, key, principal)
            await items.delete(conn, name, key)
            return await _finish(conn, layer, actor, "delete", before, key, principal)
    except asyncpg.PostgresError as exc:
        raise _write_errors(exc) from exc


async def _cancel(conn: asyncpg.Connection, before: Stored, reason: str | None) -> None:
    if before.record.get("status") == "cancelled":
        raise Conflict("this activity is cancelled already (it has registrations or check-ins)")
    text = (reason or "").strip()
    if not text or len(text) > MAX_REASON:
        why = "is empty" if not text else f"is longer than {MAX_REASON} characters"
        message = (
            f"reason {why}: this activity has registrations or check-ins, so DELETE cancels it "
            'and its members are told why (?reason=… or a JSON body {"reason": …})'
        )
        raise Rejected(
            message, [{"loc": ["query", "reason"], "msg": message, "code": "missing_required"}]
        )
    await conn.execute(CANCEL, before.id, text)


async def etag(conn: asyncpg.Connection, layer: Layer, fid: str) -> str | None:
    """The ETag of a writable collection's item (None: read-only collection or no such item)."""
    if items.table_name(layer) is None:
        return None
    try:
        key = items.key_of(layer, fid)
    except NotFound:
        return None
    return await items.etag(conn, layer, key)
