"""The organisation tree: province → city → district committees (党委), 街道党工委 (党委), 社区党委 or
党总支, and 党支部 under them, with how many members each branch has and buildings each community.

Everything here is sized by the organisations (bounded); the members are only counted per branch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from geo.samples.names import COMMUNITY_STEMS, COMPANIES, ROAD_STEMS, STREETS
from geo.samples.national.layout import Layout, around
from geo.samples.national.spec import TAG

LEVELS = ("province", "city", "district", "street", "community", "branch")
STREET_SHARE = 0.08  # of the organisations below the districts (≈ 40,000 街道 / 乡镇 at 500,000)
COMMUNITY_SHARE = 0.20
BIG_COMMUNITY = 6  # a community with more branches has a 社区党委, otherwise a 党总支
STREET_POOL = STREETS + ROAD_STEMS
BRANCH_SPREAD_M = 250.0


@dataclass
class Level:
    """One level of the tree as parallel arrays (parent: index in the level above)."""

    code: np.ndarray
    name: list[str]
    type: np.ndarray
    parent: np.ndarray
    seat: np.ndarray  # (n, 2) lon, lat
    district: np.ndarray  # index of the district holding it (-1 above the districts)

    def __len__(self) -> int:
        return len(self.code)


@dataclass
class Tree:
    """The six levels, the members of each branch and the buildings of each community."""

    levels: list[Level]
    members: np.ndarray
    buildings: np.ndarray

    @property
    def size(self) -> int:
        """Organisations in the tree."""
        return sum(len(level) for level in self.levels)


def level_counts(n: int, upper: int, districts: int) -> tuple[int, int, int]:
    """Streets, communities and branches making n organisations with `upper` above them."""
    rest = n - upper
    if rest < 3 * districts:
        raise ValueError(
            f"{n} organisations are too few for {districts} districts: at least "
            f"{upper + 3 * districts} are needed (or ask for fewer --provinces)"
        )
    streets = max(districts, round(rest * STREET_SHARE))
    communities = max(streets, round(rest * COMMUNITY_SHARE))
    if rest - streets - communities < communities:
        communities = max(streets, (rest - streets) // 2)
    return streets, communities, rest - streets - communities


def spread(total: int, weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """`total` items over groups by weight, at least one each when there are enough."""
    base = 1 if total >= len(weights) else 0
    p = weights / weights.sum()
    return base + rng.multinomial(total - base * len(weights), p)


def _children(
    codes: np.ndarray, counts: np.ndarray, tag: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parent index, code and number (from 1 inside its parent) of each child."""
    parent = np.repeat(np.arange(len(counts)), counts)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    ordinal = np.arange(int(counts.sum())) - np.repeat(starts, counts) + 1
    child = np.char.add(np.char.add(codes[parent], tag), np.char.zfill(ordinal.astype(str), 3))
    return parent, child, ordinal


def _stem(pool: tuple[str, ...], k: int) -> str:
    rnd = k // len(pool)
    return pool[k % len(pool)] + ("" if rnd == 0 else "二三四五六七八九十"[min(rnd - 1, 8)])


def _upper(layout: Layout) -> list[Level]:
    """The province, city and district committees, seated as the layout says."""
    atlas = layout.atlas
    out = []
    for level, regions, seats, prefix in (
        ("province", atlas.provinces, layout.province_seats(), "P"),
        ("city", atlas.cities, layout.city_seats(), "C"),
        ("district", atlas.districts, layout.seat, "D"),
    ):
        names = [f"中共{r.name}委员会{TAG}" for r in regions]
        if level == "city":  # a municipality's one city bears the province's name
            names = [
                n.replace("委员会", "委员会（市级）")
                if r.name == atlas.provinces[r.parent].name
                else n
                for n, r in zip(names, regions, strict=True)
            ]
        district = np.arange(len(regions)) if level == "district" else np.full(len(regions), -1)
        out.append(
            Level(
                np.asarray([prefix + r.code for r in regions]),
                names,
                np.full(len(regions), "党委"),
                np.asarray([r.parent for r in regions], dtype=np.int64),
                np.asarray(seats, dtype=float).reshape(-1, 2),
                district,
            )
        )
    return out


def _streets(layout: Layout, dists: Level, counts: np.ndarray, rng: np.random.Generator) -> Level:
    parent, codes, ordinal = _children(dists.code, counts, "-S")
    sigma = np.minimum(0.3 * np.sqrt(layout.area_m2[parent]), 20_000.0)
    seat = layout.scatter(parent, dists.seat[parent], sigma, rng)
    names = [
        f"{_stem(STREET_POOL, o - 1 + 5 * int(d))}街道党工委{TAG}"
        for o, d in zip(ordinal.tolist(), parent.tolist(), strict=True)
    ]
    return Level(codes, names, np.full(len(codes), "党委"), parent, seat, parent)


def _communities(
    layout: Layout,
    streets: Level,
    counts: np.ndarray,
    branches: np.ndarray,
    rng: np.random.Generator,
) -> Level:
    parent, codes, _ = _children(streets.code, counts, "-C")
    district = streets.district[parent]
    per_street = np.bincount(streets.district, minlength=len(layout.area_m2))[district]
    sigma = np.clip(0.5 * np.sqrt(layout.area_m2[district] / per_street), 300.0, 6000.0)
    seat = layout.scatter(district, streets.seat[parent], sigma, rng)
    stems = [
        _stem(COMMUNITY_STEMS, (i * 7 + int(p)) % (len(COMMUNITY_STEMS) * 3))
        for i, p in enumerate(parent.tolist())
    ]
    big = branches > BIG_COMMUNITY
    names = [
        f"{s}社区{'党委' if b else '党总支'}{TAG}" for s, b in zip(stems, big.tolist(), strict=True)
    ]
    kinds = np.where(big, "党委", "党总支")
    return Level(codes, names, kinds, parent, seat, district)


def _branches(comms: Level, counts: np.ndarray, rng: np.random.Generator) -> Level:
    parent, codes, ordinal = _children(comms.code, counts, "-B")
    seat = around(comms.seat[parent], BRANCH_SPREAD_M, rng)
    firm = rng.random(len(codes)) < 0.2
    company = rng.integers(0, len(COMPANIES), len(codes))
    base = [comms.name[p].split("社区")[0] + "社区" for p in parent.tolist()]
    names = [
        f"{COMPANIES[c]}第{o}党支部{TAG}" if f else f"{b}第{o}党支部{TAG}"
        for o, b, f, c in zip(ordinal.tolist(), base, firm.tolist(), company.tolist(), strict=True)
    ]
    return Level(codes, names, np.full(len(codes), "党支部"), parent, seat, comms.district[parent])


def plan_tree(
    layout: Layout, organisations: int, members: int, buildings: int, rng: np.random.Generator
) -> Tree:
    """The whole tree with each branch's members and each community's buildings."""
    upper = _upper(layout)
    n_upper = sum(len(level) for level in upper)
    s, k, b = level_counts(organisations, n_upper, len(upper[2]))
    street_counts = spread(s, rng.lognormal(0.0, 0.5, len(upper[2])), rng)
    comm_counts = spread(k, rng.lognormal(0.0, 0.6, s), rng)
    branch_counts = spread(b, rng.lognormal(0.0, 0.8, k), rng)
    streets = _streets(layout, upper[2], street_counts, rng)
    comms = _communities(layout, streets, comm_counts, branch_counts, rng)
    branches = _branches(comms, branch_counts, rng)
    per_branch = spread(members, rng.gamma(2.0, 1.0, b), rng)
    per_comm = np.bincount(branches.parent, weights=per_branch, minlength=k)
    per_comm_bld = spread(buildings, per_comm + per_comm.mean() * 0.1 + 1.0, rng)
    return Tree([*upper, streets, comms, branches], per_branch, per_comm_bld)
