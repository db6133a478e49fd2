"""`POST /api/coverage`: who is inside the 15-minute circle, where it has holes, where to add sites."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from api.auth import unauthorized
from api.deps import get_principal, get_settings
from api.settings import Settings
from geo.analysis import coverage as core
from geo.errors import Forbidden
from geo.scope import Principal

router = APIRouter(tags=["coverage"])

_EXAMPLE = {
    "params": {"radius_m": 1200.0, "minutes": 15, "mode": "walk", "weight": "members", "district": "330102"},
    "summary": {
        "count_total": 3000, "count_covered": 2682, "coverage_pct_count": 89.4,
        "weight_total": 3000, "weight_covered": 2682, "coverage_pct_weight": 89.4,
        "uncovered_weight": 318, "uncovered_count": 318, "service_points": 30, "suppressed_cells": 8,
    },
    "service_areas": {"type": "FeatureCollection", "features": ["… one polygon per service point …"]},
    "uncovered_cells": {
        "type": "FeatureCollection",
        "features": [{
            "type": "Feature", "geometry": {"type": "Polygon", "coordinates": ["…"]},
            "properties": {"layer": "uncovered_cell", "h3": "8930e1d8a4bffff", "resolution": 9,
                           "weight": 14, "count": 14, "merged": False},
        }],
    },
    "proposed": [{"rank": 1, "lon": 120.265, "lat": 30.327, "source": "building", "building": "B002421",
                  "gain_weight": 81, "coverage_pct_weight_after": 92.1}],
    "notes": [],
}  # fmt: skip

# Member-weighted coverage is about members (aggregated, but still): planners and up.
MEMBER_WEIGHT_ROLES = ("leader", "planner", "steward", "admin")


class CoverageBody(BaseModel):
    """A coverage run: limit (meters or minutes), mode, weight, area, proposals."""

    meters: float | None = Field(None, gt=0, le=20000, description="limit in metres")
    minutes: float | None = Field(None, gt=0, le=240, description="limit in minutes (default 15)")
    speed: float = Field(80.0, ge=10, le=500, description="walking speed, m/min")
    mode: Literal["straight", "walk"] = "straight"
    weight: Literal["members", "buildings", "population"] = "members"
    district: str | None = Field(None, description="district code (or give bbox)")
    bbox: list[float] | None = Field(
        None, min_length=4, max_length=4, description="minlon,minlat,maxlon,maxlat"
    )
    propose: int = Field(0, ge=0, le=core.MAX_PROPOSE, description="how many new sites to suggest")
    candidates: Literal["auto", "buildings", "grid"] | list[tuple[float, float]] = Field(
        "auto",
        description="candidate sites: auto (building points, else a grid), buildings, grid, or [[lon,lat],…]",
    )
    grid_m: float | None = Field(
        None, ge=20, le=20000, description="grid spacing (default radius/2)"
    )
    h3_res: int = Field(9, ge=5, le=12, description="H3 resolution of the uncovered cells")

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
        )


def check_weight_allowed(weight: str, principal: Principal) -> None:
    """Member weights need a leader/planner/steward/admin; 401 when anonymous."""
    if weight != "members" or principal.role in MEMBER_WEIGHT_ROLES:
        return
    if principal.role == "public":
        raise unauthorized("log in to weigh coverage by members")
    raise Forbidden("member-weighted coverage is for planners, leaders, stewards and admins")


@router.post(
    "/coverage",
    summary="Coverage of the 15-minute circle, uncovered cells and proposed sites",
    responses={
        200: {"content": {"application/json": {"example": _EXAMPLE}}},
        400: {"description": "bad limit, mode, weight, bbox, propose or candidates"},
        401: {"description": "member weights need a login"},
        403: {"description": "member weights need a planner, leader, steward or admin"},
        404: {"description": "unknown district"},
    },
)
def coverage(
    body: CoverageBody,
    settings: Annotated[Settings, Depends(get_settings)],
    principal: Annotated[Principal, Depends(get_principal)],
) -> dict[str, Any]:
    """Aggregates only: coverage %, service areas, H3 cells (member counts ≥ 10), ranked proposals."""
    check_weight_allowed(body.weight, principal)
    req = body.request()
    core.validate(req)
    return core.run(settings.db.url, req, principal)
