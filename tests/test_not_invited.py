"""The invitation rule's last gaps (issue 12 §2-3), through HTTP on the real database:

- a registration of a member who may not attend (an outsider's, made before registration
  applied geo.scope.attendable: written here directly in SQL) admits to no check-in, geofenced,
  by the activity's QR code or by a scanned card (403 CheckinRefused.not_invited), is not
  counted, holds no place, never moves up the waitlist, and its member and the organiser see it
  as not_invited; an invited registered member still checks in;
- a leader bound to an organisation an activity invites (outside the organiser's subtree) is
  told the activity's `checkin.created` count (on the multiples of K: they do not organise it)
  and its `registration.changed`, counts only; an unrelated leader is told no check-in.

One app per test, its principal switched between requests (no app start per caller)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from live_world import LAT, LON, _member, _org, activity, client, make_world, member

from api.deps import get_principal
from geo.live.viewers import Viewer, shared_reach
from geo.privacy import K
from geo.scope import Principal


def as_(c: TestClient, who: Principal) -> TestClient:
    """The same app, now acting as `who`."""
    c.app.dependency_overrides[get_principal] = lambda: who  # type: ignore[attr-defined]
    return c


def leader(org: int) -> Principal:
    return Principal(role="leader", org_id=org, username=f"sec-{org}")


def _legacy(url: str, rows: list[tuple[int, int, str]]) -> None:
    """Registrations as an older djmap let anyone make them (oldest first, in list order)."""
    with psycopg.connect(url) as conn:
        for act, who, status in rows:
            conn.execute(
                "INSERT INTO registrations (activity_id, member_id, status, created_at)"
                " VALUES (%s, %s, %s, now() - interval '1 day')",
                (act, who, status),
            )


@pytest.fixture
def world(clean_db: str) -> dict[str, int]:
    """make_world (c1 ⊃ b1: m1..m3; c2 ⊃ b2: n1..n3; `run` by c1, on now) and `cap`, by c1, on
    now with one place; n1 registered for both and n2 waitlisted for `cap` before the rule."""
    ids = make_world(clean_db)
    ids["cap"] = activity(clean_db, "cap", ids["c1"], capacity=1)
    _legacy(
        clean_db,
        [
            (ids["run"], ids["n1"], "registered"),
            (ids["cap"], ids["n1"], "registered"),
            (ids["cap"], ids["n2"], "waitlisted"),
        ],
    )
    return ids


def _refused(r: Any) -> None:
    assert r.status_code == 403, r.text
    assert r.json()["code"] == "CheckinRefused.not_invited", r.text


def test_a_legacy_outsider_registration_admits_no_check_in(
    clean_db: str, world: dict[str, int], tmp_path: Path
) -> None:
    run, n1 = world["run"], member(world, "n1")
    with client(clean_db, leader(world["c1"]), tmp_path) as c:
        code = c.get(f"/api/activities/{run}/checkin-token").json()["token"]
        card = as_(c, n1).get("/api/me/card-token").json()["token"]
        # the outsider: geofenced, with the activity's code, and by the organiser's scan
        _refused(c.post(f"/api/activities/{run}/checkins", json={"lon": LON, "lat": LAT}))
        _refused(c.post("/api/checkins", json={"token": code}))
        scan = as_(c, leader(world["c1"])).post(
            f"/api/activities/{run}/checkins", json={"member_code": card}
        )
        _refused(scan)
        # an invited member registers and checks in with the code
        m1 = as_(c, member(world, "m1"))
        assert m1.post(f"/api/activities/{run}/registrations").status_code == 201
        r = m1.post("/api/checkins", json={"token": code})
        assert r.status_code == 201 and r.json()["method"] == "code", r.text
        # the organiser counts m1 only and lists n1 as not invited
        s = as_(c, leader(world["c1"])).get(f"/api/activities/{run}/registrations").json()
        assert (s["registered"], s["waitlisted"], s["attended"]) == (1, 0, 1)
        listed = {m["member_id"]: m["status"] for m in s["members"]}
        assert listed == {world["m1"]: "registered", world["n1"]: "not_invited"}
        # n1 sees both registrations as not invited, and `run` near by as such
        mine = as_(c, n1).get("/api/me/activities").json()
        assert {(x["activity_id"], x["status"], x["position"]) for x in mine["registrations"]} == {
            (run, "not_invited", None),
            (world["cap"], "not_invited", None),
        }
        assert {a["id"]: a["my_status"] for a in mine["nearby"]}[run] == "not_invited"
    with psycopg.connect(clean_db) as conn:
        ins = conn.execute("SELECT member_id FROM checkins WHERE activity_id = %s", (run,))
        assert ins.fetchall() == [(world["m1"],)]


def test_a_legacy_outsider_holds_no_place_and_never_moves_up(
    clean_db: str, world: dict[str, int], tmp_path: Path
) -> None:
    cap = world["cap"]
    url = f"/api/activities/{cap}/registrations"
    with client(clean_db, member(world, "m1"), tmp_path) as c:
        # n1's registration holds no place: m1 gets the only one; n2 waiting is not ahead of m2
        r = c.post(url)
        assert r.status_code == 201 and r.json()["status"] == "registered", r.text
        r = as_(c, member(world, "m2")).post(url)
        assert r.json() == {"activity_id": cap, "status": "waitlisted", "position": 1}, r.text
        # m1 cancels: m2 moves up, n2 stays where it was
        r = as_(c, member(world, "m1")).delete(f"{url}/me")
        assert r.status_code == 200, r.text
        s = as_(c, leader(world["c1"])).get(url).json()
        assert (s["registered"], s["waitlisted"]) == (1, 0)
    with psycopg.connect(clean_db) as conn:
        rows = conn.execute(
            "SELECT member_id, status FROM registrations WHERE activity_id = %s", (cap,)
        ).fetchall()
    assert dict(rows) == {
        world["n1"]: "registered",
        world["n2"]: "waitlisted",
        world["m1"]: "cancelled",
        world["m2"]: "registered",
    }


@pytest.fixture
def joint(clean_db: str) -> dict[str, int]:
    """make_world plus b3 under c1 with K members k1..; `joint`, by b1, on now, invites b3 (in
    c1's tree, outside b1's subtree)."""
    ids = make_world(clean_db)
    with psycopg.connect(clean_db) as conn:
        ids["b3"] = _org(conn, "b3", "党支部", ids["c1"], 116.402)
        for i in range(1, K + 1):
            ids[f"k{i}"] = _member(conn, f"k{i}", ids["b3"])
    ids["joint"] = activity(clean_db, "joint", ids["b1"])
    with psycopg.connect(clean_db) as conn:
        conn.execute(
            "INSERT INTO activity_invitations (activity_id, org_id) VALUES (%s, %s)",
            (ids["joint"], ids["b3"]),
        )
        for i in range(1, K - 1):  # K - 2 check-ins already (their events are not these tests')
            conn.execute(
                "INSERT INTO checkins (activity_id, member_id, checked_at, method)"
                " VALUES (%s, %s, %s, 'code')",
                (ids["joint"], ids[f"k{i}"], datetime.now(UTC)),
            )
    return ids


def _counts(c: TestClient, who: Principal, act: int) -> dict[str, list[dict[str, Any]]]:
    """The data of each `checkin.created` and `registration.changed` of the activity that `who`
    is told by GET /api/events (JSON)."""
    r = as_(c, who).get("/api/events?last_event_id=0&limit=1000")
    assert r.status_code == 200, r.text
    told: dict[str, list[dict[str, Any]]] = {"checkin.created": [], "registration.changed": []}
    for e in r.json()["events"]:
        if e["type"] in told and e["subject"] == f"activities/{act}":
            told[e["type"]].append(e["data"])
    return told


def test_an_invited_organisations_leader_is_told_the_counts(
    clean_db: str, joint: dict[str, int], tmp_path: Path
) -> None:
    act = joint["joint"]
    k = [Principal(role="member", member_id=joint[f"k{i}"]) for i in (K - 1, K)]
    with client(clean_db, k[0], tmp_path) as c:
        assert c.post(f"/api/activities/{act}/registrations").status_code == 201
        for who in k:  # the (K-1)th and the Kth check-in, each with its event
            r = as_(c, who).post(f"/api/activities/{act}/checkins", json={"lon": LON, "lat": LAT})
            assert r.status_code == 201, r.text
    with client(clean_db, leader(joint["b3"]), tmp_path) as c:  # a new app: every event stored
        invited = _counts(c, leader(joint["b3"]), act)
        organiser = _counts(c, leader(joint["b1"]), act)
        unrelated = _counts(c, leader(joint["b2"]), act)
        committee = _counts(c, leader(joint["c2"]), act)
        a_member = _counts(c, k[0], act)
    title = "活动joint"
    assert [d["count"] for d in organiser["checkin.created"]] == [K - 1, K]
    # the invited organisation's leader: the count on K only, never a member
    assert invited["checkin.created"] == [{"activity_id": act, "title": title, "count": K}]
    assert invited["registration.changed"] == organiser["registration.changed"] != []
    assert "members" not in invited["registration.changed"][0]
    assert unrelated["checkin.created"] == committee["checkin.created"] == []
    assert a_member["checkin.created"] == []  # check-ins are the leaders'


def test_the_reach_rule() -> None:
    """geo/live/viewers.py alone: a check-in's count reaches the leaders over the organisations
    an activity invites only on the multiples of K; the organiser's chain always."""
    reach = (3, 1, 8)  # invited 3 under 1, and 8 (a root)
    assert shared_reach("checkin.created", {"count": K}, reach) == reach
    assert shared_reach("checkin.created", {"count": 2 * K}, reach) == reach
    for count in (1, K - 1, K + 1, 0, None, True):
        assert shared_reach("checkin.created", {"count": count}, reach) is None, count
    assert shared_reach("activity.updated", {"count": K}, reach) is None
    assert shared_reach("checkin.created", {"count": K}, None) is None
    chain = (5, 1)  # the organiser 5, under 1
    leader_3, leader_5, leader_9 = (Viewer(rank=2, root=r) for r in (3, 5, 9))
    assert leader_3.sees("leader", 5, chain, (5, 3), reach)
    assert not leader_3.sees("leader", 5, chain, (5, 3), None)  # off the multiples of K
    assert leader_5.sees("leader", 5, chain, (5, 3), None)
    assert not leader_9.sees("leader", 5, chain, (5, 3), reach)
    assert not Viewer(rank=1, chain=frozenset({3, 1}), member=True).sees(
        "leader", 5, chain, (5, 3), reach
    )  # a member of the invited branch: check-ins are the leaders'
