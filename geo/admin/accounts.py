"""Users and roles from the admin screen: list, add, change (role, scope, member link, enabled)
and reset a password. Every change is audited in its transaction (collection `users`); a
password or its hash never reaches the audit.

An admin may not disable themselves, drop their own admin role or reset their own password
(Conflict): the district must never lose its last way in through a slip of the admin screen."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from typing import Any

import asyncpg

from geo.compose import sql_file
from geo.errors import Conflict, NotFound
from geo.live.audit import Actor, record
from geo.scope import Principal
from geo.users import (
    SELECT_USERS,
    USER_BY_NAME,
    User,
    check_new_user,
    check_scope,
    hash_password,
    user_of,
)

ORG_SQL = sql_file(__file__, "sql/org_by_code.sql")
MEMBER_SQL = sql_file(__file__, "sql/member_by_external.sql")
INSERT_SQL = sql_file(__file__, "sql/user_insert.sql")
UPDATE_SQL = sql_file(__file__, "sql/user_update.sql")
PASSWORD_SQL = sql_file(__file__, "sql/user_password.sql")
ALL_SQL = SELECT_USERS + "ORDER BY u.username"
COLLECTION = "users"
UNSET: Any = object()  # a field the change leaves as it is


@dataclass(frozen=True)
class NewUser:
    """A user to add: `org` is an organisation code (None: the district), `member` the external
    id of the member record the login belongs to."""

    username: str
    password: str
    role: str
    org: str | None = None
    member: str | None = None


@dataclass(frozen=True)
class UserChange:
    """What to change of a user; UNSET fields stay (None clears `org` or `member`)."""

    role: Any = UNSET
    org: Any = UNSET
    member: Any = UNSET
    active: Any = UNSET


def public(user: User) -> dict[str, Any]:
    """What the screen and the audit show of a user (never the password hash)."""
    return {
        "username": user.username,
        "role": user.role,
        "org": user.org_code,
        "member": user.member_external_id,
        "active": user.active,
    }


async def list_users(conn: asyncpg.Connection) -> list[User]:
    """Every user, by name."""
    return [user_of(row) for row in await conn.fetch(ALL_SQL)]


async def get_user(conn: asyncpg.Connection, username: str) -> User:
    """The user `username`; NotFound when there is none."""
    row = await conn.fetchrow(USER_BY_NAME, username)
    if row is None:
        raise NotFound(f"no user {username!r}")
    return user_of(row)


async def _scope(
    conn: asyncpg.Connection, role: str, org: str | None, member: str | None
) -> tuple[int | None, int | None]:
    """(org_id, member_id) of an organisation code and a member's external id (check_scope)."""
    linked = org_id = None
    if member is not None:
        row = await conn.fetchrow(MEMBER_SQL, member)
        if row is None:
            raise NotFound(f"no member with external id {member!r}")
        linked = (int(row["id"]), int(row["branch_id"]))
    if org is not None:
        org_id = await conn.fetchval(ORG_SQL, org)
        if org_id is None:
            raise NotFound(f"no organisation with code {org!r}")
    return check_scope(role, org_id, linked)


async def add_user(conn: asyncpg.Connection, actor: Actor, new: NewUser) -> User:
    """Create a user (Conflict when the name is taken), audited as `create`."""
    check_new_user(new.username, new.password, new.role)
    hashed = await asyncio.to_thread(hash_password, new.password)  # argon2: off the loop
    async with conn.transaction():
        org_id, member_id = await _scope(conn, new.role, new.org, new.member)
        args = (new.username, hashed, new.role, org_id, member_id)
        try:
            await conn.fetchval(INSERT_SQL, *args)
        except asyncpg.UniqueViolationError:
            raise Conflict(f"user {new.username!r} exists") from None
        user = await get_user(conn, new.username)
        await record(conn, actor, "create", COLLECTION, user.id, None, public(user))
    return user


def _check_self(me: Principal, user: User, role: str, active: bool) -> None:
    if me.username != user.username:
        return
    if not active:
        raise Conflict("you cannot disable yourself; ask another admin")
    if role != "admin":
        raise Conflict("you cannot drop your own admin role; ask another admin")


async def change_user(
    conn: asyncpg.Connection, actor: Actor, me: Principal, username: str, change: UserChange
) -> User:
    """Change a user's role, scope, member link or state, audited as `update`."""
    async with conn.transaction():
        user = await get_user(conn, username)
        role = user.role if change.role is UNSET else change.role
        active = user.active if change.active is UNSET else bool(change.active)
        _check_self(me, user, role, active)
        member = user.member_external_id if change.member is UNSET else change.member
        org = user.org_code if change.org is UNSET else change.org
        if change.org is UNSET and (role in ("member", "admin") or change.member is not UNSET):
            org = None  # follows the (new) member record's branch, or the whole district
        org_id, member_id = await _scope(conn, role, org, member)
        await conn.execute(UPDATE_SQL, user.id, role, org_id, member_id, active)
        after = await get_user(conn, username)
        await record(conn, actor, "update", COLLECTION, user.id, public(user), public(after))
    return after


async def reset_password(
    conn: asyncpg.Connection, actor: Actor, me: Principal, username: str
) -> tuple[User, str]:
    """A new random password for the user (returned once, stored only as its hash); the audit
    notes that it was reset, never the password."""
    if me.username == username:
        raise Conflict("you cannot reset your own password here; ask another admin")
    password = secrets.token_urlsafe(12)
    hashed = await asyncio.to_thread(hash_password, password)  # argon2: off the loop
    async with conn.transaction():
        user = await get_user(conn, username)
        await conn.execute(PASSWORD_SQL, user.id, hashed)
        after = {**public(user), "password": "reset"}
        await record(conn, actor, "update", COLLECTION, user.id, public(user), after)
    return user, password
