"""`POST /api/activities/{id}/checkins`: a logged-in member checks in on site."""

from __future__ import annotations

from typing import Annotated

import asyncpg
from fastapi import APIRouter, Depends, Response

from api.auth import unauthorized
from api.deps import RowId, get_pool, get_principal
from api.models.analysis import Checkin, Position
from api.models.errors import errors
from geo.analysis import checkin as core
from geo.errors import Forbidden
from geo.scope import Principal

router = APIRouter(tags=["check-in"])


def member_id_of(principal: Principal) -> int:
    """The caller's member id; 401 when anonymous, 403 when logged in without a member record."""
    if principal.member_id is not None:
        return principal.member_id
    if principal.role == "public":
        raise unauthorized("log in to check in")
    raise Forbidden("only members can check in: this account has no member record")


@router.post(
    "/activities/{activity_id}/checkins",
    summary="Check in to an activity",
    status_code=201,
    response_model=Checkin,
    responses={
        200: {"description": "already checked in: the same check-in again", "model": Checkin},
        **errors(
            (400, "bad position"),
            (401, "not logged in"),
            (
                403,
                "refused (CheckinRefused.too_far, not_started, ended, not_invited), or no member",
            ),
            (404, "no such activity"),
            503,
        ),
    },
)
async def create_checkin(
    activity_id: RowId,
    position: Position,
    pool: Annotated[asyncpg.Pool, Depends(get_pool)],
    principal: Annotated[Principal, Depends(get_principal)],
    response: Response,
) -> Checkin:
    """Accepted within 200 m of the activity from 30 minutes before its start to its end; once."""
    member_id = member_id_of(principal)
    async with pool.acquire() as conn:
        result = await core.check_in(conn, activity_id, member_id, position.lon, position.lat)
    response.status_code = 201 if result.created else 200
    return Checkin.model_validate(result.as_json())
