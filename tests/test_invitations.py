"""Invited organisations (受邀组织, issue 12 §1): an activity invites organisations besides its
organiser (`invited_org_ids`, written with it through OGC API Features Part 4), and their members
may check in as the organiser's own (geofence, the activity's code, the organiser's scan) and are
offered it by /api/nearest. Everything through HTTP on the real database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from live_world import LAT, LON, _member, _org, client, make_world, member

from geo.scope import Principal

ITEMS = "/api/collections/activities/items"
FIELD = "invited_org_ids"


@pytest.fixture
def world(clean_db: str) -> dict[str, int]:
    """make_world's c1 ⊃ b1 (m1..) and c2 ⊃ b2 (n1..), and a second branch b3 under c1 with
    members k1..k3: inside c1's tree, outside b1's subtree."""
    ids = make_world(clean_db)
    with psycopg.connect(clean_db) as conn:
        ids["b3"] = _org(conn, "b3", "党支部", ids["c1"], 116.402)
        for name in ("k1", "k2", "k3"):
            ids[name] = _member(conn, name, ids["b3"])
        ids["audit_floor"] = conn.execute("SELECT coalesce(max(id), 0) FROM audit_log").fetchone()[
            0
        ]
    return ids


def k(ids: dict[str, int], name: str = "k1") -> Principal:
    """A member of b3."""
    return Principal(role="member", member_id=ids[name], org_id=ids["b3"], username=name)


def secretary(ids: dict[str, int], org: str = "c1") -> Principal:
    return Principal(role="leader", org_id=ids[org], username=f"sec-{org}")


def _feature(ids: dict[str, int], **props: Any) -> dict[str, Any]:
    """A running activity organised by b1 at (LON, LAT)."""
    now = datetime.now(UTC)
    base = {
        "title": "联合主题党日",
        "kind": "主题党日",
        "organiser_id": ids["b1"],
        "starts_at": (now - timedelta(minutes=30)).isoformat(),
        "ends_at": (now + timedelta(hours=2)).isoformat(),
    }
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [LON, LAT]},
        "properties": base | props,
    }


def _stored(url: str, activity: int) -> list[int]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT org_id FROM activity_invitations WHERE activity_id = %s ORDER BY org_id",
            (activity,),
        ).fetchall()
    return [r[0] for r in rows]


def _create(c: TestClient, ids: dict[str, int], **props: Any) -> tuple[int, str]:
    r = c.post(ITEMS, json=_feature(ids, **props))
    assert r.status_code == 201, r.text
    return int(r.json()["id"]), r.headers["ETag"]


def _code(url: str, ids: dict[str, int], act: int, home) -> str:
    with client(url, secretary(ids), home) as c:
        r = c.get(f"/api/activities/{act}/checkin-token")
    assert r.status_code == 200, r.text
    return str(r.json()["token"])


def _nearest(url: str, who: Principal) -> set[str]:
    with client(url, who) as c:
        params = {"lon": LON, "lat": LAT, "target": "activities", "k": 50}
        r = c.get("/api/nearest", params=params)
    assert r.status_code == 200, r.text
    return {x["name"] for x in r.json()["results"]}


def test_create_with_invitations(clean_db: str, world, tmp_path) -> None:
    with client(clean_db, secretary(world), tmp_path) as c:
        act, _ = _create(c, world, **{FIELD: [world["b3"], world["b3"]]})  # once each
        assert _stored(clean_db, act) == [world["b3"]]
        r = c.get(f"{ITEMS}/{act}")
        assert r.status_code == 200 and r.json()["properties"][FIELD] == [world["b3"]]
        plain, _ = _create(c, world, title="不邀请")
        assert c.get(f"{ITEMS}/{plain}").json()["properties"][FIELD] == []
        # the Chinese alias, and a secretary of a branch inviting a sibling branch of its tree
    with client(clean_db, secretary(world, "b1"), tmp_path) as c:
        by_alias, _ = _create(c, world, 受邀组织=[world["b3"], world["c1"]])
    assert _stored(clean_db, by_alias) == sorted([world["b3"], world["c1"]])
    with psycopg.connect(clean_db) as conn:
        after = conn.execute(
            "SELECT after FROM audit_log WHERE id > %s AND item_id = %s AND action = 'create'",
            (world["audit_floor"], act),
        ).fetchone()
    assert after is not None and after[0][FIELD] == [world["b3"]]  # audited with the write


def test_invited_members_check_in_outsiders_do_not(clean_db: str, world, tmp_path) -> None:
    with client(clean_db, secretary(world), tmp_path) as c:
        act, _ = _create(c, world, title="邀请三支部", **{FIELD: [world["b3"]]})
        other, _ = _create(c, world, title="只有一支部")
    # k1 (b3, invited) registers and checks in with the activity's code; not to `other`
    code = _code(clean_db, world, act, tmp_path)
    with client(clean_db, k(world), tmp_path) as c:
        assert c.post(f"/api/activities/{act}/registrations").status_code == 201
        r = c.post("/api/checkins", json={"token": code})
        assert r.status_code == 201, r.text
        assert r.json()["member_id"] == world["k1"]
        r = c.post(f"/api/activities/{other}/checkins", json={"lon": LON, "lat": LAT})
        assert r.status_code == 403 and r.json()["code"] == "CheckinRefused.not_invited"
    # geofenced without registering: invited is enough; n1 (c2's tree) is refused both ways
    with client(clean_db, k(world, "k2"), tmp_path) as c:
        r = c.post(f"/api/activities/{act}/checkins", json={"lon": LON, "lat": LAT})
        assert r.status_code == 201, r.text
    with client(clean_db, member(world, "n1"), tmp_path) as c:
        r = c.post(f"/api/activities/{act}/checkins", json={"lon": LON, "lat": LAT})
        assert r.status_code == 403 and r.json()["code"] == "CheckinRefused.not_invited"
        r = c.post("/api/checkins", json={"token": code})
        assert r.status_code == 403 and r.json()["code"] == "CheckinRefused.not_invited"
    # the organiser scans cards: k3's (b3) is admitted, n2's refused
    cards = {}
    for name, who in (("k3", k(world, "k3")), ("n2", member(world, "n2"))):
        with client(clean_db, who, tmp_path) as c:
            cards[name] = c.get("/api/me/card-token").json()["token"]
    with client(clean_db, secretary(world), tmp_path) as c:
        url = f"/api/activities/{act}/checkins"
        assert c.post(url, json={"member_code": cards["k3"]}).status_code == 201
        r = c.post(url, json={"member_code": cards["n2"]})
        assert r.status_code == 403 and r.json()["code"] == "CheckinRefused.not_invited"
    # /api/nearest offers the invited one to k1, neither to n1
    offered = _nearest(clean_db, k(world, "k3"))
    assert "邀请三支部" in offered and "只有一支部" not in offered

    assert not {"邀请三支部", "只有一支部"} & _nearest(clean_db, member(world, "n1"))


def test_bad_invitations_are_400_and_nothing_is_written(clean_db: str, world, tmp_path) -> None:
    with client(clean_db, secretary(world), tmp_path) as c:
        for value, code, where in (
            ([999_999], "unknown_org", 0),
            ([world["b3"], world["b2"]], "org_out_of_tree", 1),  # c2's tree
            ("b3", "bad_value", None),
            ([True], "bad_value", None),
            ([2**63], "bad_value", None),
            ([{"id": 1}], "bad_value", None),
        ):
            r = c.post(ITEMS, json=_feature(world, **{FIELD: value}))
            assert r.status_code == 400, (value, r.text)
            (problem,) = [e for e in r.json()["errors"] if e["code"] == code]
            loc = ["body", "properties", FIELD] + ([] if where is None else [where])
            assert problem["loc"] == loc, problem
        # one 400 lists an unknown organisation beside the other fields' problems
        r = c.post(ITEMS, json=_feature(world, capacity=-1, **{FIELD: [999_999]}))
        assert r.status_code == 400
        assert {"unknown_org"} < {e["code"] for e in r.json()["errors"]}
    # invitations are an activity's only
    with client(clean_db, Principal(role="admin", username="root"), tmp_path) as c:
        sp = {"code": "sp9", "name": "站", "kind": "党群服务站", FIELD: [world["b3"]]}
        r = c.post(
            "/api/collections/service_points/items", json=_feature(world) | {"properties": sp}
        )
    assert r.status_code == 400 and r.json()["errors"][0]["code"] == "unknown_property"
    with psycopg.connect(clean_db) as conn:
        assert conn.execute("SELECT count(*) FROM activity_invitations").fetchone() == (0,)
        assert conn.execute(
            "SELECT count(*) FROM activities WHERE title = '联合主题党日'"
        ).fetchone() == (0,)


def test_patch_and_put_change_the_invitations(clean_db: str, world, tmp_path) -> None:
    with psycopg.connect(clean_db) as conn:
        world["b4"] = _org(conn, "b4", "党支部", world["c1"], 116.403)
    with client(clean_db, secretary(world), tmp_path) as c:
        act, etag = _create(c, world)
        url = f"{ITEMS}/{act}"
        r = c.patch(url, json={"properties": {FIELD: [world["b3"]]}}, headers={"If-Match": etag})
        assert r.status_code == 200, r.text
        assert r.json()["properties"][FIELD] == [world["b3"]] and r.headers["ETag"] != etag
        etag = r.headers["ETag"]
        # a patch leaving them out keeps them; a bad one changes nothing
        r = c.patch(url, json={"properties": {"capacity": 40}}, headers={"If-Match": etag})
        assert r.status_code == 200 and r.json()["properties"][FIELD] == [world["b3"]]
        etag = r.headers["ETag"]
        bad = {"properties": {FIELD: [world["b2"]]}}
        assert c.patch(url, json=bad, headers={"If-Match": etag}).status_code == 400
        assert _stored(clean_db, act) == [world["b3"]]
        # k1 checks in while invited ...
        with client(clean_db, k(world), tmp_path) as member_c:
            check = member_c.post(f"/api/activities/{act}/checkins", json={"lon": LON, "lat": LAT})
            assert check.status_code == 201, check.text
        # ... b4 replaces b3 (the alias), then null removes them all
        patch = {"properties": {"受邀组织": [world["b4"]]}}
        r = c.patch(url, json=patch, headers={"If-Match": etag})
        assert r.status_code == 200 and r.json()["properties"][FIELD] == [world["b4"]]
        r = c.patch(
            url, json={"properties": {FIELD: None}}, headers={"If-Match": r.headers["ETag"]}
        )
        assert r.status_code == 200 and r.json()["properties"][FIELD] == []
        # PUT is the whole item: with them it sets them, without them it invites none
        whole = r.json()
        whole["properties"][FIELD] = [world["b3"], world["b4"]]
        r = c.put(url, json=whole, headers={"If-Match": r.headers["ETag"]})
        assert r.status_code == 200, r.text
        assert r.json()["properties"][FIELD] == sorted([world["b3"], world["b4"]])
        whole["properties"].pop(FIELD)
        r = c.put(url, json=whole, headers={"If-Match": r.headers["ETag"]})
        assert r.status_code == 200 and r.json()["properties"][FIELD] == []
    with client(clean_db, k(world, "k2"), tmp_path) as c:  # b3 is invited no more
        r = c.post(f"/api/activities/{act}/checkins", json={"lon": LON, "lat": LAT})
    assert r.status_code == 403 and r.json()["code"] == "CheckinRefused.not_invited"
    with psycopg.connect(clean_db) as conn:
        actions = conn.execute(
            "SELECT action, after->'invited_org_ids' FROM audit_log WHERE id > %s AND item_id = %s"
            " ORDER BY id",
            (world["audit_floor"], act),
        ).fetchall()
    assert [a for a, _ in actions] == [
        "create",
        "update",
        "update",
        "update",
        "update",
        "replace",
        "replace",
    ]
    assert actions[-1][1] == [] and actions[-2][1] == sorted([world["b3"], world["b4"]])


def test_invitations_have_a_data_version(clean_db: str, world, tmp_path) -> None:
    """A write of invitations moves their data version (the activities layer's tiles and items
    key on it)."""
    query = "SELECT version FROM data_versions WHERE table_name = 'activity_invitations'"
    with psycopg.connect(clean_db) as conn:
        before = conn.execute(query).fetchone()
    with client(clean_db, secretary(world), tmp_path) as c:
        _create(c, world, **{FIELD: [world["b3"]]})
    with psycopg.connect(clean_db) as conn:
        after = conn.execute(query).fetchone()
    assert before is not None and after is not None and after[0] > before[0]


def test_revision_0012_down_and_up(db_url: str) -> None:
    """0012's downgrade drops the table and its data version; upgrading makes them again."""
    from geo import db as geodb

    check = (
        "SELECT to_regclass('activity_invitations') IS NOT NULL,"
        " (SELECT count(*) FROM data_versions WHERE table_name = 'activity_invitations')"
    )
    geodb.downgrade(db_url, "0011")
    try:
        with psycopg.connect(db_url) as conn:
            assert conn.execute(check).fetchone() == (False, 0)
    finally:
        geodb.migrate(db_url)
    with psycopg.connect(db_url) as conn:
        assert conn.execute(check).fetchone() == (True, 1)


def _told(url: str, who: Principal, home) -> set[tuple[str, str]]:
    """(type, subject) of the activity and registration events `who` gets from /api/events."""
    with client(url, who, home) as c:
        r = c.get("/api/events?last_event_id=0&limit=1000", headers={"Accept": "application/json"})
    assert r.status_code == 200, r.text
    kinds = ("activity.", "registration.", "checkin.")
    return {(e["type"], e["subject"]) for e in r.json()["events"] if e["type"].startswith(kinds)}


def _offered(url: str, who: Principal, home) -> set[str]:
    with client(url, who, home) as c:
        r = c.get("/api/me/activities")
    assert r.status_code == 200, r.text
    return {a["title"] for a in r.json()["nearby"]}


def test_members_register_are_offered_and_told_by_the_one_rule(
    clean_db: str, world, tmp_path
) -> None:
    """Registration, the member's list and the live events follow geo.scope.attendable: b1's
    (organiser's) and b3's (invited) members alike, n1 (c2's tree) nothing; the public is no
    member and sees every public activity."""
    with client(clean_db, secretary(world), tmp_path) as c:
        act, _ = _create(c, world, title="邀请三支部", **{FIELD: [world["b3"]]})
        other, etag = _create(c, world, title="只有一支部")
        r = c.request("DELETE", f"{ITEMS}/{other}", headers={"If-Match": etag})
        assert r.status_code in (200, 204), r.text  # no registrations: deleted, told as cancelled
        later, _ = _create(c, world, title="一支部稍后")
    for who, target, status in (
        (k(world), act, 201),
        (member(world, "m1"), act, 201),
        (k(world, "k2"), later, 403),
        (member(world, "n1"), act, 403),
    ):
        with client(clean_db, who, tmp_path) as c:
            r = c.post(f"/api/activities/{target}/registrations")
        assert r.status_code == status, (who, r.text)
        assert status == 201 or r.json()["code"] == "Registration.not_invited"
    # the member's list of activities near by
    # (run is c1's own: b3 lies under c1; b1's `later` does not reach b3)
    assert _offered(clean_db, k(world, "k2"), tmp_path) == {"邀请三支部", "活动run"}
    assert _offered(clean_db, member(world, "m2"), tmp_path) == {
        "邀请三支部",
        "一支部稍后",
        "活动run",
    }
    assert _offered(clean_db, member(world, "n1"), tmp_path) == set()
    # the live events: the invited member is told what the organiser's member is of `act`
    about = {
        name: {
            ("activity.created", f"activities/{i}"),
        }
        for name, i in (("act", act), ("other", other), ("later", later))
    }
    about["act"] |= {("registration.changed", f"activities/{act}")}
    about["other"] |= {("activity.cancelled", f"activities/{other}")}
    assert _told(clean_db, k(world, "k3"), tmp_path) == about["act"]
    everything = about["act"] | about["other"] | about["later"]
    assert _told(clean_db, member(world, "m3"), tmp_path) == everything
    assert _told(clean_db, member(world, "n2"), tmp_path) == set()
    assert _told(clean_db, Principal(), tmp_path) == everything  # anonymous: every public one
    assert {"邀请三支部", "一支部稍后"} <= _nearest(clean_db, Principal())
