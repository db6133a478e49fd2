"""`GET /api/nearest`: the nearest service points or activities, straight or on foot."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Depends, Query

from api.deps import get_pool, get_principal, get_settings
from api.settings import Settings
from geo.analysis import nearest as core
from geo.db.pool import set_statement_timeout
from geo.scope import Principal

router = APIRouter(tags=["nearest"])

_EXAMPLE = {
    "target": "service_points",
    "mode": "walk",
    "origin": {"lon": 116.397, "lat": 39.909},
    "k": 1,
    "speed_m_per_min": 80.0,
    "results": [
        {
            "id": 12,
            "name": "东华门街道党群服务中心",
            "kind": "党群服务中心",
            "lon": 116.401,
            "lat": 39.912,
            "distance_m": 612.4,
            "straight_m": 480.2,
            "walk_minutes": 7.7,
            "opening_hours": "Mo-Fr 09:00-17:30",
            "links": {
                "amap": "https://uri.amap.com/navigation?to=116.407237,39.913404,...&mode=walk&coordinate=gaode",
                "geo": "geo:39.912000,116.401000",
            },
        }
    ],
}


@dataclass
class NearestParams:
    """Query parameters of /api/nearest (all validated again in the core; errors are 400)."""

    lon: Annotated[float, Query(description="WGS84 longitude of the origin, -180..180")]
    lat: Annotated[float, Query(description="WGS84 latitude of the origin, -90..90")]
    target: Annotated[str, Query(description="service_points or activities")] = "service_points"
    k: Annotated[int, Query(description="how many results, 1..50")] = 5
    kind: Annotated[str | None, Query(description="only this kind (e.g. 党群服务站)")] = None
    mode: Annotated[str, Query(description="straight (geodesic) or walk (road network)")] = (
        "straight"
    )
    start: Annotated[
        datetime | None,
        Query(alias="from", description="activities: window start (default now)"),
    ] = None
    end: Annotated[
        datetime | None,
        Query(alias="to", description="activities: window end (default from + 14 days)"),
    ] = None
    speed: Annotated[float, Query(description="walking speed in m/min")] = 80.0
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
        "an RFC 5870 `geo:LAT,LON` URI in WGS84 for any other map app."
    ),
    responses={
        200: {"content": {"application/json": {"example": _EXAMPLE}}},
        400: {"description": "lat/lon out of range, k > 50, unknown target or mode, bad window"},
    },
)
async def nearest(
    params: Annotated[NearestParams, Depends()],
    pool: Annotated[asyncpg.Pool, Depends(get_pool)],
    principal: Annotated[Principal, Depends(get_principal)],
    settings: Annotated[Settings, Depends(get_settings)],
) -> dict[str, Any]:
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
        return await core.nearest(conn, query, principal)
