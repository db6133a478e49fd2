"""Capacitated proposals (issue 14 §2): a capacitated maximal covering model solved with PuLP and
CBC (as spopt builds its models): a new site serves at most the households its floor area is for
(capacity_rules.toml: new_site_m2 / m2_per_100_households), and only households the existing
sites leave unserved (2SFCA) within the catchment count as its gain.

    max Σ x_ij   s.t.   Σ_i x_ij ≤ cap · y_j,   Σ_j x_ij ≤ unmet_i,   Σ y_j ≤ p,   y binary
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pulp

from geo.errors import InvalidInput
from geo.privacy import lattice
from geo.vocab import WALK_M_PER_MIN

MAX_PROPOSE = 50


def _candidates(c: Any, unmet: np.ndarray, given: list[tuple[float, float]] | None,
                limit: int) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Given points (snapped to the lattice), else the building points most unserved."""
    if given:
        pts = [lattice.snap_point(x, y) for x, y in given]
        return np.array([p[0] for p in pts]), np.array([p[1] for p in pts])
    order = np.lexsort((np.arange(len(unmet)), -unmet))
    pick = [int(i) for i in order[:limit] if unmet[i] > 0]
    return c.d_lon[pick], c.d_lat[pick]


def solve(unmet: np.ndarray, pair_d: np.ndarray, pair_c: np.ndarray, n_cand: int, cap: float,
          p: int) -> tuple[list[int], dict[int, float]]:  # fmt: skip
    """The chosen candidates and the households each serves (CBC, one thread)."""
    model = pulp.LpProblem("djmap_capacitated", pulp.LpMaximize)
    y = [pulp.LpVariable(f"y{j}", cat="Binary") for j in range(n_cand)]
    x = [pulp.LpVariable(f"x{k}", lowBound=0) for k in range(len(pair_d))]
    model += pulp.lpSum(x)
    by_c: dict[int, list[int]] = {}
    by_d: dict[int, list[int]] = {}
    for k, (i, j) in enumerate(zip(pair_d.tolist(), pair_c.tolist(), strict=True)):
        by_c.setdefault(j, []).append(k)
        by_d.setdefault(i, []).append(k)
    for j, ks in by_c.items():
        model += pulp.lpSum(x[k] for k in ks) <= cap * y[j]
    for i, ks in by_d.items():
        model += pulp.lpSum(x[k] for k in ks) <= float(unmet[i])
    model += pulp.lpSum(y) <= p
    model.solve(pulp.PULP_CBC_CMD(msg=False, threads=1))
    chosen = [j for j in range(n_cand) if (y[j].value() or 0) > 0.5]
    gain = {j: float(sum(x[k].value() or 0 for k in by_c.get(j, []))) for j in chosen}
    return chosen, gain


def propose_sites(conn: Any, c: Any, served: np.ndarray, p: int,
                  given: list[tuple[float, float]] | None, minutes: float) -> list[dict[str, Any]]:  # fmt: skip
    """Up to `p` new sites ranked by the demand (households or members) they would serve."""
    from geo.planning.capacity import per_100, published, rules
    from geo.planning.walk_graph import costs_within

    if not 0 <= p <= MAX_PROPOSE:
        raise InvalidInput(f"propose must be between 0 and {MAX_PROPOSE}")
    r = rules()
    new_m2 = float(r["proposal"]["new_site_m2"])
    cap = new_m2 / per_100(c.unit) * 100.0
    unmet = c.demand * (1.0 - served)
    lon, lat = _candidates(c, unmet, given, int(r["proposal"]["max_candidates"]))
    if len(lon) == 0:
        return []
    pair_d, pair_c, _ = costs_within(c.graph, c.graph.project(lon, lat), c.d_xy,
                                     minutes * WALK_M_PER_MIN)  # fmt: skip
    chosen, gain = solve(unmet, pair_d, pair_c, len(lon), cap, p)
    ranked = sorted(chosen, key=lambda j: (-gain[j], j))
    return [
        {"rank": k + 1, "lon": float(lon[j]), "lat": float(lat[j]), "capacity_m2": new_m2,
         f"gain_{c.unit}": published(c.unit, gain[j])}
        for k, j in enumerate(ranked)
    ]  # fmt: skip
