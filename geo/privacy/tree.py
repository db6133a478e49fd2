"""The publication rule of member (and check-in) counts: one fixed H3 tree, counts of 0 or ≥ K.

The rule (K = 10):
1. Every point is put in its H3 cell at `RES_MAX`; coarser cells are its `cell_to_parent`s, so
   the cells form one fixed tree (the root holds every point). No filter splits it: two filtered
   views of a cell could be subtracted.
2. Publishing goes top-down. Of a published node's children (the root's are resolution 0 cells),
   those with at least K points are candidates; if what would be left of the node, its count
   minus its published children's, is between 1 and K-1, the smallest candidate is withdrawn too
   (its count joins the remainder, which is then at least K). A child that is not published hides
   its whole subtree.
3. What is published: every published cell's count, and its remainder as a `merged` item (the
   points of the cell that lie in no published finer cell). Each remainder is 0 (not listed) or
   at least K.

The published numbers are all sums of disjoint *atoms* (the published leaves' counts and the
remainders, each 0 or at least K), so any count an attacker can pin down, for any union of areas,
is a sum of atoms: 0 or at least K. `atom_cells` names each point's atom (its deepest published
cell), so other aggregates (coverage, geo/privacy/atoms.py) can count members by whole atoms too.
Used by tiles/heat.py (heat layers and /api/heatmap) and geo/privacy/atoms.py (coverage).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import h3

from geo.privacy.threshold import K

RES_MAX = 10


@dataclass(frozen=True)
class HeatItem:
    """One published number: a cell's count, or (merged) its remainder."""

    res: int
    cell: str
    count: int
    merged: bool


def _tree(finest: Counter[str]) -> tuple[list[Counter[str]], dict[str, str]]:
    """Counts per cell at every resolution 0..RES_MAX, all derived from the finest cell's, and
    the parent of every cell of the tree below resolution 0."""
    levels: list[Counter[str]] = [Counter() for _ in range(RES_MAX + 1)]
    levels[RES_MAX] = finest
    parent_of: dict[str, str] = {}
    for res in range(RES_MAX - 1, -1, -1):
        for cell, n in levels[res + 1].items():
            parent = parent_of[cell] = h3.cell_to_parent(cell, res)
            levels[res][parent] += n
    return levels, parent_of


def _choose(children: list[tuple[str, int]], total: int) -> tuple[list[tuple[str, int]], int]:
    """Children to publish under a node of `total` points, and the node's remainder."""
    chosen = sorted((c for c in children if c[1] >= K), key=lambda c: (c[1], c[0]))
    remainder = total - sum(n for _, n in chosen)
    while 0 < remainder < K and chosen:
        remainder += chosen.pop(0)[1]
    return chosen, remainder


def finest_cells(points: Iterable[tuple[float, float]]) -> list[str]:
    """The RES_MAX cell of every (lon, lat) point."""
    return [h3.latlng_to_cell(lat, lon, RES_MAX) for lon, lat in points]


def publish(points: Iterable[tuple[float, float]]) -> list[HeatItem]:
    """The published heat items of a set of (lon, lat) points under the rule above."""
    return publish_counts(Counter(finest_cells(points)))[0]


def publish_counts(finest: Counter[str]) -> tuple[list[HeatItem], dict[str, str]]:
    """The published heat items of points given as counts per RES_MAX cell, and the tree's
    parent of every cell below resolution 0."""
    levels, parent_of = _tree(finest)
    children: list[dict[str, list[tuple[str, int]]]] = [
        defaultdict(list) for _ in range(RES_MAX + 1)
    ]
    for res in range(1, RES_MAX + 1):
        for cell, n in levels[res].items():
            children[res - 1][parent_of[cell]].append((cell, n))
    total = sum(levels[0].values())
    items: list[HeatItem] = []
    frontier, _ = _choose(list(levels[0].items()), total)
    res = 0
    while frontier:
        following: list[tuple[str, int]] = []
        for cell, n in frontier:
            items.append(HeatItem(res, cell, n, False))
            if res == RES_MAX:
                continue
            chosen, remainder = _choose(children[res][cell], n)
            if remainder:
                items.append(HeatItem(res, cell, remainder, True))
            following.extend(chosen)
        frontier, res = following, res + 1
    return items, parent_of


def view(items: Iterable[HeatItem], res: int) -> list[HeatItem]:
    """What resolution `res` shows: its published cells and coarser cells' merged remainders."""
    return [i for i in items if (i.res == res and not i.merged) or (i.res < res and i.merged)]


def atom_cells(points: list[tuple[float, float]]) -> list[str | None]:
    """Each point's atom under `publish(points)`: its deepest published cell (the cell's own count
    when it is a published leaf, its remainder otherwise), None for points no atom holds."""
    cells = finest_cells(points)
    items, parent_of = publish_counts(Counter(cells))
    published = {i.cell for i in items if not i.merged}
    memo: dict[str, str | None] = {}

    def atom(cell: str, res: int) -> str | None:
        """The deepest published cell holding `cell` (each cell of the tree looked at once)."""
        if cell not in memo:
            if cell in published:
                memo[cell] = cell
            else:
                memo[cell] = atom(parent_of[cell], res - 1) if res else None
        return memo[cell]

    return [atom(cell, RES_MAX) for cell in cells]
