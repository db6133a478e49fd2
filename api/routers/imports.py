"""`POST /api/imports`: a steward or admin uploads a file; the ingest core validates and writes it
(or, `dry_run=true`, only checks it). `POST /api/imports/preview`: the file's header, first rows
and automatic column matching, for the import screen on /admin (issue 11 §5)."""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import AsyncGenerator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from api.auth import require_role
from api.deps import get_settings
from api.models.data import ImportReport
from api.models.errors import errors
from api.models.imports import ImportPreview
from api.settings import Settings
from geo.errors import ImportRejected, InvalidInput
from geo.ingest import KINDS, import_file
from geo.ingest.columns import parse_map_options
from geo.ingest.preview import preview_file
from geo.scope import Principal, bound_org

router = APIRouter(tags=["imports"])
SUFFIXES = {".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".geojson", ".json", ".gpkg", ".zip"}
TRUE = {"1", "true", "yes", "on"}


class TooLarge(Exception):
    """The upload passed the size cap."""


FILE_FIELD = {
    "type": "string",
    "format": "binary",
    "description": "CSV, XLSX, GeoJSON, GeoPackage or zipped Shapefile",
}
REQUEST_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file", "kind"],
                    "properties": {
                        "file": FILE_FIELD,
                        "kind": {"type": "string", "enum": list(KINDS)},
                        "crs": {
                            "type": "string",
                            "description": "source CRS: EPSG:4326 (default), EPSG:3857, gcj02, bd09 …",
                        },
                        "skip_invalid": {
                            "type": "boolean",
                            "description": "write the good rows, report the bad ones",
                            "default": False,
                        },
                        "china_only": {
                            "type": "boolean",
                            "description": "reject points outside China",
                            "default": False,
                        },
                        "map": {
                            "type": "array",
                            "items": {"type": "string"},
                            "description": "column mapping target=source (repeat); target= "
                            "(no source) leaves the target unmapped",
                        },
                        "dry_run": {
                            "type": "boolean",
                            "description": "check every row and answer 200 with the report; "
                            "nothing is written and no audit row is kept",
                            "default": False,
                        },
                    },
                }
            }
        },
    }
}

PREVIEW_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file", "kind"],
                    "properties": {
                        "file": FILE_FIELD,
                        "kind": {"type": "string", "enum": list(KINDS)},
                    },
                }
            }
        },
    }
}


async def _limited(request: Request, cap: int) -> AsyncGenerator[bytes, None]:
    seen = 0
    async for chunk in request.stream():
        seen += len(chunk)
        if seen > cap:
            raise TooLarge
        yield chunk


async def _form(request: Request, cap: int) -> FormData:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > cap:
        raise TooLarge
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise InvalidInput("send multipart/form-data with a file and a kind")
    parser = MultiPartParser(request.headers, _limited(request, cap), max_files=1, max_fields=20)
    try:
        return await parser.parse()
    except MultiPartException as exc:
        raise InvalidInput(f"malformed upload: {exc.message}") from None


def _safe_name(name: str | None) -> str:
    base = Path(name or "upload").name
    suffix = Path(base).suffix.lower()
    if suffix not in SUFFIXES:
        raise InvalidInput(
            f"unsupported file type {suffix or '(none)'}: use {', '.join(sorted(SUFFIXES))}"
        )
    stem = re.sub(r"[^\w.-]+", "_", Path(base).stem)[:80] or "upload"
    return stem + suffix


def _kind(form: FormData) -> str:
    kind = str(form.get("kind") or "")
    if kind not in KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(KINDS)}")
    return kind


def _options(form: FormData) -> dict[str, Any]:
    crs = form.get("crs")
    maps = [str(v) for v in form.getlist("map")]
    return {
        "kind": _kind(form),
        "crs": str(crs) if crs else None,
        "skip_invalid": str(form.get("skip_invalid", "")).lower() in TRUE,
        "china_only": str(form.get("china_only", "")).lower() in TRUE,
        "columns": parse_map_options(maps, allow_empty=True) or None,
        "dry_run": str(form.get("dry_run", "")).lower() in TRUE,
    }


def _upload(form: FormData) -> tuple[UploadFile, str]:
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise InvalidInput("the form needs a file field")
    return upload, _safe_name(upload.filename)


@contextmanager
def _saved(upload: UploadFile, name: str) -> Iterator[Path]:
    """The upload as a file of its sanitised name in a private folder, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="djmap-upload-") as folder:
        path = Path(folder) / name
        with path.open("wb") as out:
            upload.file.seek(0)
            shutil.copyfileobj(upload.file, out, 1 << 20)
        yield path


def _run(
    url: str, upload: UploadFile, name: str, principal: Principal, opts: dict[str, Any]
) -> dict[str, Any]:
    with _saved(upload, name) as path:
        try:
            result = import_file(
                url,
                path=path,
                actor=principal.username,
                progress=False,
                scope_org=bound_org(principal),  # a bound steward writes only its subtree
                **opts,
            )
        except ImportRejected as exc:
            exc.report["source"] = name
            if not opts["dry_run"]:
                raise
            return exc.report  # a check's refusal is its answer: 200 with the report
    report = dict(result.report)
    report["source"] = name
    return report


def _preview(upload: UploadFile, name: str, kind: str, principal: Principal) -> dict[str, Any]:
    with _saved(upload, name) as path:
        try:
            return preview_file(kind, path, bound_org(principal))
        except ImportRejected as exc:
            exc.report["source"] = name
            raise


def _too_large(settings: Settings) -> JSONResponse:
    mb = settings.api.max_upload_mb
    return JSONResponse(
        {"code": "PayloadTooLarge", "description": f"upload is larger than {mb} MB"},
        status_code=413,
    )


@router.post(
    "/imports",
    summary="Import a data file, or check it with dry_run (steward or admin)",
    status_code=201,
    openapi_extra=REQUEST_BODY,
    response_model=ImportReport,
    responses={
        200: {
            "model": ImportReport,
            "description": "dry_run: the report of every check (status checked, or rejected "
            "with the reasons); nothing was written",
        },
        **errors(
            (400, "not multipart, no file, unknown kind or type, content not of its type"),
            (401, "log in as steward or admin"),
            (403, "not a steward or admin, or a kind the caller's scope may not import"),
            (413, "upload larger than DJMAP_MAX_UPLOAD_MB"),
            422,
            503,
        ),
    },
)
async def create_import(
    request: Request,
    response: Response,
    principal: Annotated[Principal, Depends(require_role("steward", "admin"))],
    settings: Annotated[Settings, Depends(get_settings)],
) -> ImportReport | JSONResponse:
    """Validate every row, then write all good rows in one transaction or nothing (422 with the
    same report `djmap import` writes, rows numbered from the first data row). The file is read
    only by the reader of its extension, after its content was checked (400 content_mismatch);
    a steward bound to an organisation writes only rows of its subtree (out_of_scope rows reject
    the whole file). With `dry_run=true` every check runs the same way and the answer is 200 with
    the report (status `checked`, or `rejected` with the rows that would refuse the file):
    nothing is written and no audit row is kept (the server logs the check)."""
    cap = settings.api.max_upload_mb * 1024 * 1024
    try:
        form = await _form(request, cap)
    except TooLarge:
        return _too_large(settings)
    try:
        upload, name = _upload(form)
        opts = _options(form)
        report = await run_in_threadpool(_run, settings.db.url, upload, name, principal, opts)
    finally:
        await form.close()
    if opts["dry_run"]:
        report["dry_run"] = True
        response.status_code = 200
    else:
        request.app.state.builds.notify_write()  # committed: rebuild the derived data it made stale
    return ImportReport.model_validate(report)


@router.post(
    "/imports/preview",
    summary="Preview a data file: header, first rows, column matching (steward or admin)",
    openapi_extra=PREVIEW_BODY,
    response_model=ImportPreview,
    responses=errors(
        (400, "not multipart, no file, unknown kind or type, content not of its type"),
        (401, "log in as steward or admin"),
        (403, "not a steward or admin, or a kind the caller's scope may not import"),
        (413, "upload larger than DJMAP_MAX_UPLOAD_MB"),
        (422, "the file cannot be read (ImportRejected, with a one-line `report`)"),
        503,
    ),
)
async def preview_import(
    request: Request,
    principal: Annotated[Principal, Depends(require_role("steward", "admin"))],
    settings: Annotated[Settings, Depends(get_settings)],
) -> ImportPreview | JSONResponse:
    """The file's column names, its first 10 rows as text and, for each target field of `kind`,
    the column the importer would match to it. The same caps and content check as an import
    (the file is read only by its own reader); nothing is checked row by row, written or
    audited. A bound steward is refused (403) the kinds its scope may not import."""
    cap = settings.api.max_upload_mb * 1024 * 1024
    try:
        form = await _form(request, cap)
    except TooLarge:
        return _too_large(settings)
    try:
        upload, name = _upload(form)
        kind = _kind(form)
        body = await run_in_threadpool(_preview, upload, name, kind, principal)
    finally:
        await form.close()
    return ImportPreview.model_validate(body)
