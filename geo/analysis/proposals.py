"""Proposed sites for a coverage run: candidates, the MCLP shortlist and the ranked gains.

Demand here is the run's demand points: building points, or for members the atoms' representative
points weighted by their sizes (geo/privacy/atoms.py), so a member gain is a sum of whole atoms.
Candidates are building points, a grid on the fixed lattice (geo/privacy/lattice.py) or the
given points (already snapped to their lattice).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import psycopg
import shapely
from shapely.geometry.base import BaseGeometry

from geo.analysis import service_areas, sites
from geo.analysis.coverage_request import MAX_GRID_CANDIDATES, CoverageRequest
from geo.analysis.demand import Points, expanded_bounds, load_buildings
from geo.analysis.metric import Metric
from geo.errors import TooLarge
from geo.privacy import K, lattice, rounded

Box = tuple[float, float, float, float]


@dataclass
class Proposals:
    """The ranked proposals, and the grid step used when candidates came from a grid."""

    ranked: list[sites.Proposal] = field(default_factory=list)
    cand: Points | None = None
    grid_m: float | None = None


def grid_step(req: CoverageRequest, bounds: Box) -> float:
    """The candidate grid step: grid_m as given (413 beyond MAX_GRID_CANDIDATES), else radius/2
    on the lattice, doubled until the grid stays within the cap."""
    if req.grid_m is not None:
        n = lattice.grid_size(bounds, req.grid_m)
        if n > MAX_GRID_CANDIDATES:
            raise TooLarge(
                f"a {req.grid_m:g} m grid over this area makes {n:,} candidates; at most "
                f"{MAX_GRID_CANDIDATES:,} (give a larger grid_m or a smaller area)"
            )
        return req.grid_m
    step = lattice.snap_step(req.radius_m / 2)
    while lattice.grid_size(bounds, step) > MAX_GRID_CANDIDATES:
        step *= 2
    return step


def _grid(area: BaseGeometry | None, bounds: Box, step: float) -> Points:
    lon, lat = lattice.grid(bounds, step)
    if area is not None and len(lon):
        keep = shapely.contains_xy(area, lon, lat)
        lon, lat = lon[keep], lat[keep]
    return Points(lon, lat, np.ones(len(lon)), labels=[{"source": "grid"}] * len(lon))


def candidates(conn: psycopg.Connection, req: CoverageRequest, area: BaseGeometry | None,
               bounds: Box) -> tuple[Points, float | None]:  # fmt: skip
    """The candidate sites, and the grid step when they are a grid."""
    if req.candidate_points:
        lon, lat = (np.array(v, dtype=float) for v in zip(*req.candidate_points, strict=True))
        return Points(lon, lat, np.ones(len(lon)), labels=[{"source": "given"}] * len(lon)), None
    if req.candidates in ("auto", "buildings"):
        b = load_buildings(conn, area, population=False)
        if len(b) or req.candidates == "buildings":
            labels = [{"source": "building", "building": c} for c in b.ids]
            return Points(b.lon, b.lat, b.weight, labels=labels), None
    step = grid_step(req, bounds)
    return _grid(area, bounds, step), step


def propose(conn: psycopg.Connection, req: CoverageRequest, area: BaseGeometry | None,
            metric: Metric, demand: Points, d_xy: np.ndarray, covering: np.ndarray, box: Box,
            notes: list[str]) -> Proposals:  # fmt: skip
    """MCLP over the candidates (existing sites locked in), gains ranked greedily on the demand."""
    unc = np.flatnonzero(covering < 0)
    if len(unc) == 0 or demand.weight[unc].sum() <= 0:
        notes.append("everything is covered: no site to propose")
        return Proposals()
    bounds = tuple(area.bounds) if area is not None else box
    cand, step = candidates(conn, req, area, bounds)  # type: ignore[arg-type]
    u = sites.units(
        d_xy[:, 0], d_xy[:, 1], demand.lon, demand.lat, demand.weight, covering, req.radius_m
    )
    cover = metric.within(
        Points(u.lon, u.lat, u.weight), metric.xy(u.lon, u.lat), cand.lon, cand.lat
    )
    chosen = sites.shortlist(u, cover, shortlist_size(req))
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
    least = K if req.weight == "members" else 1e-9  # a member gain is published only from K up
    ranked = [p for p in sites.rank_gains(picked, exact, unc_pts.weight) if p.gain_weight >= least]
    if len(ranked) < req.propose:
        notes.append(f"only {len(ranked)} site(s) would cover anything uncovered")
    return Proposals(ranked, cand, step)


def shortlist_size(req: CoverageRequest) -> int:
    """How many candidates (best by standalone uncovered weight) go into the MCLP model."""
    return min(req.max_candidates, max(120, 25 * req.propose))


def _walk_cover(conn: psycopg.Connection, req: CoverageRequest, cand: Points, chosen: list[int],
                cover: list[np.ndarray], u: sites.Units,
                box: Box) -> tuple[list[int], dict[int, BaseGeometry]]:  # fmt: skip
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
    return walked[: shortlist_size(req)], polys


def as_dict(p: sites.Proposal, cand: Points, members: bool) -> dict[str, Any]:
    """A proposal as published: a member gain rounded to a multiple of K, no member count."""
    out: dict[str, Any] = {
        "lon": round(float(cand.lon[p.candidate]), 7),
        "lat": round(float(cand.lat[p.candidate]), 7),
        **cand.labels[p.candidate],
    }
    if members:
        out["gain_weight"] = rounded(p.gain_weight)
    else:
        w = p.gain_weight
        out["gain_weight"] = int(w) if float(w).is_integer() else round(float(w), 2)
        out["gain_count"] = p.gain_count
    return out
