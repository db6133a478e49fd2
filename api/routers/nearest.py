"""`GET /api/nearest`: the nearest service points or activities, straight or on foot."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

import asyncpg
from fastapi import APIRouter, Depends, Query

from api.deps import (
    NO_NUL,
    TOKEN_OPTIONAL,
    DateTime,
    get_principal,
    get_read_pool,
    get_settings,
)
from api.models.analysis import Nearest
from api.models.errors import errors
from api.settings import Settings
from geo.analysis import nearest as core
from geo.db.pool import set_statement_timeout
from geo.scope import Principal
from geo.vocab import NearestTarget

router = APIRouter(tags=["nearest"])


@dataclass
class NearestParams:
    """Query parameters of /api/nearest (all validated again in the core; errors are 400)."""

    lon: Annotated[float, Query(ge=-180, le=180, description="WGS84 longitude of the origin")]
    lat: Annotated[float, Query(ge=-90, le=90, description="WGS84 latitude of the origin")]
    target: Annotated[NearestTarget, Query(description="what to rank")] = (
        NearestTarget.SERVICE_POINTS
    )
    k: Annotated[int, Query(ge=1, le=core.MAX_K, description="how many results")] = 5
    kind: Annotated[
        str | None,
        Query(max_length=50, pattern=NO_NUL, description="only this kind (e.g. 党群服务站)"),
    ] = None
    mode: Annotated[
        Literal["straight", "walk"],
        Query(description="straight (geodesic) or walk (road network)"),
    ] = "straight"
    start: Annotated[
        DateTime | None,
        Query(alias="from", description="activities: window start (default now)"),
    ] = None
    end: Annotated[
        DateTime | None,
        Query(
            alias="to", description="activities: window end (default from + 14 days; after from)"
        ),
    ] = None
    speed: Annotated[float, Query(ge=10, le=500, description="walking speed in m/min")] = 80.0
    route: Annotated[bool, Query(description="walk: include the route as GeoJSON")] = False


@router.get(
    "/nearest",
    summary="Nearest service points or activities",
    description=(
        "straight: exact geodesic (WGS84 spheroid) ranking, found with the GiST KNN index. "
        "walk: the KNN candidates re-ranked by walking metres on the roads network "
        "(pgr_withPointsCost, origin and candidates snapped onto their nearest street), widened "
        "until the top k is exact; a point more than 500 m from any street answers in straight "
        "mode with a `note`. `links.amap` is Amap's web navigation URI "
        "(`https://uri.amap.com/navigation?to=LON,LAT,NAME&mode=walk&coordinate=gaode&callnative=1`) "
        "with GCJ-02 coordinates: it opens the Amap app on phones (callnative) and the web map "
        "elsewhere, unlike `amapuri://` which only works where the app is installed. `links.geo` is "
        "an RFC 5870 `geo:LAT,LON` URI in WGS84 for any other map app. "
        "activities: only those one may still attend (not cancelled, not over); a member gets "
        "only the ones inviting their branch (organised by it or an organisation above it) or "
        "that they registered for (or wait for)."
    ),
    response_model=Nearest,
    response_model_exclude_unset=True,
    responses=errors((400, "bad window (`to` not after `from`), or a parameter out of range"), 503),
    openapi_extra=TOKEN_OPTIONAL,
)
async def nearest(
    params: Annotated[NearestParams, Depends()],
    pool: Annotated[asyncpg.Pool, Depends(get_read_pool)],  # a replica when configured
    principal: Annotated[Principal, Depends(get_principal)],
    settings: Annotated[Settings, Depends(get_settings)],
) -> Nearest:
    """Results ordered by distance (geodesic or walking), with Amap (GCJ-02) and geo: links."""
    query = core.NearestQuery(
        lon=params.lon,
        lat=params.lat,
        target=params.target,
        k=params.k,
        kind=params.kind,
        mode=params.mode,
        start=params.start,
        end=params.end,
        speed_m_per_min=params.speed,
        route=params.route,
    )
    core.validate(query)
    async with pool.acquire() as conn:
        if query.mode == "walk":  # routing is analysis: its own time limit (the pool's is shorter)
            await set_statement_timeout(conn, settings.api.analysis_timeout)
        return Nearest.model_validate(await core.nearest(conn, query, principal))
