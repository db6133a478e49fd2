"""districts.geojson (the chosen provinces, cities and districts), buildings.geojson (streamed:
footprints around each community's seat) and roads.geojson (a tree of streets: each district seat
to its 街道, each 街道 to its communities, sharing end points so the routing topology joins them)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from geo.samples.buildings import USE_SHARE, USES, building_name
from geo.samples.buildings import _heights as heights_of
from geo.samples.names import COMPANIES, ESTATES, ROAD_STEMS
from geo.samples.national.areas import Atlas
from geo.samples.national.layout import around
from geo.samples.national.people import building_code
from geo.samples.national.spec import CHUNK, TAG, metres_to_degrees, part_rng
from geo.samples.national.tree import Tree
from geo.samples.writers import line_json, polygon_json, write_features

Advance = Callable[[int], None]
Feature = tuple[str, str, dict[str, object]]
BUILDING_SPREAD_M = 300.0


def _ring(coords: np.ndarray) -> str:
    return "[" + ",".join(f"[{x:.6f},{y:.6f}]" for x, y in np.asarray(coords).tolist()) + "]"


def _multipolygon(geom: BaseGeometry) -> str:
    polys = shapely.get_parts(geom)
    return (
        "["
        + ",".join(
            "[" + ",".join(_ring(r.coords) for r in (p.exterior, *p.interiors)) + "]" for p in polys
        )
        + "]"
    )


def write_districts(atlas: Atlas, path: Path, advance: Advance) -> int:
    """Provinces, cities and districts (level province / city / district), one file."""

    def features() -> Iterator[Feature]:
        for regions in (atlas.provinces, atlas.cities, atlas.districts):
            for region in regions:
                geom = atlas.geometry(region)
                props: dict[str, object] = {
                    "code": region.code,
                    "name": region.name,
                    "level": region.level,
                }
                yield "MultiPolygon", _multipolygon(geom), props
                advance(1)

    return write_features(path, "districts", features())


def _quads(centre: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Rotated rectangles (n, 4, 2) of 12–40 × 10–30 m around the centres, in degrees."""
    n = len(centre)
    w = rng.uniform(12.0, 40.0, n)[:, None] / 2
    d = rng.uniform(10.0, 30.0, n)[:, None] / 2
    theta = rng.uniform(0.0, np.pi, n)[:, None]
    ux = np.array([-1.0, 1.0, 1.0, -1.0])[None, :] * w
    uy = np.array([-1.0, -1.0, 1.0, 1.0])[None, :] * d
    dx = ux * np.cos(theta) - uy * np.sin(theta)
    dy = ux * np.sin(theta) + uy * np.cos(theta)
    lat = np.repeat(centre[:, 1:2], 4, axis=1)
    dlon, dlat = metres_to_degrees(dx, dy, lat)
    return np.stack([centre[:, 0:1] + dlon, centre[:, 1:2] + dlat], axis=2)


def _building_names(
    uses: np.ndarray, comm: np.ndarray, nth: np.ndarray, rng: np.random.Generator
) -> list[str]:
    stem = rng.integers(0, len(ROAD_STEMS), len(uses)).tolist()
    company = rng.integers(0, len(COMPANIES), len(uses)).tolist()
    out = []
    for use, c, k, s, f in zip(
        uses.tolist(), comm.tolist(), nth.tolist(), stem, company, strict=True
    ):
        out.append(building_name(use, ESTATES[c % len(ESTATES)], k, f, s) + TAG)
    return out


def _building_chunk(
    tree: Tree, ends: np.ndarray, span: tuple[int, int], rng: np.random.Generator
) -> Iterator[Feature]:
    """Buildings start…stop-1, around their community's seat; a community's first building (its
    党群 office, 公共服务) stands on the seat."""
    seats = tree.levels[4].seat
    idx = np.arange(*span)
    comm = np.searchsorted(ends, idx, side="right")
    nth = idx - (ends[comm] - tree.buildings[comm]) + 1
    first = nth == 1
    centre = np.where(first[:, None], seats[comm], around(seats[comm], BUILDING_SPREAD_M, rng))
    quads = _quads(centre, rng)
    uses = np.asarray(USES)[rng.choice(len(USES), size=len(idx), p=USE_SHARE)]
    uses[first] = "公共服务"
    floors, heights = heights_of(uses, rng)
    names = _building_names(uses, comm, nth, rng)
    for q, code, name, use, h, f in zip(
        quads,
        building_code(idx).tolist(),
        names,
        uses.tolist(),
        heights.tolist(),
        floors.tolist(),
        strict=True,
    ):
        yield (
            "Polygon",
            polygon_json(q),
            {"code": code, "name": name, "use": use, "height_m": h, "floors": f},
        )


def write_buildings(tree: Tree, seed: int, path: Path, advance: Advance) -> int:
    """buildings.geojson, CHUNK footprints at a time; the number written."""
    ends = np.cumsum(tree.buildings)
    total = int(ends[-1])

    def features() -> Iterator[Feature]:
        for i, start in enumerate(range(0, total, CHUNK)):
            stop = min(total, start + CHUNK)
            yield from _building_chunk(tree, ends, (start, stop), part_rng(seed, "buildings", i))
            advance(stop - start)

    return write_features(path, "buildings", features())


def write_roads(tree: Tree, seed: int, path: Path, advance: Advance) -> int:
    """roads.geojson: 主干路 from each district seat to its 街道, 次干路 from each 街道 to its
    communities."""
    rng = part_rng(seed, "roads")

    def features() -> Iterator[Feature]:
        n = 0
        for child, kind, suffix in ((3, "主干路", "大道"), (4, "次干路", "路")):
            level, up = tree.levels[child], tree.levels[child - 1]
            stems = rng.integers(0, len(ROAD_STEMS), len(level)).tolist()
            ends = np.stack([up.seat[level.parent], level.seat], axis=1)
            for line, s in zip(ends, stems, strict=True):
                n += 1
                props: dict[str, object] = {
                    "code": f"NR{n:07d}",
                    "name": f"{ROAD_STEMS[s]}{suffix}{TAG}",
                    "kind": kind,
                }
                yield "LineString", line_json(line), props
            advance(len(level))

    return write_features(path, "roads", features())
