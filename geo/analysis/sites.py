"""Proposed sites: spopt's MCLP with the existing service points locked in, gains ranked greedily.

Demand is aggregated into small units (squares of radius/6, split by which existing site covers
them) so the model stays small; the gains reported are recomputed on the individual demand points.

The model is spopt's `MCLP.from_cost_matrix` built here in PuLP term for term (same variables,
names, constraints and order, so CBC returns the same sites): importing spopt loads libpysal,
pointpats, scikit-learn and networkx (2.7 s on a quiet machine, 12 s under load), which every
`djmap` command and the printed report paid for one small model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pulp

UNIT_FRACTION = 6.0  # unit square side = radius / 6

# candidate index → indices (into the given points) that the candidate would cover
CoverFn = Callable[[np.ndarray, np.ndarray], list[np.ndarray]]


@dataclass(frozen=True)
class Units:
    """Aggregated demand: centroid, weight, and the existing site covering it (-1 = none)."""

    lon: np.ndarray
    lat: np.ndarray
    weight: np.ndarray
    site: np.ndarray


@dataclass(frozen=True)
class Proposal:
    """A proposed site and what it would newly cover, in greedy order of gain."""

    candidate: int
    gain_weight: float
    gain_count: int


def units(x: np.ndarray, y: np.ndarray, lon: np.ndarray, lat: np.ndarray, weight: np.ndarray,
          site: np.ndarray, radius_m: float) -> Units:  # fmt: skip
    """Aggregate demand points (projected x/y in metres) into units by square and covering site."""
    size = radius_m / UNIT_FRACTION
    keys = np.stack([np.floor(x / size), np.floor(y / size), site], axis=1).astype(np.int64)
    uniq, inv = np.unique(keys, axis=0, return_inverse=True)
    inv = inv.ravel()
    w = np.bincount(inv, weights=weight, minlength=len(uniq))
    n = np.bincount(inv, minlength=len(uniq)).astype(float)
    return Units(
        np.bincount(inv, weights=lon, minlength=len(uniq)) / n,
        np.bincount(inv, weights=lat, minlength=len(uniq)) / n,
        w,
        uniq[:, 2],
    )


def shortlist(u: Units, cover: list[np.ndarray], limit: int) -> list[int]:
    """Candidates that would cover uncovered weight, the `limit` best by that weight (stable order)."""
    uncovered = u.site < 0
    gains = np.array([u.weight[c][uncovered[c]].sum() if len(c) else 0.0 for c in cover])
    order = np.lexsort((np.arange(len(gains)), -gains))
    return [int(i) for i in order[:limit] if gains[i] > 0]


def _model_rows(
    u: Units, cover: list[np.ndarray], chosen: list[int]
) -> tuple[np.ndarray, list[int], np.ndarray]:
    """Uncovered units in reach of the candidates, the existing sites covering units in reach, and
    the weight each of those sites already covers there (one row per site: candidates add nothing
    to it, so the model stays small without changing its optimum)."""
    reach = np.unique(np.concatenate([cover[c] for c in chosen]))
    open_ = reach[u.site[reach] < 0]
    held = reach[u.site[reach] >= 0]
    existing = sorted({int(s) for s in u.site[held]})
    held_w = np.array([u.weight[held][u.site[held] == s].sum() for s in existing])
    return open_, existing, held_w


def solve_mclp(u: Units, cover: list[np.ndarray], chosen: list[int], propose: int) -> list[int]:
    """Run MCLP (existing sites locked in); return the candidates (indices into cover) it picks."""
    if not chosen or propose <= 0:
        return []
    open_, existing, held_w = _model_rows(u, cover, chosen)
    if len(open_) == 0:
        return []
    row_of_unit = {int(k): i for i, k in enumerate(open_)}
    hits = np.zeros((len(open_), len(chosen)), dtype=bool)
    for j, c in enumerate(chosen):
        hits[[row_of_unit[int(i)] for i in cover[c] if int(i) in row_of_unit], j] = True
    # Units reached by exactly the same candidates are one row to the model (same optimum, fewer rows).
    sig, inv = np.unique(hits, axis=0, return_inverse=True)
    open_w = np.bincount(inv.ravel(), weights=u.weight[open_], minlength=len(sig))
    n_rows, n_cols = len(sig) + len(existing), len(existing) + len(chosen)
    aij = np.zeros((n_rows, n_cols))  # 1 where the column covers the row
    aij[: len(sig), len(existing) :][sig] = 1.0
    for k in range(len(existing)):
        aij[len(sig) + k, k] = 1.0
    weights = np.concatenate([open_w, held_w])
    locked = np.array([1] * len(existing) + [0] * len(chosen))
    fac = mclp(aij, weights, len(existing) + min(propose, len(chosen)), locked)
    picked = [j for j in range(n_cols) if (fac[j].value() or 0) > 0.5]
    return [chosen[j - len(existing)] for j in picked if j >= len(existing)]


def mclp(aij: np.ndarray, weights: np.ndarray, p: int,
         locked: np.ndarray) -> list[pulp.LpVariable]:  # fmt: skip
    """Solve the MCLP (max Σ w_i y_i; Σ_j a_ij x_j ≥ y_i; Σ x_j = p; x_j = 1 where locked) as
    spopt's MCLP.from_cost_matrix builds it; the facility variables, solved (CBC, one thread)."""
    n_cli, n_fac = aij.shape
    problem = pulp.LpProblem("djmap_sites", pulp.LpMaximize)
    fac = [pulp.LpVariable(f"x[{j}]", lowBound=0, upBound=1, cat=pulp.LpInteger)
           for j in range(n_fac)]  # fmt: skip
    cli = [pulp.LpVariable(f"y[{i}]", lowBound=0, upBound=1, cat=pulp.LpInteger)
           for i in range(n_cli)]  # fmt: skip
    w = weights.flatten()
    problem += pulp.lpSum([w[i] * cli[i] for i in range(n_cli)]), "objective function"
    for j, lock in enumerate(locked):
        if lock:
            fac[j].setInitialValue(1)
            fac[j].fixValue()
    for i in range(n_cli):
        problem += pulp.lpSum([aij[i][j] * fac[j] for j in range(n_fac)]) >= cli[i]
    problem += pulp.lpSum(fac) == p
    problem.solve(pulp.PULP_CBC_CMD(msg=False, threads=1))
    if problem.status != pulp.LpStatusOptimal:
        raise RuntimeError(f"MCLP not solved: {pulp.LpStatus[problem.status]}")
    return fac


def rank_gains(
    picked: list[int], covers: dict[int, np.ndarray], weight: np.ndarray
) -> list[Proposal]:
    """Order picked candidates greedily by the weight each newly covers (exact, on demand points)."""
    taken = np.zeros(len(weight), dtype=bool)
    left = sorted(picked)
    out: list[Proposal] = []
    while left:
        gains = [(float(weight[covers[c]][~taken[covers[c]]].sum()), -c) for c in left]
        best_gain, neg = max(gains)
        best = -neg
        new = covers[best][~taken[covers[best]]]
        out.append(Proposal(best, best_gain, len(new)))
        taken[new] = True
        left.remove(best)
    return out
