"""Synthetic building footprints inside the street blocks, with uses, floors and heights.

Each block (a quad of four intersections) is split into g×g cells in its own bilinear (u, v)
space, set back from the streets; a building fills part of one cell, so footprints never
overlap each other or the streets. Which cells are built on is a seeded, weighted choice.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from geo.samples.area import Area
from geo.samples.names import COMPANIES, ESTATES, ROAD_STEMS
from geo.samples.streets import SPACING, Network
from geo.samples.terrain import Terrain

USES = ("住宅", "办公", "商业", "公共服务", "学校")
USE_SHARE = (0.62, 0.12, 0.14, 0.07, 0.05)
# per use: (min floors, max floors, metres per floor)
FLOORS = {
    "住宅": (4, 33, 3.0),
    "办公": (6, 30, 3.9),
    "商业": (1, 6, 4.8),
    "公共服务": (2, 6, 4.0),
    "学校": (3, 5, 3.9),
}
SETBACK_M = 14.0  # distance kept free from street centre lines


@dataclass
class Buildings:
    """Footprints (n, 4, 2) in metres with their attributes; index i ↔ code B{i+1:06d}."""

    quads: np.ndarray
    uses: np.ndarray
    floors: np.ndarray
    heights: np.ndarray
    names: list[str]
    block: np.ndarray  # (n, 2) lattice row/col of the block holding the building

    @property
    def codes(self) -> list[str]:
        """Stable building codes."""
        return [f"B{i + 1:06d}" for i in range(len(self.uses))]

    @property
    def centres(self) -> np.ndarray:
        """Centroids (n, 2) of the footprints (the mean of the corners of a convex quad)."""
        return np.asarray(self.quads.mean(axis=1))

    def point_inside(self, idx: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A random point inside each chosen footprint (bilinear, away from the walls)."""
        u = rng.uniform(0.2, 0.8, len(idx))[:, None]
        v = rng.uniform(0.2, 0.8, len(idx))[:, None]
        return _bilinear(self.quads[idx], u, v)


def _bilinear(c: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Map (u, v) in [0,1]² onto quads c (n, 4, 2) given as corners 00, 10, 11, 01."""
    return np.asarray(
        (1 - u) * (1 - v) * c[:, 0]
        + u * (1 - v) * c[:, 1]
        + u * v * c[:, 2]
        + (1 - u) * v * c[:, 3]
    )


def _usable_blocks(net: Network, area: Area) -> tuple[np.ndarray, np.ndarray]:
    corners, rc = net.block_corners()
    polys = shapely.polygons(np.concatenate([corners, corners[:, :1]], axis=1))
    ok = np.asarray(shapely.contains(area.metric, polys)) & np.asarray(shapely.is_valid(polys))
    return corners[ok], rc[ok]


def _block_weights(corners: np.ndarray, terrain: Terrain, rng: np.random.Generator) -> np.ndarray:
    """How built-up each block is: a few seeded urban cores, thinned on hills and river banks."""
    centre = corners.mean(axis=1)
    cores = centre[rng.choice(len(centre), size=min(6, len(centre)), replace=False)]
    w = np.full(len(centre), 0.15)
    for cx, cy in cores:
        w += np.exp(-((centre[:, 0] - cx) ** 2 + (centre[:, 1] - cy) ** 2) / (2 * 2000.0**2))
    w = w**1.5  # denser cores, sparser outskirts
    z = terrain.elevation(centre[:, 0], centre[:, 1])
    w *= np.exp(-np.clip(z - 15.0, 0, None) / 25.0)
    return np.asarray(w)


def _choose_slots(
    weights: np.ndarray, n: int, g: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pick n of the blocks' g×g cells without replacement, weighted (Gumbel top-k)."""
    total = len(weights) * g * g
    if n > total:
        raise ValueError(f"{n} buildings do not fit in {total} cells")
    keys = np.repeat(np.log(weights), g * g) + rng.gumbel(size=total)
    pick = np.sort(np.argpartition(-keys, n - 1)[:n]) if n < total else np.arange(total)
    block, cell = np.divmod(pick, g * g)
    ci, cj = np.divmod(cell, g)
    return block, ci, cj


def _footprints(
    corners: np.ndarray, ci: np.ndarray, cj: np.ndarray, g: int, rng: np.random.Generator
) -> np.ndarray:
    """Quads of the buildings inside their cells, in metres."""
    m = SETBACK_M / SPACING
    cell = (1.0 - 2 * m) / g
    n = len(ci)
    fu = rng.uniform(0.45, 0.85, n)
    fv = rng.uniform(0.45, 0.85, n)
    u0 = m + cj * cell + rng.uniform(0.05, 0.95, n) * (1 - fu) * cell
    v0 = m + ci * cell + rng.uniform(0.05, 0.95, n) * (1 - fv) * cell
    u1, v1 = u0 + fu * cell, v0 + fv * cell
    us = np.stack([u0, u1, u1, u0], axis=1)[..., None]
    vs = np.stack([v0, v0, v1, v1], axis=1)[..., None]
    c = corners[:, None, :, :]  # broadcast each building's block over its 4 corners
    return np.asarray(
        (1 - us) * (1 - vs) * c[:, :, 0]
        + us * (1 - vs) * c[:, :, 1]
        + us * vs * c[:, :, 2]
        + (1 - us) * vs * c[:, :, 3]
    )


def _heights(uses: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Floors and heights (3–120 m) per use."""
    n = len(uses)
    floors = np.zeros(n, np.int64)
    storey = np.zeros(n)
    for use, (lo, hi, h) in FLOORS.items():
        sel = uses == use
        # skewed towards the low end, as in real cities
        floors[sel] = lo + np.floor((hi - lo + 1) * rng.random(int(sel.sum())) ** 1.8).astype(
            np.int64
        )
        storey[sel] = h
    height = np.clip(np.round(floors * storey + rng.uniform(0.0, 2.0, n), 1), 3.0, 120.0)
    floors = np.minimum(floors, np.floor(height / 2.8)).astype(np.int64)
    return np.maximum(floors, 1), height


def _names(uses: np.ndarray, block: np.ndarray, rng: np.random.Generator) -> list[str]:
    """Chinese building names: estate + 幢 number for homes, an invented name otherwise."""
    estate_of = rng.integers(0, len(ESTATES), block.max() + 1 if len(block) else 1)
    stem = rng.integers(0, len(ROAD_STEMS), len(uses))
    company = rng.integers(0, len(COMPANIES), len(uses))
    count: dict[int, int] = {}
    out = []
    for use, b, s, c in zip(
        uses.tolist(), block.tolist(), stem.tolist(), company.tolist(), strict=True
    ):
        count[b] = count.get(b, 0) + 1
        out.append(building_name(use, ESTATES[estate_of[b]], count[b], c, s))
    return out


def building_name(use: str, estate: str, nth: int, company: int, stem: int) -> str:
    """A building's name by its use: the nth 幢 of a housing estate, a company's 大厦, a road's
    商业广场 / 社区综合楼 / school (the district and the national generator name alike)."""
    if use == "住宅":
        return f"{estate}{nth}幢"
    if use == "办公":
        return f"{COMPANIES[company]}大厦"
    if use == "商业":
        return f"{ROAD_STEMS[stem]}商业广场"
    if use == "公共服务":
        return f"{ROAD_STEMS[stem]}社区综合楼"
    return f"{ROAD_STEMS[stem]}{'小学' if stem % 2 else '中学'}"


def build_buildings(
    net: Network, area: Area, terrain: Terrain, n: int, rng: np.random.Generator
) -> Buildings:
    """n building footprints in the blocks of the network."""
    corners, rc = _usable_blocks(net, area)
    g = max(3, int(np.ceil(np.sqrt(1.6 * n / max(len(corners), 1)))))
    block, ci, cj = _choose_slots(_block_weights(corners, terrain, rng), n, g, rng)
    quads = _footprints(corners[block], ci, cj, g, rng)
    uses = np.asarray(USES)[rng.choice(len(USES), size=n, p=USE_SHARE)]
    floors, heights = _heights(uses, rng)
    return Buildings(quads, uses, floors, heights, _names(uses, block, rng), rc[block])
