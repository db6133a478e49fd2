"""3D Tiles of buildings: `GET /api/3dtiles/buildings/tileset.json` and its content files.

tileset.json always names the live build; its content URIs carry the build id
(`{build_id}/tiles/{level}/{x}_{y}.b3dm`), so contents are immutable and cached for a year.
When `buildings`, `organisations` or the terrain changed since the live build, the stale tileset
is still served (header `X-Djmap-Tileset-Stale: true`) while a rebuild runs in the background.
"""

from __future__ import annotations

from typing import Annotated

import asyncpg
from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, Response

from api.deps import get_pool, get_settings
from api.settings import Settings
from geo.errors import NotFound, Unavailable
from geo.db.pool import as_unavailable
from tiles.threed import VERSIONED, current_manifest, ground_id, is_stale, spawn_rebuild
from tiles.threed.serve import content_file, served_tileset

router = APIRouter(prefix="/3dtiles/buildings", tags=["3d tiles"])
IMMUTABLE = "public, max-age=31536000, immutable"
VERSIONS_SQL = "SELECT table_name, version FROM data_versions WHERE table_name = ANY($1::text[])"


async def _versions(pool: asyncpg.Pool) -> dict[str, int] | None:
    """The versions of the tables a build is made from; None while the database is away (the
    live build is then served as it is: stale-if-error)."""
    try:
        rows = await pool.fetch(VERSIONS_SQL, list(VERSIONED))
    except Exception as exc:
        if as_unavailable(exc) is None:
            raise
        return None
    return {str(r["table_name"]): int(r["version"]) for r in rows}


def _not_modified(request: Request, etag: str) -> bool:
    tags = request.headers.get("if-none-match", "")
    return etag in [t.strip() for t in tags.split(",")] or tags.strip() == "*"


@router.get("/tileset.json", summary="3D Tiles tileset of the buildings (b3dm by default)")
async def tileset(
    request: Request,
    pool: Annotated[asyncpg.Pool, Depends(get_pool)],
    settings: Annotated[Settings, Depends(get_settings)],
) -> Response:
    """The live tileset; rebuilt in the background when the buildings data changed."""
    home = settings.db.home
    manifest = await run_in_threadpool(current_manifest, home)
    ground = await run_in_threadpool(ground_id, home)
    versions = await _versions(pool)
    if versions is None and manifest is None:
        raise Unavailable("the database is unavailable and no tileset is built yet")
    stale = versions is not None and is_stale(manifest, versions, ground)
    if stale:
        fmt = manifest["format"] if manifest else "b3dm"
        await run_in_threadpool(spawn_rebuild, home, settings.db.url, fmt)
    if manifest is None:
        raise NotFound(
            "the buildings tileset is not built yet; a build has been started "
            "(or run `djmap tiles 3d build`)"
        )
    build_id = str(manifest["build_id"])
    etag = f'"{build_id}"'
    headers = {
        "ETag": etag,
        "Cache-Control": "no-cache",
        "X-Djmap-Tileset-Stale": "unknown" if versions is None else str(stale).lower(),
    }
    if _not_modified(request, etag):
        return Response(status_code=304, headers=headers)
    body = await run_in_threadpool(served_tileset, home, build_id)
    return Response(body, media_type="application/json", headers=headers)


@router.get("/{build_id}/{path:path}", summary="One tile content (b3dm or glb) of a build")
async def content(
    build_id: str,
    path: str,
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
