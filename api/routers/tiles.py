"""Vector tiles: `GET /api/tiles/{layer}/{z}/{x}/{y}.mvt` and `GET /api/tiles/{layer}/tilejson.json`.

Empty tiles are answered `200` with an empty body (a valid empty MVT), never 204, so every client
caches and parses them the same way. Tile URLs carry `?v=<data version token>`; a request whose
`v` is the current token may be cached for a year (`immutable`), others must revalidate (ETag).
"""

from __future__ import annotations

import inspect
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from api.auth import oauth2_scheme
from api.deps import TOKEN_OPTIONAL, get_principal
from api.models.errors import errors
from api.models.media import MVT, NOT_MODIFIED, MVTResponse, binary
from api.models.tiles import TileJSON
from geo.errors import Forbidden, InvalidInput
from geo.scope import Principal
from layers import catalog
from layers import filters as lf
from tiles.mvt import MAX_ZOOM
from tiles.service import TileService
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
    gzip_ok = "gzip" in request.headers.get("accept-encoding", "") and served.tile.gz
    etag = served.tile.etag[:-1] + '.gz"' if gzip_ok else served.tile.etag
    headers = {
        "ETag": etag,
        "Cache-Control": IMMUTABLE if params.get("v") == served.token else REVALIDATE,
        "Vary": "Accept-Encoding",
        "X-Data-Version": served.token,
    }
    if _matches(request.headers.get("if-none-match"), etag):
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
