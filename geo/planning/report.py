"""What the printable coverage report says (issue 14 §6): headline figures and proposals of the
15-minute circle (baseline, and a scenario when given), per-site catchments in walking-time bands,
grids with their coverage, the data versions and the date. Aggregates only: member figures are
the coverage core's (sums of whole atoms, multiples of K) or rounded atom shares held back under
K, exactly like the grids'; web/report.py lays them out and prints the PDF.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import orjson
import psycopg
import shapely
from shapely.geometry import mapping

from geo.analysis import coverage as core
from geo.analysis import service_areas
from geo.analysis.demand import expanded_bounds, load_area, load_buildings, load_sites
from geo.analysis.member_demand import member_spread
from geo.db import Connections
from geo.health import clock
from geo.planning import grid_coverage
from geo.planning.scenario_changes import Changes
from geo.privacy import K, rounded
from geo.scope import Principal
from geo.vocab import WALK_M_PER_MIN

BANDS_MIN = (5, 10, 15)
PERSONS_PER_HOUSEHOLD = 2.62  # 第七次全国人口普查 (2020): average household size
PROPOSE = 3
MEMBER_ROLES = ("leader", "planner", "steward", "admin")  # as POST /api/coverage's weights
VERSIONS_SQL = "SELECT table_name, version, updated_at FROM data_versions ORDER BY table_name"
NAME_SQL = "SELECT name FROM districts WHERE code = %s"
GRID_SHAPES_SQL = (
    "SELECT ST_AsGeoJSON(ST_SimplifyPreserveTopology(geom, 0.00002), 6) FROM grids "
    "WHERE %s OR id = ANY(%s) ORDER BY code"
)


@dataclass(frozen=True)
class ReportRequest:
    """The area (a district or a bbox, or everything), the scenario, the circle."""

    district: str | None = None
    bbox: tuple[float, float, float, float] | None = None
    scenario_id: int | None = None
    minutes: float = 15.0
    mode: str = "walk"


def _coverage(db: Connections, req: ReportRequest, principal: Principal,
              changes: Changes | None) -> dict[str, Any]:  # fmt: skip
    """Buildings and residents (with proposals), and members when the caller may see them."""
    base = core.CoverageRequest(minutes=req.minutes, mode=req.mode, weight="population",
                                district=req.district, bbox=req.bbox, propose=PROPOSE,
                                scenario=changes)  # fmt: skip
    out = {"population": core.run(db, base, principal)}
    if principal.role in MEMBER_ROLES:
        members = replace(base, weight="members", propose=0)
        out["members"] = core.run(db, members, principal)
    return out


def _headline(runs: dict[str, Any]) -> dict[str, Any]:
    pop = runs["population"]["summary"]
    out = {
        "buildings": pop["count_total"],
        "buildings_covered": pop["count_covered"],
        "buildings_pct": pop["coverage_pct_count"],
        "residents": round(pop["weight_total"]),
        "residents_covered": round(pop["weight_covered"]),
        "residents_pct": pop["coverage_pct_weight"],
        "households": round(pop["weight_total"] / PERSONS_PER_HOUSEHOLD),
        "service_points": pop["service_points"],
        "members": None,
        "members_covered": None,
        "members_pct": None,
    }
    if "members" in runs:
        m = runs["members"]["summary"]
        out |= {"members": m["weight_total"], "members_covered": m["weight_covered"],
                "members_pct": m["coverage_pct_weight"]}  # fmt: skip
    return out


def _member_figure(total: float) -> int | None:
    n = rounded(total)
    return n if n >= K else None


def catchments(conn: psycopg.Connection, req: ReportRequest, principal: Principal,
               changes: Changes | None) -> list[dict[str, Any]]:  # fmt: skip
    """Each service point of the area: buildings within 5, 10 and 15 minutes' walk, households
    and (for leaders and up) members within the circle, members as rounded atom shares."""
    area = load_area(conn, req.district, req.bbox)
    radius = req.minutes * WALK_M_PER_MIN
    homes = load_buildings(conn, area, population=True)
    if area is None and len(homes) == 0:
        return []
    bounds = area.bounds if area is not None else (homes.lon.min(), homes.lat.min(),
                                                   homes.lon.max(), homes.lat.max())  # fmt: skip
    box = expanded_bounds(tuple(float(v) for v in bounds), radius)  # type: ignore[arg-type]
    sites = load_sites(conn, tuple(float(v) for v in bounds), changes)  # type: ignore[arg-type]
    road_box = expanded_bounds(box, radius)
    bands = {m: service_areas.walk_areas(conn, sites.lon, sites.lat, m * WALK_M_PER_MIN, road_box)
             for m in BANDS_MIN}  # fmt: skip
    people = member_spread(conn, principal) if principal.role in MEMBER_ROLES else None
    rows = []
    for j, label in enumerate(sites.labels):
        row = {"name": label["name"], "kind": label["kind"]}
        for m in BANDS_MIN:
            poly = bands[m].polygons.get(j)
            inside = shapely.contains_xy(poly, homes.lon, homes.lat) if poly else np.zeros(0, bool)
            row[f"buildings_{m}"] = int(inside.sum())
            if m == BANDS_MIN[-1]:
                residents = float(homes.weight[inside].sum()) if len(inside) else 0.0
                row["households"] = round(residents / PERSONS_PER_HOUSEHOLD)
                row["members"] = _site_members(people, poly)
        row["on_network"] = j not in bands[BANDS_MIN[-1]].off_network
        rows.append(row)
    return rows


def _site_members(people: Any, poly: Any) -> int | None:
    if people is None or poly is None:
        return None
    return _member_figure(
        float(people.members[shapely.contains_xy(poly, people.lon, people.lat)].sum())
    )


def _grids(
    conn: psycopg.Connection, req: ReportRequest, principal: Principal
) -> list[dict[str, Any]]:
    """Grids of the area with their coverage (computed now, as the grids layer's)."""
    area = load_area(conn, req.district, req.bbox)
    found = grid_coverage.compute(conn, principal, req.minutes, req.mode)
    keep = set(grid_coverage.ids_in(conn, area)) if area is not None else None
    return [
        {"code": g.code, "name": g.name, "buildings": g.buildings,
         "buildings_pct": g.buildings_pct, "members": g.members, "members_pct": g.members_pct}
        for g in found if keep is None or g.grid_id in keep
    ]  # fmt: skip


def collect(db: Connections, req: ReportRequest, principal: Principal,
            changes: Changes | None = None) -> dict[str, Any]:  # fmt: skip
    """Everything the report prints (aggregates only)."""
    baseline = _coverage(db, req, principal, None)
    scenario = _coverage(db, req, principal, changes) if changes is not None else None
    with db.connection() as conn:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        sites = catchments(conn, req, principal, changes)
        grids = _grids(conn, req, principal)
        versions = [(t, int(v), u.isoformat(timespec="seconds"))
                    for t, v, u in conn.execute(VERSIONS_SQL).fetchall()]  # fmt: skip
        name = conn.execute(NAME_SQL, (req.district,)).fetchone() if req.district else None
        shapes = _shapes(conn, req)
    return {
        "area": {
            "district": req.district,
            "name": name[0] if name else None,
            "bbox": list(req.bbox) if req.bbox else None,
        },
        "params": {
            "minutes": req.minutes,
            "mode": req.mode,
            "scenario": req.scenario_id,
            "bands": list(BANDS_MIN),
        },
        "date": clock.today().isoformat(),
        "baseline": {
            "headline": _headline(baseline),
            "coverage": baseline["population"],
            "proposed": baseline["population"]["proposed"],
        },
        "scenario": None
        if scenario is None
        else {
            "headline": _headline(scenario),
            "coverage": scenario["population"],
            "proposed": scenario["population"]["proposed"],
        },
        "sites": sites,
        "grids": grids,
        "versions": versions,
        "shapes": shapes,
    }


def _shapes(conn: psycopg.Connection, req: ReportRequest) -> dict[str, Any]:
    """The area's outline and the grids' outlines (GeoJSON geometries) for the map."""
    area = load_area(conn, req.district, req.bbox)
    keep = grid_coverage.ids_in(conn, area) if area is not None else None
    rows = conn.execute(GRID_SHAPES_SQL, (keep is None, keep or [])).fetchall()
    return {
        "area": mapping(area) if area is not None else None,
        "grids": [orjson.loads(r[0]) for r in rows],
    }
