"""Capacity-aware coverage (issue 14 §2): the request and the answer."""

from __future__ import annotations

from typing import Annotated

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


class SiteLoad(Open):
    """One service point's catchment load."""

    service_point_id: int
    name: str
    kind: str
    lon: float
    lat: float
    capacity_m2: float
    households: float = Field(description="households within the catchment (estimated)")
    m2_per_100_households: float | None
    load_pct: float | None = Field(description="households in reach / households its area is for")


class CapacityProposal(Open):
    """A new site and the unserved households it would serve (capacitated)."""

    rank: int
    lon: float
    lat: float
    capacity_m2: float
    gain_households: float


class Capacity(Open):
    """2SFCA on walking times: per-site load, under/over-served cells, proposals."""

    params: dict[str, float | int]
    summary: dict[str, float | int | None]
    sites: list[SiteLoad]
    cells: GeoCollection
    proposed: list[CapacityProposal]
