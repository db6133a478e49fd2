"""Member figures of an analysis as sums of whole atoms, each placed at its cell's centre.

The atoms are the heat rule's (geo/privacy/tree.py) over every member the caller may count: the
published leaves and remainders of one fixed H3 tree, each of 0 or at least K members. The tree
takes no area, filter, radius or candidate, so it is the same for every request of a caller
(for an unbound caller it is exactly the member heat). An analysis sees an atom only as its
*representative point*, the centre of its H3 cell, and its size: whether an atom is inside an
area, covered by a site or gained by a proposal is decided by that point, never by where its
members live. Every member figure is therefore a sum of whole atoms chosen by public geometry
(cell centres, service points, the request's snapped parameters), and `threshold.rounded` then
publishes it as a multiple of K.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import h3
import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from geo.privacy.threshold import rounded
from geo.privacy.tree import atom_cells

MERGE_LEVELS = 3  # an atom this many resolutions coarser than the cells drawn is not drawn


@dataclass(frozen=True)
class Atoms:
    """Atoms: H3 cell (its id), size (members) and representative point (the cell's centre)."""

    cells: list[str]
    size: np.ndarray
    lon: np.ndarray
    lat: np.ndarray

    def __len__(self) -> int:
        return len(self.cells)

    @classmethod
    def of(cls, lon: np.ndarray, lat: np.ndarray) -> Atoms:
        """The atoms of the points (members in no atom, too few to publish anywhere, drop out)."""
        points = list(zip(np.asarray(lon, float).tolist(), np.asarray(lat, float).tolist(),
                          strict=True))  # fmt: skip
        sizes = Counter(c for c in atom_cells(points) if c is not None)
        cells = sorted(sizes)
        centres = [h3.cell_to_latlng(c) for c in cells]
        return cls(
            cells,
            np.array([sizes[c] for c in cells], dtype=np.int64),
            np.array([ll[1] for ll in centres], dtype=float),
            np.array([ll[0] for ll in centres], dtype=float),
        )

    def within(self, area: BaseGeometry | None) -> Atoms:
        """The atoms whose representative point lies in `area` (all of them without one)."""
        if area is None or not len(self):
            return self
        keep = shapely.contains_xy(area, self.lon, self.lat)
        return Atoms(
            [c for c, k in zip(self.cells, keep.tolist(), strict=True) if k],
            self.size[keep],
            self.lon[keep],
            self.lat[keep],
        )


@dataclass(frozen=True)
class Cell:
    """An H3 cell of atoms as published: `count` is a multiple of K (rounded)."""

    cell: str
    res: int
    count: int
    merged: bool


def cells_at(cells: list[str], sizes: np.ndarray, res: int) -> tuple[list[Cell], int]:
    """Atoms summed per H3 cell at `res`: an atom finer than `res` goes to its parent there, one
    coarser is its own (`merged`) cell, one more than MERGE_LEVELS coarser is not drawn (its
    members stay in the summary). Returns the cells (finest first) and how many atoms were not
    drawn; every count is a sum of whole atoms, published rounded to a multiple of K."""
    rows: dict[tuple[str, int], int] = {}
    not_drawn = 0
    for atom, n in zip(cells, sizes.tolist(), strict=True):
        own = h3.get_resolution(atom)
        if n == 0:
            continue
        if own < res - MERGE_LEVELS:
            not_drawn += 1
            continue
        cell = h3.cell_to_parent(atom, res) if own > res else atom
        key = (cell, min(own, res))
        rows[key] = rows.get(key, 0) + int(n)
    out = [
        Cell(c, r, rounded(n), r < res)
        for (c, r), n in sorted(rows.items(), key=lambda kv: (-kv[0][1], kv[0][0]))
    ]
    return out, not_drawn
