"""Planning places (issue 14 §4-6): red education routes, grid checks, the printable report."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.deps import NO_NUL
from api.models.ogc import Open
from geo.planning import routes as core
from geo.vocab import ROUTE_MODES

Mode = Literal["walk", "drive"]
assert set(Mode.__args__) == set(ROUTE_MODES)  # type: ignore[attr-defined]
Id = Annotated[int, Field(ge=1, le=2**63 - 1)]


class RedRouteBody(BaseModel):
    """A tour through service points (the first is where it starts), in the best order."""

    stops: list[Id] = Field(
        min_length=core.MIN_STOPS,
        max_length=core.MAX_STOPS,
        description=f"service point ids, {core.MIN_STOPS} to {core.MAX_STOPS}, each once; "
        "the first is the start",
        examples=[[3, 7, 12]],
    )
    mode: Mode = "walk"
    return_: bool = Field(False, alias="return", description="come back to the first stop")

    # strict: `"return": 0` or a stop `3.0` is a 400, not read as false or 3
    model_config = ConfigDict(populate_by_name=True, strict=True)


class SaveRouteBody(RedRouteBody):
    """A route to keep (published on the red_routes layer)."""

    name: str = Field(min_length=1, max_length=200, pattern=NO_NUL)
    district: str | None = Field(None, max_length=50, pattern=NO_NUL, description="district code")


class RouteStop(Open):
    """A stop in visiting order, with its panoramas (GET /api/panoramas/{id})."""

    seq: int
    id: int
    code: str | None = None
    name: str
    kind: str
    lon: float
    lat: float
    address: str | None = None
    panoramas: list[int] = Field(default_factory=list)


class RouteLeg(Open):
    """One leg: from a stop to the next, its path, metres and seconds."""

    from_: int = Field(alias="from")
    to: int
    geometry: dict[str, Any]
    distance_m: float
    duration_s: float


class RedRoute(Open):
    """The ordered stops, each leg, the whole path (a GeoJSON Feature) and the totals."""

    mode: Mode
    return_: bool = Field(alias="return")
    solver: str = Field(description="held-karp (exact) up to 12 stops, 2-opt beyond")
    stops: list[RouteStop]
    legs: list[RouteLeg]
    path: dict[str, Any]
    distance_m: float
    duration_s: float


class SavedRoute(Open):
    """A saved route: its id (GET …/saved/{id}.gpx) and the route as planned."""

    id: int
    name: str
    district: str | None
    route: RedRoute


class GridOverlap(Open):
    """Two grids overlapping by more than the tolerance, and the area (m²)."""

    a: str
    b: str
    area_m2: float


class GridCheck(Open):
    """Grids without a branch and overlapping pairs (reported, never fixed)."""

    ok: bool
    grids: int
    tolerance_m2: float
    without_branch: list[dict[str, str]]
    overlaps: list[GridOverlap]
