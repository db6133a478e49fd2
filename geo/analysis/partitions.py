"""Points partitioned by H3 cells for the Dask path, and each cell's halo (issue 15 §3).

A partition is the set of points in one H3 cell at PART_RES (about 250 km², 8.5 km edges), so a
province of a few hundred thousand km² is a few hundred to a thousand partitions. A partition
is worked on with its *halo*: the sites within the analysis radius (plus the projection's error
bound, plus a margin) of the partition's own points' bounding box, so every site the single
process could find for a point is among the partition's. Cells only group points; what a point
gets never depends on which cell it is in.
"""

from __future__ import annotations

import h3.api.basic_int as h3int
import numpy as np

from geo.analysis.demand import expanded_bounds

PART_RES = 5
HALO_MARGIN_M = 10.0


def part_cells(lon: np.ndarray, lat: np.ndarray, res: int | None = None) -> np.ndarray:
    """The H3 cell (as an integer) of each point at `res` (default PART_RES)."""
    res = PART_RES if res is None else res
    cell = h3int.latlng_to_cell
    return np.fromiter(
        (cell(y, x, res) for x, y in zip(lon.tolist(), lat.tolist(), strict=True)),
        dtype=np.uint64,
        count=len(lon),
    )


def halo_box(lon: np.ndarray, lat: np.ndarray, metres: float) -> tuple[float, float, float, float]:
    """The points' bounding box grown by `metres` (a superset: expanded_bounds rounds outward)."""
    bounds = (float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max()))
    return expanded_bounds(bounds, metres + HALO_MARGIN_M)


def in_box(lon: np.ndarray, lat: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """Indices of the points inside the box (edges included), in their order."""
    x0, y0, x1, y1 = box
    return np.flatnonzero((lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1))


def cell_groups(cells: np.ndarray, target: int) -> list[np.ndarray]:
    """Point indices grouped by cell, consecutive cells (in cell order) packed into groups of
    about `target` points; a cell is never split across groups."""
    order = np.argsort(cells, kind="stable")
    starts = np.flatnonzero(np.r_[True, cells[order][1:] != cells[order][:-1]])
    groups, begin = [], 0
    for start in [*starts[1:].tolist(), len(order)]:
        if start - begin >= target or start == len(order):
            groups.append(order[begin:start])
            begin = start
    return [g for g in groups if len(g)]
