"""Synthetic service points (all four kinds), activities around a reference date, and panorama rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from geo import vocab
from geo.samples.names import ROAD_STEMS
from geo.samples.party import TAG, City, OrgTree, phones

KINDS = vocab.SERVICE_POINT_KINDS
HOURS = {
    "党群服务中心": "Mo-Fr 08:30-17:30; Sa,Su 09:00-17:00",
    "党群服务站": "Mo-Fr 09:00-17:00; Sa 09:00-12:00",
    "党员活动室": "Mo-Fr 14:00-17:30",
    "红色教育基地": "Tu-Su 09:00-16:30",
}
CAPACITY = {
    "党群服务中心": (150, 400),
    "党群服务站": (40, 120),
    "党员活动室": (20, 60),
    "红色教育基地": (100, 500),
}
ACTIVITY_KINDS = vocab.ACTIVITY_KINDS[:4]  # the routine kinds the sample plans
TOPICS = {
    "三会一课": ("支部党员大会", "支委会", "党小组会", "书记讲党课"),
    "主题党日": ("重温入党誓词", "走进红色教育基地", "社区议事协商", "党员亮身份"),
    "志愿服务": ("垃圾分类宣传", "关爱独居老人", "文明交通劝导", "钱塘江护河行动"),
    "学习": ("理论学习读书会", "党史专题学习", "政策宣讲", "数字化技能培训"),
}
HOURS_SPAN = {
    "三会一课": (1.5, 2.0),
    "主题党日": (2.0, 3.0),
    "志愿服务": (2.0, 4.0),
    "学习": (1.0, 2.0),
}


def _sp_counts(n: int, committees: int, communities: int) -> dict[str, int]:
    """Split n service points: a centre per 街道, a station per 社区, then rooms, sites, more stations."""
    if n < 4:
        raise ValueError("at least 4 service points are needed for the four kinds")
    c = min(committees, n - 3)
    st = max(1, min(communities, n - c - 2))
    left = n - c - st
    bases = max(1, round(left * 0.2))
    rooms = max(1, round(left * 0.5))
    return {
        "党群服务中心": c,
        "党群服务站": st + left - bases - rooms,
        "党员活动室": rooms,
        "红色教育基地": bases,
    }


def _sp_seats(city: City, orgs: OrgTree, counts: dict[str, int], rng: np.random.Generator):
    """For each kind: the owning organisation, the building, and a name stem."""
    lvl = orgs.level
    committees, zongzhi, branches = (np.flatnonzero(lvl == k) for k in range(3))
    public = city.of_use("公共服务", "学校", "办公")
    out = []
    orgs_c = committees[np.arange(counts["党群服务中心"]) % len(committees)]
    out.append(
        ("党群服务中心", orgs_c, city.nearest(public, city.bld.centres[orgs.building[orgs_c]]))
    )
    orgs_s = zongzhi[np.arange(counts["党群服务站"]) % len(zongzhi)]
    near = city.nearest(np.arange(len(city.bld.uses)), city.bld.centres[orgs.building[orgs_s]], k=8)
    out.append(
        (
            "党群服务站",
            orgs_s,
            near[np.arange(len(orgs_s)), rng.integers(0, near.shape[1], len(orgs_s))],
        )
    )
    orgs_r = branches[rng.integers(0, len(branches), counts["党员活动室"])]
    out.append(("党员活动室", orgs_r, orgs.building[orgs_r]))
    orgs_b = committees[rng.integers(0, len(committees), counts["红色教育基地"])]
    out.append(("红色教育基地", orgs_b, public[rng.integers(0, len(public), len(orgs_b))]))
    return out


def _sp_name(kind: str, org_name: str, k: int, stem: str) -> str:
    base = org_name.removesuffix(TAG)
    if kind == "党群服务中心":
        return base.replace("街道党工委", "街道党群服务中心") + TAG
    if kind == "党群服务站":
        return base.replace("社区党总支", "社区党群服务站") + (f"（{k + 1}）" if k else "") + TAG
    if kind == "党员活动室":
        return base + "党员活动室" + TAG
    return f"{stem}红色记忆馆" + TAG


def build_service_points(
    city: City, orgs: OrgTree, n: int, rng: np.random.Generator
) -> pd.DataFrame:
    """n service points of all four kinds, each in a building, owned by an organisation."""
    counts = _sp_counts(n, int((orgs.level == 0).sum()), int((orgs.level == 1).sum()))
    frames = []
    for kind, org_idx, bld in _sp_seats(city, orgs, counts, rng):
        if len(org_idx) == 0:
            continue
        seen: dict[int, int] = {}
        names = []
        for o, s in zip(
            org_idx.tolist(), rng.integers(0, len(ROAD_STEMS), len(org_idx)).tolist(), strict=True
        ):
            names.append(
                _sp_name(kind, str(orgs.frame["name"].iat[o]), seen.get(o, 0), ROAD_STEMS[s])
            )
            seen[o] = seen.get(o, 0) + 1
        lo, hi = CAPACITY[kind]
        xy = city.bld.point_inside(bld, rng)
        frames.append(
            pd.DataFrame(
                {
                    "name": names,
                    "kind": kind,
                    "org_code": orgs.frame["code"].to_numpy()[org_idx],
                    "address": city.address(bld, rng),
                    "opening_hours": HOURS[kind],
                    "capacity": rng.integers(lo, hi + 1, len(org_idx)),
                    "phone": phones(rng, len(org_idx)),
                    "x": xy[:, 0],
                    "y": xy[:, 1],
                }
            )
        )
    frame = pd.concat(frames, ignore_index=True)
    frame.insert(0, "code", [f"SP{i + 1:05d}" for i in range(len(frame))])
    return frame


def _iso(ts: np.ndarray) -> list[str]:
    """ISO 8601 with the Asia/Shanghai offset for naive local datetime64 values."""
    return [s.replace(" ", "T") + "+08:00" for s in np.datetime_as_string(ts, unit="s").tolist()]


ACTIVITY_COLUMNS = (
    "code",
    "title",
    "kind",
    "organiser_code",
    "service_point_code",
    "starts_at",
    "ends_at",
    "capacity",
    "description",
    "x",
    "y",
)


def build_activities(
    city: City,
    orgs: OrgTree,
    sps: pd.DataFrame,
    n: int,
    today: np.datetime64,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """n activities between 90 days before and 90 days after `today`, at service points or places."""
    if n == 0:
        return pd.DataFrame(columns=list(ACTIVITY_COLUMNS))
    level = rng.choice(3, size=n, p=(0.1, 0.15, 0.75))
    organiser = np.empty(n, np.int64)
    for k in range(3):
        pool = np.flatnonzero(orgs.level == k)
        sel = level == k
        organiser[sel] = pool[rng.integers(0, len(pool), int(sel.sum()))]
    kind = np.asarray(ACTIVITY_KINDS)[rng.integers(0, len(ACTIVITY_KINDS), n)]
    org_xy = city.bld.centres[orgs.building[organiser]]
    _, sp_idx = cKDTree(sps[["x", "y"]].to_numpy()).query(org_xy, k=1)
    at_sp = rng.random(n) < 0.7
    places = city.nearest(city.of_use("公共服务", "学校", "商业"), org_xy, k=10)
    place = places[np.arange(n), rng.integers(0, places.shape[1], n)]
    xy = np.where(
        at_sp[:, None], sps[["x", "y"]].to_numpy()[sp_idx], city.bld.point_inside(place, rng)
    )
    start, minutes, topic = activity_times(kind, today, rng)
    org_names = orgs.frame["name"].to_numpy()[organiser]
    return pd.DataFrame(
        {
            "code": [f"A{i + 1:06d}" for i in range(n)],
            "title": [f"{k}：{t}{TAG}" for k, t in zip(kind.tolist(), topic, strict=True)],
            "kind": kind,
            "organiser_code": orgs.frame["code"].to_numpy()[organiser],
            "service_point_code": np.where(at_sp, sps["code"].to_numpy()[sp_idx], ""),
            "starts_at": _iso(start),
            "ends_at": _iso(start + minutes),
            "capacity": rng.integers(2, 13, n) * 10,
            "description": [
                f"示例数据（synthetic）：{o.removesuffix(TAG)}组织的{t}。"
                for o, t in zip(org_names, topic, strict=True)
            ],
            "x": xy[:, 0],
            "y": xy[:, 1],
        }
    )


def activity_times(
    kind: np.ndarray, today: np.datetime64, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Each activity's start (a day within 90 of today, 09:00–19:00 on the half hour), length
    (its kind's span, in half hours) and topic; the district and the national generator alike."""
    n = len(kind)
    day = today + rng.integers(-90, 91, n).astype("timedelta64[D]")
    start = day.astype("datetime64[m]") + (540 + 30 * rng.integers(0, 21, n)).astype(
        "timedelta64[m]"
    )
    span = np.array([HOURS_SPAN[k] for k in kind.tolist()])
    minutes = (30 * np.round(rng.uniform(span[:, 0], span[:, 1]) * 2)).astype("timedelta64[m]")
    topics = rng.integers(0, 4, n).tolist()
    return start, minutes, [TOPICS[k][t % 4] for k, t in zip(kind.tolist(), topics, strict=True)]


def panorama_rows(
    sps: pd.DataFrame, n: int, today: np.datetime64, rng: np.random.Generator
) -> pd.DataFrame:
    """Rows of panoramas.csv for the first n 党群服务中心 (more kinds when there are fewer centres)."""
    order = np.argsort(np.asarray([KINDS.index(k) for k in sps["kind"]]), kind="stable")[:n]
    chosen = sps.iloc[order]
    codes = [f"PANO{i + 1:03d}" for i in range(len(chosen))]
    captured = (today - rng.integers(5, 200, len(chosen)).astype("timedelta64[D]")).astype(
        "datetime64[m]"
    )
    return pd.DataFrame(
        {
            "code": codes,
            "title": [f"{nm.removesuffix(TAG)}全景{TAG}" for nm in chosen["name"]],
            "image": [f"panoramas/{c}.jpg" for c in codes],
            "heading": np.round(rng.uniform(0, 360, len(chosen)), 1) % 360,
            "service_point_code": chosen["code"].to_numpy(),
            "captured_at": _iso(captured + np.timedelta64(10 * 60, "m")),
            "x": chosen["x"].to_numpy(),
            "y": chosen["y"].to_numpy(),
            "kind": chosen["kind"].to_numpy(),
            "sp_name": chosen["name"].to_numpy(),
        }
    )
