"""A walkable synthetic street network: a warped, jittered lattice clipped to the district.

Every street segment runs from one intersection to the next, so segments share exact end points
and pgRouting's topology finds the intersections. Only the largest connected part is kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from geo.samples.area import Area
from geo.samples.names import road_names

SPACING = 180.0  # metres between neighbouring streets
KIND_BY_RANK = ("主干路", "次干路", "支路")
SUFFIX_BY_RANK = ("路", "街", "巷")
FOOTPATH = "步行道"


@dataclass
class Network:
    """Intersections (metres), street segments between them, and the lattice blocks they enclose."""

    xy: np.ndarray  # (n, 2) node positions in metres
    grid: np.ndarray  # (rows, cols) node index, -1 where there is none
    edges: np.ndarray  # (m, 2) node indices
    kinds: list[str]
    names: list[str]
    park: np.ndarray  # (rows-1, cols-1) bool: block kept as a park (no buildings)
    row_names: list[str]
    col_names: list[str]

    def block_corners(self) -> tuple[np.ndarray, np.ndarray]:
        """Corners (k, 4, 2) of every usable block and its (row, col) index (k, 2)."""
        g = self.grid
        quad = np.stack([g[:-1, :-1], g[:-1, 1:], g[1:, 1:], g[1:, :-1]], axis=-1)
        ok = (quad >= 0).all(axis=-1) & ~self.park
        rc = np.argwhere(ok)
        return self.xy[quad[ok]], rc


def _rank(index: np.ndarray) -> np.ndarray:
    """0 = arterial every 4th line, 1 = secondary half-way between, 2 = local street."""
    return np.where(index % 4 == 0, 0, np.where(index % 4 == 2, 1, 2))


def _lattice(area: Area, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Node positions (rows, cols, 2) of a rotated, warped, jittered lattice over the district."""
    minx, miny, maxx, maxy = area.metric.bounds
    theta = np.deg2rad(rng.uniform(-18.0, 18.0))
    c, s = np.cos(theta), np.sin(theta)
    half = 0.5 * np.hypot(maxx - minx, maxy - miny) + SPACING
    n = int(np.ceil(2 * half / SPACING)) + 1
    a = -half + SPACING * np.arange(n) + rng.uniform(-0.12, 0.12, n) * SPACING
    b = -half + SPACING * np.arange(n) + rng.uniform(-0.12, 0.12, n) * SPACING
    aa, bb = np.meshgrid(a, b)
    aa = aa + rng.uniform(-0.06, 0.06, aa.shape) * SPACING
    bb = bb + rng.uniform(-0.06, 0.06, bb.shape) * SPACING
    ph = rng.uniform(0, 2 * np.pi, 2)
    aa = aa + 0.25 * SPACING * np.sin(bb / 2300.0 + ph[0])
    bb = bb + 0.25 * SPACING * np.sin(aa / 2900.0 + ph[1])
    cx, cy = 0.5 * (minx + maxx), 0.5 * (miny + maxy)
    x = cx + c * aa - s * bb
    y = cy + s * aa + c * bb
    return np.stack([x, y], axis=-1), np.arange(n)


def _segments(
    grid: np.ndarray, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Horizontal and vertical lattice segments: (a, b) node ids, line rank, line index, is-row."""
    h = np.stack([grid[:, :-1].ravel(), grid[:, 1:].ravel()], axis=1)
    hi = np.repeat(rows, grid.shape[1] - 1)
    v = np.stack([grid[:-1, :].ravel(), grid[1:, :].ravel()], axis=1)
    vi = np.tile(np.arange(grid.shape[1]), grid.shape[0] - 1)
    pairs = np.concatenate([h, v])
    line = np.concatenate([hi, vi])
    is_row = np.concatenate([np.ones(len(h), bool), np.zeros(len(v), bool)])
    return pairs, _rank(line), line, is_row


def _inside_lines(area: Area, xy: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """Which straight segments lie wholly inside the district."""
    coords = np.stack([xy[pairs[:, 0]], xy[pairs[:, 1]]], axis=1)
    lines = shapely.linestrings(coords)
    return np.asarray(shapely.contains(area.metric, lines))


def _largest_component(n: int, edges: np.ndarray) -> np.ndarray:
    """Mask of the edges in the largest connected component."""
    m = coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n))
    _, labels = connected_components(m, directed=False)
    lab = labels[edges[:, 0]]
    biggest = np.bincount(lab).argmax()
    return np.asarray(lab == biggest)


def build_network(area: Area, rng: np.random.Generator, park_share: float = 0.05) -> Network:
    """The street network of the district: arterials, secondaries, local streets and footpaths."""
    pos, idx = _lattice(area, rng)
    rows, cols = pos.shape[:2]
    flat = pos.reshape(-1, 2)
    grid = np.arange(rows * cols).reshape(rows, cols)
    inside = area.inside(flat[:, 0], flat[:, 1], margin=8.0).reshape(rows, cols)
    grid = np.where(inside, grid, -1)
    pairs, rank, line, is_row = _segments(grid, idx)
    keep = np.asarray((pairs >= 0).all(axis=1))
    keep[keep] = _inside_lines(area, flat, pairs[keep])
    keep &= ~((rank == 2) & (rng.random(len(pairs)) < 0.07))  # a few missing local links
    park = (rng.random((rows - 1, cols - 1)) < park_share) & (
        np.stack([grid[:-1, :-1], grid[:-1, 1:], grid[1:, 1:], grid[1:, :-1]], -1) >= 0
    ).all(-1)
    pr, pc = np.nonzero(park)
    flip = rng.random(len(pr)) < 0.5
    diag = np.stack(
        [grid[pr, np.where(flip, pc + 1, pc)], grid[pr + 1, np.where(flip, pc, pc + 1)]], axis=1
    )
    row_names = road_names(rows, 0, "")
    col_names = road_names(cols, rows // 2, "")
    pairs, rank, line, is_row = pairs[keep], rank[keep], line[keep], is_row[keep]
    names = [
        (row_names[k] if r else col_names[k]) + SUFFIX_BY_RANK[q]
        for k, r, q in zip(line.tolist(), is_row.tolist(), rank.tolist(), strict=True)
    ]
    kinds = [KIND_BY_RANK[q] for q in rank.tolist()]
    park_names = [f"{row_names[r]}公园{FOOTPATH}" for r in pr.tolist()]
    edges = np.concatenate([pairs, diag]).astype(np.int64)
    kinds += [FOOTPATH] * len(diag)
    names += park_names
    main = _largest_component(len(flat), edges)
    edges = edges[main]
    kinds = [k for k, m in zip(kinds, main.tolist(), strict=True) if m]
    names = [k for k, m in zip(names, main.tolist(), strict=True) if m]
    used = np.zeros(len(flat), bool)
    used[edges.ravel()] = True
    grid = np.where((grid >= 0) & used[np.maximum(grid, 0)], grid, -1)
    return _compact(flat, grid, edges, kinds, names, park, row_names, col_names)


def _compact(
    flat: np.ndarray,
    grid: np.ndarray,
    edges: np.ndarray,
    kinds: list[str],
    names: list[str],
    park: np.ndarray,
    row_names: list[str],
    col_names: list[str],
) -> Network:
    """Renumber the used nodes 0..n-1."""
    used = np.unique(edges.ravel())
    remap = np.full(len(flat), -1, np.int64)
    remap[used] = np.arange(len(used))
    grid = np.where(grid >= 0, remap[np.maximum(grid, 0)], -1)
    return Network(flat[used], grid, remap[edges], kinds, names, park, row_names, col_names)
