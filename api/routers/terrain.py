"""Terrain-RGB tiles: `GET /api/terrain/tilejson.json` and `GET /api/terrain/{z}/{x}/{y}.png`.

A tile outside the grid is 400; a tile the build did not write (no DEM there, or outside the
zoom range) is 404, which deck.gl's TerrainLayer treats as no terrain. Tile URLs in the TileJSON
carry `?v=<build_id>`; such requests are cacheable for a day, others must revalidate.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse, Response

from api.deps import get_settings
from api.settings import Settings
from geo.errors import NotFound
from tiles.terrain import current_build, tile_file, tilejson

router = APIRouter(prefix="/terrain", tags=["terrain"])
VERSIONED_CACHE = "public, max-age=86400"


def _live(settings: Settings) -> dict[str, object]:
    meta = current_build(settings.db.home)
    if meta is None:
        raise NotFound("no terrain built yet: run `djmap tiles terrain build --dem PATH`")
    return meta


@router.get("/tilejson.json", summary="TileJSON 3.0.0 of the terrain-RGB tiles")
async def terrain_tilejson(
    request: Request, settings: Annotated[Settings, Depends(get_settings)]
) -> JSONResponse:
    """Where the tiles are, their zooms and bounds, `encoding: mapbox`."""
    meta = await run_in_threadpool(_live, settings)
    base = str(request.url_for("terrain_tile", z="{z}", x="{x}", y="{y}"))
    url = base.replace("%7B", "{").replace("%7D", "}") + f"?v={meta['build_id']}"
    return JSONResponse(tilejson(meta, url), headers={"Cache-Control": "no-cache"})


@router.get("/{z}/{x}/{y}.png", name="terrain_tile", summary="One terrain-RGB PNG tile")
async def terrain_tile(
    z: int,
    x: int,
    y: int,
    request: Request,
    settings: Annotated[Settings, Depends(get_settings)],
    v: Annotated[str | None, Query(description="build id from the TileJSON (cache key)")] = None,
) -> Response:
    """The PNG, 404 where no terrain was built, 400 outside the tile grid."""
    meta = await run_in_threadpool(_live, settings)
    build_id = str(meta["build_id"])
    path = await run_in_threadpool(tile_file, settings.db.home, build_id, z, x, y)
    etag = f'"{build_id}-{z}-{x}-{y}"'
    cache = VERSIONED_CACHE if v == build_id else "no-cache"
    headers = {"ETag": etag, "Cache-Control": cache}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return FileResponse(path, media_type="image/png", headers=headers)
