"""Service points (a 党群服务中心 per district and 街道 as far as they go, a 党群服务站 per community,
党员活动室 of branches, 红色教育基地 near 街道), activities around a reference date at or near them,
and the panoramas of the first centres. Bounded by the service points and activities asked for."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from geo.samples.generate import ACTIVITY_COLUMNS, PANO_COLUMNS, SP_COLUMNS, _write_panoramas
from geo.samples.names import ROAD_STEMS
from geo.samples.national.areas import Atlas
from geo.samples.national.layout import around
from geo.samples.national.spec import TAG, phones
from geo.samples.national.tree import Tree
from geo.samples.services import (
    ACTIVITY_KINDS,
    CAPACITY,
    HOURS,
    _iso,
    activity_times,
    panorama_rows,
)
from geo.samples.writers import write_csv

ORGANISER_SHARE = {3: 0.1, 4: 0.2, 5: 0.7}  # street, community, branch


def sp_counts(n: int, districts: int, streets: int) -> dict[str, int]:
    """How many of each kind make n service points."""
    centres = min(districts + streets, max(1, round(0.35 * n)))
    bases = max(1, round(0.05 * n))
    rooms = max(1, round(0.15 * n))
    return {
        "党群服务中心": centres,
        "党群服务站": n - centres - bases - rooms,
        "党员活动室": rooms,
        "红色教育基地": bases,
    }


def _district_label(atlas: Atlas, d: int) -> str:
    region = atlas.districts[d]
    city = atlas.cities[region.parent]
    prov = atlas.provinces[city.parent]
    return prov.name + ("" if city.name == prov.name else city.name) + region.name


def _seats(
    tree: Tree, counts: dict[str, int], rng: np.random.Generator
) -> list[tuple[str, int, np.ndarray, np.ndarray]]:
    """Per kind: the level of the owners, the owners, and where each sits (an index in the
    owners' level; in the 街道 level for 红色教育基地)."""
    dists, streets, comms, branches = (len(tree.levels[i]) for i in (2, 3, 4, 5))
    n_c = counts["党群服务中心"]
    centre = np.arange(n_c)  # districts first, then 街道
    out = [
        ("党群服务中心", 2, centre[centre < dists], centre[centre < dists]),
        ("党群服务中心", 3, centre[centre >= dists] - dists, centre[centre >= dists] - dists),
    ]
    station = np.arange(counts["党群服务站"]) % comms
    out.append(("党群服务站", 4, station, station))
    room = np.sort(rng.integers(0, branches, counts["党员活动室"]))
    out.append(("党员活动室", 5, room, room))
    base_street = np.sort(rng.integers(0, streets, counts["红色教育基地"]))
    out.append(("红色教育基地", 2, tree.levels[3].parent[base_street], base_street))
    return out


def _sp_name(kind: str, owner: str, nth: int, stem: str) -> str:
    base = owner.removesuffix(TAG)
    if kind == "党群服务中心":
        return (
            base.replace("中共", "").replace("委员会", "").replace("党工委", "")
            + "党群服务中心"
            + TAG
        )
    if kind == "党群服务站":
        return (
            base.replace("党总支", "").replace("党委", "")
            + "党群服务站"
            + (f"（{nth + 1}）" if nth else "")
            + TAG
        )
    if kind == "党员活动室":
        return base + "党员活动室" + TAG
    return f"{stem}红色记忆馆{TAG}"


def service_points(atlas: Atlas, tree: Tree, n: int, rng: np.random.Generator) -> pd.DataFrame:
    """n service points of the four kinds, each owned by an organisation, with lon/lat."""
    counts = sp_counts(n, len(tree.levels[2]), len(tree.levels[3]))
    frames = []
    for kind, owner_level, owners, seat_of in _seats(tree, counts, rng):
        if len(owners) == 0:
            continue
        level = tree.levels[owner_level]
        seat_level = 3 if kind == "红色教育基地" else owner_level
        spread = {"红色教育基地": 100.0, "党群服务中心": 40.0}.get(kind, 25.0)
        xy = around(tree.levels[seat_level].seat[seat_of], spread, rng)
        district = tree.levels[seat_level].district[seat_of]
        nth = (
            np.arange(len(owners)) // max(len(tree.levels[4]), 1)
            if kind == "党群服务站"
            else np.zeros(len(owners), int)
        )
        stems = rng.integers(0, len(ROAD_STEMS), len(owners)).tolist()
        lo, hi = CAPACITY[kind]
        frames.append(
            pd.DataFrame(
                {
                    "name": [
                        _sp_name(kind, level.name[o], k, ROAD_STEMS[s])
                        for o, k, s in zip(owners.tolist(), nth.tolist(), stems, strict=True)
                    ],
                    "kind": kind,
                    "org_code": level.code[owners],
                    "address": [
                        f"{_district_label(atlas, d)}{ROAD_STEMS[s]}路{2 * k + 1}号{TAG}"
                        for d, s, k in zip(
                            district.tolist(),
                            stems,
                            rng.integers(0, 300, len(owners)).tolist(),
                            strict=True,
                        )
                    ],
                    "opening_hours": HOURS[kind],
                    "capacity": rng.integers(lo, hi + 1, len(owners)),
                    "phone": phones(rng, len(owners)),
                    "lon": np.round(xy[:, 0], 6),
                    "lat": np.round(xy[:, 1], 6),
                }
            )
        )
    frame = pd.concat(frames, ignore_index=True)
    frame.insert(0, "code", [f"NSP{i + 1:06d}" for i in range(len(frame))])
    return frame


def activities(
    tree: Tree, sps: pd.DataFrame, n: int, today: np.datetime64, rng: np.random.Generator
) -> pd.DataFrame:
    """n activities ±90 days around `today` by 街道, communities and branches, 70 % at the service
    point nearest the organiser."""
    if n == 0:
        return pd.DataFrame(columns=list(ACTIVITY_COLUMNS))
    level = rng.choice(list(ORGANISER_SHARE), size=n, p=list(ORGANISER_SHARE.values()))
    org = np.empty(n, np.int64)
    seat = np.empty((n, 2))
    codes = np.empty(n, dtype=object)
    names = np.empty(n, dtype=object)
    for k in ORGANISER_SHARE:
        sel = np.flatnonzero(level == k)
        org[sel] = rng.integers(0, len(tree.levels[k]), len(sel))
        seat[sel] = tree.levels[k].seat[org[sel]]
        codes[sel] = tree.levels[k].code[org[sel]]
        names[sel] = [tree.levels[k].name[o] for o in org[sel].tolist()]
    sp_xy = sps[["lon", "lat"]].to_numpy()
    _, nearest = cKDTree(sp_xy).query(seat, k=1)
    at_sp = rng.random(n) < 0.7
    xy = np.where(at_sp[:, None], sp_xy[nearest], around(seat, 300.0, rng))
    kind = np.asarray(ACTIVITY_KINDS)[rng.integers(0, len(ACTIVITY_KINDS), n)]
    start, minutes, topic = activity_times(kind, today, rng)
    return pd.DataFrame(
        {
            "code": [f"NA{i + 1:07d}" for i in range(n)],
            "title": [f"{k}：{t}{TAG}" for k, t in zip(kind.tolist(), topic, strict=True)],
            "kind": kind,
            "organiser_code": codes,
            "service_point_code": np.where(at_sp, sps["code"].to_numpy()[nearest], ""),
            "starts_at": _iso(start),
            "ends_at": _iso(start + minutes),
            "capacity": rng.integers(2, 13, n) * 10,
            "description": [
                f"示例数据（synthetic）：{o.removesuffix(TAG)}组织的{t}。"
                for o, t in zip(names, topic, strict=True)
            ],
            "lon": np.round(xy[:, 0], 6),
            "lat": np.round(xy[:, 1], 6),
        }
    )


def write_services(
    atlas: Atlas,
    tree: Tree,
    spec_counts: tuple[int, int, int],
    today: np.datetime64,
    rngs: tuple[np.random.Generator, ...],
    out: Path,
) -> dict[str, int]:
    """service_points.csv, activities.csv, panoramas.csv and the panorama images."""
    n_sp, n_act, n_pano = spec_counts
    sps = service_points(atlas, tree, n_sp, rngs[0])
    write_csv(sps, SP_COLUMNS, out / "service_points.csv")
    acts = activities(tree, sps, n_act, today, rngs[1])
    write_csv(acts, ACTIVITY_COLUMNS, out / "activities.csv")
    as_xy = sps.rename(columns={"lon": "x", "lat": "y"})
    panos = panorama_rows(as_xy, n_pano, today, rngs[2]).rename(columns={"x": "lon", "y": "lat"})
    _write_panoramas(panos, out, rngs[2])
    write_csv(panos, PANO_COLUMNS, out / "panoramas.csv")
    return {"service_points": len(sps), "activities": len(acts), "panoramas": len(panos)}
