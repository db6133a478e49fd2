"""Organisation health (issue 13): `GET /api/orgs/{id}/health` (breakdown and trend),
`GET /api/orgs/{id}/ranking` (children ranked), `GET|PUT /api/health-rules`, and organisation
life entered by the secretary (`POST /api/orgs/{id}/meetings|terms|dues`). Leaders and up
within their subtree; the public and members see no score. Scores come from the last build."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Depends, Header, Query, Request, Response

from api.auth import unauthorized
from api.deps import RowId, get_pool, get_principal, get_read_pool
from api.models.errors import errors
from api.models.health import (
    Dues,
    DuesIn,
    HealthRules,
    Meeting,
    MeetingIn,
    OrgHealth,
    Ranking,
    Term,
    TermIn,
)
from geo.health import entry, read
from geo.health.rules import RuleSet
from geo.live.audit import Actor
from geo.scope import Principal

router = APIRouter(tags=["organisation health"])
Pool = Annotated[asyncpg.Pool, Depends(get_pool)]
ReadPool = Annotated[asyncpg.Pool, Depends(get_read_pool)]
RequestId = Annotated[str | None, Header(alias="X-Request-ID", max_length=64, pattern=r"^[\w.-]*$")]


async def logged_in(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    """The caller; 401 for the public (scores are never public)."""
    if principal.role == "public":
        raise unauthorized("log in: organisation health is for leaders and up")
    return principal


Caller = Annotated[Principal, Depends(logged_in)]
READ_ERRORS = errors(
    (401, "not logged in"),
    (403, "not a leader and up, or the organisation is outside the caller's"),
    (404, "no such organisation"),
    (503, "the scores are being built (Retry-After)"),
)
WRITE_ERRORS = errors(
    400,
    (401, "not logged in"),
    (403, "not the organisation's secretary (a bound leader over it), a steward or an admin"),
    (404, "no such organisation"),
    (409, "recorded already"),
    503,
)


def _actor(principal: Principal, request_id: str | None) -> Actor:
    return Actor(principal.username, principal.role, request_id or uuid.uuid4().hex)


@router.get(
    "/orgs/{org_id}/health",
    summary="An organisation's health: score, status, breakdown per rule, 12-month trend",
    response_model=OrgHealth,
    responses=READ_ERRORS,
)
async def org_health(org_id: RowId, pool: ReadPool, principal: Caller) -> OrgHealth:
    """The last build's score (a GET never scores): each rule's evidence, last fulfilment,
    next due date, since when it is missing, points gained and lost; the monthly trend."""
    async with pool.acquire() as conn:
        body = await read.health(conn, principal, org_id)
    return OrgHealth.model_validate(body)


@router.get(
    "/orgs/{org_id}/ranking",
    summary="An organisation's children (or all its branches) ranked by health score (排名)",
    response_model=Ranking,
    responses=READ_ERRORS,
)
async def ranking(
    org_id: RowId,
    pool: ReadPool,
    principal: Caller,
    of: Annotated[
        str,
        Query(pattern="^(children|branches)$", description="children, or every 党支部 below"),
    ] = "children",
) -> Ranking:
    """Ranked by score (equal scores share a rank), with the green/amber/red distribution."""
    async with pool.acquire() as conn:
        body = await read.ranking(conn, principal, org_id, of == "branches")
    return Ranking.model_validate(body)


@router.get(
    "/health-rules",
    summary="The organisation health rules in force (rules as data, versioned)",
    response_model=HealthRules,
    responses=errors((401, "not logged in"), (403, "not a leader and up"), 503),
)
async def health_rules(pool: ReadPool, principal: Caller) -> HealthRules:
    """Each rule: id, names, evidence, period, grace, weight, organisation types, source."""
    async with pool.acquire() as conn:
        return HealthRules.model_validate(await read.rules_in_force(conn, principal))


@router.put(
    "/health-rules",
    summary="A new version of the health rules (admins); the scores are rebuilt",
    response_model=HealthRules,
    responses=errors(400, (401, "not logged in"), (403, "not an admin"), 503),
)
async def put_health_rules(
    body: RuleSet, request: Request, pool: Pool, principal: Caller, request_id: RequestId = None
) -> HealthRules:
    """Checked as a whole (400 names each problem); stored as a new version (audited)."""
    async with pool.acquire() as conn:
        doc = body.model_dump(mode="json")
        out = await entry.new_ruleset(conn, _actor(principal, request_id), principal, doc)
    request.app.state.builds.notify_write()
    return HealthRules.model_validate(out)


@router.post(
    "/orgs/{org_id}/meetings",
    summary="Record a meeting held by the organisation (its secretary)",
    status_code=201,
    response_model=Meeting,
    responses=WRITE_ERRORS,
)
async def add_meeting(
    org_id: RowId,
    body: MeetingIn,
    request: Request,
    pool: Pool,
    principal: Caller,
    request_id: RequestId = None,
) -> Meeting:
    """One meeting of a kind per day (409 when recorded already); audited."""
    m = entry.MeetingIn(body.kind, body.held_on, body.attendance, body.activity_id, body.note)
    async with pool.acquire() as conn:
        row = await entry.add_meeting(conn, _actor(principal, request_id), principal, org_id, m)
    request.app.state.builds.notify_write()
    return Meeting.model_validate(row)


@router.post(
    "/orgs/{org_id}/terms",
    summary="Record a committee election (换届) of the organisation",
    status_code=201,
    response_model=Term,
    responses=WRITE_ERRORS,
)
async def add_term(
    org_id: RowId,
    body: TermIn,
    request: Request,
    pool: Pool,
    principal: Caller,
    request_id: RequestId = None,
) -> Term:
    """Elected on a day, for 3 (or 5) years; audited."""
    actor = _actor(principal, request_id)
    async with pool.acquire() as conn:
        row = await entry.add_term(conn, actor, principal, org_id, body.elected_on, body.term_years)
    request.app.state.builds.notify_write()
    return Term.model_validate(row)


@router.post(
    "/orgs/{org_id}/dues",
    summary="Record or correct a month's party dues (aggregates: share paid, members in arrears)",
    status_code=201,
    response_model=Dues,
    responses={
        200: {"description": "the month was recorded: corrected", "model": Dues},
        **WRITE_ERRORS,
    },
)
async def set_dues(
    org_id: RowId,
    body: DuesIn,
    request: Request,
    response: Response,
    pool: Pool,
    principal: Caller,
    request_id: RequestId = None,
) -> Dues:
    """201 for a new month, 200 for a correction; never one member's payment; audited."""
    year, month = (int(x) for x in body.month.split("-"))
    first = date(year, month, 1)
    actor = _actor(principal, request_id)
    async with pool.acquire() as conn:
        row, created = await entry.set_dues(
            conn, actor, principal, org_id, first, body.paid_share, body.arrears_count
        )
    response.status_code = 201 if created else 200
    request.app.state.builds.notify_write()
    return Dues.model_validate(row)
