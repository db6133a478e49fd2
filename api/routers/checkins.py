"""`POST /api/activities/{id}/checkins`: a logged-in member checks in on site (a position), or the
organiser checks a member in by scanning their card (a `member_code`)."""

from __future__ import annotations

from typing import Annotated

import asyncpg
from fastapi import APIRouter, Depends, Request, Response

from api.auth import unauthorized
from api.deps import RowId, get_pool, get_principal, get_settings
from api.models.analysis import Checkin, Position
from api.models.errors import errors
from api.models.registrations import MemberCode
from geo.analysis import checkin as core
from geo.errors import Forbidden
from geo.live import checkins as codes
from geo.live import tokens
from geo.scope import Principal

router = APIRouter(tags=["check-in"])


def member_id_of(principal: Principal) -> int:
    """The caller's member id; 401 when anonymous, 403 when logged in without a member record."""
    if principal.member_id is not None:
        return principal.member_id
    if principal.role == "public":
        raise unauthorized("log in to check in")
    raise Forbidden("only members can check in: this account has no member record")


def token_key(request: Request) -> bytes:
    """The key that signs check-in codes and member cards (geo.live.tokens), read once per app."""
    key: bytes | None = getattr(request.app.state, "token_key", None)
    if key is None:
        settings = get_settings(request)
        key = request.app.state.token_key = tokens.token_key(
            settings.api.secret_key, settings.db.home
        )
    return key


@router.post(
    "/activities/{activity_id}/checkins",
    summary="Check in to an activity: on site, or by the organiser scanning a member's card",
    status_code=201,
    response_model=Checkin,
    responses={
        200: {"description": "already checked in: the same check-in again", "model": Checkin},
        **errors(
            (400, "bad position, or not a member card of this server (Token.invalid)"),
            (401, "not logged in"),
            (
                403,
                "refused (CheckinRefused.too_far, not_started, ended, not_invited, cancelled), "
                "Token.expired, no member record, or (a card) not the activity's organiser",
            ),
            (404, "no such activity"),
            503,
        ),
    },
)
async def create_checkin(
    request: Request,
    activity_id: RowId,
    body: Position | MemberCode,
    pool: Annotated[asyncpg.Pool, Depends(get_pool)],
    principal: Annotated[Principal, Depends(get_principal)],
    response: Response,
) -> Checkin:
    """With a position: the member themself, accepted within 200 m of the activity from 30
    minutes before its start to its end, once (method geofence). With a `member_code`: the
    organiser scanned the member's card (method scan). Either way the member must be invited
    (geo.scope.attendable); a registration alone does not admit."""
    if isinstance(body, MemberCode):
        if principal.role == "public":
            raise unauthorized("log in as the activity's organiser to scan a card")
        async with pool.acquire() as conn:
            result = await codes.with_member_card(
                conn, token_key(request), principal, activity_id, body.member_code
            )
    else:
        member_id = member_id_of(principal)
        async with pool.acquire() as conn:
            result = await core.check_in(conn, activity_id, member_id, body.lon, body.lat)
    response.status_code = 201 if result.created else 200
    return Checkin.model_validate(result.as_json())
