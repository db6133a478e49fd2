"""3D Tiles of buildings: `GET /api/3dtiles/buildings/tileset.json` and its content files.

tileset.json always names the live build; its content URIs carry the build id
(`{build_id}/tiles/{level}/{x}_{y}.b3dm`), so contents are immutable and cached for a year.
When `buildings`, `organisations` or the terrain changed since the live build, the stale tileset
is still served (header `X-Djmap-Tileset-Stale: true`) until the rebuild the derived-build
scheduler runs (tiles/builds.py) lands; a GET never starts one.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, Response

from api.deps import get_settings
from api.models.errors import errors
from api.models.media import B3DM, GLB, NOT_MODIFIED, binary
from api.models.tiles import Tileset
from api.settings import Settings
from geo.errors import NotFound
from tiles.builders import THREED
from tiles.builds import DerivedBuilds
from tiles.threed.serve import content_file, served_tileset

router = APIRouter(prefix="/3dtiles/buildings", tags=["3d tiles"])
IMMUTABLE = "public, max-age=31536000, immutable"


def _not_modified(request: Request, etag: str) -> bool:
    tags = request.headers.get("if-none-match", "")
    return etag in [t.strip() for t in tags.split(",")] or tags.strip() == "*"


@router.get(
    "/tileset.json",
    summary="3D Tiles tileset of the buildings (b3dm by default)",
    response_model=Tileset,
    responses={**NOT_MODIFIED, **errors((404, "the tileset is not built yet"))},
)
async def tileset(
    request: Request, settings: Annotated[Settings, Depends(get_settings)]
) -> Response:
    """The live tileset; while the buildings data is newer, the live build is served with
    `X-Djmap-Tileset-Stale: true` until the rebuild (started by writes or the scheduler) lands."""
    builds: DerivedBuilds = request.app.state.builds
    built = await builds.get(THREED)
    if built is None:
        raise NotFound(
            "the buildings tileset is not built yet: run `djmap tiles 3d build` "
            "(it is kept fresh after that)"
        )
    fresh = await builds.fresh(THREED)
    build_id = str(built.value["build_id"])
    etag = f'"{build_id}"'
    headers = {
        "ETag": etag,
        "Cache-Control": "no-cache",
        "X-Djmap-Tileset-Stale": "unknown" if fresh is None else str(not fresh).lower(),
    }
    if _not_modified(request, etag):
        return Response(status_code=304, headers=headers)
    body = await run_in_threadpool(served_tileset, settings.db.home, build_id)
    return Response(body, media_type="application/json", headers=headers)


@router.get(
    "/{build_id}/{path:path}",
    summary="One tile content (b3dm or glb) of a build",
    response_class=FileResponse,
    responses={
        200: binary(B3DM, GLB, description="the content (gzip-encoded when accepted)"),
        **NOT_MODIFIED,
        **errors((404, "not a content of a build")),
    },
)
async def content(
    build_id: Annotated[str, Path(description="build id, as in the tileset's content URIs")],
    path: Annotated[str, Path(description="tiles/<level>/<x>_<y>.b3dm (or .glb)")],
    request: Request,
    settings: Annotated[Settings, Depends(get_settings)],
) -> Response:
    """A content file (gzip-encoded when accepted); 404 for anything not a content of a build."""
    accepts_gzip = "gzip" in request.headers.get("accept-encoding", "")
    file, media_type = content_file(settings.db.home, build_id, path, accepts_gzip)
    encoded = file.suffix == ".gz"
    etag = f'"{build_id}/{path}{"+gzip" if encoded else ""}"'
    headers = {"ETag": etag, "Cache-Control": IMMUTABLE, "Vary": "Accept-Encoding"}
    if _not_modified(request, etag):
        return Response(status_code=304, headers=headers)
    if encoded:
        headers["Content-Encoding"] = "gzip"
    return FileResponse(file, media_type=media_type, headers=headers)
