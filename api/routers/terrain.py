"""Terrain-RGB tiles: `GET /api/terrain/tilejson.json` and `GET /api/terrain/{z}/{x}/{y}.png`.

A tile outside the grid is 400, outside the built zoom range 404; inside the range a tile with no
DEM under it is a flat 0 m tile (header `X-Djmap-Terrain: flat`), so TerrainLayer shows no holes.
Tile URLs in the TileJSON carry `?v=<build_id>`; such requests are cacheable for a day, others
must revalidate.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse, Response

from api.deps import get_settings
from api.models.errors import errors
from api.models.media import NOT_MODIFIED, PNG, binary
from api.models.tiles import TileJSON
from api.settings import Settings
from geo.errors import NotFound
from tiles.builders import TERRAIN
from tiles.terrain import MAX_ZOOM as TERRAIN_MAX_ZOOM
from tiles.terrain import resolve_tile, tilejson

router = APIRouter(prefix="/terrain", tags=["terrain"])
VERSIONED_CACHE = "public, max-age=86400"


async def _live(request: Request) -> dict[str, Any]:
    """The live terrain build's metadata (the derived-build registry re-reads its store)."""
    built = await request.app.state.builds.get(TERRAIN)
    if built is None:
        raise NotFound("no terrain built yet: run `djmap tiles terrain build --dem PATH`")
    meta: dict[str, Any] = built.value
    return meta


@router.get(
    "/tilejson.json",
    summary="TileJSON 3.0.0 of the terrain-RGB tiles",
    response_model=TileJSON,
    responses=errors((404, "no terrain built yet")),
)
async def terrain_tilejson(request: Request) -> JSONResponse:
    """Where the tiles are, their zooms and bounds, `encoding: mapbox`."""
    meta = await _live(request)
    base = str(request.url_for("terrain_tile", z="{z}", x="{x}", y="{y}"))
    url = base.replace("%7B", "{").replace("%7D", "}") + f"?v={meta['build_id']}"
    return JSONResponse(tilejson(meta, url), headers={"Cache-Control": "no-cache"})


@router.get(
    "/{z}/{x}/{y}.png",
    name="terrain_tile",
    summary="One terrain-RGB PNG tile",
    response_class=FileResponse,
    responses={
        200: binary(PNG, description="the tile (flat 0 m where the DEM does not reach)"),
        **NOT_MODIFIED,
        **errors(
            (400, "x/y off the grid at z"),
            (404, "no terrain built yet, or z outside the built zooms"),
        ),
    },
)
async def terrain_tile(
    z: Annotated[int, Path(ge=0, le=TERRAIN_MAX_ZOOM, description="zoom")],
    x: Annotated[int, Path(ge=0, lt=2**TERRAIN_MAX_ZOOM, description="column, below 2^z")],
    y: Annotated[int, Path(ge=0, lt=2**TERRAIN_MAX_ZOOM, description="row, below 2^z")],
    request: Request,
    settings: Annotated[Settings, Depends(get_settings)],
    v: Annotated[str | None, Query(description="build id from the TileJSON (cache key)")] = None,
) -> Response:
    """The PNG; flat where the DEM does not reach, 404 outside the zooms, 400 outside the grid."""
    meta = await _live(request)
    build_id = str(meta["build_id"])
    tile = await run_in_threadpool(resolve_tile, settings.db.home, meta, z, x, y)
    etag = f'"{build_id}-{z}-{x}-{y}"'
    cache = VERSIONED_CACHE if v == build_id else "no-cache"
    headers = {"ETag": etag, "Cache-Control": cache}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    if isinstance(tile, bytes):
        headers["X-Djmap-Terrain"] = "flat"
        return Response(tile, media_type="image/png", headers=headers)
    return FileResponse(tile, media_type="image/png", headers=headers)
