"""Which districts carry the data set, where each seat of the tree is, and points inside districts.

The organisations decide how many districts there are (about one per 170 organisations, as
China's 2,800 区县 under 500,000 organisations); they are taken round-robin over the provinces,
in a seeded order inside each, so a scaled-down set still spans every province asked for.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import shapely

from geo.samples.national.areas import Atlas, Region
from geo.samples.national.spec import metres_to_degrees

DISTRICT_SHARE = 0.006  # districts per organisation
M2_PER_DEG2 = 111_320.0 * 110_540.0
TRIES = 12  # rounds of drawing again the points that fell outside their district


def choose(
    atlas: Atlas, provinces: int | None, organisations: int, rng: np.random.Generator
) -> Atlas:
    """The first `provinces` provinces (code order) and, round-robin over them, as many of
    their districts as the organisations call for, with the cities holding those."""
    provs = atlas.provinces[: provinces or len(atlas.provinces)]
    per_prov: list[list[int]] = [[] for _ in provs]
    for i, d in enumerate(atlas.districts):
        p = atlas.cities[d.parent].parent
        if p < len(provs):
            per_prov[p].append(i)
    per_prov = [[lst[k] for k in rng.permutation(len(lst))] for lst in per_prov]
    available = sum(len(lst) for lst in per_prov)
    want = int(np.clip(round(organisations * DISTRICT_SHARE), len(provs), available))
    picked: list[int] = []
    depth = 0
    while len(picked) < want:
        picked += [lst[depth] for lst in per_prov if depth < len(lst)][: want - len(picked)]
        depth += 1
    dists = sorted(picked, key=lambda i: atlas.districts[i].code)
    city_ids = sorted({atlas.districts[i].parent for i in dists})
    c_new = {c: k for k, c in enumerate(city_ids)}
    prov_ids = sorted({atlas.cities[c].parent for c in city_ids})
    p_new = {p: k for k, p in enumerate(prov_ids)}
    return Atlas(
        [atlas.provinces[p] for p in prov_ids],
        [_reparent(atlas.cities[c], p_new) for c in city_ids],
        [_reparent(atlas.districts[i], c_new) for i in dists],
        atlas.real,
        atlas.note,
    )


def _reparent(region: Region, new: dict[int, int]) -> Region:
    return replace(region, parent=new[region.parent])


@dataclass
class Layout:
    """The chosen areas with each district's seat (a point inside it) and size."""

    atlas: Atlas
    seat: np.ndarray  # (D, 2) lon, lat
    area_m2: np.ndarray  # (D,)

    @classmethod
    def of(cls, atlas: Atlas) -> Layout:
        """Seats at the districts' centroids (or a point on the surface when outside)."""
        seats, areas = [], []
        for region in atlas.districts:
            geom = atlas.geometry(region)
            c = geom.centroid
            point = c if shapely.contains_xy(geom, c.x, c.y) else geom.representative_point()
            seats.append((point.x, point.y))
            areas.append(geom.area * M2_PER_DEG2 * np.cos(np.deg2rad(point.y)))
        return cls(atlas, np.asarray(seats, dtype=float), np.asarray(areas, dtype=float))

    def city_seats(self) -> np.ndarray:
        """Each city seated in its first chosen district."""
        first: dict[int, int] = {}
        for i, d in enumerate(self.atlas.districts):
            first.setdefault(d.parent, i)
        return self.seat[[first[c] for c in range(len(self.atlas.cities))]]

    def province_seats(self) -> np.ndarray:
        """Each province seated in its first city."""
        first: dict[int, int] = {}
        for i, c in enumerate(self.atlas.cities):
            first.setdefault(c.parent, i)
        cities = self.city_seats()
        return cities[[first[p] for p in range(len(self.atlas.provinces))]]

    def scatter(
        self,
        district: np.ndarray,
        centre: np.ndarray,
        sigma_m: np.ndarray,
        rng: np.random.Generator,
    ) -> np.ndarray:
        """Points drawn around `centre` (normal, sigma_m metres) that lie inside their district;
        after TRIES rounds the last misses fall back to a few metres from their centre."""
        out = np.empty_like(centre)
        for d in np.unique(district).tolist():
            rows = np.flatnonzero(district == d)
            geom = self.atlas.geometry(self.atlas.districts[d])
            todo = rows
            for _ in range(TRIES):
                pts = _around(centre[todo], sigma_m[todo], rng)
                ok = shapely.contains_xy(geom, pts[:, 0], pts[:, 1])
                out[todo[ok]] = pts[ok]
                todo = todo[~ok]
                if len(todo) == 0:
                    break
            out[todo] = _around(centre[todo], np.full(len(todo), 20.0), rng)
        return out


def _around(centre: np.ndarray, sigma_m: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Normal offsets of sigma_m metres around each centre, in degrees."""
    dx = rng.normal(0.0, 1.0, len(centre)) * sigma_m
    dy = rng.normal(0.0, 1.0, len(centre)) * sigma_m
    dlon, dlat = metres_to_degrees(dx, dy, centre[:, 1])
    return np.column_stack([centre[:, 0] + dlon, centre[:, 1] + dlat])


def around(centre: np.ndarray, sigma_m: float | np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Points around each centre (normal, sigma_m metres), not bound to a district."""
    return _around(centre, np.broadcast_to(np.asarray(sigma_m, dtype=float), len(centre)), rng)
