"""Coverage per 党建网格 (issue 14 §4): each grid's buildings and members inside the 15-minute
circle, through the coverage core's pieces (demand, sites, service areas, covering).

Members enter as the coverage run's privacy atoms spread over the buildings (geo/privacy/atoms.py);
a grid's member figures are sums of those shares, published as multiples of K (`rounded`) and
held back (NULL) when the grid's total is under K. Only published figures are stored, in
`grid_coverage`, which the grids layer reads.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import psycopg
import shapely
from shapely.geometry.base import BaseGeometry

from geo.analysis import service_areas
from geo.analysis.demand import Points, expanded_bounds, load_buildings, load_sites
from geo.analysis.member_demand import member_spread
from geo.analysis.metric import Metric, covering_polygons, covering_straight
from geo.privacy import K, rounded
from geo.privacy.lattice import snap_radius
from geo.scope import Principal
from geo.vocab import WALK_M_PER_MIN

GRIDS_SQL = "SELECT id, code, name, ST_AsBinary(geom) FROM grids ORDER BY code"
CLEAR_SQL = "DELETE FROM grid_coverage"
STORED_SQL = (
    "SELECT grid_id, minutes, mode, buildings, buildings_covered, members, members_covered "
    "FROM grid_coverage"
)
INSERT_SQL = (
    "INSERT INTO grid_coverage (grid_id, minutes, mode, buildings, buildings_covered, members, "
    "members_covered) VALUES (%s, %s, %s, %s, %s, %s, %s)"
)
READ_SQL = (
    "SELECT g.code, g.name, c.minutes, c.mode, c.buildings, c.buildings_covered, c.members, "
    "c.members_covered FROM grid_coverage c JOIN grids g ON g.id = c.grid_id ORDER BY g.code"
)


@dataclass(frozen=True)
class GridFigures:
    """One grid's coverage as published."""

    grid_id: int
    code: str
    name: str
    buildings: int
    buildings_covered: int
    members: int | None
    members_covered: int | None

    @property
    def buildings_pct(self) -> float | None:
        """Share of the grid's buildings inside the circle, %."""
        return _pct(self.buildings_covered, self.buildings)

    @property
    def members_pct(self) -> float | None:
        """Share of the grid's members inside the circle, % (of published figures)."""
        if self.members is None or self.members_covered is None:
            return None
        return _pct(self.members_covered, self.members)


def _pct(part: float, whole: float) -> float | None:
    return round(100.0 * part / whole, 1) if whole > 0 else None


def _covering(conn: psycopg.Connection, demand: Points, mode: str, radius_m: float) -> np.ndarray:
    """The covering site of each demand point (-1 = none), as the coverage run decides it."""
    if len(demand) == 0:
        return np.full(0, -1, dtype=np.int64)
    bounds = (demand.lon.min(), demand.lat.min(), demand.lon.max(), demand.lat.max())
    box = expanded_bounds(tuple(float(v) for v in bounds), radius_m)  # type: ignore[arg-type]
    sites = load_sites(conn, box)
    if mode == "straight":
        metric = Metric(demand.lon, demand.lat, radius_m)
        return covering_straight(metric, demand, metric.xy(demand.lon, demand.lat), sites)
    road_box = expanded_bounds(box, radius_m)
    areas = service_areas.walk_areas(conn, sites.lon, sites.lat, radius_m, road_box)
    return covering_polygons(demand, areas.polygons)


def _published(total: float, covered: float) -> tuple[int | None, int | None]:
    """Members of a grid as published: rounded sums of atom shares, none under K."""
    n_total, n_cov = rounded(total), rounded(covered)
    if n_total < K:
        return None, None
    return n_total, min(n_cov, n_total)


def compute(conn: psycopg.Connection, principal: Principal, minutes: float = 15.0,
            mode: str = "walk") -> list[GridFigures]:  # fmt: skip
    """Coverage of every grid (buildings; members in the caller's scope, as published)."""
    radius = snap_radius(minutes * WALK_M_PER_MIN)
    grids = conn.execute(GRIDS_SQL).fetchall()
    if not grids:
        return []
    polys = [shapely.from_wkb(bytes(r[3])) for r in grids]
    area = shapely.union_all(polys)
    everything = load_buildings(conn, area, population=False)
    spread = member_spread(conn, principal)
    people = Points(spread.lon, spread.lat, spread.members)
    both = Points(
        np.concatenate([everything.lon, people.lon]),
        np.concatenate([everything.lat, people.lat]),
        np.concatenate([everything.weight, people.weight]),
    )
    inside = shapely.contains_xy(area, both.lon, both.lat)
    covered = np.zeros(len(both), bool)
    idx = np.flatnonzero(inside)
    sub = Points(both.lon[idx], both.lat[idx], both.weight[idx])
    covered[idx] = _covering(conn, sub, mode, radius) >= 0
    is_member = np.arange(len(both)) >= len(everything)
    out = []
    for (gid, code, name, _), poly in zip(grids, polys, strict=True):
        here = inside & shapely.contains_xy(poly, both.lon, both.lat)
        b = here & ~is_member
        m = here & is_member
        members = _published(float(both.weight[m].sum()), float(both.weight[m & covered].sum()))
        out.append(GridFigures(int(gid), str(code), str(name), int(b.sum()),
                               int((b & covered).sum()), *members))  # fmt: skip
    return out


def refresh(conn: psycopg.Connection, principal: Principal, minutes: float = 15.0,
            mode: str = "walk") -> list[GridFigures]:  # fmt: skip
    """Compute every grid's coverage and store it (replacing the last), in the caller's
    transaction; a change moves the grid_coverage data version (the grids layer's tiles), the
    same figures again write nothing."""
    figures = compute(conn, principal, minutes, mode)
    rows = [(f.grid_id, float(minutes), mode, f.buildings, f.buildings_covered, f.members,
             f.members_covered) for f in figures]  # fmt: skip
    stored = [tuple(r) for r in conn.execute(STORED_SQL).fetchall()]
    if sorted(stored, key=repr) == sorted(rows, key=repr):
        return figures  # nothing changed: no write, no new data version
    conn.execute(CLEAR_SQL)
    with conn.cursor() as cur:
        cur.executemany(INSERT_SQL, rows)
    return figures


IN_AREA_SQL = "SELECT id FROM grids WHERE ST_Intersects(geom, ST_GeomFromWKB(%s, 4326))"


def ids_in(conn: psycopg.Connection, area: BaseGeometry) -> list[int]:
    """Ids of the grids meeting an area."""
    return [int(r[0]) for r in conn.execute(IN_AREA_SQL, (shapely.to_wkb(area),)).fetchall()]
