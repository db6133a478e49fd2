"""`GET /api/audit`: the record of every write through the API, for admins."""

from __future__ import annotations

from typing import Annotated, Literal

import asyncpg
from fastapi import APIRouter, Depends, Query, Request

from api import ogc
from api.auth import require_role
from api.deps import NO_NUL, get_pool
from api.models.errors import errors
from api.models.writes import AuditEntry, AuditPage
from geo.live import audit
from geo.scope import Principal

router = APIRouter(tags=["audit"])
MAX_LIMIT = 1000


@router.get(
    "/audit",
    summary="The audit of writes (admin): who, when, before and after, the request id",
    response_model=AuditPage,
    responses=errors((403, "only admins read the audit"), 503),
)
async def read_audit(
    request: Request,
    principal: Annotated[Principal, Depends(require_role("admin"))],
    pool: Annotated[asyncpg.Pool, Depends(get_pool)],
    collection: Annotated[
        str | None,
        Query(description="only writes of this collection", max_length=100, pattern=NO_NUL),
    ] = None,
    item: Annotated[
        int | None, Query(ge=1, le=2**63 - 1, description="only writes of this item id")
    ] = None,
    action: Annotated[
        Literal["create", "replace", "update", "delete", "cancel"] | None,
        Query(description="only writes of this kind"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="entries per page")] = 100,
    offset: Annotated[int, Query(ge=0, le=2**62, description="entries to skip")] = 0,
) -> AuditPage:
    """Newest first; `next`/`prev` links page through the filter."""
    q = audit.AuditQuery(collection, item, action, limit, offset)
    async with pool.acquire() as conn:
        entries, matched = await audit.page(conn, q)
    url = request.url
    links = [ogc.link(str(url), "self")]
    if offset + len(entries) < matched:
        links.append(ogc.link(str(url.include_query_params(offset=offset + limit)), "next"))
    if offset > 0:
        prev = url.include_query_params(offset=max(0, offset - limit))
        links.append(ogc.link(str(prev), "prev"))
    return AuditPage.model_validate(
        {
            "entries": [AuditEntry.model_validate(e) for e in entries],
            "numberMatched": matched,
            "numberReturned": len(entries),
            "links": links,
        }
    )
