"""Every role against every write (POST, PUT, PATCH, DELETE) of every collection: 401 for the
public, 403 for a role or scope that may not write, 404 for an item the caller may not see, and
the write itself where it is allowed (issue 12 §1: secretaries write their subtree's activities,
stewards and admins the rest)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.deps import get_principal
from api.settings import Settings
from geo.scope import Principal
from geo.settings import DatabaseSettings

WRITES = ("post_own", "post_other", "put_own", "patch_own", "delete_own")
FOREIGN = ("put_other", "patch_other", "delete_other")
COLLECTIONS = ("activities", "service_points", "organisations")
SUCCESS = {"post": 201, "put": 200, "patch": 200, "delete": 204}


@pytest.fixture
def world(clean_db: str) -> dict[str, int]:
    """c1 → b1 (+ leaf b1x) and c2 → b2 (+ leaf b2x), a service point and an activity in each
    tree, a member of b1."""
    ids: dict[str, int] = {}
    soon = datetime.now(UTC) + timedelta(days=2)
    with psycopg.connect(clean_db) as conn:

        def one(query: str, *args: Any) -> int:
            row = conn.execute(query, args).fetchone()
            assert row is not None
            return int(row[0])

        org = (
            "INSERT INTO organisations (code, name, type, parent_id, geom) VALUES "
            "(%s, %s, %s, %s, ST_SetSRID(ST_MakePoint(120.2, 30.25), 4326)) RETURNING id"
        )
        for tree in ("1", "2"):
            c = ids[f"c{tree}"] = one(org, f"c{tree}", f"党委{tree}", "党委", None)
            ids[f"b{tree}"] = one(org, f"b{tree}", f"支部{tree}", "党支部", c)
            ids[f"b{tree}x"] = one(org, f"b{tree}x", f"支部{tree}x", "党支部", c)
            ids[f"sp{tree}"] = one(
                "INSERT INTO service_points (code, name, kind, org_id, geom) VALUES (%s, %s, "
                "'党群服务站', %s, ST_SetSRID(ST_MakePoint(120.2, 30.25), 4326)) RETURNING id",
                f"sp{tree}",
                f"站{tree}",
                c,
            )
            ids[f"a{tree}"] = one(
                "INSERT INTO activities (code, title, kind, organiser_id, starts_at, ends_at, "
                "geom) VALUES (%s, %s, '学习', %s, %s, %s, "
                "ST_SetSRID(ST_MakePoint(120.2, 30.25), 4326)) RETURNING id",
                f"a{tree}",
                f"学习{tree}",
                ids[f"b{tree}"],
                soon,
                soon + timedelta(hours=1),
            )
        ids["m1"] = one(
            "INSERT INTO members (external_id, name, branch_id, status) VALUES "
            "('m1', '甲', %s, '正式') RETURNING id",
            ids["b1"],
        )
    return ids


@pytest.fixture(scope="module")
def app(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    home = tmp_path_factory.mktemp("writes-roles")
    application = create_app(Settings(db=DatabaseSettings(database_url=db_url, home=home)))
    with TestClient(application) as client:
        application.state.client = client
        yield application


def _principal(name: str, ids: dict[str, int]) -> Principal:
    return {
        "public": Principal(),
        "member": Principal(role="member", member_id=ids["m1"], username="m"),
        "planner": Principal(role="planner", org_id=ids["c1"], username="p"),
        "leader_unbound": Principal(role="leader", username="l0"),
        "secretary": Principal(role="leader", org_id=ids["b1"], username="l1"),
        "steward": Principal(role="steward", org_id=ids["c1"], username="s1"),
        "steward_unbound": Principal(role="steward", username="s0"),
        "admin": Principal(role="admin", username="a"),
    }[name]


def _feature(collection: str, tree: str, ids: dict[str, int], code: str) -> dict[str, Any]:
    props: dict[str, Any] = {
        "activities": {
            "code": code,
            "title": "新活动",
            "kind": "学习",
            "organiser_id": ids[f"b{tree}"],
            "starts_at": "2026-12-20T09:00",
            "ends_at": "2026-12-20T10:00",
        },
        "service_points": {
            "code": code,
            "name": "新站",
            "kind": "党员活动室",
            "org_id": ids[f"c{tree}"],
        },
        "organisations": {
            "code": code,
            "name": "新支部",
            "type": "党支部",
            "parent_id": ids[f"c{tree}"],
        },
    }[collection]
    point = {"type": "Point", "coordinates": [120.21, 30.26]}
    return {"type": "Feature", "geometry": point, "properties": props}


def _item(collection: str, tree: str, ids: dict[str, int]) -> int:
    key = {"activities": "a", "service_points": "sp", "organisations": "b"}[collection]
    return ids[f"{key}{tree}x" if collection == "organisations" else f"{key}{tree}"]


def expected(role: str, collection: str, op: str) -> int:
    """The status `role` gets for `op` on `collection` (own: in c1's tree, other: c2's)."""
    what, side = op.split("_")
    if role == "public":
        return 401
    if role in ("member", "planner", "leader_unbound"):
        return 403
    if role == "secretary" and collection != "activities":
        return 403
    if side == "own" or role in ("steward_unbound", "admin"):
        return SUCCESS[what]
    if what == "post":  # a bound caller putting a row into another tree
        return 403
    # another tree's item: service points are public places (seen, not writable)
    return 403 if collection == "service_points" else 404


def _run(client: _AsRole, op: str, collection: str, ids: dict[str, int]) -> int:
    what, tree = op.split("_")
    tree = "1" if tree == "own" else "2"
    base = f"/api/collections/{collection}/items"
    if what == "post":
        return client.post(base, json=_feature(collection, tree, ids, f"new-{op}")).status_code
    url = f"{base}/{_item(collection, tree, ids)}"
    etag = client.get(url).headers.get("etag") or '"unseen"'
    headers = {"If-Match": etag}
    if what == "put":
        body = _feature(collection, tree, ids, f"put-{tree}")
        return client.put(url, json=body, headers=headers).status_code
    if what == "patch":
        patch = {"properties": {"name" if collection != "activities" else "title": "改"}}
        return client.patch(url, json=patch, headers=headers).status_code
    return client.delete(url, headers=headers).status_code


ROLES = (
    "public",
    "member",
    "planner",
    "leader_unbound",
    "secretary",
    "steward",
    "steward_unbound",
    "admin",
)


@pytest.mark.parametrize("collection", COLLECTIONS)
@pytest.mark.parametrize("role", ROLES)
def test_every_role_against_every_write(
    app: Any, world: dict[str, int], role: str, collection: str
) -> None:
    # ETags are read as an admin (who sees every item), the writes made as `role`, so a refusal
    # is never about a stale ETag; the other tree's items first (the own delete removes one)
    caller = _AsRole(app.state.client, app, _principal(role, world))
    got = {op: _run(caller, op, collection, world) for op in (*FOREIGN, *WRITES)}
    want = {op: expected(role, collection, op) for op in got}
    assert got == want


class _AsRole:
    """A client that reads (GET) as an admin and writes as the role under test."""

    def __init__(self, client: TestClient, app: Any, principal: Principal) -> None:
        self.client, self.app, self.principal = client, app, principal

    def _as(self, principal: Principal) -> TestClient:
        self.app.dependency_overrides[get_principal] = lambda: principal
        return self.client

    def get(self, url: str) -> Any:
        return self._as(Principal(role="admin", username="a")).get(url)

    def post(self, url: str, **kw: Any) -> Any:
        return self._as(self.principal).post(url, **kw)

    def put(self, url: str, **kw: Any) -> Any:
        return self._as(self.principal).put(url, **kw)

    def patch(self, url: str, **kw: Any) -> Any:
        return self._as(self.principal).patch(url, **kw)

    def delete(self, url: str, **kw: Any) -> Any:
        return self._as(self.principal).delete(url, **kw)


@pytest.mark.parametrize("role", ROLES)
def test_read_only_collections_refuse_every_write(
    app: Any, world: dict[str, int], role: str
) -> None:
    client: TestClient = app.state.client
    app.dependency_overrides[get_principal] = lambda: _principal(role, world)
    body = {"type": "Feature", "geometry": None, "properties": {"code": "x"}}
    statuses = {
        client.post("/api/collections/roads/items", json=body).status_code,
        client.put(
            "/api/collections/roads/items/1", json=body, headers={"If-Match": '"x"'}
        ).status_code,
        client.delete("/api/collections/roads/items/1", headers={"If-Match": '"x"'}).status_code,
    }
    assert statuses == {401 if role == "public" else 403}
