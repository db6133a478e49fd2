"""The attacker who sweeps a parameter, against every new member-derived answer (issues 12-14).

The rule (geo/privacy): no member-derived figure under 10 is published, nor derivable from any set
of legal answers. Each test plays an attacker who moves one parameter in small steps and keeps
every answer, then checks that no answer, and no difference of two answers, is a count of 1-9,
and that the sweep did pass over such a group (so a publication of exact figures would fail it):
- big screen (/api/screen): nested scopes (one key per subtree) × time (check-ins one by one);
  and its event stream (what counting its check-in events, or reading their counts, gives);
- registrations (/api/activities/{id}/registrations and registration.changed): capacity ×
  registrations one by one, read by the public, a member, another tree's leader, a planner
  (the organiser keeps names and exact counts);
- grid figures (the grids layer's items): bbox edges × filters × callers, a grid of 3 members;
- accessibility shares (/api/accessibility?members=true): the bbox edge over 3 lonely homes, res;
- organisation health: a parent's children mean over the children's member counts.
Heat (member and check-in heat, /api/heatmap) is the tree rule's own: tests/test_heat.py and
tests/test_privacy_attacks.py. Counts of activities and service points are not member figures.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import psycopg
import pytest
from fastapi.testclient import TestClient
from health_world import make_world as health_world
from live_world import activity, client, member
from live_world import make_world as live_world
from privacy import add_users, api_client, bearer, two_subtrees
from test_accessibility import grid  # noqa: F401  (the street grid with its sites)
from test_coverage_walk import BBOX, DLAT, DLON, LAT0, LON0, N, net  # noqa: F401
from test_grids import fixture_grids, write

from geo.analysis.checkin import record
from geo.health.evidence import OrgRecord
from geo.health.rules import defaults
from geo.health.score import score_all
from geo.ingest import import_file
from geo.live import registrations as regs
from geo.live.sse import HEARTBEAT, frames
from geo.live.stream import EventHub
from geo.live.viewers import viewer_for
from geo.planning import grid_coverage
from geo.privacy import K, shown, size_class
from geo.scope import Principal
from geo.screen import read as screen
from geo.screen.keys import add_screen_key

DAY = date(2026, 5, 20)
LONG_AGO = date(2000, 1, 1)


def small_differences(figures: Iterable[int | None]) -> set[int]:
    """What an attacker gets by subtracting any two published figures: the differences 1-9."""
    known = sorted({f for f in figures if f is not None})
    return {abs(a - b) for a, b in itertools.combinations(known, 2)} & set(range(1, K))


def from_share(pct: float, total: int) -> int:
    """The count a share of a published total stands for (shares are % to 1 decimal): a
    multiple of K within the share's rounding of it, else the test fails."""
    within = pct * total / 100
    nearest = K * round(within / K)
    assert abs(within - nearest) <= 0.0005 * total + 1e-9, (pct, total)
    return nearest


def assert_published(figures: Iterable[int | None]) -> None:
    """Every figure 0, at least K or held back, and no two of them K-apart or closer."""
    figures = list(figures)
    assert all(f is None or f == 0 or f >= K for f in figures), figures
    assert small_differences(figures) == set(), sorted({f for f in figures if f is not None})


# -- the big screen: nested scopes × time -------------------------------------------------------


def _check_in(url: str, act: dict[str, Any], member_id: int) -> None:
    """A check-in as the check-in routes write it (its checkin.created in the same transaction)."""

    async def go() -> None:
        conn = await asyncpg.connect(url)
        try:
            now = datetime.now(UTC)
            await record(conn, act, member_id, distance_m=5.0, method="code", now=now)
        finally:
            await conn.close()

    asyncio.run(go())


def _screen_world(url: str) -> tuple[dict[str, Any], list[tuple[dict[str, Any], int]]]:
    """health_world (c1 ⊃ b1 12, b3 3; c2 ⊃ b2 20), an activity on now by b1, b3, c1 and b2,
    screen keys of the district, c1, b1, b3 and c2, and the check-ins to make, in order."""
    ids: dict[str, Any] = health_world(url)
    now = datetime.now(UTC)
    acts: dict[str, dict[str, Any]] = {}
    with psycopg.connect(url) as conn:
        for org in ("b1", "b3", "c1", "b2"):
            row = conn.execute(
                "INSERT INTO activities (code, title, kind, organiser_id, starts_at, ends_at, "
                "geom) VALUES (%s, %s, '主题党日', %s, %s, %s, ST_SetSRID(ST_MakePoint(116.4, "
                "39.9), 4326)) RETURNING id",
                (f"sw-{org}", f"活动{org}", ids[org], now - timedelta(minutes=10),
                 now + timedelta(hours=2)),
            ).fetchone()  # fmt: skip
            acts[org] = {"id": row[0], "title": f"活动{org}", "organiser_id": ids[org]}
        members = {
            b: [r[0] for r in conn.execute(
                "SELECT id FROM members WHERE branch_id = %s ORDER BY id", (ids[b],))]
            for b in ("b1", "b2", "b3")
        }  # fmt: skip
    keys = {"district": None, "c1": "hc1", "b1": "hb1", "b3": "hb3", "c2": "hc2"}
    ids["keys"] = {name: add_screen_key(url, f"屏{name}", code) for name, code in keys.items()}
    ids["acts"] = acts
    steps = [(acts["b1"], m) for m in members["b1"]] + [(acts["b3"], m) for m in members["b3"]]
    steps += [(acts["c1"], m) for m in members["b3"]] + [(acts["b2"], m) for m in members["b2"]]
    return ids, steps


SCOPES = {  # which activities' check-ins each key counts (the organiser in its subtree)
    "district": {"b1", "b3", "c1", "b2"},
    "c1": {"b1", "b3", "c1"},
    "b1": {"b1"},
    "b3": {"b3"},
    "c2": {"b2"},
}


def test_the_screen_swept_over_scopes_and_time(clean_db: str) -> None:
    world, steps = _screen_world(clean_db)
    org_of = {a["id"]: org for org, a in world["acts"].items()}
    exact: dict[str, list[tuple[int, int]]] = {k: [] for k in SCOPES}
    seen: dict[str, set[int]] = {k: set() for k in SCOPES}
    checkins = dict.fromkeys(SCOPES, 0)
    answers: list[tuple[str, dict[str, Any]]] = []
    with client(clean_db, Principal()) as c:
        for act, member_id in steps:
            _check_in(clean_db, act, member_id)
            for name, key in world["keys"].items():
                if org_of[act["id"]] in SCOPES[name]:
                    checkins[name] += 1
                    seen[name].add(member_id)
                exact[name].append((checkins[name], len(seen[name])))
                r = c.get("/api/screen", params={"key": key.key})
                assert r.status_code == 200, r.text
                answers.append((name, r.json()["counters"]))
    for field in ("checkins_today", "members_reached_month"):
        figures = [a[field] for _, a in answers]
        assert_published(figures)  # over every scope and every moment at once
        assert all(f is None or f % K == 0 for f in figures)
    held = [a for name, a in answers if name == "b3"]
    assert {a["checkins_today"] for a in held} == {0, None}  # 0 before b3's first, then 1-3
    assert held[-1]["checkins_today"] is None and held[-1]["fewer_than"] == K
    # The sweep passed over small groups: exact figures (or `shown`) would have given them away.
    flat = [n for pairs in exact.values() for pair in pairs for n in pair]
    assert set(range(1, K)) <= set(flat)
    assert small_differences(shown(n) for n in flat if n >= K)  # 12 and 15 (c1 − b1 = b3's 3)
    _screen_stream_tells_multiples_only(clean_db, world)


def _stream_events(url: str, key: Any, keep: Any) -> list[dict[str, Any]]:
    """Every checkin.created the key's stream replays from the first event (what a screen that
    connects with Last-Event-ID gets), through `keep`."""

    async def main() -> list[dict[str, Any]]:
        hub = EventHub(url)
        pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
        await hub.start()
        try:
            first = await pool.fetchval("SELECT min(id) FROM events")
            while hub.watermark is None or hub.watermark < await pool.fetchval(
                "SELECT max(id) FROM events"
            ):
                await asyncio.sleep(0.01)
            viewer = await viewer_for(pool, key.principal())
            stream = frames(hub, pool, viewer, first - 1, 0.05, keep=keep)
            out: list[dict[str, Any]] = []
            await stream.__anext__()  # retry:
            while (chunk := await asyncio.wait_for(stream.__anext__(), 60)) != HEARTBEAT:
                for frame in chunk.decode().split("\n\n"):
                    data = [ln[6:] for ln in frame.split("\n") if ln.startswith("data: ")]
                    event = json.loads(data[0]) if data else {}
                    if event.get("type") == "checkin.created":
                        out.append(event["data"])
            await stream.aclose()
            return out
        finally:
            await hub.close()
            await pool.close()

    return asyncio.run(main())


def _screen_stream_tells_multiples_only(url: str, world: dict[str, Any]) -> None:
    for name, key in world["keys"].items():
        told = _stream_events(url, key, screen.on_screen)
        everything = _stream_events(url, key, None)  # the leader's stream, for comparison
        per_act: dict[int, int] = {}
        for d in told:
            per_act[d["activity_id"]] = per_act.get(d["activity_id"], 0) + 1
            assert d["count"] >= K and d["count"] % K == 0, (name, d)
        # counting what the screen was told gives multiples of K per activity, never 1-9
        last = {d["activity_id"]: d["count"] for d in everything}
        assert per_act == {a: n // K for a, n in last.items() if n >= K}, name
        assert {d["count"] for d in everything} & set(range(1, K)), name  # there was a 1-9


# -- registrations: capacity × registrations one by one -----------------------------------------


def _readers(ids: dict[str, int]) -> dict[str, Principal]:
    return {
        "public": Principal(),
        "member": member(ids, "m1"),
        "other_leader": Principal(role="leader", org_id=ids["c2"], username="l2"),
        "planner": Principal(role="planner", org_id=ids["c1"], username="p1"),
    }


def _registration_states(url: str, ids: dict[str, int], act: int) -> list[dict[str, Any]]:
    """Register m1…m14 one by one, then cancel two; after each change every reader's answer and
    the organiser's."""
    readers = _readers(ids) | {"organiser": Principal(role="leader", org_id=ids["c1"])}
    changes = [("register", f"m{i}") for i in range(1, 15)] + [("cancel", "m2"), ("cancel", "m3")]

    async def go() -> list[dict[str, Any]]:
        conn = await asyncpg.connect(url)
        out = []
        try:
            for op, who in changes:
                if op == "register":
                    await regs.register(conn, act, ids[who])
                else:
                    await regs.cancel(conn, act, ids[who])
                exact = await regs.counts(conn, act)
                seen = {r: await regs.summary(conn, p, act) for r, p in readers.items()}
                out.append({"exact": exact, **seen})
        finally:
            await conn.close()
        return out

    return asyncio.run(go())


@pytest.mark.parametrize("capacity", [None, 4, 12])
def test_registration_counts_swept_over_capacity_and_registrations(
    clean_db: str, capacity: int | None
) -> None:
    ids = live_world(clean_db, members_per_branch=14)
    act = activity(clean_db, f"sweep{capacity}", ids["c1"], capacity=capacity)
    states = _registration_states(clean_db, ids, act)
    small: dict[str, set[str]] = {r: set() for r in _readers(ids)}
    for state in states:
        exact = state["exact"]
        org = state["organiser"]  # the organiser: names and exact counts (legitimate)
        assert (org["registered"], org["waitlisted"]) == (exact.registered, exact.waitlisted)
        assert len(org["members"]) == exact.registered + exact.waitlisted
        for reader in small:
            body = {k: v for k, v in state[reader].items() if k != "activity_id"}
            assert body["members"] is None
            assert_published([body["registered"], body["waitlisted"], body["attended"]])
            if 0 < exact.registered < K:
                small[reader].add(json.dumps(body, sort_keys=True))
    # Every state with 1-9 registered answers every reader alike: nothing tells them apart.
    assert all(len(answers) == 1 for answers in small.values()), small
    events = _events(clean_db, act)  # registration.changed: public, one per change
    assert len(events) == len(states)
    told = set()
    for state, data in zip(states, events, strict=True):
        assert_published([data["registered"], data["waitlisted"]])
        if 0 < state["exact"].registered < K:
            told.add(json.dumps({k: v for k, v in data.items() if k != "activity_id"}))
    assert len(told) == 1, told
    sizes = {(s["exact"].registered, s["exact"].waitlisted) for s in states}
    if capacity == 4:  # a full small activity with a long waitlist: 10 waiting told 4 registered
        assert (4, 10) in sizes


def _events(url: str, act: int) -> list[dict[str, Any]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT data FROM events WHERE type = 'registration.changed' AND subject = %s "
            "ORDER BY id",
            (f"activities/{act}",),
        ).fetchall()
    return [r[0] for r in rows]


# -- grid figures: bbox edges × filters × callers -----------------------------------------------

GLON, GLAT = 116.30, 39.90  # tree A of two_subtrees, as tests/test_grids.py


@pytest.fixture
def grids_app(clean_db: str, tmp_path: Path) -> Iterator[tuple[TestClient, str]]:
    """test_grids' grids over two_subtrees, 3 more members of A's branch living in G3 alone,
    the grid coverage stored; an app with the two_subtrees users."""
    two_subtrees(clean_db)
    with psycopg.connect(clean_db) as conn:
        for i in range(3):
            conn.execute(
                "INSERT INTO members (external_id, name, branch_id, status, home) SELECT %s, "
                "'g3', id, '正式', ST_SetSRID(ST_MakePoint(%s, %s), 4326) FROM organisations "
                "WHERE code = 'A-B'",
                (f"G3-{i}", GLON + 0.009 + 0.0004 * i, GLAT + 0.029),
            )
    assert import_file(clean_db, "grids", write(tmp_path, fixture_grids()), progress=False)
    with psycopg.connect(clean_db) as conn:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        grid_coverage.refresh(conn, Principal(role="admin"), 15, "straight")
    add_users(clean_db)
    for c in api_client(clean_db, "sweeps-key-" + "s" * 32):
        yield c, clean_db


def _bboxes() -> Iterator[str]:
    """The grids' area and boxes whose edges step 0.002° across G3 (and G1's homes)."""
    for d in range(0, 12, 2):
        yield f"{GLON},{GLAT + 0.02 + d / 1000},{GLON + 0.04},{GLAT + 0.04}"
        yield f"{GLON},{GLAT},{GLON + 0.008 + d / 1000},{GLAT + 0.04}"


def test_grid_figures_swept_over_bbox_filters_and_callers(
    grids_app: tuple[TestClient, str],
) -> None:
    c, url = grids_app
    with psycopg.connect(url) as conn:
        in_g3 = conn.execute(
            "SELECT count(*) FROM members m JOIN grids g ON ST_Contains(g.geom, m.home) "
            "WHERE g.code = 'G3'"
        ).fetchone()[0]
        org_a = conn.execute("SELECT id FROM organisations WHERE code = 'A-W'").fetchone()[0]
    assert 0 < in_g3 < K  # a group the attacker is after
    callers = {"anonymous": {}} | {
        u: bearer(c, u) for u in ("leader_a", "leader_b", "planner_b", "steward_a", "admin")
    }
    filters: list[dict[str, Any]] = [{}, {"community": "西社区"}, {"org": org_a}]
    filters += [{"coverage": k} for k in ("good", "part", "low", "none")]
    by_grid: dict[str, set[tuple[Any, Any]]] = {}
    asked = 0
    for headers, bbox, extra in itertools.product(callers.values(), _bboxes(), filters):
        r = c.get("/api/collections/grids/items", params={"bbox": bbox, **extra}, headers=headers)
        assert r.status_code == 200, r.text
        asked += 1
        for f in r.json()["features"]:
            p = f["properties"]
            if "members" in p:
                by_grid.setdefault(p["code"], set()).add((p["members"], p.get("members_pct")))
    assert asked == 6 * 12 * 7 and {"G1", "G3"} <= set(by_grid)
    for code, seen in by_grid.items():
        assert len(seen) == 1, (code, seen)  # the same figures whatever was asked
        ((members, pct),) = seen
        assert members is None or (members >= K and members % K == 0), code
        if members is not None and pct is not None:
            from_share(pct, members)
    assert_published(m for seen in by_grid.values() for m, _ in seen)


# -- accessibility shares: the bbox edge over 3 lonely homes ------------------------------------


def test_accessibility_shares_swept_over_the_bbox(grid) -> None:  # noqa: F811
    from test_scenarios import client as planner_client

    lonely = (LON0 + (N - 1) * DLON + 0.0008, LAT0 + 5 * DLAT)
    with psycopg.connect(grid["url"]) as conn:
        for i in range(3):
            conn.execute(
                "INSERT INTO members (external_id, name, branch_id, status, home) SELECT %s, "
                "'l', min(id), '正式', ST_SetSRID(ST_MakePoint(%s, %s), 4326) FROM organisations",
                (f"lonely{i}", lonely[0] + 0.0001 * i, lonely[1]),
            )
    x0, y0, _, y1 = BBOX
    edges = [LON0 + (N - 1) * DLON + 0.0002 * k for k in range(0, 9)]  # across the lonely homes
    figures: list[int | None] = []
    exact: list[int] = []
    with (
        planner_client(grid["url"], Principal(role="planner", username="p")) as c,
        psycopg.connect(grid["url"]) as conn,
    ):
        for east, res in [(e, 10) for e in edges] + [(edges[0], 9), (edges[-1], 9)]:
            bbox = f"{x0},{y0},{east},{y1}"
            r = c.get("/api/accessibility", params={"bbox": bbox, "res": res, "members": True})
            assert r.status_code == 200, r.text
            shares = r.json()["members"]
            total = shares["members"]
            figures.append(total)
            for pct in shares["share_within_pct"].values():
                if pct is not None:
                    figures.append(from_share(pct, total))
            exact.append(conn.execute(
                "SELECT count(*) FROM members WHERE home && ST_MakeEnvelope(%s, %s, %s, %s, 4326)",
                (x0, y0, east, y1)).fetchone()[0])  # fmt: skip
    assert_published(figures)
    assert all(f is None or f % K == 0 for f in figures)
    assert small_differences(exact)  # the edge did cross the 3 lonely homes one by one


# -- organisation health: the children's mean over their member counts ---------------------------


def test_a_parents_mean_tells_no_more_than_its_childrens_size_classes() -> None:
    """Two branches' scores and their parent's mean gave the ratio of their counts (12 and 3:
    4 to 1); now every pair of counts with the same size classes gives the same mean."""
    top = OrgRecord(1, None, "党委", LONG_AGO, 0, 0, terms=[(date(2024, 1, 1), 5)])
    means: dict[tuple[Any, Any], set[float]] = {}
    for a, b in itertools.product((0, 1, 3, 9, 10, 12, 49), (0, 2, 3, 7, 11, 15, 40)):
        low = OrgRecord(2, 1, "党支部", LONG_AGO, a, 5)  # the branch members may vary: a, b
        high = OrgRecord(3, 1, "党支部", LONG_AGO, b, 5, terms=[(date(2025, 1, 1), 3)])
        scores = score_all({1: top, 2: low, 3: high}, defaults(), DAY)
        assert scores[2].score < scores[3].score  # their own scores do not move with a or b
        mean = scores[1].children_score
        assert mean is not None
        means.setdefault((size_class(a), size_class(b)), set()).add(round(mean, 9))
    assert all(len(m) == 1 for m in means.values()), means
    assert len({m for ms in means.values() for m in ms}) > 1  # still weighted, by size class
