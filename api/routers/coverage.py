"""`POST /api/coverage`: who is inside the 15-minute circle, where it has holes, where to add sites."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from pydantic import BaseModel, Field

from api.auth import unauthorized
from api.deps import get_principal, get_settings
from api.settings import Settings
from geo.analysis import coverage as core
from geo.analysis import coverage_request as caps
from geo.errors import Forbidden
from geo.scope import Principal

router = APIRouter(tags=["coverage"])

_EXAMPLE = {
    "params": {"radius_m": 1200.0, "meters": None, "minutes": 15, "speed_m_per_min": 80.0,
               "mode": "walk", "weight": "members", "district": "330102", "bbox": None,
               "propose": 1, "candidates": "auto", "candidate_points": None, "grid_m": None,
               "h3_res": 9},
    "summary": {
        "count_total": 2990, "count_covered": 2680, "coverage_pct_count": 89.63,
        "weight_total": 2990, "weight_covered": 2680, "coverage_pct_weight": 89.63,
        "uncovered_weight": 310, "uncovered_count": 310, "service_points": 30, "suppressed_cells": 0,
    },
    "service_areas": {"type": "FeatureCollection", "features": ["… one polygon per service point …"]},
    "uncovered_cells": {
        "type": "FeatureCollection",
        "features": [{
            "type": "Feature", "geometry": {"type": "Polygon", "coordinates": ["…"]},
            "properties": {"layer": "uncovered_cell", "h3": "8930e1d8a4bffff", "resolution": 9,
                           "weight": 20, "count": 20, "merged": False},
        }],
    },
    "proposed": [{"rank": 1, "lon": 120.265, "lat": 30.327, "source": "building", "building": "B002421",
                  "gain_weight": 80, "coverage_pct_weight_after": 92.31}],
    "notes": [],
}  # fmt: skip

# Member-weighted coverage is about members (aggregated, but still): planners and up.
MEMBER_WEIGHT_ROLES = ("leader", "planner", "steward", "admin")


class CoverageBody(BaseModel):
    """A coverage run: limit (meters or minutes), mode, weight, area, proposals.

    Free parameters are snapped to fixed lattices (the response's `params` say what was used):
    the limit to 50 m steps, minutes to whole minutes, bbox edges outward to 0.001°, given
    candidates to a 25 m grid, grid_m to 50 m steps. Member figures are sums of whole privacy
    atoms published as multiples of 10; proposals gaining fewer than 10 members are dropped."""

    meters: float | None = Field(
        None, gt=0, le=20000, description="limit in metres (snapped to 50 m steps)"
    )
    minutes: float | None = Field(
        None, gt=0, le=240, description="limit in minutes (default 15; whole minutes)"
    )
    speed: float = Field(80.0, ge=10, le=500, description="walking speed, m/min")
    mode: Literal["straight", "walk"] = "straight"
    weight: Literal["members", "buildings", "population"] = "members"
    district: str | None = Field(None, description="district code (or give bbox)")
    bbox: list[float] | None = Field(
        None,
        min_length=4,
        max_length=4,
        description=f"minlon,minlat,maxlon,maxlat (at most {caps.MAX_BBOX_KM2:,.0f} km², else 413)",
    )
    propose: int = Field(0, ge=0, le=caps.MAX_PROPOSE, description="how many new sites to suggest")
    candidates: Literal["auto", "buildings", "grid"] | list[tuple[float, float]] = Field(
        "auto",
        description="candidate sites: auto (building points, else a grid), buildings, grid, or "
        f"[[lon,lat],…] (at most {caps.MAX_GIVEN_CANDIDATES}, else 413)",
    )
    grid_m: float | None = Field(
        None,
        ge=20,
        le=20000,
        description="grid spacing (default radius/2, coarser when the grid would pass "
        f"{caps.MAX_GRID_CANDIDATES:,} points; a given grid_m that passes it is 413)",
    )
    h3_res: int = Field(
        9, ge=caps.H3_RES[0], le=caps.H3_RES[1], description="H3 resolution of the uncovered cells"
    )
    max_candidates: int = Field(
        300, ge=1, le=caps.MAX_SHORTLIST, description="candidates kept for the MCLP model"
    )

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "minutes": 15,
                    "mode": "walk",
                    "weight": "members",
                    "district": "D01",
                    "propose": 5,
                }
            ]
        }
    }

    def request(self) -> core.CoverageRequest:
        """The core request."""
        given = isinstance(self.candidates, list)
        return core.CoverageRequest(
            meters=self.meters,
            minutes=self.minutes,
            speed_m_per_min=self.speed,
            mode=self.mode,
            weight=self.weight,
            district=self.district,
            bbox=tuple(self.bbox) if self.bbox else None,  # type: ignore[arg-type]
            propose=self.propose,
            candidates="auto" if given else str(self.candidates),
            candidate_points=tuple(self.candidates) if given else None,  # type: ignore[arg-type]
            grid_m=self.grid_m,
            h3_res=self.h3_res,
            max_candidates=self.max_candidates,
        )


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


@router.post(
    "/coverage",
    summary="Coverage of the 15-minute circle, uncovered cells and proposed sites",
    responses={
        200: {"content": {"application/json": {"example": _EXAMPLE}}},
        400: {"description": "bad limit, mode, weight, bbox, propose or candidates"},
        401: {"description": "member weights need a login"},
        403: {"description": "member weights need a planner, leader, steward or admin"},
        404: {"description": "unknown district"},
        413: {"description": "bbox, candidate list or candidate grid beyond its cap"},
        503: {"description": "every analysis slot is busy (Retry-After)"},
    },
)
async def coverage(
    body: CoverageBody,
    request: Request,
    settings: Annotated[Settings, Depends(get_settings)],
    principal: Annotated[Principal, Depends(get_principal)],
) -> dict[str, Any]:
    """Aggregates only: coverage %, service areas, H3 cells and ranked proposals; member figures
    are sums of whole privacy atoms, published as multiples of 10."""
    check_weight_allowed(body.weight, principal)
    req = body.request()
    core.validate(req)
    timeout_ms = round(settings.api.analysis_timeout * 1000)  # DJMAP_ANALYSIS_TIMEOUT
    result: dict[str, Any] = await run_bounded(
        request.app,
        settings,
        lambda: core.run(settings.db.url, req, principal, statement_timeout_ms=timeout_ms),
    )
    return result
