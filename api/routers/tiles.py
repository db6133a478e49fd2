"""Vector tiles: `GET /api/tiles/{layer}/{z}/{x}/{y}.mvt` and `GET /api/tiles/{layer}/tilejson.json`.

Empty tiles are answered `200` with an empty body (a valid empty MVT), never 204, so every client
caches and parses them the same way. Tile URLs carry `?v=<data version token>`; a request whose
`v` is the current token may be cached for a year (`immutable`), others must revalidate (ETag).
"""

from __future__ import annotations

import inspect
import re
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from api.auth import oauth2_scheme
from api.deps import TOKEN_OPTIONAL, get_principal
from api.models.errors import errors
from api.models.media import MVT, NOT_MODIFIED, MVTResponse, binary
from api.models.tiles import TileJSON
from api.security import SecurityHeaders
from geo.errors import Forbidden, InvalidInput
from geo.scope import Principal
from layers import catalog
from layers import filters as lf
from tiles.mvt import MAX_ZOOM
from tiles.service import Served, TileService
from tiles.tilejson import tilejson

router = APIRouter(tags=["tiles"])
LayerId = Annotated[str, Path(description="catalog layer id (see /api/layers)")]
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "public, max-age=0, must-revalidate"


async def get_tiles(request: Request) -> TileService:
    """The app's tile service (made by the lifespan: api/services.py; async: no thread hop)."""
    service: TileService = request.app.state.tiles
    return service


def query_filters(request: Request) -> dict[str, str]:
    """The query parameters as a plain dict (a repeated parameter is a 400)."""
    if not request.scope["query_string"]:
        return {}  # most tile requests: skip building QueryParams
    items = request.query_params.multi_items()
    params = dict(items)
    if len(params) != len(items):
        raise InvalidInput("a query parameter is repeated")
    return params


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or etag in tags


async def caller(request: Request) -> Principal:
    """The caller as `get_principal` sees it (dependency overrides included), without FastAPI."""
    override = request.app.dependency_overrides.get(get_principal)
    if override is not None:
        found = override()
        return await found if inspect.isawaitable(found) else found  # type: ignore[no-any-return]
    return await get_principal(request, await oauth2_scheme(request))


async def tile_response(
    request: Request, tiles: TileService, principal: Principal, layer: str, z: int, x: int, y: int
) -> Response:
    """The tile with its caching headers: gzip when accepted, 304 when the ETag matches."""
    params = query_filters(request)
    served = await tiles.tile(layer, z, x, y, params, principal.audience, principal)
    h = request.headers
    return served_response(
        served, params.get("v"), h.get("accept-encoding"), h.get("if-none-match")
    )


def served_response(
    served: Served, v: str | None, accept_encoding: str | None, if_none_match: str | None
) -> Response:
    """A served tile as the route answers it (the lane below answers the same)."""
    gzip_ok = "gzip" in (accept_encoding or "") and served.tile.gz
    etag = served.tile.etag[:-1] + '.gz"' if gzip_ok else served.tile.etag
    headers = {
        "ETag": etag,
        "Cache-Control": IMMUTABLE if v == served.token else REVALIDATE,
        "Vary": "Accept-Encoding",
        "X-Data-Version": served.token,
    }
    if _matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    if gzip_ok:
        headers["Content-Encoding"] = "gzip"
        return Response(served.tile.gz, media_type=MVT, headers=headers)
    return Response(served.tile.raw, media_type=MVT, headers=headers)


async def fast_tile(request: Request) -> Response:
    """The tile route as a bare Starlette endpoint: FastAPI's per-request dependency solving
    costs more than serving a cached tile, so this route answers; the documented one below has
    the same behaviour and exists for the OpenAPI document."""
    p = request.path_params
    try:
        z, x, y = int(p["z"]), int(p["x"]), int(p["y"])
    except ValueError:
        raise InvalidInput("z, x and y must be integers") from None
    tiles = await get_tiles(request)
    return await tile_response(request, tiles, await caller(request), p["layer"], z, x, y)


router.add_route(
    "/tiles/{layer}/{z}/{x}/{y}.mvt", fast_tile, methods=["GET"], include_in_schema=False
)


@router.get(
    "/tiles/{layer}/{z}/{x}/{y}.mvt",
    summary="A Mapbox Vector Tile of a catalog layer",
    response_class=MVTResponse,
    responses={
        200: binary(MVT, description="the tile (empty body: an empty tile; gzip when accepted)"),
        **NOT_MODIFIED,
        **errors(
            (400, "x/y off the grid at z, a zoom outside the layer's range, a bad filter"),
            (403, "the layer is above the caller's audience"),
            (404, "unknown layer, or `org=` names no organisation"),
            (503, "the database is unavailable and the tile is not cached (Retry-After)"),
        ),
    },
    openapi_extra=TOKEN_OPTIONAL,
)
async def tile(
    request: Request,
    layer: LayerId,
    z: Annotated[int, Path(ge=0, le=MAX_ZOOM, description="zoom")],
    x: Annotated[int, Path(ge=0, lt=2**MAX_ZOOM, description="column, below 2^z")],
    y: Annotated[int, Path(ge=0, lt=2**MAX_ZOOM, description="row, below 2^z")],
    tiles: Annotated[TileService, Depends(get_tiles)],
    principal: Annotated[Principal, Depends(get_principal)],
    v: Annotated[str | None, Query(description="data version token (cache key)")] = None,
) -> Response:
    """The tile (gzip when accepted); filters are the layer's catalog filters as query parameters.

    An empty tile is 200 with an empty body. URLs with `?v=<current data version>` are immutable.
    """
    return await tile_response(request, tiles, principal, layer, z, x, y)


@router.get(
    "/tiles/{layer}/tilejson.json",
    summary="TileJSON 3.0.0 of a catalog layer",
    response_model=TileJSON,
    response_model_exclude_unset=True,
    responses=errors(
        (400, "a bad filter"),
        (403, "the layer is above the caller's audience"),
        (404, "unknown layer, or `org=` names no organisation"),
        (503, "the database is unavailable and nothing is cached (Retry-After)"),
    ),
    openapi_extra=TOKEN_OPTIONAL,
)
async def layer_tilejson(
    request: Request,
    layer: LayerId,
    tiles: Annotated[TileService, Depends(get_tiles)],
    principal: Annotated[Principal, Depends(get_principal)],
) -> dict[str, object]:
    """TileJSON with versioned tile URLs (filters in the query are carried into them)."""
    found = catalog.get(layer)
    if not catalog.can_see(found, principal.audience):
        raise Forbidden(f"layer {layer!r} is not available to the {principal.audience} audience")
    params = query_filters(request)
    params.pop("v", None)
    await tiles.check_orgs(lf.parse(found, params, audience=principal.audience))
    base = str(request.base_url).rstrip("/")
    return await tilejson(tiles, found, principal.audience, base, params)


TILE_PATH = re.compile(r"/api/tiles/([^/]+)/(\d{1,2})/(\d{1,8})/(\d{1,8})\.mvt")
PASS = (b"authorization", b"origin")  # callers and CORS requests take the full path


class TileLane:
    """The app's outermost middleware: an anonymous GET of a public tile, without a query, that
    the memory cache holds under versions whose lease holds (tiles/versions.py) is answered here,
    as `tile_response` would answer it and with the hardening headers (api/security.py); every
    other request, and any doubt, goes the full way through the app. The middleware and routing
    a hit would cross cost more than the hit itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and not scope["query_string"]:
            response = lane_response(scope)
            if response is not None:
                await SecurityHeaders(response)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def lane_response(scope: Scope) -> Response | None:
    """The response of a tile request the lane may answer, or None."""
    found = TILE_PATH.fullmatch(scope["path"])
    app = scope.get("app")
    if found is None or app is None or app.dependency_overrides:
        return None
    accept = if_none_match = None
    for name, value in scope["headers"]:
        if name in PASS:
            return None
        if name == b"accept-encoding":
            accept = value.decode("latin-1")
        elif name == b"if-none-match":
            if_none_match = value.decode("latin-1")
    service: TileService | None = getattr(app.state, "tiles", None)
    if service is None:
        return None
    layer, z, x, y = found.groups()
    served = service.cached(layer, int(z), int(x), int(y))
    return None if served is None else served_response(served, None, accept, if_none_match)
