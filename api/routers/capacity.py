"""`POST /api/capacity`: capacity-aware coverage (2SFCA on walking times), per-site load, under-
and over-served cells and capacitated proposals; `scenario` for a planning scenario."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from shapely.geometry import box
from shapely.geometry.base import BaseGeometry

from api.deps import TOKEN_OPTIONAL, get_principal, get_settings
from api.models.capacity import Capacity, CapacityBody
from api.models.errors import errors
from api.routers.accessibility import parse_bbox
from api.routers.coverage import check_weight_allowed, run_bounded, scenario_changes
from api.settings import Settings
from geo.analysis.demand import load_area
from geo.errors import InvalidInput
from geo.planning import capacity as core
from geo.planning.scenario_changes import Changes
from geo.scope import Principal

router = APIRouter(tags=["planning"])


def _run(pool: Any, body: CapacityBody, changes: Changes | None,
         principal: Principal) -> dict[str, Any]:  # fmt: skip
    with pool.connection() as conn:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        area: BaseGeometry | None = (
            box(*parse_bbox(",".join(map(str, body.bbox))))
            if body.bbox is not None
            else load_area(conn, body.district, None)
        )
        assert area is not None  # a district is given when no bbox is
        given = [tuple(p) for p in body.candidates] if body.candidates else None
        return core.run(
            conn, area, changes, body.minutes, body.propose, given,  # type: ignore[arg-type]
            demand=body.demand, principal=principal,
        )  # fmt: skip


@router.post(
    "/capacity",
    summary="Capacity-aware coverage (2SFCA): site loads, under/over-served cells, proposals",
    response_model=Capacity,
    responses=errors(
        (400, "give a district or a bbox (one), a bad bbox or scenario"),
        (401, "a scenario or member demand needs a login"),
        (403, "a scenario needs a planner; member demand a planner, leader, steward or admin"),
        (404, "unknown district, or a scenario not in the caller's subtree"),
        (413, "a body over the cap"),
        (503, "every analysis slot is busy, or the database is away (Retry-After)"),
    ),
    openapi_extra=TOKEN_OPTIONAL,
)
async def capacity(
    body: CapacityBody,
    request: Request,
    settings: Annotated[Settings, Depends(get_settings)],
    principal: Annotated[Principal, Depends(get_principal)],
) -> Capacity:
    """Households from public building data (no member figure), or the caller's members as
    privacy atoms (member figures by the privacy rule)."""
    if (body.district is None) == (body.bbox is None):
        raise InvalidInput("give a district or a bbox")
    check_weight_allowed(body.demand, principal)
    changes = await scenario_changes(request, principal, body.scenario)
    if changes is not None and changes.candidates and not body.candidates:
        body = body.model_copy(update={"candidates": list(changes.candidates)})
    pool = request.app.state.analysis_pool
    found = await run_bounded(request.app, settings, lambda: _run(pool, body, changes, principal))
    return Capacity.model_validate(found)
