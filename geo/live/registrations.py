"""Registration (报名): a member registers for an activity, or goes on its waitlist when it is
full; cancelling moves the first of the waitlist up, and so does a write raising the capacity
(`fill_waitlist`, from geo/live/writes.py). Every change writes `registration.changed`
in its own transaction, with counts published under the privacy rule (geo.privacy.shown).

Only a member who may attend the activity registers (geo.scope.attendable: a member of the
organiser's tree or of an invited organisation's); anyone else is refused with 403
`Registration.not_invited`, the reason check-in gives (`CheckinRefused.not_invited`). A
registration of a member who may not attend (made before registration applied the rule, or its
invitation withdrawn since: geo.scope.attends row by row) stays in the table but is not invited:
it is not counted, holds no place, never moves up the waitlist, admits to no check-in, and its
member and the organiser see it as `not_invited`.

Changes of one activity's registrations take the activity's row lock, so the capacity holds and
the waitlist keeps its order (`created_at`, then id) under concurrent calls. The organiser (a
leader, steward or admin whose scope holds the organising organisation) sees names and exact
counts; everyone else sees counts of 0 or at least K only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg

from geo import compose
from geo.db.partition import layout
from geo.errors import Conflict, Forbidden, NotFound
from geo.live import events
from geo.privacy import K, shown
from geo.scope import Principal, attendable, attends

ORGANISER_ROLES = ("leader", "steward", "admin")
NEARBY_DAYS = 30
NEARBY_LIMIT = 20
HISTORY_LIMIT = 100


def _q(name: str) -> str:
    return compose.sql_file(__file__, name)


def _invited(name: str, order: tuple[str, ...], **attending: tuple[str, str]) -> str:
    """A statement over registrations that counts only members who may attend: each named
    condition is geo.scope.attends of a (registration alias, activity alias) pair, e.g.
    ("w", "a") for w.member_id and activity a; the slots named in `order` are $1, $2, …"""
    pieces = {k: attends(f"{reg}.member_id", act) for k, (reg, act) in attending.items()}
    slots = {k: compose.param(k) for k in order}
    return compose.sql(_q(name), **pieces, **slots).compile(order=order).text


ACTIVITY_SQL = _q("reg_activity.sql")
COUNTS_SQL = _invited("reg_counts.sql", ("activity",), attends=("r", "a"))
UPSERT_SQL = _q("reg_upsert.sql")
UPSERT_PARTITIONED_SQL = _q("reg_upsert_partitioned.sql")
CANCEL_SQL = _q("reg_cancel.sql")
PROMOTE_SQL = _invited(
    "reg_promote.sql", ("activity", "capacity"), waiting=("w", "a"), holding=("x", "xa")
)
POSITION_SQL = _invited("reg_position.sql", ("activity", "member"), attends=("w", "a"))
ROSTER_SQL = _invited("reg_roster.sql", ("activity",), attends=("r", "a"))
ATTENDABLE_SQL = _q("reg_attendable.sql")
ORGANISES_SQL = (
    "SELECT $2::bigint IS NULL OR $1::bigint IN (SELECT s.id FROM org_subtree($2::bigint) s)"
)
ACTIVITY_PLAIN_SQL = "SELECT a.id, a.organiser_id, a.capacity FROM activities a WHERE a.id = $1"


class RegistrationConflict(Conflict):
    """The registration cannot change in this state (HTTP 409); `reason` in one word."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.code = f"Registration.{reason}"


class RegistrationRefused(Forbidden):
    """The member may not register for this activity (HTTP 403); `reason` in one word."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.code = f"Registration.{reason}"


async def check_attendable(conn: asyncpg.Connection, activity_id: int, member_id: int) -> None:
    """403 `Registration.not_invited` unless the member may attend the activity (the one rule,
    geo.scope.attendable); 404 when there is no such activity."""
    stmt = compose.sql(
        ATTENDABLE_SQL,
        invited=attendable(member_id, "a"),
        activity=compose.value(activity_id),
    )
    row = await conn.fetchrow(stmt.compile().text, *stmt.args())
    if row is None:
        raise NotFound(f"activity {activity_id} does not exist")
    if not row["attendable"]:
        raise RegistrationRefused(
            "not_invited",
            "not invited: the activity is open to members of its organiser and of the "
            "organisations it invites only, and your branch is under none of them",
        )


@dataclass(frozen=True)
class Counts:
    """An activity's exact counts: registered, waitlisted and checked-in members."""

    registered: int
    waitlisted: int
    attended: int

    def published(self, capacity: int | None, *, exact: bool) -> dict[str, Any]:
        """The counts for a reader: exact for the organiser, else each 0 or at least K (a
        smaller one is null and `fewer_than` says K). A waitlist only forms when the activity
        is full, so a waitlist told (even as null, or 0 against null) beside a held-back
        registered count would give that count as the capacity: it is held back with it."""
        pick = (lambda n: n) if exact else shown
        registered = pick(self.registered)
        out: dict[str, Any] = {
            "registered": registered,
            "waitlisted": None if registered is None else pick(self.waitlisted),
            "attended": pick(self.attended),
            "capacity": capacity,
        }
        if any(out[k] is None for k in ("registered", "waitlisted", "attended")):
            out["fewer_than"] = K
        return out


@dataclass(frozen=True)
class Registration:
    """A member's registration as its change left it."""

    activity_id: int
    member_id: int
    status: str
    position: int | None = None
    promoted: int = 0  # how many moved up from the waitlist with this change

    def as_json(self) -> dict[str, Any]:
        """The registration for its member (the members who moved up are not named)."""
        out: dict[str, Any] = {"activity_id": self.activity_id, "status": self.status}
        if self.position is not None:
            out["position"] = self.position
        return out


async def counts(conn: asyncpg.Connection, activity_id: int) -> Counts:
    """The activity's exact counts."""
    row = await conn.fetchrow(COUNTS_SQL, activity_id)
    return Counts(int(row["registered"]), int(row["waitlisted"]), int(row["attended"]))


async def _locked(conn: asyncpg.Connection, activity_id: int) -> asyncpg.Record:
    act = await conn.fetchrow(ACTIVITY_SQL, activity_id)
    if act is None:
        raise NotFound(f"activity {activity_id} does not exist")
    return act


async def _emit(conn: asyncpg.Connection, act: asyncpg.Record) -> None:
    """`registration.changed` with the public counts, in the change's transaction."""
    now = await counts(conn, act["id"])
    data = {"activity_id": act["id"], **now.published(act["capacity"], exact=False)}
    data.pop("attended")  # the event tells of registrations (check-ins have their own)
    event = events.NewEvent("registration.changed", f"activities/{act['id']}", None, "public", data)
    text, args = events.insert(event)
    await conn.fetchrow(text, *args)


async def register(
    conn: asyncpg.Connection, activity_id: int, member_id: int, *, now: datetime | None = None
) -> Registration:
    """Register the member, or waitlist them (with their place) when the activity is full."""
    now = now or datetime.now(UTC)
    async with conn.transaction():
        act = await _locked(conn, activity_id)
        await check_attendable(conn, activity_id, member_id)
        if act["status"] == "cancelled":
            raise RegistrationConflict("activity_cancelled", "the activity was cancelled")
        if act["ends_at"] <= now:
            raise RegistrationConflict(
                "ended", f"the activity ended at {act['ends_at'].isoformat()}"
            )
        have = await counts(conn, activity_id)
        full = act["capacity"] is not None and have.registered >= act["capacity"]
        row = await conn.fetchrow(
            UPSERT_PARTITIONED_SQL if layout.partitioned() else UPSERT_SQL,
            activity_id,
            member_id,
            "waitlisted" if full else "registered",
        )
        if row is None:
            raise RegistrationConflict(
                "already_registered", "you are already registered (or on the waitlist)"
            )
        position = None
        if row["status"] == "waitlisted":
            position = int(await conn.fetchval(POSITION_SQL, activity_id, member_id))
        await _emit(conn, act)
    return Registration(activity_id, member_id, row["status"], position)


async def fill_waitlist(conn: asyncpg.Connection, activity_id: int) -> int:
    """Move waitlisted members up, first come first, into the places a write made (a raised or
    lifted capacity), and tell of it with `registration.changed` as a cancellation does; how
    many moved. Run inside the write's transaction, which holds the activity's row lock (taken
    here otherwise), so no registration slips in between. A cancelled activity's waitlist stays."""
    act = await conn.fetchrow(ACTIVITY_SQL, activity_id)
    if act is None or act["status"] == "cancelled":
        return 0
    moved = len(await conn.fetch(PROMOTE_SQL, activity_id, act["capacity"]))
    if moved:
        await _emit(conn, act)
    return moved


async def cancel(conn: asyncpg.Connection, activity_id: int, member_id: int) -> Registration:
    """Cancel the member's registration; the first of the waitlist moves up into a freed place."""
    async with conn.transaction():
        act = await _locked(conn, activity_id)
        row = await conn.fetchrow(CANCEL_SQL, activity_id, member_id)
        if row is None:
            raise NotFound(f"no registration of this member for activity {activity_id}")
        moved = len(await conn.fetch(PROMOTE_SQL, activity_id, act["capacity"]))
        await _emit(conn, act)
    return Registration(activity_id, member_id, "cancelled", promoted=moved)


async def organises(conn: asyncpg.Connection, principal: Principal, organiser_id: int) -> bool:
    """True when the caller may act as the activity's organiser (names, codes, scans)."""
    if principal.role not in ORGANISER_ROLES:
        return False
    if principal.is_admin:
        return True
    return bool(await conn.fetchval(ORGANISES_SQL, organiser_id, principal.org_id))


async def require_organiser(
    conn: asyncpg.Connection, principal: Principal, activity_id: int
) -> asyncpg.Record:
    """The activity (id, organiser_id, capacity) when the caller organises it; 404 when there
    is none, 403 when the caller does not organise it (activities are public: no need to hide)."""
    act = await conn.fetchrow(ACTIVITY_PLAIN_SQL, activity_id)
    if act is None:
        raise NotFound(f"activity {activity_id} does not exist")
    if not await organises(conn, principal, act["organiser_id"]):
        raise Forbidden(
            "only the activity's organiser (a leader over its organisation) may do this"
        )
    return act


def _roster_entry(row: asyncpg.Record, position: int | None) -> dict[str, Any]:
    return {
        "member_id": row["member_id"],
        "name": row["name"],
        "branch": row["branch"],
        "status": row["status"],
        "position": position,
        "registered_at": row["registered_at"].isoformat() if row["registered_at"] else None,
        "checked_in_at": row["checked_at"].isoformat() if row["checked_at"] else None,
        "method": row["method"],
    }


async def summary(
    conn: asyncpg.Connection, principal: Principal, activity_id: int
) -> dict[str, Any]:
    """An activity's registrations for the caller: the organiser gets exact counts and the
    list by name; anyone else gets counts published under the privacy rule, and no list."""
    act = await conn.fetchrow(ACTIVITY_PLAIN_SQL, activity_id)
    if act is None:
        raise NotFound(f"activity {activity_id} does not exist")
    exact = await organises(conn, principal, act["organiser_id"])
    now = await counts(conn, activity_id)
    out = {"activity_id": activity_id, **now.published(act["capacity"], exact=exact)}
    out["members"] = None
    if exact:
        rows = await conn.fetch(ROSTER_SQL, activity_id)
        queue = 0
        members = []
        for row in rows:
            queue += row["status"] == "waitlisted"
            members.append(_roster_entry(row, queue if row["status"] == "waitlisted" else None))
        out["members"] = members
    return out
