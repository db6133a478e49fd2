"""`POST /api/coverage`: who is inside the 15-minute circle, where it has holes, where to add sites."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request

from api.auth import unauthorized
from api.deps import TOKEN_OPTIONAL, get_principal, get_settings
from api.models.analysis import Coverage, CoverageBody
from api.models.errors import errors
from api.settings import Settings
from geo.analysis import coverage as core
from geo.errors import Forbidden
from geo.planning import scenarios
from geo.planning.scenario_changes import Changes
from geo.scope import Principal

router = APIRouter(tags=["coverage"])

# Member-weighted coverage is about members (aggregated, but still): planners and up.
MEMBER_WEIGHT_ROLES = ("leader", "planner", "steward", "admin")
SCENARIO_ROLES = ("planner", "steward", "admin")


def check_weight_allowed(weight: str, principal: Principal) -> None:
    """Member weights need a leader/planner/steward/admin; 401 when anonymous."""
    if weight != "members" or principal.role in MEMBER_WEIGHT_ROLES:
        return
    if principal.role == "public":
        raise unauthorized("log in to weigh coverage by members")
    raise Forbidden("member-weighted coverage is for planners, leaders, stewards and admins")


@asynccontextmanager
async def analysis_slot(app: FastAPI, settings: Settings) -> AsyncIterator[asyncio.Semaphore]:
    """One of the process's `analysis_slots` (503 with Retry-After when none frees up within
    `analysis_wait_s`); the caller releases it when its work is really done."""
    slots = getattr(app.state, "analysis_slots", None)
    if slots is None:
        slots = app.state.analysis_slots = asyncio.Semaphore(settings.api.analysis_slots)
    try:
        await asyncio.wait_for(slots.acquire(), timeout=settings.api.analysis_wait_s)
    except TimeoutError:
        raise HTTPException(
            status_code=503,
            detail={"code": "ServiceUnavailable",
                    "description": "every analysis slot is busy; try again shortly"},
            headers={"Retry-After": "5"},
        ) from None  # fmt: skip
    yield slots


async def run_bounded(app: FastAPI, settings: Settings, work: Callable[[], Any]) -> Any:
    """Run `work` in a worker thread inside an analysis slot. The slot is freed when the thread
    ends, not when the client goes away, so dropped requests cannot pile up running work."""
    async with analysis_slot(app, settings) as slots:
        task = asyncio.ensure_future(asyncio.to_thread(work))
        task.add_done_callback(lambda _: slots.release())
        return await asyncio.shield(task)


async def scenario_changes(
    request: Request, principal: Principal, scenario: int | None
) -> Changes | None:
    """The scenario's merged changes (None: the live data); planners and up, in their subtree."""
    if scenario is None:
        return None
    if principal.role not in SCENARIO_ROLES:
        if principal.role == "public":
            raise unauthorized("log in as a planner to use a scenario")
        raise Forbidden("scenarios are for planners, stewards and admins")
    async with request.app.state.pool.acquire() as conn:
        return await scenarios.changes_for(conn, principal, scenario)


@router.post(
    "/coverage",
    summary="Coverage of the 15-minute circle, uncovered cells and proposed sites",
    response_model=Coverage,
    responses=errors(
        (400, "a bad limit, bbox, propose or candidates, meters with minutes, district with bbox"),
        (401, "member weights need a login (or the token is invalid)"),
        (403, "member weights need a planner, leader, steward or admin; scenarios a planner"),
        (404, "unknown district, or a scenario not in the caller's subtree"),
        (413, "bbox, candidate list or candidate grid beyond its cap, or a body over the cap"),
        (503, "every analysis slot is busy, or the database is away (Retry-After)"),
    ),
    openapi_extra=TOKEN_OPTIONAL,
)
async def coverage(
    body: CoverageBody,
    request: Request,
    settings: Annotated[Settings, Depends(get_settings)],
    principal: Annotated[Principal, Depends(get_principal)],
) -> Coverage:
    """Aggregates only: coverage %, service areas, H3 cells and ranked proposals; member figures
    are sums of whole privacy atoms, published as multiples of 10."""
    check_weight_allowed(body.weight, principal)
    req = body.request(await scenario_changes(request, principal, body.scenario))
    core.validate(req)
    pool = request.app.state.analysis_pool  # DJMAP_ANALYSIS_TIMEOUT per statement
    result = await run_bounded(request.app, settings, lambda: core.run(pool, req, principal))
    return Coverage.model_validate(result)
