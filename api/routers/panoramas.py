"""Panoramas: metadata, the image (ETag, Range, long cache), and uploads by stewards."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse, Response

from api.auth import require_role
from api.deps import NO_NUL, DateTime, RowId, get_pool, get_settings
from api.models.data import Panorama
from api.models.errors import errors
from api.models.media import BYTERANGES, JPEG, NOT_MODIFIED, PNG, TEXT, binary
from api.settings import Settings
from geo import panoramas as core
from geo.scope import Principal

router = APIRouter(tags=["panoramas"])

CACHE_CONTROL = "public, max-age=31536000, immutable"
MEDIA = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}
UPLOAD_ROLES = ("steward", "admin")


def panorama_folder(settings: Settings) -> Path:
    """Where panorama images live: <home>/panoramas."""
    return settings.db.home / "panoramas"


def _too_large(message: str) -> JSONResponse:
    return JSONResponse({"code": "PayloadTooLarge", "description": message}, status_code=413)


@router.get(
    "/panoramas/{panorama_id}",
    summary="Panorama metadata",
    response_model=Panorama,
    responses=errors((404, "no such panorama"), 503),
)
async def get_panorama(
    panorama_id: RowId, pool: Annotated[asyncpg.Pool, Depends(get_pool)]
) -> Panorama:
    """Metadata with the linked service point and the heading of the image centre."""
    async with pool.acquire() as conn:
        return Panorama.model_validate(await core.metadata(conn, panorama_id))


@router.get(
    "/panoramas/{panorama_id}/image",
    summary="Panorama image",
    response_class=FileResponse,
    responses={
        200: binary(JPEG, PNG, description="the image (strong ETag, a year's Cache-Control)"),
        206: binary(JPEG, PNG, BYTERANGES, description="the requested byte range(s)"),
        **NOT_MODIFIED,
        **errors((404, "no such panorama or image file"), 503),
        416: binary(TEXT, description="range not satisfiable (Content-Range: bytes */size)"),
    },
)
async def get_image(
    panorama_id: RowId,
    request: Request,
    pool: Annotated[asyncpg.Pool, Depends(get_pool)],
    settings: Annotated[Settings, Depends(get_settings)],
) -> Response:
    """The image bytes with a strong ETag, byte ranges and a year-long Cache-Control."""
    async with pool.acquire() as conn:
        path = await core.image_path(conn, panorama_id, panorama_folder(settings))
    tag = core.etag(path)
    headers = {"ETag": tag, "Cache-Control": CACHE_CONTROL, "Accept-Ranges": "bytes"}
    if tag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    media = MEDIA.get(path.suffix.lower(), "application/octet-stream")
    return FileResponse(path, media_type=media, headers=headers)


@router.post(
    "/panoramas",
    summary="Upload a panorama (steward or admin)",
    status_code=201,
    response_model=Panorama,
    responses=errors(
        (400, "not a JPEG/PNG by content, not 2:1, no location, unknown service point, bad field"),
        (401, "not logged in"),
        (403, "not a steward or admin"),
        (409, "a panorama with this code exists"),
        (413, "over 30 MB or wider than 8192 px"),
        503,
    ),
)
async def upload_panorama(
    request: Request,
    file: Annotated[
        UploadFile, File(description="equirectangular JPEG or PNG, 2:1, ≤8192 px, ≤30 MB")
    ],
    pool: Annotated[asyncpg.Pool, Depends(get_pool)],
    settings: Annotated[Settings, Depends(get_settings)],
    principal: Annotated[Principal, Depends(require_role(*UPLOAD_ROLES))],
    code: Annotated[
        str | None,
        Form(max_length=100, pattern=NO_NUL, description="unique code (default: content hash)"),
    ] = None,
    title: Annotated[str | None, Form(max_length=200, pattern=NO_NUL)] = None,
    heading: Annotated[
        float | None, Form(ge=0, lt=360, description="compass heading of the image centre")
    ] = None,
    service_point_id: Annotated[
        int | None, Form(ge=1, le=2**63 - 1, description="link to this service point")
    ] = None,
    lon: Annotated[
        float | None,
        Form(ge=-180, le=180, description="WGS84 longitude (default: GPS EXIF / GPano XMP)"),
    ] = None,
    lat: Annotated[float | None, Form(ge=-90, le=90, description="WGS84 latitude")] = None,
    captured_at: Annotated[DateTime | None, Form()] = None,
) -> Panorama | JSONResponse:
    """Checked by content; EXIF stripped except orientation and GPS; placed and linked."""
    data = await file.read(core.MAX_BYTES + 1)
    try:
        image = await run_in_threadpool(core.check_image, data)
    except core.TooLarge as exc:
        return _too_large(str(exc))
    fields = core.UploadFields(code, title, heading, service_point_id, lon, lat, captured_at)
    async with pool.acquire() as conn:
        meta = await core.create(conn, image, fields, panorama_folder(settings))
    return Panorama.model_validate(meta)
