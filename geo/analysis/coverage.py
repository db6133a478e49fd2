"""Coverage of the 15-minute party service circle, uncovered cells and proposed sites.

Demand points are member homes (weight 1), building points (weight 1) or building points weighted
by estimated residents (residential floor area / 35 m²). A point is covered when a service point is
within the radius: geodesic distance (straight) or inside the site's walking service area (walk).
Only aggregates leave this module: no member point is ever part of a result. Members are counted
by whole privacy atoms (geo/analysis/publication.py, `member_atoms` and `AtomSplit`), so member
figures of any two runs differ by 0 or by 10 or more, whatever their areas.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import h3
import numpy as np
import pandas as pd
import psycopg
import shapely
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from geo.analysis import cells, publication, service_areas, sites
from geo.analysis.demand import (
    Points,
    expanded_bounds,
    grid,
    load_area,
    load_buildings,
    load_members,
    load_sites,
)
from geo.analysis.metric import Metric, covering_polygons, covering_straight
from geo.errors import InvalidInput
from geo.scope import PUBLIC, Principal

WEIGHTS = ("members", "buildings", "population")
MODES = ("straight", "walk")
CANDIDATES = ("auto", "buildings", "grid")
MAX_PROPOSE = 50

Progress = Callable[[str], None]


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

    @property
    def radius_m(self) -> float:
        """The limit in metres (minutes × walking speed when given in minutes; default 15 min)."""
        if self.meters is not None:
            return float(self.meters)
        return float(self.minutes if self.minutes is not None else 15.0) * self.speed_m_per_min


def validate(req: CoverageRequest) -> None:
    """Raise InvalidInput for anything out of range."""
    if req.meters is not None and req.minutes is not None:
        raise InvalidInput("give meters or minutes, not both")
    if not (0 < req.radius_m <= 20000) or not math.isfinite(req.radius_m):
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
    if req.district is not None and req.bbox is not None:
        raise InvalidInput("give a district or a bbox, not both")
    if req.bbox is not None:
        x0, y0, x1, y1 = req.bbox
        if not (-180 <= x0 < x1 <= 180 and -90 <= y0 < y1 <= 90):
            raise InvalidInput("bbox must be minlon,minlat,maxlon,maxlat within ±180/±90")
    if not 5 <= req.h3_res <= 12:
        raise InvalidInput("h3_res must be between 5 and 12")
    if req.grid_m is not None and not 20 <= req.grid_m <= 20000:
        raise InvalidInput("grid_m must be between 20 and 20,000 m")
    for lon, lat in req.candidate_points or ():
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise InvalidInput("candidate points must be [lon, lat] within ±180/±90")


def _demand(
    conn: psycopg.Connection, req: CoverageRequest, area: BaseGeometry | None, principal: Principal
) -> tuple[Points, list[str]]:
    """The run's demand points, and for members the atom (geo.analysis.publication) of each."""
    if req.weight == "members":
        return member_atoms(load_members(conn, None, principal), area)
    return load_buildings(conn, area, population=req.weight == "population"), []


def member_atoms(everyone: Points, area: BaseGeometry | None) -> tuple[Points, list[str]]:
    """The members of the whole atoms whose cell centre lies in `area` (all atoms without one).

    Atoms are the disjoint groups of 0 or at least 10 members that the publication rule makes of
    every member in the caller's scope, fixed whatever the run asks; counting whole atoms means
    that two areas differ by whole atoms, never by a few members (a nudged bbox edge), and members
    in no atom (too few to publish anywhere) are left out of every run."""
    points = list(zip(everyone.lon.tolist(), everyone.lat.tolist(), strict=True))
    atom_of = publication.atom_cells(points)
    inside: dict[str, bool] = {}
    for cell in {c for c in atom_of if c is not None}:
        lat, lon = h3.cell_to_latlng(cell)
        inside[cell] = area is None or bool(shapely.contains_xy(area, lon, lat))
    keep = np.array([c is not None and inside[c] for c in atom_of], dtype=bool)
    kept = [c for c in atom_of if c is not None and inside[c]]
    return Points(everyone.lon[keep], everyone.lat[keep], everyone.weight[keep]), kept


def _bounds(area: BaseGeometry | None, demand: Points) -> tuple[float, float, float, float] | None:
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


def run(
    url: str, req: CoverageRequest, principal: Principal = PUBLIC, progress: Progress | None = None
) -> dict[str, Any]:
    """Compute coverage, uncovered cells and proposed sites; only aggregates are returned."""
    validate(req)
    step = progress or (lambda _: None)
    with psycopg.connect(url) as conn:
        step("area and demand")
        area = load_area(conn, req.district, req.bbox)
        demand, atoms = _demand(conn, req, area, principal)
        bounds = _bounds(area, demand)
        box = expanded_bounds(bounds, req.radius_m) if bounds else (0.0, 0.0, 0.0, 0.0)
        existing = load_sites(conn, box)
        metric = Metric(
            np.concatenate([demand.lon, existing.lon]),
            np.concatenate([demand.lat, existing.lat]),
            req.radius_m,
        )
        d_xy = metric.xy(demand.lon, demand.lat)
        step("service areas")
        polygons, notes = _service_areas(conn, req, existing, box)
        step("coverage")
        if req.mode == "straight":
            covering = covering_straight(metric, demand, d_xy, existing)
        else:
            covering = covering_polygons(demand, polygons)
        step("uncovered cells")
        private = req.weight == "members"
        unc = covering < 0
        split = AtomSplit.of(atoms, unc) if private else None
        if split is not None:
            cell_df, suppressed = split.uncovered_cells(req.h3_res), split.rounded
        else:
            cell_df, suppressed = cells.aggregate(
                demand.lon[unc], demand.lat[unc], demand.weight[unc], req.h3_res, False
            )
        step("proposed sites")
        proposals = (
            _propose(conn, req, area, metric, demand, d_xy, covering, box, notes)
            if req.propose
            else []
        )
    return _result(
        req, demand, existing, covering, polygons, cell_df, suppressed, proposals, notes, split
    )


def _service_areas(
    conn: psycopg.Connection,
    req: CoverageRequest,
    existing: Points,
    box: tuple[float, float, float, float],
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


def _candidates(conn: psycopg.Connection, req: CoverageRequest, area: BaseGeometry | None,
                bounds: tuple[float, float, float, float]) -> Points:  # fmt: skip
    if req.candidate_points:
        lon, lat = (np.array(v, dtype=float) for v in zip(*req.candidate_points, strict=True))
        return Points(lon, lat, np.ones(len(lon)), labels=[{"source": "given"}] * len(lon))
    if req.candidates in ("auto", "buildings"):
        b = load_buildings(conn, area, population=False)
        if len(b) or req.candidates == "buildings":
            return Points(
                b.lon,
                b.lat,
                b.weight,
                labels=[{"source": "building", "building": c} for c in b.ids],
            )
    return grid(area, bounds, req.grid_m or req.radius_m / 2)


def _propose(conn: psycopg.Connection, req: CoverageRequest, area: BaseGeometry | None, metric: Metric,
             demand: Points, d_xy: np.ndarray, covering: np.ndarray,
             box: tuple[float, float, float, float], notes: list[str]) -> list[dict[str, Any]]:  # fmt: skip
    unc = np.flatnonzero(covering < 0)
    if len(unc) == 0 or demand.weight[unc].sum() <= 0:
        notes.append("everything is covered: no site to propose")
        return []
    bounds = tuple(area.bounds) if area is not None else box
    cand = _candidates(conn, req, area, bounds)  # type: ignore[arg-type]
    u = sites.units(
        d_xy[:, 0], d_xy[:, 1], demand.lon, demand.lat, demand.weight, covering, req.radius_m
    )
    cover = metric.within(
        Points(u.lon, u.lat, u.weight), metric.xy(u.lon, u.lat), cand.lon, cand.lat
    )
    chosen = sites.shortlist(u, cover, _shortlist_size(req))
    polys: dict[int, BaseGeometry] = {}
    if req.mode == "walk" and chosen:
        chosen, polys = _walk_cover(conn, req, cand, chosen, cover, u, box)
    picked = sites.solve_mclp(u, cover, chosen, req.propose)
    unc_pts = Points(demand.lon[unc], demand.lat[unc], demand.weight[unc])
    if req.mode == "walk":
        exact = {
            c: np.flatnonzero(shapely.contains_xy(polys[c], unc_pts.lon, unc_pts.lat))
            for c in picked
        }
    else:
        hits = metric.within(unc_pts, d_xy[unc], cand.lon[picked], cand.lat[picked])
        exact = dict(zip(picked, hits, strict=True))
    ranked = sites.rank_gains(picked, exact, unc_pts.weight)
    if len(ranked) < req.propose:
        notes.append(f"only {len(ranked)} site(s) would cover anything uncovered")
    return [_proposal(p, cand, req) for p in ranked if p.gain_weight > 0]


def _shortlist_size(req: CoverageRequest) -> int:
    """How many candidates (best by standalone uncovered weight) go into the MCLP model."""
    return min(req.max_candidates, max(120, 25 * req.propose))


def _walk_cover(conn: psycopg.Connection, req: CoverageRequest, cand: Points, chosen: list[int],
                cover: list[np.ndarray], u: sites.Units,
                box: tuple[float, float, float, float]) -> tuple[list[int], dict[int, BaseGeometry]]:  # fmt: skip
    """Replace the straight-line cover of the shortlisted candidates by their walking service areas."""
    road_box = expanded_bounds(box, req.radius_m)
    idx = np.array(chosen)
    areas = service_areas.walk_areas(
        conn, cand.lon[idx], cand.lat[idx], req.radius_m, road_box, req.buffer_m
    )
    polys = {c: areas.polygons[k] for k, c in enumerate(chosen) if k in areas.polygons}
    for c in chosen:
        cover[c] = (
            np.flatnonzero(shapely.contains_xy(polys[c], u.lon, u.lat))
            if c in polys
            else np.empty(0, int)
        )
    walked = [c for c in sites.shortlist(u, cover, len(cover)) if c in polys]
    return walked[: _shortlist_size(req)], polys


def _proposal(p: sites.Proposal, cand: Points, req: CoverageRequest) -> dict[str, Any]:
    private = req.weight == "members"
    out: dict[str, Any] = {
        "lon": round(float(cand.lon[p.candidate]), 7),
        "lat": round(float(cand.lat[p.candidate]), 7),
        **cand.labels[p.candidate],
        "gain_weight": cells.private_number(p.gain_weight, p.gain_count, private),
    }
    if not private:
        out["gain_count"] = p.gain_count
    return out


@dataclass(frozen=True)
class AtomSplit:
    """The published covered and uncovered members of each atom of a run.

    An atom (0 or at least 10 members) whose covered and uncovered parts are each 0 or at least 10
    is split exactly; one with a part of 1..9 counts whole on the side of its majority (uncovered
    on a tie), so every published figure is a sum of parts of 10 or more, whatever the area."""

    covered: dict[str, int]
    uncovered: dict[str, int]
    rounded: int  # atoms counted whole on one side

    @classmethod
    def of(cls, atoms: list[str], uncovered: np.ndarray) -> AtomSplit:
        """The split of the run's atoms given each member's uncovered flag."""
        sizes: dict[str, int] = {}
        cov: dict[str, int] = {}
        for atom, unc in zip(atoms, uncovered.tolist(), strict=True):
            sizes[atom] = sizes.get(atom, 0) + 1
            cov[atom] = cov.get(atom, 0) + (0 if unc else 1)
        out_cov: dict[str, int] = {}
        out_unc: dict[str, int] = {}
        rounded = 0
        for atom, n in sizes.items():
            c = cov[atom]
            if 0 < c < cells.PRIVACY_MIN or 0 < n - c < cells.PRIVACY_MIN:
                rounded += 1
                c = n if c > n - c else 0
            out_cov[atom], out_unc[atom] = c, n - c
        return cls(out_cov, out_unc, rounded)

    def uncovered_cells(self, res: int) -> Any:
        """Uncovered members of the atoms, summed per H3 cell at `res` (an atom coarser than `res`
        is its own cell, `merged`; one more than MERGE_LEVELS coarser is not drawn, its members
        stay in the summary): every count is a sum of parts of 10 or more."""
        rows: dict[tuple[str, int], int] = {}
        for atom, unc in self.uncovered.items():
            own = h3.get_resolution(atom)
            if unc == 0 or own < res - cells.MERGE_LEVELS:
                continue
            cell = h3.cell_to_parent(atom, res) if own > res else atom
            key = (cell, min(own, res))
            rows[key] = rows.get(key, 0) + unc
        return pd.DataFrame(
            [
                {"cell": c, "res": r, "weight": float(n), "count": n, "merged": r < res}
                for (c, r), n in sorted(rows.items(), key=lambda kv: (-kv[0][1], kv[0][0]))
            ],
            columns=["cell", "res", "weight", "count", "merged"],
        )


def _pct(part: float, whole: float) -> float | None:
    return round(100.0 * part / whole, 2) if whole > 0 else None


def _result(req: CoverageRequest, demand: Points, existing: Points, covering: np.ndarray,
            polygons: dict[int, BaseGeometry], cell_df: Any, suppressed: int,
            proposals: list[dict[str, Any]], notes: list[str],
            split: AtomSplit | None = None) -> dict[str, Any]:  # fmt: skip
    private = req.weight == "members"
    cov = covering >= 0
    w_total, w_cov = float(demand.weight.sum()), float(demand.weight[cov].sum())
    n_total, n_cov = len(demand), int(cov.sum())
    if split is not None:  # members: covered as published per atom (AtomSplit)
        n_cov = sum(split.covered.values())
        w_cov = float(n_cov)
    summary = {
        "count_total": cells.private_number(n_total, n_total, private),
        "count_covered": cells.private_number(n_cov, n_cov, private),
        "coverage_pct_count": _pct(n_cov, n_total),
        "weight_total": cells.private_number(w_total, n_total, private),
        "weight_covered": cells.private_number(w_cov, n_cov, private),
        "coverage_pct_weight": _pct(w_cov, w_total),
        "uncovered_weight": cells.private_number(w_total - w_cov, n_total - n_cov, private),
        "uncovered_count": cells.private_number(n_total - n_cov, n_total - n_cov, private),
        "service_points": len(existing),
        "suppressed_cells": suppressed,
    }
    gained = 0.0
    for p in proposals:
        gained += p["gain_weight"] or 0.0
        p["coverage_pct_weight_after"] = _pct(w_cov + gained, w_total)
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
        "proposed": [{"rank": i + 1, **p} for i, p in enumerate(proposals)],
        "notes": notes,
    }


def _params(req: CoverageRequest) -> dict[str, Any]:
    return {
        "radius_m": req.radius_m,
        "meters": req.meters,
        "minutes": req.minutes,
        "speed_m_per_min": req.speed_m_per_min,
        "mode": req.mode,
        "weight": req.weight,
        "district": req.district,
        "bbox": list(req.bbox) if req.bbox else None,
        "propose": req.propose,
        "candidates": "given" if req.candidate_points else req.candidates,
        "h3_res": req.h3_res,
    }
