"""`POST /api/activities/{id}/checkins`: a logged-in member checks in on site."""

from __future__ import annotations

from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api.auth import unauthorized
from api.deps import RowId, get_pool, get_principal
from geo.analysis import checkin as core
from geo.errors import Forbidden
from geo.scope import Principal

router = APIRouter(tags=["check-in"])


class Position(BaseModel):
    """Where the member is (WGS84)."""

    lon: float = Field(ge=-180, le=180, examples=[116.397])
    lat: float = Field(ge=-90, le=90, examples=[39.909])


_CHECKIN = {
    "id": 7,
    "activity_id": 3,
    "member_id": 42,
    "checked_at": "2026-05-01T09:05:00+08:00",
    "distance_m": 35.2,
    "created": True,
}


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
    responses={
        201: {"description": "checked in", "content": {"application/json": {"example": _CHECKIN}}},
        200: {"description": "already checked in: the same check-in again"},
        400: {"description": "bad position"},
        401: {"description": "not logged in"},
        403: {
            "description": "refused: too far by N m, not started, ended, or not invited",
            "content": {
                "application/json": {
                    "example": {
                        "code": "CheckinRefused.too_far",
                        "description": "too far by 120 m: you are 320 m from the activity, "
                        "the geofence is 200 m",
                    }
                }
            },
        },
        404: {"description": "no such activity"},
    },
)
async def create_checkin(
    activity_id: RowId,
    position: Position,
    pool: Annotated[asyncpg.Pool, Depends(get_pool)],
    principal: Annotated[Principal, Depends(get_principal)],
) -> Any:
    """Accepted within 200 m of the activity from 30 minutes before its start to its end; once."""
    member_id = member_id_of(principal)
    async with pool.acquire() as conn:
        result = await core.check_in(conn, activity_id, member_id, position.lon, position.lat)
    return JSONResponse(result.as_json(), status_code=201 if result.created else 200)
