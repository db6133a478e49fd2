"""The live event stream's JSON shapes (GET /api/events as JSON, GET /api/events/latest)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from geo.vocab import EVENT_TYPES

EventType = Literal[
    "activity.created",
    "activity.updated",
    "activity.cancelled",
    "registration.changed",
    "checkin.created",
    "data.changed",
    "import.finished",
    "reminder.created",
]
assert set(EventType.__args__) == set(EVENT_TYPES)  # type: ignore[attr-defined]


class CloudEvent(BaseModel):
    """One event, CloudEvents 1.0 structured JSON (the same object a stream's `data:` carries
    and a webhook receives)."""

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(description="the event id (as the stream's `id:` line and Last-Event-ID)")
    type: EventType
    source: str = Field(examples=["/djmap"])
    subject: str | None = Field(examples=["activities/42"])
    time: datetime
    datacontenttype: Literal["application/json"] = "application/json"
    data: dict[str, Any] = Field(
        description="per type: activity.* {id, title, kind, starts_at, ends_at, "
        "service_point_id, organiser_id, status, layer}; registration.changed {activity_id, "
        "registered, waitlisted, capacity} (figures under 10 null with fewer_than; waitlisted "
        "null whenever registered is); "
        "checkin.created {activity_id, title, count}; data.changed {layer, version}; "
        "import.finished {id, kind, status, rows_written, rows_skipped}; reminder.created "
        "{id, org_id, rule, kind, due_on, title_zh, title_en} (audience leader)"
    )


class EventPage(BaseModel):
    """Events after a given id that the caller may see (the stream's JSON form, for polling)."""

    events: list[CloudEvent]
    next: int = Field(ge=0, description="ask with last_event_id=<next> for the following ones")
    more: bool = Field(description="more events may follow at once")


class LatestEvent(BaseModel):
    """The id a page loaded now subscribes from (`?since=<id>`): nothing after it is missed."""

    id: int = Field(ge=0)
