"""Scenarios (issue 14 §1): the body a planner sends and the scenario answered."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.deps import NO_NUL
from api.models.ogc import Open
from geo.planning.scenario_changes import MAX_CAPACITY, MAX_CHANGES, MAX_TEXT

Text = Annotated[str, Field(min_length=1, max_length=MAX_TEXT, pattern=NO_NUL)]


class PointGeometry(BaseModel):
    """A GeoJSON Point (WGS84 lon, lat); snapped to the 25 m point lattice."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["Point"]
    coordinates: Annotated[list[float], Field(min_length=2, max_length=3)]


class SiteProperties(BaseModel):
    """Service point properties a change adds or sets."""

    model_config = ConfigDict(extra="forbid")

    name: Text | None = None
    kind: Literal["党群服务中心", "党群服务站", "党员活动室", "红色教育基地"] | None = None
    capacity: float | None = Field(
        None, ge=0, le=MAX_CAPACITY, description="floor area in m² (the capacity rule's unit)"
    )
    opening_hours: Text | None = None


class Change(BaseModel):
    """add (geometry, properties), move (id, geometry), remove (id), set (id, properties) or
    candidate (geometry: a site proposals may choose)."""

    model_config = ConfigDict(extra="forbid")

    op: Literal["add", "move", "remove", "set", "candidate"]
    id: int | None = Field(None, ge=1, le=2**63 - 1, description="a live service point's id")
    geometry: PointGeometry | None = None
    properties: SiteProperties | None = None
    etag: str | None = Field(
        None,
        pattern=r"^[0-9a-f]{32}$",
        description="move, remove, set: the version (ETag, no quotes) of the live point the change "
        "was made against; saving stamps the current one when absent, promoting refuses a moved row",
    )

    def plain(self) -> dict[str, Any]:
        """The change as the core reads it (unset fields left out)."""
        return self.model_dump(exclude_none=True)


class ScenarioBody(BaseModel):
    """A whole scenario (POST, PUT)."""

    name: Text
    changes: list[Change] = Field(default_factory=list, max_length=MAX_CHANGES)

    model_config = {
        "extra": "forbid",
        "json_schema_extra": {
            "examples": [
                {
                    "name": "新增两站",
                    "changes": [
                        {"op": "add", "geometry": {"type": "Point",
                         "coordinates": [116.40, 39.90]}, "properties": {"capacity": 120}},
                        {"op": "remove", "id": 3},
                    ],
                }
            ]
        },
    }  # fmt: skip


class ScenarioPatch(BaseModel):
    """A partial edit (PATCH): a new name, new changes, or both."""

    model_config = ConfigDict(extra="forbid")

    name: Text | None = None
    changes: list[Change] | None = Field(None, max_length=MAX_CHANGES)


class Scenario(Open):
    """A kept scenario; share it by `url` within its organisation."""

    id: int
    name: str
    org_id: int | None = Field(description="the subtree it belongs to (null: district-wide)")
    created_by: str | None
    changes: list[dict[str, Any]]
    created_at: datetime
    updated_at: datetime
    url: str


class Scenarios(Open):
    """The scenarios the caller may see, newest first."""

    scenarios: list[Scenario]


class Promotion(Open):
    """A scenario made live: the service points it deleted, updated and created (every write in
    the audit under `request_id`); the scenario itself is gone."""

    scenario_id: int
    deleted: list[int]
    updated: list[int]
    created: list[int]
    candidates_left: int = Field(description="candidate sites, which are not promoted")
    request_id: str | None
