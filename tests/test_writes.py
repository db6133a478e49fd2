"""OGC API Features Part 4 on the real database: create, replace, merge patch, delete/cancel,
ETags (412/428), the import's validation (aliases, Beijing time, reason codes), scope, the audit
and the activity.* events written in the same transaction."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.deps import get_principal
from api.settings import Settings
from geo.live import writes
from geo.scope import Principal
from geo.settings import DatabaseSettings

LON, LAT = 120.20, 30.25
ITEMS = "/api/collections/activities/items"
SP_ITEMS = "/api/collections/service_points/items"
ORG_ITEMS = "/api/collections/organisations/items"


def _point(lon: float = LON, lat: float = LAT) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [lon, lat]}


@pytest.fixture
def world(clean_db: str) -> dict[str, int]:
    """c1 → b1 and c2 → b2; a service point per committee; member m1 in b1; activities a1 (b1),
    a2 (b2)."""
    ids: dict[str, int] = {}
    soon = datetime.now(UTC) + timedelta(days=3)
    with psycopg.connect(clean_db) as conn:

        def one(query: str, args: tuple[Any, ...]) -> int:
            row = conn.execute(query, args).fetchone()
            assert row is not None
            return int(row[0])

        org = (
            "INSERT INTO organisations (code, name, type, parent_id, geom) VALUES "
            "(%s, %s, %s, %s, ST_SetSRID(ST_MakePoint(120.2, 30.25), 4326)) RETURNING id"
        )
        ids["c1"] = one(org, ("c1", "一号党委", "党委", None))
        ids["b1"] = one(org, ("b1", "一支部", "党支部", ids["c1"]))
        ids["c2"] = one(org, ("c2", "二号党委", "党委", None))
        ids["b2"] = one(org, ("b2", "二支部", "党支部", ids["c2"]))
        sp = (
            "INSERT INTO service_points (code, name, kind, org_id, geom) VALUES "
            "(%s, %s, '党群服务站', %s, ST_SetSRID(ST_MakePoint(%s, %s), 4326)) RETURNING id"
        )
        ids["sp1"] = one(sp, ("sp1", "一站", ids["c1"], 120.21, 30.26))
        ids["sp2"] = one(sp, ("sp2", "二站", ids["c2"], 120.3, 30.3))
        ids["m1"] = one(
            "INSERT INTO members (external_id, name, branch_id, status) "
            "VALUES ('m1', '党员甲', %s, '正式') RETURNING id",
            (ids["b1"],),
        )
        act = (
            "INSERT INTO activities (code, title, kind, organiser_id, starts_at, ends_at, geom) "
            "VALUES (%s, %s, '学习', %s, %s, %s, ST_SetSRID(ST_MakePoint(120.2, 30.25), 4326)) "
            "RETURNING id"
        )
        span = (soon, soon + timedelta(hours=2))
        ids["a1"] = one(act, ("a1", "学习会", ids["b1"], *span))
        ids["a2"] = one(act, ("a2", "二支部学习会", ids["b2"], *span))
        # audit_log is append-only (never emptied): this test's rows are those after this one
        ids["audit_floor"] = one("SELECT coalesce(max(id), 0) FROM audit_log", ())
    return ids


class Caller:
    """One app for a test; `as_(principal)` switches who is calling."""

    def __init__(self, client: TestClient, app: Any) -> None:
        self.client = client
        self.app = app

    def as_(self, principal: Principal) -> TestClient:
        self.app.dependency_overrides[get_principal] = lambda: principal
        return self.client


@pytest.fixture
def api(clean_db: str, world: dict[str, int], tmp_path) -> Iterator[Caller]:
    app = create_app(Settings(db=DatabaseSettings(database_url=clean_db, home=tmp_path)))
    with TestClient(app) as client:
        yield Caller(client, app)


def secretary(world: dict[str, int]) -> Principal:
    return Principal(role="leader", org_id=world["b1"], username="sec-b1")


ADMIN = Principal(role="admin", username="root")


def _events(url: str, since: int) -> list[tuple[str, str, int | None, str, dict[str, Any]]]:
    """The events written after `since`, but the live worker's `data.changed` (it announces the
    write's new data version a moment later, and a CI run read one here: tests/test_events*)."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT type, subject, org_id, audience, data FROM events "
            "WHERE id > %s AND type <> 'data.changed' ORDER BY id",
            (since,),
        ).fetchall()
    return [(r[0], r[1], r[2], r[3], r[4]) for r in rows]


def _last_event(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()
    assert row is not None
    return int(row[0])


def _audit(
    url: str, item: int, since: int, collection: str = "activities"
) -> list[tuple[Any, ...]]:
    """The audit rows of an item written after `since` (ids restart with the emptied tables)."""
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT action, actor, actor_role, before, after, request_id FROM audit_log "
            "WHERE collection = %s AND item_id = %s AND id > %s ORDER BY id",
            (collection, item, since),
        ).fetchall()


def _new_activity(**props: Any) -> dict[str, Any]:
    base = {
        "标题": "主题党日：垃圾分类",
        "类型": "志愿服务",
        "开始时间": "2026-12-12 09:00",
        "结束时间": "2026-12-12T11:00:00+08:00",
        "人数上限": 30,
    }
    return {"type": "Feature", "geometry": _point(), "properties": {**base, **props}}


def test_secretary_creates_an_activity_with_aliases_and_beijing_time(
    api: Caller, world: dict[str, int], clean_db: str
) -> None:
    since = _last_event(clean_db)
    c = api.as_(secretary(world))
    r = c.post(ITEMS, json=_new_activity(), headers={"X-Request-ID": "req-create-1"})
    assert r.status_code == 201, r.text
    body = r.json()
    fid = body["id"]
    assert r.headers["location"].endswith(f"{ITEMS}/{fid}")
    assert r.headers["x-request-id"] == "req-create-1"
    assert body["properties"]["organiser_id"] == world["b1"]  # defaults to the secretary's
    assert body["properties"]["starts_at"].startswith("2026-12-12T01:00:00")  # naive = Beijing
    assert body["properties"]["code"].startswith("ACT-")
    got = c.get(f"{ITEMS}/{fid}")
    assert got.status_code == 200 and got.headers["etag"] == r.headers["etag"]
    [(action, actor, role, before, after, rid)] = _audit(clean_db, fid, world["audit_floor"])
    assert (action, actor, role, before, rid) == (
        "create",
        "sec-b1",
        "leader",
        None,
        "req-create-1",
    )
    assert after["title"] == "主题党日：垃圾分类" and after["geometry"]["type"] == "Point"
    [(kind, subject, org, audience, data)] = _events(clean_db, since)
    assert (kind, subject, org, audience) == (
        "activity.created",
        f"activities/{fid}",
        world["b1"],
        "public",
    )
    assert data["id"] == fid and data["layer"] == "activities" and data["status"] == "scheduled"
    assert set(data) == {*writes.EVENT_FIELDS, "status", "layer"}
    assert "name" not in data and "members" not in json.dumps(data)


def test_bad_features_are_400_with_the_imports_reason_codes(
    api: Caller, world: dict[str, int], clean_db: str
) -> None:
    c = api.as_(secretary(world))
    feature = _new_activity(
        开始时间="next tuesday", 组织者="no-such-org", colour="red", 人数上限=-3, title=None
    )
    feature["properties"].pop("标题")
    r = c.post(ITEMS, json=feature)
    assert r.status_code == 400, r.text
    codes = {(e["code"], e["loc"][-1]) for e in r.json()["errors"]}
    assert ("bad_datetime", "开始时间") in codes
    assert ("unknown_organiser", "组织者") in codes
    assert ("unknown_property", "colour") in codes
    assert ("negative_capacity", "人数上限") in codes
    assert ("missing_required", "title") in codes
    backwards = _new_activity(结束时间="2026-12-12T08:00")
    r = c.post(ITEMS, json=backwards)
    assert r.status_code == 400 and r.json()["errors"][0]["code"] == "end_before_start"
    far = _new_activity()
    far["geometry"] = _point(30.25, 120.2)
    r = c.post(ITEMS, json=far)
    assert r.status_code == 400 and r.json()["errors"][0]["code"] == "lonlat_swapped"
    with psycopg.connect(clean_db) as conn:
        assert conn.execute("SELECT count(*) FROM activities").fetchone() == (2,)


def test_an_activity_at_a_service_point_takes_its_place(api: Caller, world: dict[str, int]) -> None:
    feature = _new_activity(服务点="sp1")
    feature["geometry"] = None
    r = api.as_(secretary(world)).post(ITEMS, json=feature)
    assert r.status_code == 201, r.text
    assert r.json()["geometry"]["coordinates"] == [120.21, 30.26]
    assert r.json()["properties"]["service_point_id"] == world["sp1"]
    # a service point that does not exist is the import's 400, by the same reason code
    feature["properties"]["服务点"] = "sp404"
    r = api.as_(secretary(world)).post(ITEMS, json=feature)
    assert r.status_code == 400, r.text
    assert "unknown_service_point" in {e["code"] for e in r.json()["errors"]}


def test_put_needs_the_current_etag(api: Caller, world: dict[str, int], clean_db: str) -> None:
    c = api.as_(secretary(world))
    url = f"{ITEMS}/{world['a1']}"
    got = c.get(url)
    etag = got.headers["etag"]
    feature = {
        "type": "Feature",
        "geometry": got.json()["geometry"],
        "properties": {**got.json()["properties"], "title": "学习会（改）"},
    }
    r = c.put(url, json=feature)
    assert r.status_code == 428 and r.json()["code"] == "PreconditionRequired"
    r = c.put(url, json=feature, headers={"If-Match": '"stale"'})
    assert r.status_code == 412 and r.json()["code"] == "PreconditionFailed"
    since = _last_event(clean_db)
    r = c.put(url, json=feature, headers={"If-Match": etag})
    assert r.status_code == 200, r.text
    assert r.json()["properties"]["title"] == "学习会（改）"
    assert r.headers["etag"] != etag and c.get(url).headers["etag"] == r.headers["etag"]
    again = c.put(url, json=feature, headers={"If-Match": etag})  # the old ETag is stale now
    assert again.status_code == 412
    [(kind, *_rest, data)] = _events(clean_db, since)
    assert kind == "activity.updated" and data["title"] == "学习会（改）"
    [*_, (action, _, _, before, after, _)] = _audit(clean_db, world["a1"], world["audit_floor"])
    assert action == "replace" and before["title"] == "学习会" and after["title"] == "学习会（改）"


def test_patch_is_a_merge_patch(api: Caller, world: dict[str, int]) -> None:
    c = api.as_(secretary(world))
    url = f"{ITEMS}/{world['a1']}"
    etag = c.get(url).headers["etag"]
    patch = {"properties": {"capacity": 40, "描述": "带笔记本", "organiser_id": world["b1"]}}
    r = c.patch(url, json=patch, headers={"If-Match": etag})
    assert r.status_code == 200, r.text
    props = r.json()["properties"]
    assert props["capacity"] == 40 and props["description"] == "带笔记本"
    assert props["title"] == "学习会" and r.json()["geometry"]["coordinates"] == [120.2, 30.25]
    r = c.patch(
        url,
        json={"properties": {"description": None}, "geometry": _point(120.25, 30.27)},
        headers={"If-Match": r.headers["etag"], "Content-Type": "application/merge-patch+json"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["properties"].get("description") is None
    assert r.json()["geometry"]["coordinates"] == [120.25, 30.27]
    r = c.patch(
        url, json={"properties": {"status": "cancelled"}}, headers={"If-Match": r.headers["etag"]}
    )
    assert r.status_code == 400 and r.json()["errors"][0]["code"] == "read_only"


def test_delete_without_sign_ups_removes_and_announces(
    api: Caller, world: dict[str, int], clean_db: str
) -> None:
    c = api.as_(secretary(world))
    url = f"{ITEMS}/{world['a1']}"
    since = _last_event(clean_db)
    r = c.delete(url, headers={"If-Match": c.get(url).headers["etag"]})
    assert r.status_code == 204, r.text
    assert c.get(url).status_code == 404
    [(kind, *_rest, data)] = _events(clean_db, since)
    assert kind == "activity.cancelled" and data["deleted"] is True
    assert _audit(clean_db, world["a1"], world["audit_floor"])[-1][0] == "delete"


def test_delete_with_registrations_cancels_with_a_reason(
    api: Caller, world: dict[str, int], clean_db: str
) -> None:
    with psycopg.connect(clean_db) as conn:
        conn.execute(
            "INSERT INTO registrations (activity_id, member_id, status) VALUES (%s, %s, 'registered')",
            (world["a1"], world["m1"]),
        )
    c = api.as_(secretary(world))
    url = f"{ITEMS}/{world['a1']}"
    etag = c.get(url).headers["etag"]
    r = c.delete(url, headers={"If-Match": etag})
    assert r.status_code == 400 and r.json()["errors"][0]["loc"] == ["query", "reason"]
    since = _last_event(clean_db)
    r = c.request("DELETE", url, headers={"If-Match": etag}, json={"reason": "暴雨预警"})
    assert r.status_code == 200, r.text
    with psycopg.connect(clean_db) as conn:
        row = conn.execute(
            "SELECT a.status, a.cancel_reason, (SELECT count(*) FROM registrations r "
            "WHERE r.activity_id = a.id) FROM activities a WHERE a.id = %s",
            (world["a1"],),
        ).fetchone()
    assert row == ("cancelled", "暴雨预警", 1)
    [(kind, _s, org, audience, data)] = _events(clean_db, since)
    assert (kind, org, audience) == ("activity.cancelled", world["b1"], "public")
    assert data["status"] == "cancelled" and data["cancel_reason"] == "暴雨预警"
    assert _audit(clean_db, world["a1"], world["audit_floor"])[-1][0] == "cancel"
    again = c.delete(url + "?reason=x", headers={"If-Match": r.headers["etag"]})
    assert again.status_code == 409


def test_a_secretary_stays_in_the_subtree(api: Caller, world: dict[str, int]) -> None:
    c = api.as_(secretary(world))
    r = c.post(ITEMS, json=_new_activity(organiser_code="b2"))
    assert r.status_code == 403 and r.json()["code"] == "out_of_scope"
    assert c.get(f"{ITEMS}/{world['a2']}").status_code == 404
    r = c.patch(f"{ITEMS}/{world['a2']}", json={"properties": {}}, headers={"If-Match": '"x"'})
    assert r.status_code == 404
    url = f"{ITEMS}/{world['a1']}"
    etag = c.get(url).headers["etag"]
    moved = c.patch(
        url, json={"properties": {"organiser_id": world["c2"]}}, headers={"If-Match": etag}
    )
    assert moved.status_code == 403
    unknown = c.patch(
        url, json={"properties": {"organiser_id": 999999}}, headers={"If-Match": etag}
    )
    assert unknown.status_code == 400 and unknown.json()["errors"][0]["code"] == "unknown_organiser"


def test_stewards_write_service_points_and_organisations(
    api: Caller, world: dict[str, int], clean_db: str
) -> None:
    c = api.as_(Principal(role="steward", org_id=world["c1"], username="steward-c1"))
    sp = {
        "type": "Feature",
        "geometry": _point(),
        "properties": {
            "服务点编码": "sp9",
            "名称": "新站",
            "类型": "党员活动室",
            "所属组织": "b1",
            "容量": 20,
        },
    }
    r = c.post(SP_ITEMS, json=sp)
    assert r.status_code == 201, r.text
    assert (
        _audit(clean_db, r.json()["id"], world["audit_floor"], "service_points")[0][0] == "create"
    )
    other = c.get(f"{SP_ITEMS}/{world['sp2']}")  # a public place: visible, not writable
    assert other.status_code == 200
    r = c.patch(
        f"{SP_ITEMS}/{world['sp2']}",
        json={"properties": {"name": "x"}},
        headers={"If-Match": other.headers["etag"]},
    )
    assert r.status_code == 403
    org = {
        "type": "Feature",
        "geometry": _point(),
        "properties": {"组织编码": "b3", "组织名称": "三支部", "组织类型": "党支部", "上级": "c1"},
    }
    assert c.post(ORG_ITEMS, json=org).status_code == 201
    c1 = f"{ORG_ITEMS}/{world['c1']}"
    etag = c.get(c1).headers["etag"]
    moved = c.patch(c1, json={"properties": {"parent_id": world["c2"]}}, headers={"If-Match": etag})
    assert moved.status_code == 403  # the root of the steward's subtree may not move
    admin = api.as_(ADMIN)
    etag = admin.get(c1).headers["etag"]
    cycle = admin.patch(c1, json={"properties": {"parent_code": "b1"}}, headers={"If-Match": etag})
    assert cycle.status_code == 400 and cycle.json()["errors"][0]["code"] == "parent_cycle"
    busy = admin.delete(c1, headers={"If-Match": etag})
    assert busy.status_code == 409
    dup = admin.post(ORG_ITEMS, json=org)
    assert dup.status_code == 409


def test_the_audit_is_for_admins_and_pages(api: Caller, world: dict[str, int]) -> None:
    c = api.as_(secretary(world))
    for n in range(3):
        assert c.post(ITEMS, json=_new_activity(code=f"x{n}")).status_code == 201
    assert c.get("/api/audit").status_code == 403
    admin = api.as_(ADMIN)
    page = admin.get("/api/audit", params={"collection": "activities", "limit": 2}).json()
    assert page["numberReturned"] == 2 and page["numberMatched"] >= 3
    assert [link["rel"] for link in page["links"]] == ["self", "next"]
    first = page["entries"][0]
    assert first["action"] == "create" and first["actor"] == "sec-b1"
    one = admin.get("/api/audit", params={"item": first["item_id"], "action": "create"}).json()
    assert one["entries"][0]["id"] == first["id"]  # (ids restart per test: older runs' too)
    assert {e["item_id"] for e in one["entries"]} == {first["item_id"]}
    with psycopg.connect(api.app.state.settings.db.url) as conn, pytest.raises(psycopg.Error):
        conn.execute("DELETE FROM audit_log")


def test_conformance_lists_part_4(api: Caller) -> None:
    classes = api.as_(Principal()).get("/api/conformance").json()["conformsTo"]
    part4 = "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/"
    assert {part4 + "create-replace-delete", part4 + "update"} <= set(classes)
