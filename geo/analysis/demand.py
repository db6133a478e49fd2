"""Demand and sites for coverage: member homes, building points, service points.

Member homes are read as one WKB multipoint and stay in this process: callers only publish
aggregates of them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np
import psycopg
import shapely
from shapely.geometry import box as shapely_box
from shapely.geometry.base import BaseGeometry

from geo import compose
from geo.analysis.scoping import scope_condition
from geo.compose import Fragment
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


_IN_AREA = "ST_Intersects({col}, ST_GeomFromWKB({wkb}, 4326))"
# For points a bbox test is exact, and much cheaper than ST_Intersects on a million rows.
_IN_BOX = "{col} && ST_MakeEnvelope({x0}, {y0}, {x1}, {y1}, 4326)"


@cache
def _template(name: str) -> str:
    return compose.sql_file(__file__, name)


def _fetchone(conn: psycopg.Connection, stmt: Fragment) -> Any:
    """The first row of a composed statement, run with psycopg's `%s` placeholders."""
    compiled = stmt.compile_psycopg()
    return conn.execute(compiled.text, compiled.args(dict(stmt.bound))).fetchone()


def _xy(wkb: bytes | None) -> tuple[np.ndarray, np.ndarray]:
    if wkb is None:
        return np.empty(0), np.empty(0)
    coords = shapely.get_coordinates(shapely.from_wkb(bytes(wkb)))
    return coords[:, 0].copy(), coords[:, 1].copy()


def _in_area(area: BaseGeometry | None, col: str, points: bool = False) -> Fragment:
    """The condition keeping `col` inside the area (TRUE when there is no area)."""
    if area is None:
        return compose.TRUE
    column = compose.raw(col)
    if points and shapely.equals(area, shapely_box(*area.bounds)):
        x0, y0, x1, y1 = (compose.value(v) for v in area.bounds)
        return compose.sql(_IN_BOX, col=column, x0=x0, y0=y0, x1=x1, y1=y1)
    return compose.sql(_IN_AREA, col=column, wkb=compose.value(shapely.to_wkb(area)))


def load_members(
    conn: psycopg.Connection, area: BaseGeometry | None, principal: Principal
) -> Points:
    """Member homes in the area and the caller's scope (weight 1 each); they stay in this process."""
    conds = [_in_area(area, "m.home", points=True)]
    scope = scope_condition(principal, "members", "m")
    if scope is not None:
        conds.append(scope)
    where = compose.join(" AND ", conds)
    row = _fetchone(conn, compose.sql(_template("demand_members.sql"), where=where))
    lon, lat = _xy(row[0] if row else None)
    return Points(lon, lat, np.ones(len(lon)))


_COUNT_MEMBERS = "SELECT count(*) FROM members m WHERE m.home IS NOT NULL AND {where}"


def count_members(conn: psycopg.Connection, principal: Principal) -> int:
    """How many member homes the caller's scope holds (no area)."""
    scope = scope_condition(principal, "members", "m")
    row = _fetchone(conn, compose.sql(_COUNT_MEMBERS, where=scope or compose.TRUE))
    return int(row[0]) if row else 0


def load_buildings(conn: psycopg.Connection, area: BaseGeometry | None, population: bool) -> Points:
    """Building points (on the footprint); weight 1, or estimated residents."""
    stmt = compose.sql(
        _template("demand_buildings.sql"),
        uses=compose.value(RESIDENTIAL_USES),
        m2=compose.value(M2_PER_RESIDENT),
        where=_in_area(area, "b.geom"),
    )
    row = _fetchone(conn, stmt)
    lon, lat = _xy(row[0] if row else None)
    weight = np.asarray(row[1] or [], dtype=np.float64) if population and row else np.ones(len(lon))
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


def load_sites(
    conn: psycopg.Connection, box: tuple[float, float, float, float], scenario: Any = None
) -> Points:
    """Existing service points in the box (ordered by id); with a planning `scenario`
    (geo.planning.scenario_changes.Changes) the points as it has them (ids < 0: added)."""
    if scenario is None:
        rows = conn.execute(_template("demand_sites.sql"), box).fetchall()
    else:
        from geo.planning.scenario_changes import fetch_sites

        rows = fetch_sites(conn, scenario, box)
    labels = [
        {"service_point_id": r[0], "name": r[1], "kind": r[2], "lon": r[3], "lat": r[4]}
        for r in rows
    ]
    lon = np.array([r[3] for r in rows], dtype=float)
    lat = np.array([r[4] for r in rows], dtype=float)
    return Points(lon, lat, np.ones(len(rows)), ids=[r[0] for r in rows], labels=labels)
