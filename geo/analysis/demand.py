"""Demand and sites for coverage: member homes, building points, service points.

Member homes are read as one WKB multipoint and stay in this process: callers only publish
aggregates of them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import psycopg
import shapely
from shapely.geometry import box as shapely_box
from shapely.geometry.base import BaseGeometry

from geo.analysis.scoping import scope_clause_psycopg
from geo.errors import NotFound
from geo.scope import Principal

M2_PER_RESIDENT = 35.0
RESIDENTIAL_USES = ["住宅", "residential"]


@dataclass
class Points:
    """Lon/lat points with weights and labels (labels only for public things: sites, candidates)."""

    lon: np.ndarray
    lat: np.ndarray
    weight: np.ndarray
    ids: list[Any] = field(default_factory=list)
    labels: list[dict[str, Any]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.lon)


def load_area(
    conn: psycopg.Connection, district: str | None, bbox: tuple[float, float, float, float] | None
) -> BaseGeometry | None:
    """The area asked for: a bbox, a district's boundary, or None (everywhere)."""
    if bbox is not None:
        return shapely_box(*bbox)
    if district is None:
        return None
    row = conn.execute(
        "SELECT ST_AsBinary(geom) FROM districts WHERE code = %s", (district,)
    ).fetchone()
    if row is None:
        raise NotFound(f"district {district!r} does not exist")
    return shapely.from_wkb(bytes(row[0]))


_IN_AREA = " AND ST_Intersects({col}, ST_GeomFromWKB(%s, 4326))"
# For points a bbox test is exact, and much cheaper than ST_Intersects on a million rows.
_IN_BOX = " AND {col} && ST_MakeEnvelope(%s, %s, %s, %s, 4326)"

_MEMBERS_SQL = """
SELECT ST_AsBinary(ST_Collect(m.home)) FROM members m
WHERE m.home IS NOT NULL{area}{scope}
"""
_BUILDINGS_SQL = """
SELECT ST_AsBinary(ST_Collect(ST_PointOnSurface(b.geom) ORDER BY b.id)),
       array_agg(CASE WHEN b.use = ANY(%s) THEN ST_Area(b.geom::geography)
                      * coalesce(b.floors, greatest(1, round(b.height_m / 3))) / %s ELSE 0 END
                 ORDER BY b.id),
       array_agg(b.code ORDER BY b.id)
FROM buildings b WHERE true{area}
"""
_SITES_SQL = """
SELECT id, name, kind, ST_X(geom), ST_Y(geom) FROM service_points s
WHERE s.geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326) ORDER BY id
"""


def _xy(wkb: bytes | None) -> tuple[np.ndarray, np.ndarray]:
    if wkb is None:
        return np.empty(0), np.empty(0)
    coords = shapely.get_coordinates(shapely.from_wkb(bytes(wkb)))
    return coords[:, 0].copy(), coords[:, 1].copy()


def _area_args(
    area: BaseGeometry | None, col: str, points: bool = False
) -> tuple[str, list[object]]:
    if area is None:
        return "", []
    if points and shapely.equals(area, shapely_box(*area.bounds)):
        return _IN_BOX.format(col=col), list(area.bounds)
    return _IN_AREA.format(col=col), [shapely.to_wkb(area)]


def load_members(
    conn: psycopg.Connection, area: BaseGeometry | None, principal: Principal
) -> Points:
    """Member homes in the area and the caller's scope (weight 1 each); they stay in this process."""
    where, args = _area_args(area, "m.home", points=True)
    scope, scope_args = scope_clause_psycopg(principal, "members", "m")
    row = conn.execute(
        _MEMBERS_SQL.format(area=where, scope=scope), [*args, *scope_args]
    ).fetchone()
    lon, lat = _xy(row[0] if row else None)
    return Points(lon, lat, np.ones(len(lon)))


def load_buildings(conn: psycopg.Connection, area: BaseGeometry | None, population: bool) -> Points:
    """Building points (on the footprint); weight 1, or estimated residents."""
    where, args = _area_args(area, "b.geom")
    row = conn.execute(
        _BUILDINGS_SQL.format(area=where), [RESIDENTIAL_USES, M2_PER_RESIDENT, *args]
    ).fetchone()
    lon, lat = _xy(row[0] if row else None)
    weight = np.asarray(row[1], dtype=np.float64) if population and row else np.ones(len(lon))
    return Points(lon, lat, weight, ids=list(row[2] or []) if row else [])  # type: ignore[index]


def expanded_bounds(
    bounds: tuple[float, float, float, float], metres: float
) -> tuple[float, float, float, float]:
    """A lon/lat box grown by `metres` on every side."""
    x0, y0, x1, y1 = bounds
    dlat = metres / 110000.0
    dlon = metres / (
        111000.0 * max(0.01, math.cos(math.radians(min(89.0, max(abs(y0), abs(y1)) + dlat))))
    )
    return (max(-180, x0 - dlon), max(-90, y0 - dlat), min(180, x1 + dlon), min(90, y1 + dlat))


def load_sites(conn: psycopg.Connection, box: tuple[float, float, float, float]) -> Points:
    """Existing service points in the box (ordered by id)."""
    rows = conn.execute(_SITES_SQL, box).fetchall()
    labels = [
        {"service_point_id": r[0], "name": r[1], "kind": r[2], "lon": r[3], "lat": r[4]}
        for r in rows
    ]
    lon = np.array([r[3] for r in rows], dtype=float)
    lat = np.array([r[4] for r in rows], dtype=float)
    return Points(lon, lat, np.ones(len(rows)), ids=[r[0] for r in rows], labels=labels)
