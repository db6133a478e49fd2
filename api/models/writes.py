"""Bodies and answers of the writes (OGC API Features Part 4) and of the audit."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.models.ogc import Link

MAX_PROPERTIES = 64
MAX_RINGS = 100  # rings of a polygon, polygons of a multipolygon
MAX_VERTICES = 10_000  # positions of a ring
Coordinate = Annotated[float, Field(allow_inf_nan=False)]
Position = Annotated[list[Coordinate], Field(min_length=2, max_length=3)]
Ring = Annotated[list[Position], Field(min_length=4, max_length=MAX_VERTICES)]
Rings = Annotated[list[Ring], Field(min_length=1, max_length=MAX_RINGS)]


class Point(BaseModel):
    """A GeoJSON Point in CRS84 (longitude, latitude[, height])."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["Point"]
    coordinates: list[float] = Field(
        min_length=2, max_length=3, examples=[[120.21, 30.25]], description="lon, lat[, height]"
    )


class Polygon(BaseModel):
    """A GeoJSON Polygon in CRS84 (a 党建网格): an outer ring and holes, each closed."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["Polygon"]
    coordinates: Rings = Field(
        examples=[[[[120.2, 30.25], [120.21, 30.25], [120.21, 30.26], [120.2, 30.25]]]]
    )


class MultiPolygon(BaseModel):
    """A GeoJSON MultiPolygon in CRS84 (a 党建网格 in several parts)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["MultiPolygon"]
    coordinates: list[Rings] = Field(min_length=1, max_length=MAX_RINGS)


Geometry = Annotated[Point | Polygon | MultiPolygon, Field(discriminator="type")]

PROPERTIES_DOC = (
    "the import's fields, by name or alias (Chinese or English): activities code?, title "
    "(标题), kind (类型), organiser_code or organiser_id (default: your organisation), "
    "service_point_code or service_point_id, starts_at (开始时间), ends_at (结束时间), "
    "capacity (名额), description, invited_org_ids (受邀组织: a list of ids of organisations "
    "in the organiser's top-level tree, invited besides the organiser's subtree; a PATCH "
    "without it keeps them); times without an offset are Beijing time. Grids (党建网格, a "
    "Polygon or MultiPolygon): code (网格编码), name (网格名称), community (社区), "
    "branch_code (支部编码) or org_id, leader_code (网格长: a member's external id); the "
    "layer's derived properties (branch, buildings, coverage …) are ignored. Read-only: "
    "id, status, cancel_reason, updated_at"
)
PROPERTIES_EXAMPLE = {
    "title": "主题党日：垃圾分类志愿服务",
    "kind": "志愿服务",
    "starts_at": "2026-12-12T09:00",
    "ends_at": "2026-12-12T11:00",
    "capacity": 30,
}


class FeatureIn(BaseModel):
    """A GeoJSON Feature to create or to replace an item with."""

    model_config = ConfigDict(extra="ignore")

    type: Literal["Feature"]
    geometry: Geometry | None = Field(
        None,
        description="the place (a Point; a grid's Polygon or MultiPolygon); an activity at a "
        "service point may leave it out",
    )
    properties: dict[str, Any] = Field(
        default_factory=dict,
        max_length=MAX_PROPERTIES,
        description=PROPERTIES_DOC,
        examples=[PROPERTIES_EXAMPLE],
    )


class FeaturePatch(BaseModel):
    """A JSON merge patch (RFC 7396) of a Feature: the properties to change (null removes a
    value) and, when given, the new geometry."""

    model_config = ConfigDict(extra="ignore")

    type: Literal["Feature"] | None = None
    geometry: Geometry | None = Field(
        None, description="the new place or shape (absent: unchanged)"
    )
    properties: dict[str, Any] | None = Field(
        None,
        max_length=MAX_PROPERTIES,
        description="the properties to change; null removes a value",
        examples=[{"capacity": 40, "description": None}],
    )


class CancelIn(BaseModel):
    """Why an activity with registrations or check-ins is cancelled (DELETE's body, optional)."""

    reason: str | None = Field(None, max_length=500, examples=["暴雨预警，活动取消"])


class AuditEntry(BaseModel):
    """One write through the API."""

    id: int
    at: str = Field(description="when (RFC 3339)")
    actor: str | None = Field(description="user name")
    actor_role: str | None
    action: Literal["create", "replace", "update", "delete", "cancel"]
    collection: str
    item_id: int | None
    before: dict[str, Any] | None = Field(description="the stored item before (null: created)")
    after: dict[str, Any] | None = Field(description="the stored item after (null: deleted)")
    request_id: str | None = Field(description="the X-Request-ID the write answered with")


class AuditPage(BaseModel):
    """A page of the audit, newest first."""

    entries: list[AuditEntry]
    numberMatched: int
    numberReturned: int
    links: list[Link]
