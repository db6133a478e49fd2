"""The big screen (数据大屏) and kiosk, issue 13 §5: `GET /api/screen` (its figures) and
`GET /api/screen/events` (the live stream) with a screen key instead of a login, and the page
`/screen`. A key reads what the leader of its subtree sees, for these routes only; no writes."""

from __future__ import annotations

from typing import Annotated

import asyncpg
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from api.deps import get_pool
from api.models.errors import errors
from api.models.screen import ScreenSummary
from api.routers.events import EVENT_STREAM, EventId, _hub
from api.routers.pages import Lang, Pool, _html
from geo.errors import Forbidden
from geo.live.settings import LiveSettings
from geo.live.sse import frames
from geo.live.viewers import viewer_for
from geo.scope import PUBLIC
from geo.screen import read
from geo.screen.keys import ScreenKey, check_screen_key
from web.pages import PageRequest
from web.screen import screen_page

router = APIRouter(tags=["big screen"])
page_router = APIRouter()
Key = Annotated[str, Query(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_-]+$")]
KEY_ERRORS = errors(400, (403, "unknown or revoked screen key"), 503)


async def _key(pool: asyncpg.Pool, key: str) -> ScreenKey:
    async with pool.acquire() as conn:
        found = await check_screen_key(conn, key)
    if found is None:
        raise Forbidden("unknown or revoked screen key")
    return found


@router.get(
    "/screen",
    summary="The big screen's figures for a screen key's scope",
    response_model=ScreenSummary,
    responses=KEY_ERRORS,
)
async def screen_summary(
    request: Request, pool: Annotated[asyncpg.Pool, Depends(get_pool)], key: Key
) -> ScreenSummary:
    """Counters (activities and check-ins today, members reached this month, none under 10),
    the health distribution of its branches, top and bottom branches, upcoming activities and
    the service points of the tour, as the leader of the key's subtree sees them."""
    found = await _key(pool, key)
    hub = getattr(request.app.state, "events", None)
    latest = getattr(hub, "watermark", None)
    async with pool.acquire() as conn:
        body = await read.summary(conn, found, latest)
    return ScreenSummary.model_validate(body)


@router.get(
    "/screen/events",
    summary="The live event stream for a screen key's scope (Server-Sent Events)",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "text/event-stream as GET /api/events, as the key's leader sees it, "
            "check-ins only at multiples of 10",
            "content": {EVENT_STREAM: {"schema": {"type": "string", "format": "binary"}}},
        },
        **KEY_ERRORS,
    },
)
async def screen_events(
    request: Request,
    pool: Annotated[asyncpg.Pool, Depends(get_pool)],
    key: Key,
    since: EventId = None,
) -> Response:
    """Every event after `since` (or Last-Event-ID) the key's scope may see, then live ones;
    a check-in only when it brings its activity to a multiple of 10 (none is told one by one)."""
    found = await _key(pool, key)
    hub = _hub(request)
    header = request.headers.get("last-event-id", "")
    after = int(header) if header.isdigit() and len(header) < 19 else since
    viewer = await viewer_for(pool, found.principal())
    live: LiveSettings = request.app.state.live_settings
    return StreamingResponse(
        frames(hub, pool, viewer, after, live.heartbeat_s, keep=read.on_screen),
        media_type=EVENT_STREAM,
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@page_router.get("/screen", include_in_schema=False)
async def screen(
    request: Request, pool: Pool, key: str = "", kiosk: str = "", lang: Lang = None
) -> HTMLResponse:
    """The big screen (or with kiosk=1 the touch kiosk); a missing or unknown key is refused."""
    async with pool.acquire() as conn:
        found = await check_screen_key(conn, key)
    # The map under the figures is the public one (its tiles need no login).
    pr = PageRequest(request, pool, PUBLIC, lang)
    text, status = await screen_page(pr, found, key, kiosk in ("1", "true"))
    return _html(request, text, status)
