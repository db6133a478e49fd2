"""Synthetic party data placed in the synthetic city: organisations, members, service points, activities.

Every frame keeps metric x/y columns; the writer turns them into WGS84 lon/lat.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.cluster.vq import kmeans2
from scipy.spatial import cKDTree

from geo.samples.buildings import Buildings
from geo.samples.names import COMMUNITY_STEMS, COMPANIES, STREETS, person_names
from geo.samples.streets import SUFFIX_BY_RANK, Network, _rank
from geo.vocab import MEMBER_STATUSES, ORG_TYPES

TAG = "（示例）"
CN_NUM = "一二三四五六七八九十"


@dataclass
class City:
    """What party data is placed in: the network (for addresses) and the buildings."""

    net: Network
    bld: Buildings

    def of_use(self, *uses: str) -> np.ndarray:
        """Indices of the buildings with one of these uses."""
        return np.flatnonzero(np.isin(self.bld.uses, uses))

    def nearest(self, pool: np.ndarray, xy: np.ndarray, k: int = 1) -> np.ndarray:
        """For each point, the k nearest buildings out of `pool` (indices into all buildings)."""
        k = min(k, len(pool))
        _, idx = cKDTree(self.bld.centres[pool]).query(xy, k=k)
        return np.asarray(pool[idx])

    def address(self, b: np.ndarray, rng: np.random.Generator) -> list[str]:
        """A synthetic postal address on the street along the building's block."""
        rows = self.bld.block[b, 0]
        cols = self.bld.block[b, 1]
        num = cols * 2 + 1 + rng.integers(0, 2, len(b)) * 2
        ranks = _rank(rows)
        return [
            f"杭州市上城区{self.net.row_names[r]}{SUFFIX_BY_RANK[q]}{n}号{TAG}"
            for r, q, n in zip(rows.tolist(), ranks.tolist(), num.tolist(), strict=True)
        ]


def phones(rng: np.random.Generator, n: int) -> list[str]:
    """Hangzhou-style numbers that cannot be dialled (local numbers never start with 0)."""
    return [f"0571-0{d:07d}" for d in rng.integers(0, 10**7, n).tolist()]


def _dates(
    rng: np.random.Generator, today: np.datetime64, lo_days: int, hi_days: int, n: int
) -> np.ndarray:
    return today - rng.integers(lo_days, hi_days, n).astype("timedelta64[D]")


@dataclass
class OrgTree:
    """The three-level organisation tree as parallel arrays (committees first, then 总支, 支部)."""

    frame: pd.DataFrame  # code,name,type,parent_code,x,y,building_code,founded,contact
    level: np.ndarray  # 0 党委, 1 党总支, 2 党支部
    building: np.ndarray  # building index of each organisation
    region: np.ndarray  # 街道 region of each organisation


def _counts(n: int) -> tuple[int, int, int]:
    """How many committees, general branches and branches make up n organisations."""
    if n < 3:
        raise ValueError("at least 3 organisations are needed for three levels")
    c = min(len(STREETS), max(1, n // 10))
    z = max(c, round((n - c) * 0.26))
    if n - c - z < z:
        z = max(1, (n - c) // 2)
        c = min(c, z)
    return c, z, n - c - z


def _regions(city: City, c: int, rng: np.random.Generator) -> np.ndarray:
    """Split the buildings into c 街道 regions (seeded k-means on their centres)."""
    xy = city.bld.centres
    _, labels = kmeans2(xy, c, minit="++", seed=rng, iter=15)
    return np.asarray(labels)


def _suffix(k: int, pool: int) -> str:
    rnd = k // pool
    return "" if rnd == 0 else CN_NUM[min(rnd, 9)]


def _seats(
    city: City,
    region_of_bld: np.ndarray,
    c: int,
    parent_z: np.ndarray,
    parent_b: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """The building each organisation sits in: a committee in the office building nearest the
    middle of its region, a general branch anywhere in its committee's region, a branch among
    the 40 buildings nearest its general branch."""
    z, b = len(parent_z), len(parent_b)
    office = city.of_use("公共服务", "办公")
    seats = np.empty(c + z + b, np.int64)
    for k in range(c):
        members = np.flatnonzero(region_of_bld == k)
        pool = np.intersect1d(members, office) if np.isin(members, office).any() else members
        seats[k] = city.nearest(pool, city.bld.centres[members].mean(axis=0)[None, :])[0]
    for j in range(z):
        members = np.flatnonzero(region_of_bld == parent_z[j])
        seats[c + j] = members[rng.integers(0, len(members))]
    near = city.nearest(np.arange(len(city.bld.uses)), city.bld.centres[seats[c + parent_b]], k=40)
    seats[c + z :] = near[np.arange(b), rng.integers(0, near.shape[1], b)]
    return seats


def _org_names(c: int, z: int, parent_b: np.ndarray, rng: np.random.Generator) -> list[str]:
    """Names of the committees, general branches and branches (a fifth of branches in firms)."""
    b = len(parent_b)
    names = [
        f"{STREETS[k % len(STREETS)]}{_suffix(k, len(STREETS))}街道党工委{TAG}" for k in range(c)
    ]
    comm = [
        f"{COMMUNITY_STEMS[j % len(COMMUNITY_STEMS)]}{_suffix(j, len(COMMUNITY_STEMS))}社区"
        for j in range(z)
    ]
    names += [f"{comm[j]}党总支{TAG}" for j in range(z)]
    firm = rng.random(b) < 0.2
    names += [
        f"{COMPANIES[j % len(COMPANIES)]}第{j + 1}党支部{TAG}"
        if f
        else f"{comm[p]}第{j + 1}党支部{TAG}"
        for j, (p, f) in enumerate(zip(parent_b.tolist(), firm.tolist(), strict=True))
    ]
    return names


def build_orgs(city: City, n: int, today: np.datetime64, rng: np.random.Generator) -> OrgTree:
    """n organisations: 街道党工委 (党委) → 社区党总支 → 社区/企业党支部, each seated in a building."""
    c, z, b = _counts(n)
    region_of_bld = _regions(city, c, rng)
    parent_z = np.concatenate([np.arange(c), rng.integers(0, c, z - c)])
    parent_b = np.concatenate([np.arange(z), rng.integers(0, z, b - z)])
    seats = _seats(city, region_of_bld, c, parent_z, parent_b, rng)
    level = np.repeat([0, 1, 2], [c, z, b])
    codes = [f"SC-W{k + 1:02d}" for k in range(c)]
    codes += [f"{codes[p]}-Z{j + 1:03d}" for j, p in enumerate(parent_z.tolist())]
    codes += [f"{codes[c + p]}-B{j + 1:04d}" for j, p in enumerate(parent_b.tolist())]
    parents = [""] * c + [codes[p] for p in parent_z] + [codes[c + p] for p in parent_b]
    names = _org_names(c, z, parent_b, rng)
    founded = np.concatenate(
        [
            _dates(rng, today, 35 * 365, 70 * 365, c),
            _dates(rng, today, 18 * 365, 35 * 365, z),
            _dates(rng, today, 1 * 365, 18 * 365, b),
        ]
    )
    xy = city.bld.centres[seats]
    contact = [f"{p} {t}" for p, t in zip(person_names(rng, n), phones(rng, n), strict=True)]
    frame = pd.DataFrame(
        {
            "code": codes,
            "name": names,
            "type": np.asarray(ORG_TYPES)[level],
            "parent_code": parents,
            "x": xy[:, 0],
            "y": xy[:, 1],
            "building_code": [f"B{s + 1:06d}" for s in seats.tolist()],
            "founded": founded.astype(str),
            "contact": contact,
        }
    )
    region = np.concatenate([np.arange(c), parent_z, parent_z[parent_b]])
    return OrgTree(frame, level, seats, region)


def build_members(
    city: City, orgs: OrgTree, n: int, today: np.datetime64, rng: np.random.Generator
) -> pd.DataFrame:
    """n members spread over the branches, living in homes near their branch (流动 ones anywhere)."""
    branches = np.flatnonzero(orgs.level == 2)
    weights = rng.dirichlet(np.full(len(branches), 2.0))
    first = np.arange(min(n, len(branches)))
    rest = rng.choice(len(branches), size=n - len(first), p=weights)
    which = np.concatenate([first, rest])
    status = np.asarray(MEMBER_STATUSES)[rng.choice(3, size=n, p=(0.86, 0.06, 0.08))]
    homes = city.of_use("住宅")
    near = city.nearest(homes, city.bld.centres[orgs.building[branches]], k=150)
    pick = np.floor(near.shape[1] * rng.random(n) ** 2).astype(np.int64)
    home = near[which, pick]
    roaming = status == "流动"
    home[roaming] = homes[rng.integers(0, len(homes), int(roaming.sum()))]
    xy = city.bld.point_inside(home, rng)
    joined = np.where(
        status == "预备",
        _dates(rng, today, 10, 365, n),
        _dates(rng, today, 366, 55 * 365, n),
    )
    return pd.DataFrame(
        {
            "external_id": np.char.add("M", np.char.zfill(np.arange(1, n + 1).astype(str), 7)),
            "name": person_names(rng, n),
            "branch_code": orgs.frame["code"].to_numpy()[branches[which]],
            "status": status,
            "joined": joined.astype(str),
            "x": xy[:, 0],
            "y": xy[:, 1],
        }
    )
