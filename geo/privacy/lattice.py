"""Fixed lattices for the free parameters of member-weighted analyses.

A parameter an attacker can move in small steps (a radius, a candidate point, a bbox edge) could
otherwise sweep a boundary across one home at a time. Every such parameter is snapped to a
lattice that does not depend on the request, so nearby requests are the *same* request: radius to
RADIUS_STEP_M, minutes to whole minutes, candidate points to a POINT_STEP_M grid, candidate grids
to GRID_STEP_M multiples on a grid anchored at (0, 0), bbox edges (outward) to BBOX_STEP_DEG.
Member figures are sums of whole atoms anyway (geo/privacy/atoms.py); the lattices make a sweep
cheap to answer and leave nothing between two lattice values to learn from.
"""

from __future__ import annotations

import math

import numpy as np

RADIUS_STEP_M = 50.0
POINT_STEP_M = 25.0
GRID_STEP_M = 50.0
BBOX_STEP_DEG = 0.001
M_PER_DEG = 111_000.0


def _nearest(value: float, step: float) -> float:
    return step * math.floor(value / step + 0.5)


def snap_radius(metres: float) -> float:
    """The radius on the RADIUS_STEP_M lattice (nearest; at least one step)."""
    return max(RADIUS_STEP_M, _nearest(metres, RADIUS_STEP_M))


def snap_minutes(minutes: float) -> float:
    """Whole minutes (nearest; at least 1)."""
    return max(1.0, float(math.floor(minutes + 0.5)))


def snap_step(metres: float) -> float:
    """A grid step on the GRID_STEP_M lattice (nearest; at least one step)."""
    return max(GRID_STEP_M, _nearest(metres, GRID_STEP_M))


def steps_deg(step_m: float, lat: float) -> tuple[float, float]:
    """(dlon, dlat) of a step_m lattice; dlon uses the whole-degree band of `lat`, so the lattice
    is the same for every request in that band."""
    band = min(89.0, abs(float(round(lat))))
    return step_m / (M_PER_DEG * max(0.01, math.cos(math.radians(band)))), step_m / M_PER_DEG


def snap_point(lon: float, lat: float, step_m: float = POINT_STEP_M) -> tuple[float, float]:
    """The lattice node nearest to (lon, lat) (rounded to 7 decimals)."""
    dlon, dlat = steps_deg(step_m, lat)
    return round(_nearest(lon, dlon), 7), round(_nearest(lat, dlat), 7)


def snap_bbox(bbox: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """The bbox grown outward to the BBOX_STEP_DEG lattice (within ±180/±90)."""
    x0, y0, x1, y1 = bbox
    s = BBOX_STEP_DEG
    return (
        max(-180.0, round(s * math.floor(round(x0 / s, 9)), 6)),
        max(-90.0, round(s * math.floor(round(y0 / s, 9)), 6)),
        min(180.0, round(s * math.ceil(round(x1 / s, 9)), 6)),
        min(90.0, round(s * math.ceil(round(y1 / s, 9)), 6)),
    )


def grid_size(bounds: tuple[float, float, float, float], step_m: float) -> int:
    """How many nodes `grid` would make over the bounds (before any area test)."""
    x0, y0, x1, y1 = bounds
    dlon, dlat = steps_deg(step_m, (y0 + y1) / 2)
    nx = max(0, math.floor(x1 / dlon) - math.ceil(x0 / dlon) + 1)
    ny = max(0, math.floor(y1 / dlat) - math.ceil(y0 / dlat) + 1)
    return nx * ny


def grid(bounds: tuple[float, float, float, float], step_m: float) -> tuple[np.ndarray, np.ndarray]:
    """The step_m lattice nodes (anchored at lon 0, lat 0) inside the bounds."""
    x0, y0, x1, y1 = bounds
    dlon, dlat = steps_deg(step_m, (y0 + y1) / 2)
    i = np.arange(math.ceil(x0 / dlon), math.floor(x1 / dlon) + 1)
    j = np.arange(math.ceil(y0 / dlat), math.floor(y1 / dlat) + 1)
    xs, ys = np.meshgrid(np.round(i * dlon, 7), np.round(j * dlat, 7))
    return xs.ravel(), ys.ravel()
