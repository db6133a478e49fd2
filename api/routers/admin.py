"""`/api/admin/…`: users and roles, embed keys and screen keys, for admins (the `/admin` page
calls these). 401 anonymous, 403 other roles; every change is audited like a feature write."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.responses import HTMLResponse

from api.auth import require_role
from api.deps import NO_NUL, get_pool
from api.models.admin import (
    AdminUser,
    EmbedKeyList,
    EmbedKeyOut,
    EmbedKeyPatch,
    NewEmbedKey,
    NewScreenKey,
    NewUserIn,
    PasswordReset,
    ScreenKeyList,
    ScreenKeyOut,
    UserList,
    UserPatch,
)
from api.models.errors import errors
from api.routers.features_write import REQUEST_ID
from api.routers.pages import _html
from geo.admin import accounts, keys
from geo.live.audit import Actor
from geo.scope import Principal
from geo.users import User
from web.admin import admin_page
from web.i18n import pick_lang

router = APIRouter(prefix="/admin", tags=["admin"])
page_router = APIRouter()  # the /admin page (no /api prefix, not in the API document)
Admin = Annotated[Principal, Depends(require_role("admin"))]
Pool = Annotated[asyncpg.Pool, Depends(get_pool)]
RequestId = Annotated[
    str | None,
    Header(alias="X-Request-ID", description="kept in the audit (made up when absent)"),
]
UserName = Annotated[str, Path(min_length=1, max_length=64, pattern=NO_NUL)]
KeyHandle = Annotated[
    str, Path(min_length=1, max_length=200, pattern=NO_NUL, description="the key, or its id")
]
ADMIN_ONLY = (403, "only admins manage users and keys")
USER_CONFLICT = (
    409,
    "you cannot disable yourself, drop your own admin role or reset your own password",
)
BAD_ORIGINS = (400, "an origin is not scheme://host[:port]: `errors` lists each")


def _actor(principal: Principal, request_id: str | None) -> Actor:
    rid = request_id if request_id and REQUEST_ID.match(request_id) else uuid.uuid4().hex
    return Actor(principal.username, principal.role, rid)


def _user(user: User) -> AdminUser:
    body: dict[str, Any] = accounts.public(user)
    body |= {"created_at": user.created_at, "last_login_at": user.last_login_at}
    return AdminUser.model_validate(body)


@router.get(
    "/users",
    summary="Every user with role, scope and state (admin)",
    response_model=UserList,
    responses=errors(ADMIN_ONLY, 503),
)
async def users_list(admin: Admin, pool: Pool) -> UserList:
    """Every user, by name (no password hashes)."""
    async with pool.acquire() as conn:
        return UserList(users=[_user(u) for u in await accounts.list_users(conn)])


@router.post(
    "/users",
    status_code=201,
    summary="Add a user (admin)",
    response_model=AdminUser,
    responses=errors(
        (400, "bad name, password, role or scope (a member user needs a member record)"),
        ADMIN_ONLY,
        (404, "no such organisation or member"),
        (409, "the name is taken"),
        503,
    ),
)
async def users_add(
    body: NewUserIn, admin: Admin, pool: Pool, request_id: RequestId = None
) -> AdminUser:
    """Create a user with a role and a scope (an organisation's subtree; none: the district)."""
    new = accounts.NewUser(body.username, body.password, body.role, body.org, body.member)
    async with pool.acquire() as conn:
        return _user(await accounts.add_user(conn, _actor(admin, request_id), new))


@router.patch(
    "/users/{name}",
    summary="Change a user's role, scope, member link or state (admin)",
    response_model=AdminUser,
    responses=errors(
        (400, "the role and scope do not fit together"),
        ADMIN_ONLY,
        (404, "no such user, organisation or member"),
        USER_CONFLICT,
        503,
    ),
)
async def users_change(
    name: UserName, body: UserPatch, admin: Admin, pool: Pool, request_id: RequestId = None
) -> AdminUser:
    """Fields left out stay as they are; `org` or `member` null clears them. Disabling a user
    refuses their tokens at once."""
    fields: dict[str, Any] = {
        f: getattr(body, f) for f in ("org", "member") if f in body.model_fields_set
    }
    if body.role is not None:  # a role or a state cannot be cleared: null leaves them
        fields["role"] = body.role
    if body.active is not None:
        fields["active"] = body.active
    change = accounts.UserChange(**fields)
    async with pool.acquire() as conn:
        return _user(
            await accounts.change_user(conn, _actor(admin, request_id), admin, name, change)
        )


@router.post(
    "/users/{name}/password",
    summary="Reset a user's password (admin): the new one is answered once",
    response_model=PasswordReset,
    responses=errors(ADMIN_ONLY, (404, "no such user"), USER_CONFLICT, 503),
)
async def users_password(
    name: UserName, admin: Admin, pool: Pool, response: Response, request_id: RequestId = None
) -> PasswordReset:
    """A new random password, stored as its hash; shown in this answer only, never logged."""
    async with pool.acquire() as conn:
        user, password = await accounts.reset_password(conn, _actor(admin, request_id), admin, name)
    response.headers["Cache-Control"] = "no-store"
    return PasswordReset(username=user.username, password=password)


@router.get(
    "/embed-keys",
    summary="Every embed key with its origins (admin)",
    response_model=EmbedKeyList,
    responses=errors(ADMIN_ONLY, 503),
)
async def embed_keys_list(admin: Admin, pool: Pool) -> EmbedKeyList:
    """Every embed key, oldest first (in full: the portal publishes it in its iframe)."""
    async with pool.acquire() as conn:
        found = await keys.list_embed_keys(conn)
    return EmbedKeyList(keys=[EmbedKeyOut.model_validate(k) for k in found])


@router.post(
    "/embed-keys",
    status_code=201,
    summary="Create an embed key bound to origins (admin)",
    response_model=EmbedKeyOut,
    responses=errors(BAD_ORIGINS, ADMIN_ONLY, 503),
)
async def embed_keys_add(
    body: NewEmbedKey, admin: Admin, pool: Pool, request_id: RequestId = None
) -> EmbedKeyOut:
    """A new key for the portal's iframe, allowed on `origins` only."""
    async with pool.acquire() as conn:
        key = await keys.add_embed_key(conn, _actor(admin, request_id), body.name, body.origins)
    return EmbedKeyOut.model_validate(key)


@router.patch(
    "/embed-keys/{key}",
    summary="Revoke or enable an embed key, or replace its origins (admin)",
    response_model=EmbedKeyOut,
    responses=errors(
        BAD_ORIGINS,
        ADMIN_ONLY,
        (404, "no such embed key"),
        503,
    ),
)
async def embed_keys_change(
    key: KeyHandle, body: EmbedKeyPatch, admin: Admin, pool: Pool, request_id: RequestId = None
) -> EmbedKeyOut:
    """`active` false revokes the key (its iframes show the refusal); `origins` replaces them."""
    actor = _actor(admin, request_id)
    async with pool.acquire() as conn:
        found = await keys.change_embed_key(conn, actor, key, body.active, body.origins)
    return EmbedKeyOut.model_validate(found)


@router.get(
    "/screen-keys",
    summary="Every screen key, masked (admin)",
    response_model=ScreenKeyList,
    responses=errors(ADMIN_ONLY, 503),
)
async def screen_keys_list(admin: Admin, pool: Pool) -> ScreenKeyList:
    """Every screen key, oldest first; keys are secrets, shown masked."""
    async with pool.acquire() as conn:
        found = await keys.list_screen_keys(conn)
    return ScreenKeyList(keys=[ScreenKeyOut.model_validate(keys.screen_row(k)) for k in found])


@router.post(
    "/screen-keys",
    status_code=201,
    summary="Create a screen key (admin): the full key is answered once",
    response_model=ScreenKeyOut,
    responses=errors((400, "bad name"), ADMIN_ONLY, (404, "no such organisation"), 503),
)
async def screen_keys_add(
    body: NewScreenKey, admin: Admin, pool: Pool, response: Response, request_id: RequestId = None
) -> ScreenKeyOut:
    """A key for `/screen?key=…`, reading what the leader of `org`'s subtree sees."""
    async with pool.acquire() as conn:
        key = await keys.add_screen_key(conn, _actor(admin, request_id), body.name, body.org)
    response.headers["Cache-Control"] = "no-store"
    return ScreenKeyOut.model_validate(keys.screen_row(key, full=True))


@router.delete(
    "/screen-keys/{key}",
    summary="Revoke a screen key (admin)",
    response_model=ScreenKeyOut,
    responses=errors(ADMIN_ONLY, (404, "no such screen key"), 503),
)
async def screen_keys_revoke(
    key: KeyHandle, admin: Admin, pool: Pool, request_id: RequestId = None
) -> ScreenKeyOut:
    """The key stops working at its screens' next request; the revoked key is answered."""
    async with pool.acquire() as conn:
        found = await keys.revoke_screen_key(conn, _actor(admin, request_id), key)
    return ScreenKeyOut.model_validate(keys.screen_row(found))


@page_router.get("/admin", include_in_schema=False)
async def admin_screen(
    request: Request, lang: Annotated[str | None, Query(description="zh-CN or en")] = None
) -> HTMLResponse:
    """The admin screen: users and roles, embed keys, screen keys (its script calls the API
    above with the logged-in admin's token)."""
    chosen = pick_lang(lang or request.cookies.get("djmap_lang"))
    return _html(request, admin_page(request.app, chosen))
