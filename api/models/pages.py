"""Page data (/web/*.json): what the pages fetch. Member figures are null for callers who may not
read them; they follow the same privacy rule as the API (published multiples, none under 10)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from api.models.ogc import DateTimeText, Open


class OrgNode(Open):
    """An organisation of the tree in the caller's scope."""

    id: int
    code: str
    name: str
    type: str = Field(examples=["党支部"])
    parent_id: int | None
    lon: float | None
    lat: float | None
    members: int | None = Field(description="published member count, or null for the audience")
    last_activity: DateTimeText | None


class OrgTree(Open):
    """The organisation tree in the caller's scope."""

    organisations: list[OrgNode]


class Stats(Open):
    """The statistics cards of the leader view."""

    organisations: int
    service_points: int
    activities_month: int
    inactive_90d: int = Field(description="organisations with no activity in 90 days")
    members: int | None = Field(description="published; null for audiences without figures")
    coverage_pct: float | None = Field(description="members within coverage_radius_m of a point")
    coverage_radius_m: float


class PanoramaRef(Open):
    """A panorama of a service point."""

    id: int
    title: str | None
    heading: float | None


class ServicePointCard(Open):
    """A service point's card: its catalog fields for the caller (id, name, kind, …), place,
    organisation, panoramas and the upcoming activities the caller may see."""

    lon: float
    lat: float
    org_name: str | None
    panoramas: list[PanoramaRef]
    upcoming: list[dict[str, Any]] = Field(description="activities: their catalog fields")


class SearchHit(BaseModel):
    """A service point whose name or address matches."""

    id: int
    name: str
    kind: str
    lon: float
    lat: float


class SearchResults(Open):
    """Service points matching the search text (at most 10)."""

    results: list[SearchHit]


class DeckDocument(Open):
    """A page's pydeck/deck.gl JSON document (@@type classes, @@function accessors)."""

    initialViewState: dict[str, Any]
    layers: list[dict[str, Any]]
    views: list[dict[str, Any]]
    djmap: dict[str, Any] = Field(description="the page's layer panel: titles, filters, legends")
