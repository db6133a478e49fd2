"""Proposed sites: spopt's MCLP with the existing service points locked in, gains ranked greedily.

Demand is aggregated into small units (squares of radius/6, split by which existing site covers
them) so the model stays small; the gains reported are recomputed on the individual demand points.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pulp
from spopt.locate import MCLP

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
    # a binary cost matrix: 0 where the column covers the row, 2 where it does not (radius = 1)
    cost = np.full((n_rows, n_cols), 2.0)
    cost[: len(sig), len(existing) :][sig] = 0.0
    for k in range(len(existing)):
        cost[len(sig) + k, k] = 0.0
    weights = np.concatenate([open_w, held_w])
    locked = np.array([1] * len(existing) + [0] * len(chosen))
    model = MCLP.from_cost_matrix(
        cost, weights, service_radius=1.0,
        p_facilities=len(existing) + min(propose, len(chosen)),
        predefined_facilities_arr=locked, name="djmap_sites",
    )  # fmt: skip
    model.solve(pulp.PULP_CBC_CMD(msg=False, threads=1), results=False)
    picked = [j for j in range(n_cols) if (model.fac_vars[j].value() or 0) > 0.5]
    return [chosen[j - len(existing)] for j in picked if j >= len(existing)]


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
