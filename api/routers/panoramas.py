"""Panoramas: metadata, the image (ETag, Range, long cache), and uploads by stewards."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse, Response

from api.auth import require_role
from api.deps import RowId, get_pool, get_settings
from api.settings import Settings
from geo import panoramas as core
from geo.scope import Principal

router = APIRouter(tags=["panoramas"])

CACHE_CONTROL = "public, max-age=31536000, immutable"
MEDIA = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}
UPLOAD_ROLES = ("steward", "admin")

_META = {
    "id": 1,
    "code": "pano-0001",
    "title": "东华门街道党群服务中心 大厅",
    "width": 8192,
    "height": 4096,
    "heading": 90.0,
    "captured_at": "2026-04-01T10:00:00+00:00",
    "lon": 116.401,
    "lat": 39.912,
    "image": "/api/panoramas/1/image",
    "service_point": {"id": 12, "name": "东华门街道党群服务中心", "kind": "党群服务中心"},
}


def panorama_folder(settings: Settings) -> Path:
    """Where panorama images live: <home>/panoramas."""
    return settings.db.home / "panoramas"


def _too_large(message: str) -> JSONResponse:
    return JSONResponse({"code": "PayloadTooLarge", "description": message}, status_code=413)


@router.get(
    "/panoramas/{panorama_id}",
    summary="Panorama metadata",
    responses={
        200: {"content": {"application/json": {"example": _META}}},
        404: {"description": "no such panorama"},
    },
)
async def get_panorama(
    panorama_id: RowId, pool: Annotated[asyncpg.Pool, Depends(get_pool)]
) -> dict[str, Any]:
    """Metadata with the linked service point and the heading of the image centre."""
    async with pool.acquire() as conn:
        return await core.metadata(conn, panorama_id)


@router.get(
    "/panoramas/{panorama_id}/image",
    summary="Panorama image",
    response_class=FileResponse,
    responses={
        200: {"content": {"image/jpeg": {}, "image/png": {}}},
        206: {"description": "the requested byte range"},
        304: {"description": "not modified (If-None-Match)"},
        404: {"description": "no such panorama or image"},
        416: {"description": "range not satisfiable"},
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
    responses={
        201: {"content": {"application/json": {"example": _META}}},
        400: {"description": "not a JPEG/PNG by content, not 2:1, no location, bad field"},
        401: {"description": "not logged in"},
        403: {"description": "not a steward or admin"},
        409: {"description": "a panorama with this code exists"},
        413: {"description": "over 30 MB or wider than 8192 px"},
    },
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
        str | None, Form(description="unique code (default from the content hash)")
    ] = None,
    title: Annotated[str | None, Form()] = None,
    heading: Annotated[
        float | None, Form(description="compass heading of the image centre, 0..360")
    ] = None,
    service_point_id: Annotated[int | None, Form(description="link to this service point")] = None,
    lon: Annotated[
        float | None, Form(description="WGS84 longitude (default: GPS EXIF / GPano XMP)")
    ] = None,
    lat: Annotated[float | None, Form(description="WGS84 latitude")] = None,
    captured_at: Annotated[datetime | None, Form()] = None,
) -> JSONResponse:
    """Checked by content; EXIF stripped except orientation and GPS; placed and linked."""
    data = await file.read(core.MAX_BYTES + 1)
    try:
        image = await run_in_threadpool(core.check_image, data)
    except core.TooLarge as exc:
        return _too_large(str(exc))
    fields = core.UploadFields(code, title, heading, service_point_id, lon, lat, captured_at)
    async with pool.acquire() as conn:
        meta = await core.create(conn, image, fields, panorama_folder(settings))
    return JSONResponse(meta, status_code=201)
