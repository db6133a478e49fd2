"""Registrations (报名): capacity and waitlist, cancelling moves the waitlist up, who sees names
and who sees privacy-safe counts, GET /api/me/activities, and the events every change writes."""

from __future__ import annotations

import asyncio
import json

import asyncpg
import psycopg
import pytest
from live_world import HOME, activity, client, events_of, make_world, member

from geo.live import registrations as core
from geo.scope import Principal


@pytest.fixture
def world(clean_db: str) -> dict[str, int]:
    return make_world(clean_db, members_per_branch=12)


def _register(url: str, ids: dict[str, int], who: str, act: int) -> dict:
    with client(url, member(ids, who)) as c:
        r = c.post(f"/api/activities/{act}/registrations")
    assert r.status_code == 201, r.text
    return r.json()


def _statuses(url: str, act: int) -> dict[int, str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT member_id, status FROM registrations WHERE activity_id = %s", (act,)
        ).fetchall()
    return dict(rows)


def test_register_once_then_409(clean_db: str, world) -> None:
    with client(clean_db, member(world, "m1")) as c:
        r = c.post(f"/api/activities/{world['run']}/registrations")
        assert r.status_code == 201 and r.json() == {
            "activity_id": world["run"],
            "status": "registered",
            "position": None,
        }
        again = c.post(f"/api/activities/{world['run']}/registrations")
    assert again.status_code == 409
    assert again.json()["code"] == "Registration.already_registered"


def test_full_activity_waitlists_and_cancel_moves_the_first_up(clean_db: str, world) -> None:
    act = activity(clean_db, "small", world["c1"], capacity=2)
    assert _register(clean_db, world, "m1", act)["status"] == "registered"
    assert _register(clean_db, world, "m5", act)["status"] == "registered"
    third = _register(clean_db, world, "m2", act)
    fourth = _register(clean_db, world, "m3", act)
    assert third == {"activity_id": act, "status": "waitlisted", "position": 1}
    assert fourth["position"] == 2
    with client(clean_db, member(world, "m1")) as c:
        r = c.delete(f"/api/activities/{act}/registrations/me")
        assert r.status_code == 200 and r.json()["status"] == "cancelled"
        assert c.delete(f"/api/activities/{act}/registrations/me").status_code == 404
    assert _statuses(clean_db, act) == {
        world["m1"]: "cancelled",
        world["m5"]: "registered",
        world["m2"]: "registered",
        world["m3"]: "waitlisted",
    }
    with client(clean_db, member(world, "m3")) as c:
        mine = c.get("/api/me/activities").json()
    (reg,) = [r for r in mine["registrations"] if r["activity_id"] == act]
    assert reg["status"] == "waitlisted" and reg["position"] == 1
    # registering again after cancelling queues at the end
    assert _register(clean_db, world, "m1", act) == {
        "activity_id": act,
        "status": "waitlisted",
        "position": 2,
    }


def test_concurrent_registrations_keep_the_capacity(clean_db: str, world) -> None:
    act = activity(clean_db, "rush", world["c1"], capacity=5)
    people = [world[f"m{i}"] for i in range(1, 13)]

    async def go() -> list[core.Registration]:
        pool = await asyncpg.create_pool(clean_db, min_size=6, max_size=6)
        try:

            async def one(member_id: int) -> core.Registration:
                async with pool.acquire() as conn:
                    return await core.register(conn, act, member_id)

            return list(await asyncio.gather(*(one(m) for m in people)))
        finally:
            await pool.close()

    results = asyncio.run(go())
    registered = [r for r in results if r.status == "registered"]
    waiting = sorted(r.position or 0 for r in results if r.status == "waitlisted")
    assert len(registered) == 5 and waiting == list(range(1, 8))


def test_refusals(clean_db: str, world) -> None:
    gone = activity(clean_db, "gone", world["c1"], status="cancelled")
    over = activity(clean_db, "over", world["c1"], start_min=-120, end_min=-1)
    with client(clean_db, member(world, "m1")) as c:
        r = c.post(f"/api/activities/{gone}/registrations")
        assert r.status_code == 409 and r.json()["code"] == "Registration.activity_cancelled"
        r = c.post(f"/api/activities/{over}/registrations")
        assert r.status_code == 409 and r.json()["code"] == "Registration.ended"
    with client(clean_db, member(world, "n1")) as c:  # c2's tree: may attend none of c1's
        for act in (world["run"], gone):  # refused before the activity's state is told
            r = c.post(f"/api/activities/{act}/registrations")
            assert r.status_code == 403 and r.json()["code"] == "Registration.not_invited"
            assert "not invited" in r.json()["description"]
    with client(clean_db, member(world, "m1")) as c:
        assert c.post("/api/activities/999999/registrations").status_code == 404
        assert c.get("/api/activities/999999/registrations").status_code == 404
    with client(clean_db, Principal()) as c:
        r = c.post(f"/api/activities/{world['run']}/registrations")
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        assert c.get("/api/me/activities").status_code == 401
    with client(clean_db, Principal(role="leader", org_id=world["c1"])) as c:
        assert c.post(f"/api/activities/{world['run']}/registrations").status_code == 403


def _summary(url: str, principal: Principal, act: int) -> dict:
    with client(url, principal) as c:
        r = c.get(f"/api/activities/{act}/registrations")
    assert r.status_code == 200, r.text
    return r.json()


def test_organiser_sees_names_others_see_safe_counts(clean_db: str, world) -> None:
    act = world["run"]
    for name in ("m1", "m2", "m3"):
        _register(clean_db, world, name, act)
    organiser = _summary(clean_db, Principal(role="leader", org_id=world["c1"]), act)
    assert organiser["registered"] == 3 and organiser["attended"] == 0
    assert [m["name"] for m in organiser["members"]] == ["党员m1", "党员m2", "党员m3"]
    assert organiser["members"][0]["branch"] == "b1支部"
    for who in (
        member(world, "m1"),
        Principal(),
        Principal(role="leader", org_id=world["c2"]),  # leads another tree
        Principal(role="planner", org_id=world["c1"]),
    ):
        body = _summary(clean_db, who, act)
        assert body["members"] is None
        assert body["registered"] is None and body["fewer_than"] == 10
        assert body["waitlisted"] is None  # held back with it (a waitlist means: full)
        assert body["attended"] == 0
    for i in range(4, 13):
        _register(clean_db, world, f"m{i}", act)
    public = _summary(clean_db, Principal(), act)
    assert public["registered"] == 12 and public["members"] is None
    assert "fewer_than" not in public or public["fewer_than"] is None
    assert _summary(clean_db, Principal(role="admin"), act)["members"] is not None


def test_organiser_cancels_a_member_others_may_not(clean_db: str, world) -> None:
    act = world["run"]
    _register(clean_db, world, "m2", act)
    url = f"/api/activities/{act}/registrations/{world['m2']}"
    with client(clean_db, Principal(role="leader", org_id=world["c2"])) as c:
        assert c.delete(url).status_code == 403
    with client(clean_db, member(world, "m1")) as c:
        assert c.delete(url).status_code == 403
    with client(clean_db, Principal()) as c:
        assert c.delete(url).status_code == 401
    with client(clean_db, Principal(role="leader", org_id=world["b1"])) as c:
        assert c.delete(url).status_code == 403  # a branch below the organiser
    with client(clean_db, Principal(role="leader", org_id=world["c1"])) as c:
        r = c.delete(url)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert _statuses(clean_db, act) == {world["m2"]: "cancelled"}


def test_every_change_writes_a_privacy_safe_event(clean_db: str, world) -> None:
    act = activity(clean_db, "ev", world["c1"], capacity=1)
    _register(clean_db, world, "m1", act)
    _register(clean_db, world, "m2", act)
    with client(clean_db, member(world, "m1")) as c:
        c.delete(f"/api/activities/{act}/registrations/me")
    changes = events_of(clean_db, "registration.changed")
    assert len(changes) == 3
    for subject, org_id, audience, data in changes:
        assert subject == f"activities/{act}" and audience == "public" and org_id is None
        assert data["activity_id"] == act and data["capacity"] == 1
        assert data["registered"] is None and data["fewer_than"] == 10  # 1 member: held back
        assert set(data) == {"activity_id", "registered", "waitlisted", "capacity", "fewer_than"}
    # the waitlist is held back with the registered count: 1 waiting on a capacity of 1 would
    # tell that exactly 1 is registered
    assert [d["waitlisted"] for *_, d in changes] == [None, None, None]


def test_my_activities(clean_db: str, world) -> None:
    near = activity(clean_db, "near", world["c1"], start_min=60, end_min=120, lon=116.402)
    far = activity(clean_db, "far", world["c1"], start_min=60, end_min=120, lon=116.6)
    # another tree's, nearer than all: not offered to m1, who may not attend it (nor to n1 the
    # first tree's), as /api/nearest does
    theirs = activity(clean_db, "theirs", world["c2"], start_min=60, end_min=120, lon=116.4005)
    gone = activity(clean_db, "gone", world["c1"], start_min=60, end_min=120)
    _register(clean_db, world, "m1", gone)
    _register(clean_db, world, "m1", near)
    with psycopg.connect(clean_db) as conn:
        conn.execute(
            "UPDATE activities SET status = 'cancelled', cancel_reason = '场地维修' WHERE id = %s",
            (gone,),
        )
        conn.execute(
            "INSERT INTO checkins (activity_id, member_id, distance_m, method) VALUES (%s, %s, 3, 'code')",
            (world["run"], world["m1"]),
        )
    with client(clean_db, member(world, "m1")) as c:
        r = c.get("/api/me/activities")
        given = c.get("/api/me/activities", params={"lon": 116.6, "lat": LAT_FAR})
        half = c.get("/api/me/activities", params={"lon": 116.6})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["member"]["branch"] == "b1支部" and body["attended_this_year"] == 1
    regs = {x["activity_id"]: x for x in body["registrations"]}
    assert regs[gone]["activity_status"] == "cancelled"
    assert regs[gone]["cancel_reason"] == "场地维修"
    assert regs[near]["status"] == "registered"
    nearby = [a["id"] for a in body["nearby"]]
    assert body["nearby_from"] == "branch" and gone not in nearby
    assert nearby.index(near) < nearby.index(far)
    assert {a["id"]: a["my_status"] for a in body["nearby"]}[near] == "registered"
    assert given.json()["nearby_from"] == "point" and given.json()["nearby"][0]["id"] == far
    assert half.status_code == 400
    assert theirs not in nearby and theirs not in [a["id"] for a in given.json()["nearby"]]
    with client(clean_db, member(world, "n1")) as c:
        theirs_near = c.get("/api/me/activities").json()["nearby"]
    assert [a["id"] for a in theirs_near] == [theirs]  # c2's own: near, far and run are c1's
    text = json.dumps([body, given.json()])
    assert str(HOME[0]) not in text and str(HOME[1]) not in text


LAT_FAR = 39.90


def _waitlist_events(url: str, act: int) -> list[tuple[str, dict]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT type, data FROM events WHERE subject = %s AND type <> 'data.changed' "
            "ORDER BY id",
            (f"activities/{act}",),
        ).fetchall()
    return [(r[0], r[1]) for r in rows]


def test_a_write_raising_the_capacity_moves_the_waitlist_up_in_order(clean_db: str, world) -> None:
    act = activity(clean_db, "grow", world["c1"], capacity=2)
    for who in ("m1", "m5", "m2", "m3", "m4"):
        _register(clean_db, world, who, act)
    url = f"/api/collections/activities/items/{act}"
    secretary = Principal(role="leader", org_id=world["c1"], username="sec-c1")
    with psycopg.connect(clean_db) as conn:
        conn.execute("DELETE FROM events")  # the registrations' own events are tested above
    with client(clean_db, secretary) as c:
        etag = c.get(url).headers["etag"]
        r = c.patch(url, json={"properties": {"人数上限": 4}}, headers={"If-Match": etag})
        assert r.status_code == 200, r.text
        r = c.patch(  # neither raised nor lowered: nobody moves, no registration.changed
            url,
            json={"properties": {"description": "带笔记本"}},
            headers={"If-Match": r.headers["etag"]},
        )
        assert r.status_code == 200, r.text
    assert _statuses(clean_db, act) == {
        world["m1"]: "registered",
        world["m5"]: "registered",
        world["m2"]: "registered",
        world["m3"]: "registered",
        world["m4"]: "waitlisted",  # the last to come still waits, first in line now
    }
    kinds = [kind for kind, _ in _waitlist_events(clean_db, act)]
    assert kinds == ["activity.updated", "registration.changed", "activity.updated"]
    changed = _waitlist_events(clean_db, act)[1][1]
    assert changed["capacity"] == 4 and changed["registered"] is None  # 4 < K: held back
    assert changed["fewer_than"] == 10
    with client(clean_db, member(world, "m4")) as c:
        mine = c.get("/api/me/activities").json()
    (reg,) = [r for r in mine["registrations"] if r["activity_id"] == act]
    assert reg["status"] == "waitlisted" and reg["position"] == 1
    with client(clean_db, secretary) as c:  # PUT without a capacity lifts the limit
        got = c.get(url)
        props = {k: v for k, v in got.json()["properties"].items() if k != "capacity"}
        feature = {"type": "Feature", "geometry": got.json()["geometry"], "properties": props}
        r = c.put(url, json=feature, headers={"If-Match": got.headers["etag"]})
        assert r.status_code == 200, r.text
        assert r.json()["properties"].get("capacity") is None
        summary = c.get(f"/api/activities/{act}/registrations").json()
    assert summary["registered"] == 5 and summary["waitlisted"] == 0
    assert _statuses(clean_db, act)[world["m4"]] == "registered"
    assert [k for k, _ in _waitlist_events(clean_db, act)][-2:] == [
        "activity.updated",
        "registration.changed",
    ]


def test_a_cancelled_activitys_waitlist_stays_when_its_capacity_is_raised(
    clean_db: str, world
) -> None:
    act = activity(clean_db, "shut", world["c1"], capacity=1)
    _register(clean_db, world, "m1", act)
    _register(clean_db, world, "m2", act)
    url = f"/api/collections/activities/items/{act}"
    with client(clean_db, Principal(role="leader", org_id=world["c1"], username="sec")) as c:
        r = c.request(
            "DELETE", url, headers={"If-Match": c.get(url).headers["etag"]}, json={"reason": "暴雨"}
        )
        assert r.status_code == 200, r.text
        r = c.patch(
            url, json={"properties": {"capacity": 5}}, headers={"If-Match": r.headers["etag"]}
        )
        assert r.status_code == 200, r.text
    assert _statuses(clean_db, act)[world["m2"]] == "waitlisted"
