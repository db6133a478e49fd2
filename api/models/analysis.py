"""Analysis answers: nearest, coverage (with its request body) and check-ins."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.deps import NO_NUL
from api.models.ogc import DateTimeText, Open
from geo.analysis import coverage as core
from geo.analysis import coverage_request as caps
from geo.planning.scenario_changes import Changes
from geo.vocab import NearestTarget

Number = int | float  # whole figures stay integers on the wire
Lon = Annotated[float, Field(ge=-180, le=180)]
Lat = Annotated[float, Field(ge=-90, le=90)]


class Position(BaseModel):
    """Where the member is (WGS84)."""

    lon: float = Field(ge=-180, le=180, examples=[116.397])
    lat: float = Field(ge=-90, le=90, examples=[39.909])


class Origin(BaseModel):
    """A WGS84 point."""

    lon: float
    lat: float


class HandOff(BaseModel):
    """Links that open the place in a map app."""

    amap: str = Field(description="Amap web navigation URI (GCJ-02, walking; opens the app)")
    geo: str = Field(description="RFC 5870 geo: URI (WGS84)", examples=["geo:30.296657,120.195665"])


class NearestResult(Open):
    """One service point or activity, with its distance and hand-off links."""

    id: int
    name: str
    kind: str
    lon: float
    lat: float
    distance_m: float = Field(description="ranking distance: geodesic (straight) or walking")
    straight_m: float
    walk_minutes: float
    links: HandOff
    opening_hours: str | None = Field(None, description="service points")
    address: str | None = Field(None, description="service points")
    starts_at: DateTimeText | None = Field(None, description="activities")
    ends_at: DateTimeText | None = Field(None, description="activities")
    service_point_id: int | None = Field(None, description="activities")
    route: dict[str, Any] | None = Field(
        None, description="walk with route=true: a GeoJSON LineString"
    )


class Window(BaseModel):
    """The activity time window used."""

    model_config = ConfigDict(populate_by_name=True)

    from_: DateTimeText = Field(alias="from")
    to: DateTimeText


class Nearest(Open):
    """Results ordered by distance (geodesic or walking)."""

    target: NearestTarget
    mode: Literal["straight", "walk"] = Field(description="the mode answered (walk may fall back)")
    origin: Origin
    k: int
    speed_m_per_min: float
    results: list[NearestResult]
    window: Window | None = Field(None, description="activities")
    note: str | None = Field(None, description="why the answer is degraded (e.g. off the network)")


class Checkin(Open):
    """A check-in (201 when new, 200 when it already existed)."""

    id: int
    activity_id: int
    member_id: int
    checked_at: DateTimeText
    distance_m: float | None = Field(
        description="metres from the activity when a position was given (evidence), else null"
    )
    method: Literal["geofence", "code", "scan"] = Field(
        description="on site within the geofence, the activity's QR code, or the member's card "
        "scanned by the organiser"
    )
    created: bool


class CoverageParams(Open):
    """The parameters used, after snapping to the fixed lattices."""

    radius_m: float
    meters: float | None
    minutes: float | None
    speed_m_per_min: float
    mode: str
    weight: str
    district: str | None
    bbox: list[float] | None
    propose: int
    candidates: str
    candidate_points: list[list[float]] | None
    grid_m: float | None
    h3_res: int


class CoverageSummary(Open):
    """Totals and covered shares (member figures: sums of whole privacy atoms, multiples of 10)."""

    count_total: int
    count_covered: int
    coverage_pct_count: float | None
    weight_total: Number
    weight_covered: Number
    coverage_pct_weight: float | None
    uncovered_weight: Number
    uncovered_count: int
    service_points: int
    suppressed_cells: int


class GeoFeature(Open):
    """A GeoJSON feature."""

    type: Literal["Feature"]
    geometry: dict[str, Any]
    properties: dict[str, Any]


class GeoCollection(Open):
    """A GeoJSON FeatureCollection."""

    type: Literal["FeatureCollection"]
    features: list[GeoFeature]


class Proposal(Open):
    """A proposed new site, ranked by the coverage it adds."""

    rank: int
    lon: float
    lat: float
    gain_weight: Number
    gain_count: int | None = Field(None, description="non-member weights only")
    coverage_pct_weight_after: float | None


class Coverage(Open):
    """Aggregates only: coverage, service areas, uncovered H3 cells and ranked proposals."""

    params: CoverageParams
    summary: CoverageSummary
    service_areas: GeoCollection
    uncovered_cells: GeoCollection
    proposed: list[Proposal]
    notes: list[str]
    service_points: GeoCollection = Field(
        description="the service points the run used (public), as GeoJSON points; with a "
        "scenario each one's `change` is added, moved (with `from`, its live place), set or "
        "unchanged, followed by the live points it removed (`change`: removed, not counted)"
    )


class CoverageBody(BaseModel):
    """A coverage run: limit (meters or minutes), mode, weight, area, proposals.

    Free parameters are snapped to fixed lattices (the response's `params` say what was used):
    the limit to 50 m steps, minutes to whole minutes, bbox edges outward to 0.001°, given
    candidates to a 25 m grid, grid_m to 50 m steps. Member figures are sums of whole privacy
    atoms published as multiples of 10; proposals gaining fewer than 10 members are dropped."""

    meters: float | None = Field(
        None, gt=0, le=20000, description="limit in metres (snapped to 50 m steps)"
    )
    minutes: float | None = Field(
        None, gt=0, le=240, description="limit in minutes (default 15; whole minutes)"
    )
    speed: float = Field(80.0, ge=10, le=500, description="walking speed, m/min")
    mode: Literal["straight", "walk"] = "straight"
    weight: Literal["members", "buildings", "population"] = "members"
    district: str | None = Field(
        None, max_length=50, pattern=NO_NUL, description="district code (or give bbox)"
    )
    bbox: list[Lon] | None = Field(
        None,
        min_length=4,
        max_length=4,
        description="minlon,minlat,maxlon,maxlat (lat within ±90, min < max; at most "
        f"{caps.MAX_BBOX_KM2:,.0f} km², else 413)",
    )
    propose: int = Field(0, ge=0, le=caps.MAX_PROPOSE, description="how many new sites to suggest")
    candidates: Literal["auto", "buildings", "grid"] | list[tuple[Lon, Lat]] = Field(
        "auto",
        description="candidate sites: auto (building points, else a grid), buildings, grid, or "
        f"[[lon,lat],…] (at most {caps.MAX_GIVEN_CANDIDATES}, else 413)",
    )
    grid_m: float | None = Field(
        None,
        ge=20,
        le=20000,
        description="grid spacing (default radius/2, coarser when the grid would pass "
        f"{caps.MAX_GRID_CANDIDATES:,} points; a given grid_m that passes it is 413)",
    )
    h3_res: int = Field(
        9, ge=caps.H3_RES[0], le=caps.H3_RES[1], description="H3 resolution of the uncovered cells"
    )
    max_candidates: int = Field(
        300, ge=1, le=caps.MAX_SHORTLIST, description="candidates kept for the MCLP model"
    )
    scenario: int | None = Field(
        None, ge=1, le=2**63 - 1,
        description="a planning scenario's id (/api/scenarios): its service points and "
        "candidate sites instead of the live ones",
    )  # fmt: skip

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "minutes": 15,
                    "mode": "walk",
                    "weight": "members",
                    "district": "D01",
                    "propose": 5,
                }
            ]
        }
    }

    def request(self, scenario: Changes | None = None) -> core.CoverageRequest:
        """The core request."""
        given = isinstance(self.candidates, list)
        return core.CoverageRequest(
            meters=self.meters,
            minutes=self.minutes,
            speed_m_per_min=self.speed,
            mode=self.mode,
            weight=self.weight,
            district=self.district,
            bbox=tuple(self.bbox) if self.bbox else None,  # type: ignore[arg-type]
            propose=self.propose,
            candidates="auto" if given else str(self.candidates),
            candidate_points=tuple(self.candidates) if given else None,  # type: ignore[arg-type]
            grid_m=self.grid_m,
            h3_res=self.h3_res,
            max_candidates=self.max_candidates,
            scenario=scenario,
        )
