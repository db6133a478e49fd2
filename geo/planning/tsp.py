"""The order of a tour's stops: exact (Held-Karp) up to EXACT_MAX stops, 2-opt beyond.

Why not pgr_TSP: pgRouting 3.4's pgr_TSP is simulated annealing over a closed tour, with no
promise of the optimum and no open path (a tour that does not come back). A red education route
has a handful of stops, where the exact dynamic programme costs milliseconds (n² 2ⁿ steps: about
0.3 M at 12 stops) and is never longer than any other order. The cost matrix itself comes from
pgRouting (pgr_withPointsCostMatrix, geo/planning/routes_matrix.sql).

The first stop is where the tour starts; `closed` tours return to it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

EXACT_MAX = 12
Matrix = Sequence[Sequence[float]]


def length(cost: Matrix, order: Sequence[int], closed: bool) -> float:
    """The cost of visiting `order` (and returning to its first stop when closed)."""
    total = sum(cost[a][b] for a, b in itertools.pairwise(order))
    return total + (cost[order[-1]][order[0]] if closed and len(order) > 1 else 0.0)


def held_karp(cost: Matrix, closed: bool) -> list[int]:
    """The optimal order from stop 0 over every stop (Held-Karp dynamic programme)."""
    n = len(cost)
    if n <= 2:
        return list(range(n))
    m = n - 1  # stops 1..n-1 are bits 0..m-1
    full = (1 << m) - 1
    best: dict[tuple[int, int], tuple[float, int]] = {}
    for j in range(m):
        best[(1 << j, j)] = (cost[0][j + 1], -1)
    for mask in range(1, full + 1):
        for j in range(m):
            here = best.get((mask, j))
            if here is None:
                continue
            for k in range(m):
                if mask & (1 << k):
                    continue
                key = (mask | (1 << k), k)
                value = here[0] + cost[j + 1][k + 1]
                if value < best.get(key, (math.inf, -1))[0]:
                    best[key] = (value, j)
    last = min(range(m), key=lambda j: best[(full, j)][0] + (cost[j + 1][0] if closed else 0.0))
    order, mask, j = [], full, last
    while j != -1:
        order.append(j + 1)
        prev = best[(mask, j)][1]
        mask, j = mask & ~(1 << j), prev
    return [0, *reversed(order)]


def two_opt(cost: Matrix, closed: bool) -> list[int]:
    """A nearest-neighbour order from stop 0, improved by 2-opt moves until none helps."""
    n = len(cost)
    order, left = [0], set(range(1, n))
    while left:
        nxt = min(left, key=lambda k: (cost[order[-1]][k], k))
        order.append(nxt)
        left.remove(nxt)
    improved = True
    while improved:
        improved = False
        for i in range(1, n - 1):
            for k in range(i + 1, n):
                trial = order[:i] + order[i : k + 1][::-1] + order[k + 1 :]
                if length(cost, trial, closed) < length(cost, order, closed) - 1e-9:
                    order, improved = trial, True
    return order


def solve(cost: Matrix, closed: bool) -> list[int]:
    """The visiting order (indices into the matrix), starting at stop 0."""
    return held_karp(cost, closed) if len(cost) <= EXACT_MAX else two_opt(cost, closed)
