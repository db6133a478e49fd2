"""Scenarios (issue 14 §1): `POST /api/scenarios`, `GET /api/scenarios`, and GET, PUT, PATCH,
DELETE `/api/scenarios/{id}`. Planners, stewards and admins; a scenario is shared by URL within
its subtree and never touches the live tables (geo/planning/scenarios.py)."""

from __future__ import annotations

from typing import Annotated

import asyncpg
from fastapi import APIRouter, Depends, Query, Response

from api.auth import require_role
from api.deps import RowId, get_pool
from api.models.errors import errors
from api.models.scenarios import Scenario, ScenarioBody, ScenarioPatch, Scenarios
from geo.planning import scenarios as core
from geo.scope import Principal

router = APIRouter(tags=["planning"])
Pool = Annotated[asyncpg.Pool, Depends(get_pool)]
Planner = Annotated[Principal, Depends(require_role("planner", "steward", "admin"))]
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
