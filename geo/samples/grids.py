"""Sample 党建网格 and red education routes for the sample district (issue 14), a step of
`djmap samples load`.

Grids are squares of GRID_M metres over the district, clipped to its boundary (so they tile it
without overlapping), each given to the 党支部 nearest its centre, with one of that branch's
members as its 网格长. They go in through the ingest core (a GeoJSON file, import kind `grids`),
like a steward's file would. Then each grid's coverage is computed, and one walking and one
driving tour through the district's 红色教育基地 are saved. Labelled（示例）; a rerun writes nothing
new (grids are keyed by code, routes by theirs).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import psycopg
import shapely
from pyproj import Transformer
from shapely.geometry import box, mapping
from shapely.geometry.base import BaseGeometry

from geo.scope import Principal

GRID_M = 900.0
MIN_SHARE = 0.15  # a clipped square smaller than this share of a whole one joins no grid
TAG = "（示例）"
DISTRICT_SQL = (
    "SELECT code, name, ST_AsBinary(geom) FROM districts ORDER BY (level = 'district') DESC, id "
    "LIMIT 1"
)
BRANCHES_SQL = (
    "SELECT o.code, ST_X(o.geom), ST_Y(o.geom), (SELECT m.external_id FROM members m "
    "WHERE m.branch_id = o.id ORDER BY m.external_id LIMIT 1) FROM organisations o "
    "WHERE o.type = '党支部' AND o.geom IS NOT NULL ORDER BY o.code"
)
RED_SITES_SQL = (
    "SELECT sp.id FROM service_points sp JOIN districts d ON ST_Contains(d.geom, sp.geom) "
    "WHERE d.code = %s AND sp.kind = '红色教育基地' ORDER BY sp.code LIMIT %s"
)
ROUTE_STOPS = 5


def _squares(area: BaseGeometry) -> list[BaseGeometry]:
    """The district cut into GRID_M squares (in UTM 51N metres), clipped, small slivers dropped."""
    x0, y0, x1, y1 = area.bounds
    cells: list[BaseGeometry] = []
    for x in np.arange(x0, x1, GRID_M).tolist():
        for y in np.arange(y0, y1, GRID_M).tolist():
            part: BaseGeometry = area.intersection(box(x, y, x + GRID_M, y + GRID_M))
            if part.area >= MIN_SHARE * GRID_M * GRID_M:
                cells.append(part)
    return cells


def grid_features(conn: psycopg.Connection) -> tuple[str, list[dict[str, object]]]:
    """The district's code and its sample grids as GeoJSON features (WGS84)."""
    row = conn.execute(DISTRICT_SQL).fetchone()
    if row is None:
        return "", []
    code, name, wkb = row
    fwd = Transformer.from_crs("EPSG:4326", "EPSG:32651", always_xy=True)
    inv = Transformer.from_crs("EPSG:32651", "EPSG:4326", always_xy=True)
    area = shapely.transform(
        shapely.from_wkb(bytes(wkb)), lambda c: np.column_stack(fwd.transform(c[:, 0], c[:, 1]))
    )
    branches = conn.execute(BRANCHES_SQL).fetchall()
    bx, by = fwd.transform([b[1] for b in branches], [b[2] for b in branches])
    out: list[dict[str, object]] = []
    for i, cell in enumerate(_squares(area), start=1):
        c = cell.centroid
        k = (
            int(np.argmin((np.asarray(bx) - c.x) ** 2 + (np.asarray(by) - c.y) ** 2))
            if branches
            else -1
        )
        wgs = shapely.transform(cell, lambda xy: np.column_stack(inv.transform(xy[:, 0], xy[:, 1])))
        props = {
            "网格编码": f"sample:grid:{i:03d}",
            "网格名称": f"第{i}网格{TAG}",
            "社区": f"{name}第{(i - 1) // 4 + 1}社区{TAG}",
            "支部": branches[k][0] if k >= 0 else None,
            "网格长": branches[k][3] if k >= 0 else None,
        }
        out.append(
            {"type": "Feature", "geometry": mapping(shapely.make_valid(wgs)), "properties": props}
        )
    return str(code), out


def _save_routes(url: str, district: str) -> int:
    """One walking and one driving round trip through the district's 红色教育基地."""
    from geo.planning import routes, saved_routes

    saved = 0
    with psycopg.connect(url) as conn:
        ids = [int(r[0]) for r in conn.execute(RED_SITES_SQL, (district, ROUTE_STOPS)).fetchall()]
        if len(ids) < routes.MIN_STOPS:
            return 0
        for mode, label in (("walk", "步行"), ("drive", "车行")):
            code = f"sample:route:{district}:{mode}"
            if saved_routes.exists(conn, code):
                continue
            found = routes.plan(conn, ids, mode, round_trip=True)
            saved_routes.save(conn, found, f"红色教育{label}路线{TAG}", district, code)
            saved += 1
    return saved


def add_grids_sample(url: str) -> dict[str, int]:
    """Import the sample grids, compute their coverage and save the sample routes."""
    from geo.ingest import import_file
    from geo.planning import grid_coverage

    with psycopg.connect(url) as conn:
        district, features = grid_features(conn)
    if not features:
        return {"grids": 0, "routes": 0}
    with tempfile.TemporaryDirectory(prefix="djmap-grids-") as tmp:
        path = Path(tmp) / "grids.geojson"
        doc = {"type": "FeatureCollection", "features": features}
        path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
        import_file(url, "grids", path, actor="djmap samples load", progress=False)
    with psycopg.connect(url) as conn:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        grid_coverage.refresh(conn, Principal(role="admin"))
    return {"grids": len(features), "routes": _save_routes(url, district)}
