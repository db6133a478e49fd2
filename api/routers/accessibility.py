"""`GET /api/accessibility`: the walking-time surface of a bbox, for the live service points or
a planning scenario, computed on demand (the built surface is the `accessibility` layer)."""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Depends, Query, Request
from shapely.geometry import box

from api.deps import TOKEN_OPTIONAL, get_principal, get_settings
from api.models.accessibility import Accessibility
from api.models.errors import errors
from api.routers.coverage import check_weight_allowed, run_bounded, scenario_changes
from api.settings import Settings
from geo.analysis.coverage_request import bbox_km2
from geo.analysis.member_demand import member_spread
from geo.errors import InvalidInput
from geo.planning import accessibility as core
from geo.planning.scenario_changes import Changes
from geo.scope import Principal

router = APIRouter(tags=["planning"])
MAX_KM2 = 200.0


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """minlon,minlat,maxlon,maxlat within ±180/±90, min < max, at most MAX_KM2 (else 400)."""
    try:
        x0, y0, x1, y1 = (float(v) for v in text.split(","))
    except ValueError:
        raise InvalidInput("bbox must be minlon,minlat,maxlon,maxlat") from None
    if not (-180 <= x0 < x1 <= 180 and -90 <= y0 < y1 <= 90):
        raise InvalidInput("bbox must be minlon,minlat,maxlon,maxlat within ±180/±90")
    if bbox_km2((x0, y0, x1, y1)) > MAX_KM2:
        raise InvalidInput(f"the bbox may cover at most {MAX_KM2:.0f} km²")
    return x0, y0, x1, y1


def _run(pool: Any, bbox: tuple[float, float, float, float], res: int,
         changes: Changes | None, principal: Principal, members: bool) -> dict[str, Any]:  # fmt: skip
    with pool.connection() as conn:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        s = core.surface(conn, box(*bbox), res, changes)
        shares = None
        if members:
            spread = member_spread(conn, principal)
            shares = core.member_shares(s, spread.lon, spread.lat, np.asarray(spread.members))
    cells = {"type": "FeatureCollection", "features": core.features(s)}
    return {"res": res, "limit_min": core.LIMIT_MIN, "cells": cells, "members": shares}


@router.get(
    "/accessibility",
    summary="Walking minutes to the nearest and third nearest service point per H3 cell",
    response_model=Accessibility,
    responses=errors(
        (400, "a bad bbox, res or scenario"),
        (401, "a scenario or member figures need a login"),
        (403, "a scenario needs a planner; member figures a leader or planner"),
        (404, "a scenario not in the caller's subtree"),
        (413, "too many cells"),
        (503, "every analysis slot is busy, or the database is away (Retry-After)"),
    ),
    openapi_extra=TOKEN_OPTIONAL,
)
async def accessibility(
    request: Request,
    settings: Annotated[Settings, Depends(get_settings)],
    principal: Annotated[Principal, Depends(get_principal)],
    bbox: Annotated[str, Query(max_length=200, description="minlon,minlat,maxlon,maxlat")],
    res: Annotated[int, Query(ge=core.RES[0], le=core.RES[1])] = core.DEFAULT_RES,
    scenario: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    members: Annotated[bool, Query(description="add member-weighted shares")] = False,
) -> Accessibility:
    """Times, not people (public); a scenario's surface for its planners; member shares by the
    privacy rule."""
    area = parse_bbox(bbox)
    if members:
        check_weight_allowed("members", principal)
    changes = await scenario_changes(request, principal, scenario)
    pool = request.app.state.analysis_pool
    work = lambda: _run(pool, area, res, changes, principal, members)  # noqa: E731
    found = await run_bounded(request.app, settings, work)
    return Accessibility.model_validate({**found, "scenario": scenario})
