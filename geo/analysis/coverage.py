"""Coverage of the 15-minute party service circle, uncovered cells and proposed sites.

Demand points are building points (weight 1), building points weighted by estimated residents
(residential floor area / 35 m²), or members. A point is covered when a service point is within
the radius: geodesic distance (straight) or inside the site's walking service area (walk).
Members enter only as privacy atoms (geo/privacy/atoms.py): the heat rule's disjoint groups of 10
or more of the caller's members, each spread over the buildings of its region. So every member
figure (totals, covered, uncovered, cells, gains) is a function of the atom table and public data,
published as a multiple of 10, and no member's own position decides anything. Free parameters are
snapped to fixed lattices first (`coverage_request.snapped`); `params` are the values used.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import psycopg
import shapely
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from geo.analysis import cells, proposals, service_areas, site_points
from geo.analysis.coverage_request import (
    CANDIDATES,
    MAX_PROPOSE,
    MODES,
    WEIGHTS,
    CoverageRequest,
    snapped,
    validate,
)
from geo.analysis.dask_cluster import DaskSettings, use_dask
from geo.analysis.demand import (
    Points,
    count_members,
    expanded_bounds,
    load_area,
    load_buildings,
    load_sites,
)
from geo.analysis.member_demand import member_spread
from geo.analysis.metric import Metric, covering_polygons, covering_straight
from geo.db import Connections
from geo.privacy import rounded
from geo.privacy.atoms import cells_at
from geo.scope import PUBLIC, Principal

__all__ = ["CANDIDATES", "MAX_PROPOSE", "MODES", "WEIGHTS", "CoverageRequest", "run", "validate"]

Progress = Callable[[str], None]
Box = tuple[float, float, float, float]


def _demand(conn: psycopg.Connection, req: CoverageRequest, area: BaseGeometry | None,
            principal: Principal, client: Any = None) -> Points:  # fmt: skip
    """The run's demand points in `area`; for members, the atoms spread over the buildings."""
    if req.weight != "members":
        return load_buildings(conn, area, population=req.weight == "population")
    s = member_spread(conn, principal, client)  # area-free: the atoms never depend on the request
    keep = np.ones(len(s.lon), bool) if area is None else shapely.contains_xy(area, s.lon, s.lat)
    ids = [a for a, k in zip(s.atom, keep.tolist(), strict=True) if k]
    return Points(s.lon[keep], s.lat[keep], s.members[keep], ids=ids)


def _bounds(area: BaseGeometry | None, demand: Points) -> Box | None:
    if area is not None:
        return tuple(area.bounds)  # type: ignore[return-value]
    if len(demand) == 0:
        return None
    return (
        float(demand.lon.min()),
        float(demand.lat.min()),
        float(demand.lon.max()),
        float(demand.lat.max()),
    )


def run(db: Connections, req: CoverageRequest, principal: Principal = PUBLIC,
        progress: Progress | None = None, client: Any = None) -> dict[str, Any]:  # fmt: skip
    """Compute coverage, uncovered cells and proposed sites; only aggregates are returned.

    `db` lends the run one connection (the app's analysis pool, or `geo.db.Direct` for the CLI);
    its statement_timeout is the connection's. With a Dask `client` (a `distributed.Client`)
    the per-point work runs on its cluster: the member spread's counting and placing
    (geo/analysis/spread_dask.py) and the covering per H3 cell with its halo
    (geo/analysis/coverage_dask.py); the result is the same as without."""
    validate(req)
    req = snapped(req)
    step = progress or (lambda _: None)
    with db.connection() as conn:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")  # one snapshot
        step("area and demand")
        area = load_area(conn, req.district, req.bbox)
        demand = _demand(conn, req, area, principal, client)
        bounds = _bounds(area, demand)
        box = expanded_bounds(bounds, req.radius_m) if bounds else (0.0, 0.0, 0.0, 0.0)
        existing = load_sites(conn, box, req.scenario)
        live = load_sites(conn, box) if req.scenario is not None else None  # what it changed
        metric = Metric(
            np.concatenate([demand.lon, existing.lon]),
            np.concatenate([demand.lat, existing.lat]),
            req.radius_m,
        )
        d_xy = metric.xy(demand.lon, demand.lat)
        step("service areas")
        polygons, notes = _service_areas(conn, req, existing, box)
        step("coverage")
        covering = _covering(client, req, metric, demand, d_xy, existing, polygons)
        step("uncovered cells")
        cell_df, not_drawn = _uncovered_cells(req, demand, covering < 0)
        step("proposed sites")
        found = (
            proposals.propose(conn, req, area, metric, demand, d_xy, covering, box, notes)
            if req.propose
            else proposals.Proposals()
        )
    if found.grid_m is not None:
        req = replace(req, grid_m=found.grid_m)
    out = _result(req, demand, existing, covering, polygons, cell_df, not_drawn, found, notes)
    out["service_points"] = site_points.features(existing, live, req.scenario)
    return out


def wants_dask(db: Connections, req: CoverageRequest, principal: Principal, engine: str,
               settings: DaskSettings | None = None) -> bool:  # fmt: skip
    """Whether a run takes the Dask path: `engine` dask or local, or for auto whether the
    members in the caller's scope (for building weights: the buildings) reach the threshold
    (DaskSettings.min_members)."""
    if engine != "auto":
        return use_dask(engine, 0, settings)
    with db.connection() as conn:
        if req.weight == "members":
            size = count_members(conn, principal)
        else:
            size = len(load_buildings(conn, load_area(conn, req.district, req.bbox), False))
    return use_dask(engine, size, settings)


def _covering(client: Any, req: CoverageRequest, metric: Metric, demand: Points,
              d_xy: np.ndarray, existing: Points,
              polygons: dict[int, BaseGeometry]) -> np.ndarray:  # fmt: skip
    """The covering site of each demand point (-1 = none), in this process or on Dask."""
    if client is not None:
        from geo.analysis.coverage_dask import covering_dask  # dask loads only when used

        return covering_dask(client, metric, demand, existing, polygons, req.mode)
    if req.mode == "straight":
        return covering_straight(metric, demand, d_xy, existing)
    return covering_polygons(demand, polygons)


def _uncovered_cells(req: CoverageRequest, demand: Points, unc: np.ndarray) -> tuple[Any, int]:
    """Uncovered weight per H3 cell; for members cells of 10 or more, counts rounded."""
    if req.weight != "members":
        return cells.aggregate(demand.lon[unc], demand.lat[unc], demand.weight[unc], req.h3_res)
    return cells_at(demand.lon[unc], demand.lat[unc], demand.weight[unc], req.h3_res)


def _service_areas(
    conn: psycopg.Connection, req: CoverageRequest, existing: Points, box: Box
) -> tuple[dict[int, BaseGeometry], list[str]]:
    if req.mode == "straight":
        return dict(enumerate(service_areas.circles(existing.lon, existing.lat, req.radius_m))), []
    road_box = expanded_bounds(box, req.radius_m)
    areas = service_areas.walk_areas(
        conn, existing.lon, existing.lat, req.radius_m, road_box, req.buffer_m
    )
    notes = []
    if areas.off_network:
        ids = [existing.ids[i] for i in areas.off_network]
        notes.append(
            f"{len(ids)} service point(s) are not on the walking network and cover nothing: {ids[:20]}"
        )
    return areas.polygons, notes


def _pct(part: float, whole: float) -> float | None:
    return round(100.0 * part / whole, 2) if whole > 0 else None


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else round(float(value), 2)


def _summary(req: CoverageRequest, demand: Points, covering: np.ndarray) -> dict[str, Any]:
    """Totals and covered shares; member figures are rounded sums of whole atoms, and the
    uncovered figure is total minus covered as published (so the three always add up)."""
    cov = covering >= 0
    w_total, w_cov = float(demand.weight.sum()), float(demand.weight[cov].sum())
    if req.weight == "members":
        n_total, n_cov = rounded(w_total), rounded(w_cov)
        w_total, w_cov = float(n_total), float(n_cov)
    else:
        n_total, n_cov = len(demand), int(cov.sum())
    return {
        "count_total": n_total,
        "count_covered": n_cov,
        "coverage_pct_count": _pct(n_cov, n_total),
        "weight_total": _number(w_total),
        "weight_covered": _number(w_cov),
        "coverage_pct_weight": _pct(w_cov, w_total),
        "uncovered_weight": _number(w_total - w_cov),
        "uncovered_count": n_total - n_cov,
    }


def _proposed(req: CoverageRequest, demand: Points, covering: np.ndarray,
              found: proposals.Proposals) -> list[dict[str, Any]]:  # fmt: skip
    """The ranked proposals with the coverage share after each (members: rounded atoms)."""
    if found.cand is None:
        return []
    members = req.weight == "members"
    w_total = float(demand.weight.sum())
    w_cov = float(demand.weight[covering >= 0].sum())
    out, gained = [], 0.0
    for rank, p in enumerate(found.ranked, start=1):
        gained += p.gain_weight
        after = (
            _pct(rounded(w_cov + gained), rounded(w_total))
            if members
            else _pct(w_cov + gained, w_total)
        )
        item = proposals.as_dict(p, found.cand, members)
        out.append({"rank": rank, **item, "coverage_pct_weight_after": after})
    return out


def _result(req: CoverageRequest, demand: Points, existing: Points, covering: np.ndarray,
            polygons: dict[int, BaseGeometry], cell_df: Any, not_drawn: int,
            found: proposals.Proposals, notes: list[str]) -> dict[str, Any]:  # fmt: skip
    summary = _summary(req, demand, covering)
    summary["service_points"] = len(existing)
    summary["suppressed_cells"] = not_drawn
    areas = [
        {"type": "Feature", "geometry": mapping(polygons[j]),
         "properties": {"layer": "service_area", **existing.labels[j]}}
        for j in sorted(polygons)
    ]  # fmt: skip
    return {
        "params": _params(req),
        "summary": summary,
        "service_areas": {"type": "FeatureCollection", "features": areas},
        "uncovered_cells": {
            "type": "FeatureCollection",
            "features": cells.features(cell_df, counts=True),
        },
        "proposed": _proposed(req, demand, covering, found),
        "notes": notes,
    }


def _params(req: CoverageRequest) -> dict[str, Any]:
    """The parameters used, after snapping to the lattices (geo/privacy/lattice.py)."""
    return {
        "radius_m": req.radius_m,
        "meters": req.radius_m if req.meters is not None else None,
        "minutes": req.minutes,
        "speed_m_per_min": req.speed_m_per_min,
        "mode": req.mode,
        "weight": req.weight,
        "district": req.district,
        "bbox": list(req.bbox) if req.bbox else None,
        "propose": req.propose,
        "candidates": "given" if req.candidate_points else req.candidates,
        "candidate_points": [list(p) for p in req.candidate_points]
        if req.candidate_points
        else None,
        "grid_m": req.grid_m,
        "h3_res": req.h3_res,
    }
