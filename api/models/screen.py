"""The big screen (issue 13 §5): everything `/screen` draws, read with a screen key."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from api.models.health import Status


class ScreenScope(BaseModel):
    """The organisation subtree the key is bound to (all None: the whole district)."""

    org_id: int | None
    code: str | None
    name: str | None


class ScreenCounters(BaseModel):
    """Live counters (Beijing day). Member figures are published as 0 or the multiple of 10 at or
    below them ("at least"), held back under 10 (None, with fewer_than)."""

    activities_today: int = Field(ge=0)
    checkins_today: int | None = Field(ge=0, description="at least this many (a multiple of 10)")
    members_reached_month: int | None = Field(
        ge=0, description="at least this many (a multiple of 10)"
    )
    fewer_than: int | None = Field(description="10 when a member figure is held back")
    step: int = Field(ge=1, description="member figures are multiples of this, counted down")
    day: date


class ScreenBranch(BaseModel):
    """A branch and its stored health."""

    org_id: int
    code: str
    name: str
    score: float
    status: Status


class ScreenDistribution(BaseModel):
    """How many branches of the scope are green, amber and red."""

    green: int = Field(ge=0)
    amber: int = Field(ge=0)
    red: int = Field(ge=0)


class ScreenActivity(BaseModel):
    """An upcoming activity."""

    id: int
    title: str
    kind: str
    starts_at: datetime
    ends_at: datetime
    service_point_id: int | None
    place: str | None
    lon: float
    lat: float


class ScreenPoint(BaseModel):
    """A service point of the tour: its panorama, upcoming activities (7 days), active now."""

    id: int
    name: str
    kind: str
    address: str | None
    lon: float
    lat: float
    panorama_id: int | None
    upcoming: int = Field(ge=0)
    active_now: int = Field(ge=0)


class ScreenSummary(BaseModel):
    """What the screen draws, as the leader of the key's subtree sees it."""

    scope: ScreenScope
    screen: str
    counters: ScreenCounters
    distribution: ScreenDistribution
    top: list[ScreenBranch]
    bottom: list[ScreenBranch]
    upcoming: list[ScreenActivity]
    service_points: list[ScreenPoint]
    latest_event: int | None = Field(description="subscribe to /api/screen/events from this id")
