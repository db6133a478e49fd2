"""党建网格 drawn through the API (issue 14 §4): OGC API Features Part 4 writes of the grids
collection by planners, stewards and admins, checked as the grid import checks a row (polygon or
multipolygon, valid, CRS84, code unique, branch and leader known; the import's reason codes), a
bound planner only within its subtree, conditional on the ETag, audited, moving the grids' data
version (data.changed of the grids layer); a drawn grid that overlaps another is then reported by
GET /api/grids/check."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from privacy import add_users, api_client, bearer, two_subtrees

from layers import catalog

KEY = "grid-writes-key-" + "w" * 32
LON, LAT = 116.50, 39.95  # tree B of two_subtrees (planner_b is bound to B-Z, B-B below it)
D = 0.01


def _collection() -> str:
    found = [x.id for x in catalog.visible("public") if x.write_table == "grids"]
    assert len(found) == 1, found
    return found[0]


ITEMS = f"/api/collections/{_collection()}/items"


def square(x: float, y: float, w: float = D) -> dict[str, Any]:
    ring = [[x, y], [x + w, y], [x + w, y + w], [x, y + w], [x, y]]
    return {"type": "Polygon", "coordinates": [ring]}


def grid(geometry: dict[str, Any] | None = None, **props: Any) -> dict[str, Any]:
    base = {"code": "GB-1", "name": "一号网格", "community": "东社区"}
    return {"type": "Feature", "geometry": geometry or square(LON, LAT), "properties": base | props}


@pytest.fixture
def world(clean_db: str) -> dict[str, Any]:
    data = two_subtrees(clean_db)
    add_users(clean_db)
    with psycopg.connect(clean_db) as conn:
        row = conn.execute("SELECT coalesce(max(id), 0) FROM audit_log").fetchone()
    assert row is not None
    return {**data, "audit_floor": int(row[0])}  # audit_log is never emptied


@pytest.fixture
def client(clean_db: str, world: dict[str, Any]) -> Iterator[TestClient]:
    yield from api_client(clean_db, KEY)


def _codes(r: Any) -> set[tuple[str, str]]:
    assert r.status_code == 400, r.text
    return {(e["code"], str(e["loc"][-1])) for e in r.json()["errors"]}


def _one(url: str, query: str, *args: Any) -> Any:
    with psycopg.connect(url) as conn:
        row = conn.execute(query, args).fetchone()
    return None if row is None else row[0]


def test_a_planner_draws_a_grid_that_the_check_then_reports(
    client: TestClient, world: dict[str, Any], clean_db: str
) -> None:
    worker = client.app.state.live_worker  # type: ignore[attr-defined]
    for _ in range(900):  # its first look notes the layer's version without announcing it
        if worker is not None and worker.holding and _collection() in worker._announced:
            break
        time.sleep(0.1)
    version = "SELECT version FROM data_versions WHERE table_name = 'grids'"
    before = _one(clean_db, version)
    events = _one(clean_db, "SELECT coalesce(max(id), 0) FROM events")
    admin = bearer(client, "admin")
    first = client.post(ITEMS, json=grid(branch_code="B-B"), headers=admin)
    assert first.status_code == 201, first.text
    planner = bearer(client, "planner_b") | {"X-Request-ID": "draw-1"}
    shifted = square(LON + D / 2, LAT, D)  # half over GB-1: an overlap of ~0.005° × 0.01°
    r = client.post(
        ITEMS,
        json=grid(
            shifted, code="GB-2", name="二号网格", org_id=world["B"]["branch"], 网格长="B-M1"
        ),
        headers=planner,
    )
    assert r.status_code == 201, r.text
    made = r.json()
    assert r.headers["etag"] and r.headers["location"].endswith(f"{ITEMS}/{made['id']}")
    assert made["geometry"]["type"] == "MultiPolygon"
    assert made["properties"]["org_id"] == world["B"]["branch"]
    assert (
        made["properties"]["branch"] == "B-B 名称" and made["properties"]["community"] == "东社区"
    )
    stored = _one(
        clean_db,
        "SELECT array[g.code, o.code, m.external_id, ST_SRID(g.geom)::text] FROM grids g "
        "JOIN organisations o ON o.id = g.org_id JOIN members m ON m.id = g.leader_member_id "
        "WHERE g.id = %s",
        made["id"],
    )
    assert stored == ["GB-2", "B-B", "B-M1", "4326"]
    check = client.get("/api/grids/check", headers=planner)
    assert check.status_code == 200, check.text
    assert [(o["a"], o["b"]) for o in check.json()["overlaps"]] == [("GB-1", "GB-2")]
    assert 300_000 < check.json()["overlaps"][0]["area_m2"] < 550_000
    with psycopg.connect(clean_db) as conn:
        audit = conn.execute(
            "SELECT action, actor, actor_role, after, request_id FROM audit_log "
            "WHERE collection = %s AND item_id = %s AND id > %s",
            (_collection(), made["id"], world["audit_floor"]),
        ).fetchall()
    [(action, actor, role, after, rid)] = audit
    assert (action, actor, role, rid) == ("create", "planner_b", "planner", "draw-1")
    assert after["code"] == "GB-2" and after["geometry"]["type"] == "MultiPolygon"
    assert _one(clean_db, version) != before  # the grids' data version moved …
    subject = f"layers/{_collection()}"
    query = "SELECT count(*) FROM events WHERE type = 'data.changed' AND subject = %s AND id > %s"
    for _ in range(900):  # … and the live worker announces it (a wait, bounded at 90 s)
        if _one(clean_db, query, subject, events):
            break
        time.sleep(0.1)
    assert _one(clean_db, query, subject, events), "no data.changed of the grids layer"


def test_scope_roles_and_the_imports_reason_codes(
    client: TestClient, world: dict[str, Any], clean_db: str
) -> None:
    planner = bearer(client, "planner_b")
    r = client.post(ITEMS, json=grid(branch_code="A-B"), headers=planner)
    assert r.status_code == 403 and r.json()["code"] == "out_of_scope", r.text
    r = client.post(ITEMS, json=grid(), headers=planner)  # no branch: outside any subtree
    assert r.status_code == 403 and r.json()["code"] == "out_of_scope", r.text
    assert client.post(ITEMS, json=grid(branch_code="B-B")).status_code == 401
    for who in ("leader_b", "member_b"):
        assert client.post(ITEMS, json=grid(), headers=bearer(client, who)).status_code == 403
    flat = {"type": "Polygon", "coordinates": [[[LON, LAT], [LON + D, LAT + D],
                                                [LON + 2 * D, LAT + 2 * D], [LON, LAT]]]}  # fmt: skip
    bowtie = {"type": "Polygon", "coordinates": [[[LON, LAT], [LON + D, LAT + D],
                                                  [LON + D, LAT], [LON, LAT + D], [LON, LAT]]]}  # fmt: skip
    point = {"type": "Point", "coordinates": [LON, LAT]}
    admin = bearer(client, "admin")
    assert ("invalid_geometry", "geometry") in _codes(
        client.post(ITEMS, json=grid(flat, branch_code="B-B"), headers=planner)
    )
    assert ("invalid_geometry", "geometry") in _codes(
        client.post(ITEMS, json=grid(bowtie, branch_code="B-B"), headers=planner)
    )
    assert ("wrong_geometry_type", "geometry") in _codes(
        client.post(ITEMS, json=grid(point, branch_code="B-B"), headers=planner)
    )
    far = square(LAT, LON)  # latitude first: outside ±90
    assert ("out_of_range", "geometry") in _codes(
        client.post(ITEMS, json=grid(far, branch_code="B-B"), headers=admin)
    )
    codes = _codes(
        client.post(ITEMS, json=grid(支部="NO-SUCH", 网格长="nobody", code=None), headers=admin)
    )
    assert {("unknown_branch", "支部"), ("unknown_member", "网格长")} <= codes
    assert ("missing_required", "code") in codes
    crs = grid(branch_code="B-B")
    crs["geometry"]["crs"] = {"type": "name", "properties": {"name": "EPSG:3857"}}
    assert client.post(ITEMS, json=crs, headers=planner).status_code == 400  # CRS84 only
    shape = grid(branch_code="B-B")  # a polygon is no service point
    r = client.post("/api/collections/service_points/items", json=shape, headers=admin)
    assert ("wrong_geometry_type", "geometry") in _codes(r)
    assert client.post(ITEMS, json=grid(branch_code="B-B"), headers=planner).status_code == 201
    again = client.post(ITEMS, json=grid(branch_code="B-B"), headers=planner)
    assert again.status_code == 409, again.text  # the code is taken
    assert _one(clean_db, "SELECT count(*) FROM grids") == 1


def test_edits_and_deletes_need_the_current_etag(
    client: TestClient, world: dict[str, Any], clean_db: str
) -> None:
    planner = bearer(client, "planner_b")
    admin = bearer(client, "admin")
    theirs = client.post(ITEMS, json=grid(code="GA-1", branch_code="A-B"), headers=admin).json()
    made = client.post(ITEMS, json=grid(branch_code="B-B"), headers=planner).json()
    url = f"{ITEMS}/{made['id']}"
    got = client.get(url, headers=planner)
    etag = got.headers["etag"]
    stale = {"If-Match": '"stale"'}
    r = client.patch(url, json={"properties": {"name": "新名"}}, headers=planner | stale)
    assert r.status_code == 412, r.text
    r = client.patch(url, json={"properties": {"name": "新名"}}, headers=planner)
    assert r.status_code == 428
    r = client.patch(url, json={"properties": {"name": "新名", "org_id": world["B"]["general"]}},
                     headers=planner | {"If-Match": etag})  # fmt: skip
    assert r.status_code == 200, r.text
    assert (
        r.json()["properties"]["name"] == "新名" and r.json()["geometry"] == got.json()["geometry"]
    )
    assert r.headers["etag"] != etag
    old, etag = etag, r.headers["etag"]
    back = {
        "type": "Feature",
        "geometry": square(LON, LAT, D / 2),
        "properties": r.json()["properties"],
    }
    assert client.put(url, json=back, headers=planner | {"If-Match": old}).status_code == 412
    r = client.put(url, json=back, headers=planner | {"If-Match": etag})  # GET's properties back
    assert r.status_code == 200, r.text
    other = f"{ITEMS}/{theirs['id']}"
    their_tag = client.get(other, headers=planner).headers["etag"]
    r = client.patch(
        other, json={"properties": {"name": "x"}}, headers=planner | {"If-Match": their_tag}
    )
    assert r.status_code == 403 and r.json()["code"] == "out_of_scope"
    assert client.delete(url, headers=planner | stale).status_code == 412
    tag = client.get(url, headers=planner).headers["etag"]
    r = client.delete(url, headers=planner | {"If-Match": tag})
    assert r.status_code == 204, r.text
    with psycopg.connect(clean_db) as conn:
        actions = conn.execute(
            "SELECT action FROM audit_log WHERE collection = %s AND item_id = %s AND id > %s "
            "ORDER BY id",
            (_collection(), made["id"], world["audit_floor"]),
        ).fetchall()
    assert [a for (a,) in actions] == ["create", "update", "replace", "delete"]
    assert _one(clean_db, "SELECT count(*) FROM grids") == 1
