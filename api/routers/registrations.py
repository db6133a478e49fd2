"""Registrations (报名), a member's own activities, and the signed codes of the check-in loop:
the activity's rotating QR code, the member card's code, and check-in with an activity code."""

from __future__ import annotations

from typing import Annotated

import asyncpg
from fastapi import APIRouter, Depends, Query, Request, Response

from api.deps import TOKEN_OPTIONAL, RowId, get_pool, get_principal
from api.models.analysis import Checkin
from api.models.errors import errors
from api.models.registrations import (
    CheckinCode,
    CodeCheckin,
    CodeToken,
    MyActivities,
    RegistrationResult,
    RegistrationSummary,
)
from api.routers.checkins import member_id_of, token_key
from geo.errors import InvalidInput
from geo.live import checkins as codes
from geo.live import mine, tokens
from geo.live import registrations as core
from geo.scope import Principal

router = APIRouter(tags=["registrations"])
Pool = Annotated[asyncpg.Pool, Depends(get_pool)]
Caller = Annotated[Principal, Depends(get_principal)]
CHECKIN_PAGE = "/checkin?t="


Key = Annotated[bytes, Depends(token_key)]
REFUSALS = (
    403,
    "refused: CheckinRefused.<reason> (not_invited, not_started, ended, cancelled, "
    "not_a_member), Token.expired, or not a member / not the organiser",
)


@router.post(
    "/activities/{activity_id}/registrations",
    summary="Register for an activity (报名), or join its waitlist when it is full",
    status_code=201,
    response_model=RegistrationResult,
    responses=errors(
        (401, "not logged in"),
        (
            403,
            "no member record, or Registration.not_invited (not of the organiser's tree nor an invited one's)",
        ),
        (404, "no such activity"),
        (409, "Registration.already_registered, Registration.activity_cancelled, .ended"),
        503,
    ),
)
async def register(activity_id: RowId, pool: Pool, principal: Caller) -> RegistrationResult:
    """The member themself registers, when they may attend it (their branch is under the
    organiser or an invited organisation; else 403 Registration.not_invited); when the activity
    is full they are waitlisted and told their place. 409 when already registered or waitlisted."""
    member_id = member_id_of(principal)
    async with pool.acquire() as conn:
        result = await core.register(conn, activity_id, member_id)
    return RegistrationResult.model_validate(result.as_json())


@router.delete(
    "/activities/{activity_id}/registrations/me",
    summary="Cancel one's own registration (the first on the waitlist moves up)",
    response_model=RegistrationResult,
    responses=errors(
        (401, "not logged in"),
        (403, "this account has no member record"),
        (404, "no such activity, or no registration to cancel"),
        503,
    ),
)
async def cancel_mine(activity_id: RowId, pool: Pool, principal: Caller) -> RegistrationResult:
    """Cancel the caller's registration or waitlist place."""
    member_id = member_id_of(principal)
    async with pool.acquire() as conn:
        result = await core.cancel(conn, activity_id, member_id)
    return RegistrationResult.model_validate(result.as_json())


@router.delete(
    "/activities/{activity_id}/registrations/{member_id}",
    summary="The organiser cancels a member's registration",
    response_model=RegistrationResult,
    responses=errors(
        (401, "not logged in"),
        (403, "not the activity's organiser"),
        (404, "no such activity, or no registration of that member"),
        503,
    ),
)
async def cancel_member(
    activity_id: RowId, member_id: RowId, pool: Pool, principal: Caller
) -> RegistrationResult:
    """A leader over the organising organisation (or a steward, an admin) cancels a member's
    registration; the first on the waitlist moves up."""
    if principal.role == "public":
        member_id_of(principal)  # 401 with the challenge
    async with pool.acquire() as conn:
        await core.require_organiser(conn, principal, activity_id)
        result = await core.cancel(conn, activity_id, member_id)
    return RegistrationResult.model_validate(result.as_json())


@router.get(
    "/activities/{activity_id}/registrations",
    summary="An activity's registrations: names for its organiser, counts for anyone",
    response_model=RegistrationSummary,
    responses=errors((404, "no such activity"), 503),
    openapi_extra=TOKEN_OPTIONAL,
)
async def registrations(activity_id: RowId, pool: Pool, principal: Caller) -> RegistrationSummary:
    """Counts (registered, waitlisted, attended, capacity) for anyone, each 0 or at least 10
    (else null with `fewer_than`); the organiser gets exact counts and the list by name."""
    async with pool.acquire() as conn:
        body = await core.summary(conn, principal, activity_id)
    return RegistrationSummary.model_validate(body)


@router.get(
    "/me/activities",
    summary="The member's registrations, attendance this year and upcoming activities near by",
    response_model=MyActivities,
    responses=errors(
        (400, "lon without lat, or out of range"),
        (401, "not logged in"),
        (403, "this account has no member record"),
        (404, "the account's member record is gone"),
        503,
    ),
)
async def my_activities(
    pool: Pool,
    principal: Caller,
    lon: Annotated[float | None, Query(ge=-180, le=180, description="near here (with lat)")] = None,
    lat: Annotated[float | None, Query(ge=-90, le=90, description="near here (with lon)")] = None,
) -> MyActivities:
    """Nearby starts from the point given, else from the member's branch (never their home)."""
    member_id = member_id_of(principal)
    if (lon is None) != (lat is None):
        raise InvalidInput("give both lon and lat, or neither")
    async with pool.acquire() as conn:
        body = await mine.my_activities(conn, member_id, lon=lon, lat=lat)
    return MyActivities.model_validate(body)


@router.get(
    "/activities/{activity_id}/checkin-token",
    summary="The activity's rotating check-in code (60 s) and its QR code, for the organiser",
    response_model=CheckinCode,
    responses=errors(
        (401, "not logged in"),
        (403, "not the activity's organiser"),
        (404, "no such activity"),
        503,
    ),
)
async def checkin_token(
    request: Request,
    activity_id: RowId,
    pool: Pool,
    principal: Caller,
    key: Key,
    response: Response,
) -> CheckinCode:
    """A signed, activity-bound code valid 60 seconds; the QR code opens /checkin?t=<code>."""
    if principal.role == "public":
        member_id_of(principal)  # 401 with the challenge
    async with pool.acquire() as conn:
        await core.require_organiser(conn, principal, activity_id)
    signed = tokens.sign(key, "activity", activity_id)
    url = CHECKIN_PAGE + signed.token
    absolute = str(request.base_url).rstrip("/") + url
    response.headers["Cache-Control"] = "no-store"
    return CheckinCode(
        token=signed.token,
        expires_at=signed.expires_at.isoformat(),
        ttl_s=tokens.TTL_S,
        url=url,
        qr_svg=tokens.qr_svg(absolute),
    )


@router.get(
    "/me/card-token",
    summary="The member card's rotating code (60 s) and its QR code, for an organiser to scan",
    response_model=CodeToken,
    responses=errors((401, "not logged in"), (403, "this account has no member record"), 503),
)
async def card_token(principal: Caller, key: Key, response: Response) -> CodeToken:
    """A signed code of the caller's member id, valid 60 seconds (it names nothing else)."""
    member_id = member_id_of(principal)
    signed = tokens.sign(key, "member", member_id)
    response.headers["Cache-Control"] = "no-store"
    return CodeToken(
        token=signed.token,
        expires_at=signed.expires_at.isoformat(),
        ttl_s=tokens.TTL_S,
        qr_svg=tokens.qr_svg(signed.token),
    )


@router.post(
    "/checkins",
    summary="Check in with an activity's code (the QR code on the organiser's screen)",
    status_code=201,
    response_model=Checkin,
    responses={
        200: {"description": "already checked in: the same check-in again", "model": Checkin},
        **errors(
            (400, "not an activity code of this server (Token.invalid), or a bad position"),
            (401, "not logged in"),
            REFUSALS,
            (404, "the code's activity is gone"),
            503,
        ),
    },
)
async def checkin_with_code(
    body: CodeCheckin, pool: Pool, principal: Caller, key: Key, response: Response
) -> Checkin:
    """Accepted when the code is genuine and under 60 s old and the member is invited
    (geo.scope.attendable; a registration alone does not admit), in the activity's time window;
    a position is kept as evidence, not required."""
    member_id = member_id_of(principal)
    async with pool.acquire() as conn:
        result = await codes.with_activity_code(
            conn, key, body.token, member_id, lon=body.lon, lat=body.lat
        )
    response.status_code = 201 if result.created else 200
    return Checkin.model_validate(result.as_json())
