"""Red education routes (红色教育路线, issue 14 §5): plan a tour through service points, download
it as GPX, save it to the district's published set (the red_routes layer)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from api.auth import require_role
from api.deps import TOKEN_OPTIONAL, RowId, get_settings
from api.models.errors import errors
from api.models.places import RedRoute, RedRouteBody, SavedRoute, SaveRouteBody
from api.routers.coverage import run_bounded
from api.settings import Settings
from geo.errors import InvalidInput
from geo.planning import gpx, routes, saved_routes
from geo.scope import Principal

router = APIRouter(tags=["red routes"])
Planner = Annotated[Principal, Depends(require_role("planner", "steward", "admin"))]
GPX = "application/gpx+xml"
STOPS = re.compile(r"^\d{1,19}(,\d{1,19}){0,40}$")
PLAN_ERRORS = (
    (400, "a bad mode, fewer than 2 or more than 25 stops, a stop twice, or a stop off the roads"),
    (404, "an unknown service point"),
    (503, "every analysis slot is busy, or the database is away (Retry-After)"),
)


async def _plan(request: Request, settings: Settings, body: RedRouteBody) -> dict[str, Any]:
    routes.validate(body.stops, body.mode)
    pool = request.app.state.analysis_pool

    def work() -> dict[str, Any]:
        with pool.connection() as conn:
            return routes.plan(conn, body.stops, body.mode, body.return_)

    result: dict[str, Any] = await run_bounded(request.app, settings, work)
    return result


@router.post(
    "/routes/red",
    summary="A red education route through service points, in the best order",
    response_model=RedRoute,
    responses=errors(*PLAN_ERRORS, 413),
    openapi_extra=TOKEN_OPTIONAL,
)
async def red_route(
    body: RedRouteBody, request: Request, settings: Annotated[Settings, Depends(get_settings)]
) -> RedRoute:
    """Ordered stops (with their panoramas), legs with path, metres and seconds, the whole path
    as GeoJSON, distance and duration. Public: only service points and roads."""
    return RedRoute.model_validate(await _plan(request, settings, body))


def _stops(text: str) -> list[int]:
    if not STOPS.match(text):
        raise InvalidInput("stops is a comma-separated list of service point ids")
    return [int(s) for s in text.split(",")]


def _gpx(body: bytes, name: str) -> Response:
    disposition = f"attachment; filename=\"{name}.gpx\"; filename*=UTF-8''{name}.gpx"
    return Response(body, media_type=GPX, headers={"Content-Disposition": disposition})


@router.get(
    "/routes/red.gpx",
    summary="The same route as GPX (waypoints for the stops, a track for the path)",
    response_class=Response,
    responses={
        200: {"content": {GPX: {"schema": {"type": "string", "format": "binary"}}}},
        **errors(*PLAN_ERRORS),
    },
    openapi_extra=TOKEN_OPTIONAL,
)
async def red_route_gpx(
    request: Request,
    settings: Annotated[Settings, Depends(get_settings)],
    stops: Annotated[str, Query(max_length=900, description="ids, comma-separated")],
    mode: Annotated[str, Query(pattern="^(walk|drive)$")] = "walk",
    return_: Annotated[bool, Query(alias="return")] = False,
) -> Response:
    """GPX 1.1 of the planned route."""
    ids = _stops(stops)
    routes.validate(ids, mode)  # 400 before the body model (which would say 500)
    body = RedRouteBody.model_validate({"stops": ids, "mode": mode, "return": return_})
    found = await _plan(request, settings, body)
    return _gpx(gpx.to_gpx("红色教育路线", found["stops"], found["path"]["geometry"]), "red-route")


@router.post(
    "/routes/red/saved",
    status_code=201,
    summary="Plan a route and keep it in the district's published set (planners)",
    response_model=SavedRoute,
    responses=errors(*PLAN_ERRORS, 401, 403, 413),
)
async def save_route(
    body: SaveRouteBody,
    request: Request,
    settings: Annotated[Settings, Depends(get_settings)],
    principal: Planner,
) -> SavedRoute:
    """The saved route's id and the route; the same tour saved again keeps its row."""
    found = await _plan(request, settings, body)
    pool = request.app.state.analysis_pool

    def work() -> int:
        with pool.connection() as conn:
            return saved_routes.save(conn, found, body.name, body.district)

    route_id = await run_bounded(request.app, settings, work)
    return SavedRoute.model_validate(
        {"id": route_id, "name": body.name, "district": body.district, "route": found}
    )


@router.get(
    "/routes/red/saved/{route_id}.gpx",
    summary="A saved route as GPX",
    response_class=Response,
    responses={
        200: {"content": {GPX: {"schema": {"type": "string", "format": "binary"}}}},
        **errors((404, "no such saved route"), 503),
    },
    openapi_extra=TOKEN_OPTIONAL,
)
async def saved_route_gpx(
    route_id: RowId, request: Request, settings: Annotated[Settings, Depends(get_settings)]
) -> Response:
    """GPX 1.1 of a saved route (stops and the path as saved)."""
    pool = request.app.state.analysis_pool

    def work() -> dict[str, Any]:
        with pool.connection() as conn:
            return saved_routes.get(conn, route_id)

    found = await run_bounded(request.app, settings, work)
    return _gpx(gpx.to_gpx(found["name"], found["stops"], found["geometry"]), f"route-{route_id}")
