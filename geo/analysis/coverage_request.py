"""A coverage request: its parameters, their caps, and their snapping to the fixed lattices.

Caps (bounded work; 400 when a value is out of range, 413 when it asks for too much):
propose ≤ MAX_PROPOSE, given candidates ≤ MAX_GIVEN_CANDIDATES, a bbox of at most MAX_BBOX_KM2,
grid candidates ≤ MAX_GRID_CANDIDATES (checked where the area is known), h3_res in H3_RES,
max_candidates (the MCLP shortlist) ≤ MAX_SHORTLIST, radius ≤ MAX_RADIUS_M.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from geo.analysis import service_areas
from geo.errors import InvalidInput, TooLarge
from geo.planning.scenario_changes import Changes
from geo.privacy import lattice

WEIGHTS = ("members", "buildings", "population")
MODES = ("straight", "walk")
CANDIDATES = ("auto", "buildings", "grid")
MAX_PROPOSE = 50
MAX_GIVEN_CANDIDATES = 500
MAX_GRID_CANDIDATES = 20_000
MAX_BBOX_KM2 = 5_000.0
MAX_SHORTLIST = 1_000
MAX_RADIUS_M = 20_000.0
H3_RES = (5, 12)


@dataclass(frozen=True)
class CoverageRequest:
    """What a planner asks: distance, mode, weight, area, how many sites to propose and from where."""

    meters: float | None = None
    minutes: float | None = None
    speed_m_per_min: float = 80.0
    mode: str = "straight"
    weight: str = "members"
    district: str | None = None
    bbox: tuple[float, float, float, float] | None = None
    propose: int = 0
    candidates: str = "auto"
    candidate_points: tuple[tuple[float, float], ...] | None = None
    grid_m: float | None = None
    h3_res: int = 9
    max_candidates: int = 300
    buffer_m: float = service_areas.ACCESS_BUFFER_M
    scenario: Changes | None = None  # a planning scenario's service points (None: the live ones)

    @property
    def raw_radius_m(self) -> float:
        """The limit as asked, in metres (minutes × walking speed; default 15 min)."""
        if self.meters is not None:
            return float(self.meters)
        return float(self.minutes if self.minutes is not None else 15.0) * self.speed_m_per_min

    @property
    def radius_m(self) -> float:
        """The limit used: the raw limit snapped to the radius lattice (lattice.RADIUS_STEP_M)."""
        return lattice.snap_radius(self.raw_radius_m)


def bbox_km2(bbox: tuple[float, float, float, float]) -> float:
    """Approximate area of a lon/lat box in km²."""
    x0, y0, x1, y1 = bbox
    mid = math.radians((y0 + y1) / 2)
    return (x1 - x0) * 111.32 * max(0.0, math.cos(mid)) * (y1 - y0) * 110.57


def _finite(*values: float | None) -> bool:
    return all(v is None or math.isfinite(v) for v in values)


def _check_ranges(req: CoverageRequest) -> None:
    if req.meters is not None and req.minutes is not None:
        raise InvalidInput("give meters or minutes, not both")
    if not _finite(req.meters, req.minutes, req.speed_m_per_min, req.grid_m, req.buffer_m):
        raise InvalidInput("numbers must be finite")
    if not 0 < req.raw_radius_m <= MAX_RADIUS_M:
        raise InvalidInput(
            "the distance must be between 0 and 20,000 m (or the minutes equivalent)"
        )
    if not 10 <= req.speed_m_per_min <= 500:
        raise InvalidInput("speed must be between 10 and 500 m/min")
    for name, value, allowed in (("mode", req.mode, MODES), ("weight", req.weight, WEIGHTS),
                                 ("candidates", req.candidates, CANDIDATES)):  # fmt: skip
        if value not in allowed:
            raise InvalidInput(f"unknown {name} {value!r}; use one of {', '.join(allowed)}")
    if not 0 <= req.propose <= MAX_PROPOSE:
        raise InvalidInput(f"propose must be between 0 and {MAX_PROPOSE}")
    if not H3_RES[0] <= req.h3_res <= H3_RES[1]:
        raise InvalidInput(f"h3_res must be between {H3_RES[0]} and {H3_RES[1]}")
    if req.grid_m is not None and not 20 <= req.grid_m <= 20000:
        raise InvalidInput("grid_m must be between 20 and 20,000 m")
    if not 1 <= req.max_candidates <= MAX_SHORTLIST:
        raise InvalidInput(f"max_candidates must be between 1 and {MAX_SHORTLIST}")
    if not 0 <= req.buffer_m <= 500:
        raise InvalidInput("buffer_m must be between 0 and 500 m")


def _check_area(req: CoverageRequest) -> None:
    if req.district is not None and req.bbox is not None:
        raise InvalidInput("give a district or a bbox, not both")
    if req.bbox is None:
        return
    x0, y0, x1, y1 = req.bbox
    if not _finite(*req.bbox) or not (-180 <= x0 < x1 <= 180 and -90 <= y0 < y1 <= 90):
        raise InvalidInput("bbox must be minlon,minlat,maxlon,maxlat within ±180/±90")
    km2 = bbox_km2(lattice.snap_bbox(req.bbox))
    if km2 > MAX_BBOX_KM2:
        raise TooLarge(
            f"the bbox covers about {km2:,.0f} km²; at most {MAX_BBOX_KM2:,.0f} km² per run "
            "(give a smaller bbox or a district)"
        )


def validate(req: CoverageRequest) -> None:
    """Raise InvalidInput (400) for anything out of range, TooLarge (413) beyond a cap."""
    _check_ranges(req)
    _check_area(req)
    points = req.candidate_points or ()
    if len(points) > MAX_GIVEN_CANDIDATES:
        raise TooLarge(
            f"{len(points)} candidate points given; at most {MAX_GIVEN_CANDIDATES} per run"
        )
    for lon, lat in points:
        if not _finite(lon, lat) or not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise InvalidInput("candidate points must be [lon, lat] within ±180/±90")


def snapped(req: CoverageRequest) -> CoverageRequest:
    """The request on the fixed lattices (geo/privacy/lattice.py): whole minutes (the radius
    property snaps the distance), bbox edges outward, candidate points and the grid step."""
    points = None
    if req.candidate_points is None and req.scenario is not None and req.scenario.candidates:
        req = replace(req, candidate_points=req.scenario.candidates)  # already on the lattice
    if req.candidate_points:
        snapped_points = (lattice.snap_point(lon, lat) for lon, lat in req.candidate_points)
        points = tuple(dict.fromkeys(snapped_points))  # a nudge onto the same node is one point
    return replace(
        req,
        minutes=lattice.snap_minutes(req.minutes) if req.minutes is not None else None,
        bbox=lattice.snap_bbox(req.bbox) if req.bbox is not None else None,
        candidate_points=points,
        grid_m=lattice.snap_step(req.grid_m) if req.grid_m is not None else None,
    )
