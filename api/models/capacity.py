"""Capacity-aware coverage (issue 14 §2): the request and the answer."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.deps import NO_NUL
from api.models.analysis import GeoCollection, Lat, Lon
from api.models.ogc import Open


class CapacityBody(BaseModel):
    """A 2SFCA run over an area (a district or a bbox), for the live points or a scenario."""

    model_config = ConfigDict(extra="forbid")

    district: str | None = Field(None, max_length=50, pattern=NO_NUL)
    bbox: Annotated[list[Lon], Field(min_length=4, max_length=4)] | None = None
    minutes: float | None = Field(None, gt=0, le=60, description="catchment (default: the rule)")
    scenario: int | None = Field(None, ge=1, le=2**63 - 1)
    propose: int = Field(0, ge=0, le=50, description="capacitated proposals (new sites)")
    candidates: list[tuple[Lon, Lat]] | None = Field(None, max_length=500)
    demand: Literal["households", "members"] = Field(
        "households",
        description="households from buildings (public), or the caller's members as privacy atoms "
        "(planners, leaders, stewards, admins; figures multiples of 10, none under 10)",
    )


class SiteLoad(Open):
    """One service point's catchment load."""

    service_point_id: int
    name: str
    kind: str
    lon: float
    lat: float
    capacity_m2: float
    households: float | None = Field(
        None, description="households within the catchment (estimated; household demand)"
    )
    m2_per_100_households: float | None = None
    members: int | None = Field(
        None,
        description="members within the catchment (member demand: a multiple of 10, null under 10)",
    )
    m2_per_100_members: float | None = Field(None, description="of the published member figure")
    load_pct: float | None = Field(description="demand in reach / the demand its area is for")


class CapacityProposal(Open):
    """A new site and the unserved demand it would serve (capacitated)."""

    rank: int
    lon: float
    lat: float
    capacity_m2: float
    gain_households: float | None = None
    gain_members: int | None = Field(None, description="a multiple of 10, null under 10")


class Capacity(Open):
    """2SFCA on walking times: per-site load, under/over-served cells, proposals."""

    demand: Literal["households", "members"]
    params: dict[str, float | int]
    summary: dict[str, float | int | None]
    sites: list[SiteLoad]
    cells: GeoCollection
    proposed: list[CapacityProposal]
