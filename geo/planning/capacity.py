"""Capacity-aware coverage (issue 14 §2): a two-step floating catchment (2SFCA) of service point
floor area against households on walking times, and capacitated proposals.

Supply: each service point's capacity (m² of floor area; the kind's default when unset). Demand:
households of residential buildings (floor area / 35 m² per resident / persons per household).
Step 1: each site's ratio R_j = S_j / Σ D_i over the demand within the catchment; step 2: each
demand point's access A_i = Σ R_j over the sites within it (m² per household). PySAL's `access`
computes the same (`access.Access.two_stage_fca`, the test checks it); numpy here because the
pairs of a city are millions of rows. The rules are in capacity_rules.toml (editable).

Demand (`demand`): "households" from public building data (no member figure), or "members":
the caller's members as privacy atoms spread over the buildings of each atom's region
(geo/analysis/member_demand.py, the same spread as member-weighted coverage; no member point
leaves the server, nor enters the analysis). Member figures are published by the privacy rule:
each count a multiple of K (geo/privacy `rounded`), none under K (null; a cell under K is left
out and counted in `suppressed_cells`); a site's m² per 100 members is of its published load.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import h3
import numpy as np
import psycopg
import shapely
from shapely.geometry.base import BaseGeometry

from geo.analysis.demand import expanded_bounds, load_buildings
from geo.errors import InvalidInput
from geo.planning import walk_graph
from geo.planning.scenario_changes import BASELINE, Changes, fetch_sites
from geo.privacy import K, rounded
from geo.scope import Principal
from geo.vocab import WALK_M_PER_MIN

RULES = Path(__file__).with_name("capacity_rules.toml")
CELL_RES = 9
DEMANDS = ("households", "members")


@cache
def rules() -> dict[str, Any]:
    """The capacity rules (capacity_rules.toml)."""
    return tomllib.loads(RULES.read_text(encoding="utf-8"))


def per_100(unit: str) -> float:
    """The rule's m² of floor area per 100 households, or per 100 members."""
    r = rules()
    return float(
        r["m2_per_100_households"] if unit == "households" else r["members"]["m2_per_100_members"]
    )


def published(unit: str, v: float) -> float | int | None:
    """A demand figure as published: households to 0.1; members a multiple of K, none under K."""
    if unit == "households":
        return round(float(v), 1)
    n = rounded(float(v))
    return n if n >= K else None


@dataclass(frozen=True)
class Catchments:
    """Demand (households or members per point), supply, the pairs within the catchment."""

    unit: str
    d_lon: np.ndarray
    d_lat: np.ndarray
    demand: np.ndarray
    sites: list[Any]
    supply: np.ndarray
    pair_d: np.ndarray
    pair_s: np.ndarray
    metres: np.ndarray
    graph: walk_graph.WalkGraph
    d_xy: np.ndarray


def two_stage(households: np.ndarray, supply: np.ndarray, pair_d: np.ndarray,
              pair_s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """2SFCA: each site's demand in reach and ratio (supply per household), each demand point's
    access (Σ of the ratios of the sites in reach)."""
    load = np.bincount(pair_s, weights=households[pair_d], minlength=len(supply))
    ratio = np.divide(supply, load, out=np.zeros(len(supply)), where=load > 0)
    access = np.bincount(pair_d, weights=ratio[pair_s], minlength=len(households))
    return load, ratio, access


def demand_points(conn: psycopg.Connection, area: BaseGeometry, unit: str,
                  principal: Principal | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """lon, lat and demand of the area's demand points: households of its residential buildings,
    or the caller's members as atoms spread over buildings (those placed inside the area)."""
    if unit == "members":
        from geo.analysis.member_demand import member_spread

        if principal is None:
            raise InvalidInput("member demand needs the caller")
        s = member_spread(conn, principal)
        m = np.asarray(s.members, dtype=float)
        keep = (m > 0) & shapely.contains_xy(area, s.lon, s.lat)
        return np.asarray(s.lon)[keep], np.asarray(s.lat)[keep], m[keep]
    if unit != "households":
        raise InvalidInput(f"demand must be one of {', '.join(DEMANDS)}")
    b = load_buildings(conn, area, population=True)
    keep = b.weight > 0
    return b.lon[keep], b.lat[keep], b.weight[keep] / float(rules()["persons_per_household"])


def catchments(conn: psycopg.Connection, area: BaseGeometry, changes: Changes | None,
               minutes: float, unit: str = "households",
               principal: Principal | None = None) -> Catchments:  # fmt: skip
    """The area's demand points, the service points in reach, the pairs within `minutes` of
    walking (the live points, or a scenario's)."""
    r = rules()
    limit_m = minutes * WALK_M_PER_MIN
    d_lon, d_lat, demand = demand_points(conn, area, unit, principal)
    reach = expanded_bounds(tuple(area.bounds), limit_m)  # type: ignore[arg-type]
    graph = walk_graph.load(conn, reach)
    sites = fetch_sites(conn, changes or BASELINE, reach)
    defaults = r["default_m2"]
    supply = np.array([s[5] if s[5] is not None else defaults.get(s[2], 0.0) for s in sites], float)
    s_xy = graph.project(np.array([s[3] for s in sites]), np.array([s[4] for s in sites]))
    d_xy = graph.project(d_lon, d_lat)
    pd_, ps_, m = walk_graph.costs_within(graph, s_xy, d_xy, limit_m)
    return Catchments(unit, d_lon, d_lat, demand, sites, supply, pd_, ps_, m, graph, d_xy)


def _site_rows(c: Catchments, load: np.ndarray) -> list[dict[str, Any]]:
    """Each site's demand in reach (published), its m² per 100 of it and its load against the
    rule (both of the published figure)."""
    per100, unit = per_100(c.unit), c.unit
    out = []
    for j, s in enumerate(c.sites):
        served = c.supply[j] / per100 * 100.0  # the demand the floor area is for
        shown = published(unit, load[j])
        base = float(shown or 0.0)
        out.append({
            "service_point_id": int(s[0]), "name": s[1], "kind": s[2],
            "lon": float(s[3]), "lat": float(s[4]), "capacity_m2": float(c.supply[j]),
            unit: shown,
            f"m2_per_100_{unit}": round(float(c.supply[j]) / base * 100, 2) if base > 0 else None,
            "load_pct": round(100.0 * base / served, 1)
            if served > 0 and shown is not None else None,
        })  # fmt: skip
    return out


def _cells(c: Catchments, access: np.ndarray) -> tuple[list[dict[str, Any]], int]:
    """Demand and its mean m² per 100 per H3 cell, with the verdict (cells whose member figure
    is under K are left out: their number is the second value)."""
    per100, unit = per_100(c.unit), c.unit
    cells = [h3.latlng_to_cell(y, x, CELL_RES) for x, y in zip(c.d_lon, c.d_lat, strict=True)]
    uniq, inv = np.unique(np.array(cells, dtype=object), return_inverse=True)
    total = np.bincount(inv, weights=c.demand, minlength=len(uniq))
    weighted = np.bincount(inv, weights=c.demand * access * 100, minlength=len(uniq))
    out, suppressed = [], 0
    for k, cell in enumerate(uniq.tolist()):
        shown = published(unit, total[k])
        if shown is None:
            suppressed += 1
            continue
        level = weighted[k] / total[k] if total[k] > 0 else 0.0
        status = "under" if level < per100 else ("over" if level > 2 * per100 else "ok")
        ring = [[lng, lat] for lat, lng in h3.cell_to_boundary(cell)]
        out.append({
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [[*ring, ring[0]]]},
            "properties": {"cell": cell, unit: shown,
                           f"m2_per_100_{unit}": round(float(level), 2), "status": status},
        })  # fmt: skip
    return out, suppressed


def _summary(c: Catchments, served: np.ndarray, suppressed: int) -> dict[str, Any]:
    unit = c.unit
    total = published(unit, float(c.demand.sum()))
    reached = published(unit, float((c.demand * served).sum()))
    out = {
        unit: total,
        f"served_{unit}": reached,
        "served_pct": round(100.0 * float(reached or 0) / float(total), 2) if total else None,
        "service_points": len(c.sites),
    }
    if unit == "members":
        out["suppressed_cells"] = suppressed
    return out


def run(conn: psycopg.Connection, area: BaseGeometry, changes: Changes | None = None,
        minutes: float | None = None, propose: int = 0,
        candidates: list[tuple[float, float]] | None = None, demand: str = "households",
        principal: Principal | None = None) -> dict[str, Any]:  # fmt: skip
    """Catchment load per site, under/over-served cells, and capacitated proposals; demand from
    households, or from the `principal`'s members (privacy atoms)."""
    from geo.planning.capacity_mclp import propose_sites

    minutes = float(minutes or rules()["catchment_min"])
    c = catchments(conn, area, changes, minutes, demand, principal)
    load, _, access = two_stage(c.demand, c.supply, c.pair_d, c.pair_s)
    per_unit = per_100(demand) / 100.0
    served = np.minimum(1.0, access / per_unit) if per_unit > 0 else np.ones(len(access))
    found = propose_sites(conn, c, served, propose, candidates, minutes) if propose else []
    cells, suppressed = _cells(c, access)
    return {
        "demand": demand,
        "params": {"minutes": minutes, f"m2_per_100_{demand}": per_unit * 100, "cell_res": CELL_RES},
        "summary": _summary(c, served, suppressed),
        "sites": _site_rows(c, load),
        "cells": {"type": "FeatureCollection", "features": cells},
        "proposed": found,
    }  # fmt: skip
