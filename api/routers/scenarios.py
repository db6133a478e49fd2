"""Scenarios (issue 14 §1): `POST /api/scenarios`, `GET /api/scenarios`, and GET, PUT, PATCH,
DELETE `/api/scenarios/{id}`. Planners, stewards and admins; a scenario is shared by URL within
its subtree and never touches the live tables (geo/planning/scenarios.py), until a steward or
admin promotes it: `POST /api/scenarios/{id}/promote` (geo/planning/promote.py)."""

from __future__ import annotations

import uuid
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Depends, Header, Query, Request, Response

from api.auth import require_role
from api.deps import RowId, get_pool
from api.models.errors import errors
from api.models.scenarios import Promotion, Scenario, ScenarioBody, ScenarioPatch, Scenarios
from api.routers.features_write import REQUEST_ID
from geo.live.audit import Actor
from geo.planning import promote as promoting
from geo.planning import scenarios as core
from geo.scope import Principal

router = APIRouter(tags=["planning"])
Pool = Annotated[asyncpg.Pool, Depends(get_pool)]
Planner = Annotated[Principal, Depends(require_role("planner", "steward", "admin"))]
Steward = Annotated[Principal, Depends(require_role("steward", "admin"))]
WHO = (
    (401, "not logged in"),
    (403, "not a planner, steward or admin, or a point of another subtree"),
)


@router.post(
    "/scenarios",
    summary="Keep a scenario (changes to service points, candidate sites)",
    response_model=Scenario,
    status_code=201,
    responses=errors(
        (400, "a bad change, or an unknown service point"), *WHO,
        (413, "too many changes, or a body over the cap"), 503,
    ),
)  # fmt: skip
async def create(body: ScenarioBody, pool: Pool, principal: Planner) -> Scenario:
    """The scenario kept, with its id and URL."""
    changes = [c.plain() for c in body.changes]
    async with pool.acquire() as conn:
        return Scenario.model_validate(await core.create(conn, principal, body.name, changes))


@router.get(
    "/scenarios",
    summary="The scenarios the caller may see",
    response_model=Scenarios,
    responses=errors(*WHO, 503),
)
async def listed(
    pool: Pool, principal: Planner, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> Scenarios:
    """Newest first, within the caller's subtree."""
    async with pool.acquire() as conn:
        return Scenarios.model_validate({"scenarios": await core.listed(conn, principal, limit)})


@router.get(
    "/scenarios/{scenario_id}",
    summary="One scenario",
    response_model=Scenario,
    responses=errors(*WHO, (404, "no such scenario in the caller's subtree"), 503),
)
async def read(scenario_id: RowId, pool: Pool, principal: Planner) -> Scenario:
    """The scenario, when it belongs to the caller's subtree."""
    async with pool.acquire() as conn:
        return Scenario.model_validate(await core.read(conn, principal, scenario_id))


EDIT = errors(
    (400, "a bad change, or an unknown service point"), *WHO,
    (404, "no such scenario in the caller's subtree"), (413, "too many changes"), 503,
)  # fmt: skip


@router.put("/scenarios/{scenario_id}", summary="Replace a scenario", response_model=Scenario,
            responses=EDIT)  # fmt: skip
async def replace(
    scenario_id: RowId, body: ScenarioBody, pool: Pool, principal: Planner
) -> Scenario:
    """The scenario with the new name and changes."""
    changes = [c.plain() for c in body.changes]
    async with pool.acquire() as conn:
        found = await core.update(conn, principal, scenario_id, body.name, changes)
    return Scenario.model_validate(found)


@router.patch("/scenarios/{scenario_id}", summary="Edit a scenario's name or changes",
              response_model=Scenario, responses=EDIT)  # fmt: skip
async def edit(scenario_id: RowId, body: ScenarioPatch, pool: Pool, principal: Planner) -> Scenario:
    """The scenario with what the body gives replaced (the rest kept)."""
    changes = None if body.changes is None else [c.plain() for c in body.changes]
    async with pool.acquire() as conn:
        found = await core.update(conn, principal, scenario_id, body.name, changes)
    return Scenario.model_validate(found)


@router.delete(
    "/scenarios/{scenario_id}",
    summary="Delete a scenario",
    status_code=204,
    response_class=Response,
    responses=errors(*WHO, (404, "no such scenario in the caller's subtree"), 503),
)
async def delete(scenario_id: RowId, pool: Pool, principal: Planner) -> Response:
    """Gone (the live data never changed)."""
    async with pool.acquire() as conn:
        await core.delete(conn, principal, scenario_id)
    return Response(status_code=204)


@router.post(
    "/scenarios/{scenario_id}/promote",
    summary="Make a scenario live (its changes written to the service points)",
    response_model=Promotion,
    responses=errors(
        (400, "a change the service point checks refuse (`errors` lists each)"),
        (401, "not logged in"),
        (403, "not a steward or admin, or a point outside the caller's subtree"),
        (404, "no such scenario in the caller's subtree"),
        (409, "a point changed or was deleted since the scenario was made, a change carries no "
              "version, or other rows still refer to a removed point: nothing was written"),
        503,
    ),
)  # fmt: skip
async def promote(
    scenario_id: RowId,
    request: Request,
    pool: Pool,
    principal: Steward,
    request_id: Annotated[
        str | None, Header(alias="X-Request-ID", description="kept in the audit")
    ] = None,
) -> Promotion:
    """One transaction through the OGC API Features writes (checks, audit, data versions); the
    scenario is deleted with it. Every change naming a live point must match its version."""
    rid = request_id if request_id and REQUEST_ID.match(request_id) else uuid.uuid4().hex
    actor = Actor(principal.username, principal.role, rid)
    async with pool.acquire() as conn:
        done = await promoting.promote(conn, principal, actor, scenario_id)
    request.app.state.builds.notify_write()  # committed: rebuild what the writes made stale
    return Promotion.model_validate(done)
