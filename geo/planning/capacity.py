"""Capacity-aware coverage (issue 14 §2): a two-step floating catchment (2SFCA) of service point
floor area against households on walking times, and capacitated proposals.

Supply: each service point's capacity (m² of floor area; the kind's default when unset). Demand:
households of residential buildings (floor area / 35 m² per resident / persons per household).
Step 1: each site's ratio R_j = S_j / Σ D_i over the demand within the catchment; step 2: each
demand point's access A_i = Σ R_j over the sites within it (m² per household). PySAL's `access`
computes the same (`access.Access.two_stage_fca`, the test checks it); numpy here because the
pairs of a city are millions of rows. The rules are in capacity_rules.toml (editable).

Buildings and floor areas are public data, so these figures are not member figures; no member
count is published here.
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
from shapely.geometry.base import BaseGeometry

from geo.analysis.demand import expanded_bounds, load_buildings
from geo.planning import walk_graph
from geo.planning.scenario_changes import BASELINE, Changes, fetch_sites
from geo.vocab import WALK_M_PER_MIN

RULES = Path(__file__).with_name("capacity_rules.toml")
CELL_RES = 9


@cache
def rules() -> dict[str, Any]:
    """The capacity rules (capacity_rules.toml)."""
    return tomllib.loads(RULES.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Catchments:
    """Demand, supply and the pairs within the catchment (indices, metres)."""

    d_lon: np.ndarray
    d_lat: np.ndarray
    households: np.ndarray
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


def catchments(conn: psycopg.Connection, area: BaseGeometry, changes: Changes | None,
               minutes: float) -> Catchments:  # fmt: skip
    """Households of the area's buildings, the service points in reach, the pairs within
    `minutes` of walking (the live points, or a scenario's)."""
    r = rules()
    limit_m = minutes * WALK_M_PER_MIN
    b = load_buildings(conn, area, population=True)
    keep = b.weight > 0
    hh = b.weight[keep] / float(r["persons_per_household"])
    reach = expanded_bounds(tuple(area.bounds), limit_m)  # type: ignore[arg-type]
    graph = walk_graph.load(conn, reach)
    sites = fetch_sites(conn, changes or BASELINE, reach)
    defaults = r["default_m2"]
    supply = np.array([s[5] if s[5] is not None else defaults.get(s[2], 0.0) for s in sites], float)
    s_xy = graph.project(np.array([s[3] for s in sites]), np.array([s[4] for s in sites]))
    d_xy = graph.project(b.lon[keep], b.lat[keep])
    pd_, ps_, m = walk_graph.costs_within(graph, s_xy, d_xy, limit_m)
    return Catchments(b.lon[keep], b.lat[keep], hh, sites, supply, pd_, ps_, m, graph, d_xy)


def _site_rows(c: Catchments, load: np.ndarray, ratio: np.ndarray) -> list[dict[str, Any]]:
    per100 = float(rules()["m2_per_100_households"])
    out = []
    for j, s in enumerate(c.sites):
        served = c.supply[j] / per100 * 100.0  # households the floor area is for
        out.append({
            "service_point_id": int(s[0]), "name": s[1], "kind": s[2],
            "lon": float(s[3]), "lat": float(s[4]), "capacity_m2": float(c.supply[j]),
            "households": round(float(load[j]), 1),
            "m2_per_100_households": round(float(ratio[j]) * 100, 2) if load[j] > 0 else None,
            "load_pct": round(100.0 * float(load[j]) / served, 1) if served > 0 else None,
        })  # fmt: skip
    return out


def _cells(c: Catchments, access: np.ndarray) -> list[dict[str, Any]]:
    """Households and their mean m² per 100 households per H3 cell, with the verdict."""
    per100 = float(rules()["m2_per_100_households"])
    cells = [h3.latlng_to_cell(y, x, CELL_RES) for x, y in zip(c.d_lon, c.d_lat, strict=True)]
    uniq, inv = np.unique(np.array(cells, dtype=object), return_inverse=True)
    hh = np.bincount(inv, weights=c.households, minlength=len(uniq))
    weighted = np.bincount(inv, weights=c.households * access * 100, minlength=len(uniq))
    out = []
    for k, cell in enumerate(uniq.tolist()):
        level = weighted[k] / hh[k] if hh[k] > 0 else 0.0
        status = "under" if level < per100 else ("over" if level > 2 * per100 else "ok")
        ring = [[lng, lat] for lat, lng in h3.cell_to_boundary(cell)]
        out.append({
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [[*ring, ring[0]]]},
            "properties": {"cell": cell, "households": round(float(hh[k]), 1),
                           "m2_per_100_households": round(float(level), 2), "status": status},
        })  # fmt: skip
    return out


def run(conn: psycopg.Connection, area: BaseGeometry, changes: Changes | None = None,
        minutes: float | None = None, propose: int = 0,
        candidates: list[tuple[float, float]] | None = None) -> dict[str, Any]:  # fmt: skip
    """Catchment load per site, under/over-served cells, and capacitated proposals."""
    from geo.planning.capacity_mclp import propose_sites

    minutes = float(minutes or rules()["catchment_min"])
    c = catchments(conn, area, changes, minutes)
    load, ratio, access = two_stage(c.households, c.supply, c.pair_d, c.pair_s)
    per_hh = float(rules()["m2_per_100_households"]) / 100.0
    served = np.minimum(1.0, access / per_hh) if per_hh > 0 else np.ones(len(access))
    total = float(c.households.sum())
    found = propose_sites(conn, c, served, propose, candidates, minutes) if propose else []
    return {
        "params": {"minutes": minutes, "m2_per_100_households": per_hh * 100, "cell_res": CELL_RES},
        "summary": {
            "households": round(total, 1),
            "served_households": round(float((c.households * served).sum()), 1),
            "served_pct": round(100.0 * float((c.households * served).sum()) / total, 2) if total else None,
            "service_points": len(c.sites),
        },
        "sites": _site_rows(c, load, ratio),
        "cells": {"type": "FeatureCollection", "features": _cells(c, access)},
        "proposed": found,
    }  # fmt: skip
