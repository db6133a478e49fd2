"""Promoting a scenario (issue 14 §1) through HTTP: a steward or admin makes a planner's scenario
live in one transaction through the OGC API Features writes (audit under one request id, data
versions moved); a point that changed since the scenario was saved is a 409 and nothing is
written; planners and the public may not promote; a failure half-way writes nothing."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from test_scenarios import checksums, client, world  # noqa: F401  (the scenario fixture)

from geo.errors import Conflict
from geo.privacy import lattice
from geo.scope import Principal

ADMIN = Principal(role="admin", username="admin")
PLANNER = Principal(role="planner", username="p")
SP_ITEMS = "/api/collections/service_points/items"


def _point(lon: float, lat: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [lon, lat]}


def _changes(ids: list[int]) -> list[dict[str, Any]]:
    return [
        {"op": "remove", "id": ids[0]},
        {"op": "move", "id": ids[1], "geometry": _point(116.4012, 39.9031)},
        {"op": "set", "id": ids[1], "properties": {"opening_hours": "周一至周五 9:00-17:00"}},
        {"op": "set", "id": ids[2], "properties": {"capacity": 240.4, "name": "扩建站"}},
        {"op": "add", "geometry": _point(116.43, 39.91), "properties": {"capacity": 120}},
        {"op": "candidate", "geometry": _point(116.42, 39.905)},
    ]


def _saved(url: str, changes: list[dict[str, Any]]) -> tuple[int, dict[str, Any]]:
    with client(url, PLANNER) as c:
        r = c.post("/api/scenarios", json={"name": "方案", "changes": changes})
        assert r.status_code == 201, r.text
        return r.json()["id"], r.json()


def _version(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT version FROM data_versions WHERE table_name = 'service_points'"
        ).fetchone()
    return int(row[0]) if row else 0


def _audited(url: str) -> int:
    with psycopg.connect(url) as conn:
        return int(conn.execute("SELECT count(*) FROM audit_log").fetchone()[0])


def test_promote_writes_the_changes_through_the_write_path(world) -> None:  # noqa: F811
    url, ids = world["url"], world["site_ids"]
    sid, saved = _saved(url, _changes(ids))
    with psycopg.connect(url) as conn:
        now = dict(conn.execute("SELECT id, md5(p::text) FROM service_points p").fetchall())
    stamped = [c.get("etag") for c in saved["changes"]]
    assert stamped == [now[ids[0]], now[ids[1]], now[ids[1]], now[ids[2]], None, None]
    before, version = checksums(url), _version(url)
    with client(url, PLANNER) as c:  # planners propose; they do not write service points
        assert c.post(f"/api/scenarios/{sid}/promote").status_code == 403
    with client(url, Principal(role="public")) as c:
        assert c.post(f"/api/scenarios/{sid}/promote").status_code == 401
    assert checksums(url) == before
    with client(url, ADMIN) as c:
        assert c.post("/api/scenarios/999999/promote").status_code == 404
        r = c.post(f"/api/scenarios/{sid}/promote", headers={"X-Request-ID": "promote-1"})
        assert r.status_code == 200, r.text
        done = r.json()
        assert done["deleted"] == [ids[0]] and done["updated"] == [ids[1], ids[2]]
        assert len(done["created"]) == 1 and done["candidates_left"] == 1
        assert done["request_id"] == "promote-1"
        assert c.get(f"/api/scenarios/{sid}").status_code == 404  # it is live now
        assert c.post(f"/api/scenarios/{sid}/promote").status_code == 404
        assert c.get(f"{SP_ITEMS}/{ids[0]}").status_code == 404
    new = done["created"][0]
    with psycopg.connect(url) as conn:
        rows = {
            r[0]: r[1:]
            for r in conn.execute(
                "SELECT id, name, kind, capacity, opening_hours, ST_X(geom), ST_Y(geom) "
                "FROM service_points WHERE id = ANY(%s)",
                ([ids[1], ids[2], new],),
            )
        }
        audit = conn.execute(
            "SELECT action, collection, item_id, actor, actor_role FROM audit_log "
            "WHERE request_id = 'promote-1' ORDER BY id"
        ).fetchall()
    x, y = lattice.snap_point(116.4012, 39.9031)
    assert rows[ids[1]][3] == "周一至周五 9:00-17:00"
    assert rows[ids[1]][4:] == pytest.approx((x, y), abs=1e-7)
    assert rows[ids[2]][0] == "扩建站" and rows[ids[2]][2] == 240
    assert rows[new][1] == "党群服务站" and rows[new][2] == 120
    assert rows[new][4:] == pytest.approx(lattice.snap_point(116.43, 39.91), abs=1e-7)
    assert [(a[0], a[2]) for a in audit] == [
        ("delete", ids[0]),
        ("update", ids[1]),
        ("update", ids[2]),
        ("create", new),
    ]
    assert {(a[1], a[3], a[4]) for a in audit} == {("service_points", "admin", "admin")}
    assert _version(url) > version


def test_a_point_changed_since_is_a_conflict(world) -> None:  # noqa: F811
    url, ids = world["url"], world["site_ids"]
    sid, _ = _saved(url, _changes(ids))
    with client(url, ADMIN) as c:
        item = c.get(f"{SP_ITEMS}/{ids[2]}")
        r = c.patch(
            f"{SP_ITEMS}/{ids[2]}",
            json={"properties": {"phone": "0571-1234"}},
            headers={"If-Match": item.headers["etag"]},
        )
        assert r.status_code == 200, r.text
        before = checksums(url)
        r = c.post(f"/api/scenarios/{sid}/promote")
        assert r.status_code == 409 and str(ids[2]) in r.text
        assert checksums(url) == before  # nothing written: not the removal, not the added point
        assert c.get(f"/api/scenarios/{sid}").status_code == 200
        # saved again without the old versions (what a planner's review does), it goes through
        fresh = [{k: v for k, v in ch.items() if k != "etag"} for ch in _changes(ids)]
        assert c.put(f"/api/scenarios/{sid}", json={"name": "方案", "changes": fresh}).is_success
        assert c.post(f"/api/scenarios/{sid}/promote").status_code == 200
    sid, _ = _saved(url, [{"op": "remove", "id": ids[3]}])
    with client(url, ADMIN) as c:
        etag = c.get(f"{SP_ITEMS}/{ids[3]}").headers["etag"]
        assert c.delete(f"{SP_ITEMS}/{ids[3]}", headers={"If-Match": etag}).status_code == 204
        r = c.post(f"/api/scenarios/{sid}/promote")
        assert r.status_code == 409 and "deleted" in r.text


def test_promotion_is_one_transaction(world, monkeypatch) -> None:  # noqa: F811
    """The creation (the last write) fails: the removal and the updates before it roll back."""
    from geo.planning import promote

    url, ids = world["url"], world["site_ids"]
    sid, _ = _saved(url, _changes(ids))
    before, audited = checksums(url), _audited(url)

    async def refuse(*args: Any, **kwargs: Any) -> Any:
        raise Conflict("refused for the test")

    monkeypatch.setattr(promote.writes, "create", refuse)
    with client(url, ADMIN) as c:
        assert c.post(f"/api/scenarios/{sid}/promote").status_code == 409
        assert c.get(f"/api/scenarios/{sid}").status_code == 200
    assert checksums(url) == before and _audited(url) == audited


def test_a_bound_steward_promotes_within_their_subtree(world) -> None:  # noqa: F811
    url, ids = world["url"], world["site_ids"]
    a_planner = Principal(role="planner", username="pa", org_id=world["a"])
    with client(url, a_planner) as c:
        body = {
            "name": "A",
            "changes": [{"op": "set", "id": ids[0], "properties": {"capacity": 9}}],
        }
        sid = c.post("/api/scenarios", json=body).json()["id"]
        add = {"name": "A2", "changes": [{"op": "add", "geometry": _point(116.41, 39.9)}]}
        sid2 = c.post("/api/scenarios", json=add).json()["id"]
    b_steward = Principal(role="steward", username="sb", org_id=world["b"])
    with client(url, b_steward) as c:
        assert c.post(f"/api/scenarios/{sid}/promote").status_code == 404  # not theirs to see
    a_steward = Principal(role="steward", username="sa", org_id=world["a"])
    with client(url, a_steward) as c:
        assert c.post(f"/api/scenarios/{sid}/promote").status_code == 200
        r = c.post(f"/api/scenarios/{sid2}/promote")
        assert r.status_code == 200, r.text
    with psycopg.connect(url) as conn:
        org = conn.execute(
            "SELECT org_id FROM service_points WHERE id = %s", (r.json()["created"][0],)
        ).fetchone()[0]
    assert org == world["a"]  # an added point belongs to the scenario's subtree
