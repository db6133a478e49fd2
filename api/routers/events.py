"""`GET /api/events`: the live event stream (Server-Sent Events), scoped to the caller; and
`GET /api/events/latest`: the id a page subscribes from. The stream itself is geo/live."""

from __future__ import annotations

from typing import Annotated

import asyncpg
from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import Response, StreamingResponse

from api.deps import TOKEN_OPTIONAL, get_pool, get_principal
from api.models.errors import errors
from api.models.events import CloudEvent, EventPage, LatestEvent
from geo.errors import Unavailable
from geo.live.settings import LiveSettings
from geo.live.sse import frames, page
from geo.live.stream import MAX_ID, EventHub
from geo.live.viewers import viewer_for
from geo.scope import Principal

router = APIRouter(tags=["events"])
EVENT_STREAM = "text/event-stream"
EventId = Annotated[int | None, Query(ge=0, le=MAX_ID, description="resume after this event id")]

STREAM_DOC = (
    "`Accept: text/event-stream`: the stream. Each event is `id: <n>` and `data: <CloudEvents "
    "JSON>` (message type); `: heartbeat` comment lines every 15 s; `event: reset` when the "
    "client should reload its state (its queue overflowed: the stream ends, reconnect with "
    "Last-Event-ID; or the events after its id are no longer kept). Any other Accept: the "
    "events after the given id as JSON (EventPage)."
)


def _hub(request: Request) -> EventHub:
    hub: EventHub = request.app.state.events
    if hub.watermark is None:
        raise Unavailable("the event stream is not connected to the database yet")
    return hub


@router.get(
    "/events",
    summary="Live events (Server-Sent Events), as the caller may see them",
    response_model=EventPage,
    responses={
        200: {
            "description": STREAM_DOC,
            "content": {EVENT_STREAM: {"schema": {"type": "string", "format": "binary"}}},
        },
        **errors((400, "bad event id"), (401, "invalid or expired token"), 503),
    },
    openapi_extra=TOKEN_OPTIONAL,
)
async def events(
    request: Request,
    pool: Annotated[asyncpg.Pool, Depends(get_pool)],
    principal: Annotated[Principal, Depends(get_principal)],
    last_event_id_header: Annotated[
        str,
        Header(
            alias="Last-Event-ID",
            pattern=r"^[0-9]{0,18}$",
            description="resume after this event id (EventSource sends it when it reconnects; "
            "empty: none)",
        ),
    ] = "",
    last_event_id: EventId = None,
    since: Annotated[
        int | None,
        Query(ge=0, le=MAX_ID, description="start after this id (GET /api/events/latest)"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="JSON form: events at most")] = 100,
) -> Response | EventPage:
    """Every event after the given id (Last-Event-ID, then last_event_id, then since) that the
    caller's role and organisation subtree may see, then live ones; without an id, from now."""
    after = since
    for given in (last_event_id_header or None, last_event_id):
        if given is not None:
            after = int(given)
            break
    hub = _hub(request)
    viewer = await viewer_for(pool, principal)
    if EVENT_STREAM in request.headers.get("accept", ""):
        live: LiveSettings = request.app.state.live_settings
        return StreamingResponse(
            frames(hub, pool, viewer, after, live.heartbeat_s),
            media_type=EVENT_STREAM,
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )
    found, next_id, more = await page(hub, pool, viewer, after, limit)
    return EventPage(
        events=[CloudEvent.model_validate(e.cloud) for e in found], next=next_id, more=more
    )


@router.get(
    "/events/latest",
    summary="The id to subscribe from",
    response_model=LatestEvent,
    responses=errors(503),
)
async def latest(request: Request) -> LatestEvent:
    """The newest event id this process has delivered: a page made now passes it as `?since=`,
    so no event between its load and its subscription is missed."""
    watermark = _hub(request).watermark
    assert watermark is not None
    return LatestEvent(id=watermark)
