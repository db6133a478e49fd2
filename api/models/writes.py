"""Bodies and answers of the writes (OGC API Features Part 4) and of the audit."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.models.ogc import Link

MAX_PROPERTIES = 64


class Point(BaseModel):
    """A GeoJSON Point in CRS84 (longitude, latitude[, height])."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["Point"]
    coordinates: list[float] = Field(
        min_length=2, max_length=3, examples=[[120.21, 30.25]], description="lon, lat[, height]"
    )


PROPERTIES_DOC = (
    "the import's fields, by name or alias (Chinese or English): activities code?, title "
    "(标题), kind (类型), organiser_code or organiser_id (default: your organisation), "
    "service_point_code or service_point_id, starts_at (开始时间), ends_at (结束时间), "
    "capacity (名额), description, invited_org_ids (受邀组织: a list of ids of organisations "
    "in the organiser's top-level tree, invited besides the organiser's subtree; a PATCH "
    "without it keeps them); times without an offset are Beijing time. Read-only: "
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
    geometry: Point | None = Field(
        None, description="the place; an activity at a service point may leave it out"
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
    geometry: Point | None = Field(None, description="the new place (absent: unchanged)")
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
