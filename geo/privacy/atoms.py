"""Member figures of an analysis: whole atoms, spread over public places, never over homes.

The atoms are the heat rule's (geo/privacy/tree.py) over every member the caller may count: the
published leaves and remainders of one fixed H3 tree, each a disjoint group of at least K members.
The tree takes no area, filter, radius or candidate, so it is the same for every request of a
caller; for an unbound caller it is exactly the published member heat. An analysis never sees a
member: it sees each atom as its size, spread over the buildings of the atom's region (the
points whose deepest published cell is the atom's cell: the cell itself for a leaf, the cell less
its published children for a remainder) in proportion to their estimated residents, or as its
cell's centre when the region holds no building. So every member figure is a function of the atom
table (which the heat publishes) and of public data (buildings, service points, roads, snapped
parameters): no request, or set of requests, can learn where in its region a member lives.
`threshold.rounded` then publishes each figure as a multiple of K.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import h3
import numpy as np
import pandas as pd

from geo.privacy.threshold import K, rounded
from geo.privacy.tree import RES_MAX, finest_cells, publish_counts

MERGE_LEVELS = 3  # how far a cell under K is merged upward before it is not drawn


@dataclass(frozen=True)
class Atoms:
    """The atoms of a set of points (cell id → size) and the published cells of their tree."""

    size: dict[str, int]
    published: frozenset[str]

    @classmethod
    def of(cls, lon: np.ndarray, lat: np.ndarray) -> Atoms:
        """The atoms of the points under the heat rule (members in no atom drop out)."""
        points = zip(np.asarray(lon, float).tolist(), np.asarray(lat, float).tolist(), strict=True)
        return cls.of_counts(Counter(finest_cells(points)))

    @classmethod
    def of_counts(cls, finest: Counter[str]) -> Atoms:
        """The atoms of points given as their counts per RES_MAX cell (all of them: the tree is
        published once, over every point, however the counts were made)."""
        items, _ = publish_counts(finest)
        published = frozenset(i.cell for i in items if not i.merged)
        leaves = {i.cell: i.count for i in items if not i.merged and i.res == RES_MAX}
        remainders = {i.cell: i.count for i in items if i.merged}
        return cls({**leaves, **remainders}, published)

    def place(self, lon: np.ndarray, lat: np.ndarray) -> list[str | None]:
        """The atom whose region holds each point: its deepest published cell when that is an
        atom (a published cell whose children cover it has no region left), else None."""
        memo: dict[str, str | None] = {}
        out: list[str | None] = []
        for cell in finest_cells(zip(lon.tolist(), lat.tolist(), strict=True)):
            if cell not in memo:
                deepest = next(
                    (c for r in range(RES_MAX, -1, -1)
                     if (c := cell if r == RES_MAX else h3.cell_to_parent(cell, r))
                     in self.published),
                    None,
                )  # fmt: skip
                memo[cell] = deepest if deepest in self.size else None
            out.append(memo[cell])
        return out


@dataclass(frozen=True)
class Spread:
    """Demand points carrying members: lon, lat, members (fractions of atoms) and atom ids."""

    lon: np.ndarray
    lat: np.ndarray
    members: np.ndarray
    atom: list[str]


def spread(atoms: Atoms, lon: np.ndarray, lat: np.ndarray, weight: np.ndarray,
           placed: list[str | None] | None = None) -> Spread:  # fmt: skip
    """Each atom's size shared over the places (buildings) of its region by `weight` (equal
    shares when its places weigh nothing); an atom with no place stays at its cell's centre.
    `placed` is `atoms.place(lon, lat)` when the caller has it already."""
    lon, lat, weight = (np.asarray(v, dtype=float) for v in (lon, lat, weight))
    placed = atoms.place(lon, lat) if placed is None else placed
    rows = pd.DataFrame({"atom": placed, "w": weight, "one": 1.0}).dropna(subset=["atom"])
    sums = rows.groupby("atom")[["w", "one"]].sum()
    keep = rows.index.to_numpy()
    a = rows["atom"].to_numpy()
    use_w = sums.loc[a, "w"].to_numpy() > 0
    share = np.where(use_w, rows["w"].to_numpy(), 1.0) / np.where(
        use_w, sums.loc[a, "w"].to_numpy(), sums.loc[a, "one"].to_numpy()
    )
    members = share * np.array([atoms.size[x] for x in a], dtype=float)
    alone = sorted(set(atoms.size) - set(sums.index))
    centres = [h3.cell_to_latlng(c) for c in alone]
    return Spread(
        np.concatenate([lon[keep], [c[1] for c in centres]]),
        np.concatenate([lat[keep], [c[0] for c in centres]]),
        np.concatenate([members, [float(atoms.size[c]) for c in alone]]),
        [*a.tolist(), *alone],
    )


def _by_cell(cells: list[str], n: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"cell": cells, "n": n}).groupby("cell", as_index=False).sum()


def cells_at(
    lon: np.ndarray, lat: np.ndarray, members: np.ndarray, res: int
) -> tuple[pd.DataFrame, int]:
    """Members per H3 cell at `res` (cell, res, weight, count, merged): a cell under K is merged
    into its parent, up to MERGE_LEVELS times, and is not drawn after that (its members stay in
    the summary). Counts are published rounded to a multiple of K; returns the cells and how
    many groups were not drawn."""
    columns = ["cell", "res", "weight", "count", "merged"]
    if len(lon) == 0:
        return pd.DataFrame(columns=columns), 0
    cells = [h3.latlng_to_cell(y, x, res) for x, y in zip(lon.tolist(), lat.tolist(), strict=True)]
    df = _by_cell(cells, np.asarray(members, dtype=float))
    kept, level, merged = [], res, False
    while True:
        big = df["n"] >= K
        kept.append(df[big].assign(res=level, merged=merged))
        small = df[~big & (df["n"] > 0)]
        if small.empty or level == max(res - MERGE_LEVELS, 0):
            break
        level, merged = level - 1, True
        parents = [h3.cell_to_parent(c, level) for c in small["cell"]]
        df = _by_cell(parents, small["n"].to_numpy())
    out = pd.concat(kept, ignore_index=True)
    out["count"] = [rounded(n) for n in out["n"]]
    out["weight"] = out["count"].astype(float)
    out = out.sort_values(["res", "cell"], ascending=[False, True], ignore_index=True)
    return out[columns], len(small)
