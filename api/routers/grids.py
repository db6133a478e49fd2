"""党建网格 checks (issue 14 §4): every grid has a branch; grids do not overlap beyond a
tolerance (the overlapping pairs and their area are reported, never fixed)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from api.auth import require_role
from api.deps import get_settings
from api.models.errors import errors
from api.models.places import GridCheck
from api.routers.coverage import run_bounded
from api.settings import Settings
from geo.planning import grids
from geo.scope import Principal

router = APIRouter(tags=["grids"])
Planner = Annotated[Principal, Depends(require_role("planner", "steward", "admin"))]


@router.get(
    "/grids/check",
    summary="Check the grids: a branch each, no overlaps beyond the tolerance",
    response_model=GridCheck,
    responses=errors(400, 401, 403, 503),
)
async def grids_check(
    request: Request,
    settings: Annotated[Settings, Depends(get_settings)],
    principal: Planner,
    tolerance_m2: Annotated[
        float, Query(ge=0, le=grids.MAX_TOLERANCE_M2, description="overlap allowed, m²")
    ] = grids.OVERLAP_TOLERANCE_M2,
) -> GridCheck:
    """Grids without a branch and the overlapping pairs with their area (m², geodesic)."""
    pool = request.app.state.analysis_pool

    def work() -> dict[str, object]:
        with pool.connection() as conn:
            return grids.check(conn, tolerance_m2).as_dict()

    return GridCheck.model_validate(await run_bounded(request.app, settings, work))
