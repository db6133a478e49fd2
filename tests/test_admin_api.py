"""The admin API (issue 11 §5): users and roles, embed keys, screen keys — admins only, every
change audited, no self-lockout, keys masked where they are secrets."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from privacy import PASSWORD, add_users, bearer, two_subtrees

from api.app import create_app
from api.settings import ApiSettings, Settings
from geo.settings import DatabaseSettings

KEY = "admin-test-key-" + "k" * 32
ROUTES = (
    ("GET", "/api/admin/users", None),
    ("POST", "/api/admin/users", {"username": "x1", "password": "p" * 10, "role": "leader"}),
    ("PATCH", "/api/admin/users/leader_a", {"active": False}),
    ("POST", "/api/admin/users/leader_a/password", None),
    ("GET", "/api/admin/embed-keys", None),
    ("POST", "/api/admin/embed-keys", {"name": "p", "origins": ["https://a.example.cn"]}),
    ("PATCH", "/api/admin/embed-keys/1", {"active": False}),
    ("GET", "/api/admin/screen-keys", None),
    ("POST", "/api/admin/screen-keys", {"name": "大屏"}),
    ("DELETE", "/api/admin/screen-keys/1", None),
)


@pytest.fixture
def client(clean_db: str) -> Iterator[TestClient]:
    two_subtrees(clean_db)
    add_users(clean_db)
    with psycopg.connect(clean_db) as conn:  # marks where this test's audit starts
        conn.execute(
            "INSERT INTO audit_log (actor, action, collection) VALUES ('test', 'create', "
            "'test-start')"
        )
    settings = Settings(db=DatabaseSettings(database_url=clean_db), api=ApiSettings(secret_key=KEY))
    with TestClient(create_app(settings)) as c:
        c.headers.update(bearer(c, "admin"))
        yield c


def _audit(url: str, collection: str) -> list[tuple[Any, ...]]:
    """This test's audit rows of a collection (audit_log is append-only: never emptied; the
    entries of a test are those after the last one before its users were made)."""
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT actor, action, item_id, before, after, request_id FROM audit_log "
            "WHERE collection = %s AND id > (SELECT max(id) FROM audit_log WHERE "
            "collection = 'test-start') ORDER BY id",
            (collection,),
        ).fetchall()


def test_every_route_admins_only(client: TestClient) -> None:
    leader = bearer(client, "leader_a")
    steward = bearer(client, "steward_a")
    for method, path, body in ROUTES:
        anon = client.request(method, path, json=body, headers={"Authorization": ""})
        assert anon.status_code == 401, (method, path, anon.text)
        assert anon.headers["www-authenticate"] == "Bearer"
        for who in (leader, steward):
            r = client.request(method, path, json=body, headers=who)
            assert r.status_code == 403, (method, path, r.text)
    assert client.get("/api/admin/users").status_code == 200  # and nothing was changed
    assert all(u["active"] for u in client.get("/api/admin/users").json()["users"])


def test_users_add_change_disable_and_audit(client: TestClient, clean_db: str) -> None:
    users = client.get("/api/admin/users").json()["users"]
    assert {u["username"] for u in users} >= {"admin", "leader_a", "member_a"}
    assert "hash" not in str(users) and "argon2" not in str(users)
    new = {"username": "wang", "password": "secret-pass-1", "role": "leader", "org": "A-W"}
    r = client.post("/api/admin/users", json=new, headers={"X-Request-ID": "req-add-wang"})
    assert r.status_code == 201, r.text
    assert r.json()["org"] == "A-W" and r.json()["active"] is True
    assert client.post("/api/admin/users", json=new).status_code == 409
    token = bearer(client, "wang", "secret-pass-1")
    assert client.get("/api/auth/me", headers=token).json()["role"] == "leader"
    r = client.patch("/api/admin/users/wang", json={"role": "planner", "org": None})
    assert r.status_code == 200 and r.json()["role"] == "planner" and r.json()["org"] is None
    r = client.patch("/api/admin/users/wang", json={"active": False})
    assert r.status_code == 200 and r.json()["active"] is False
    assert client.get("/api/auth/me", headers=token).status_code == 401  # its token: refused
    login = {"username": "wang", "password": "secret-pass-1"}
    refused = client.post("/api/auth/token", data=login)  # cannot log in
    assert refused.status_code == 403 and "access_token" not in refused.text
    rows = _audit(clean_db, "users")
    assert [(a, act) for a, act, *_ in rows] == [("admin", "create")] + [("admin", "update")] * 2
    assert rows[0][5] == "req-add-wang" and rows[0][4]["username"] == "wang"
    assert rows[2][3]["active"] is True and rows[2][4]["active"] is False
    assert "secret-pass-1" not in str(rows) and "argon2" not in str(rows)


def test_users_validation(client: TestClient) -> None:
    bad = (
        ({"username": "a b", "password": "long-enough", "role": "leader"}, 400),
        ({"username": "ok", "password": "short", "role": "leader"}, 400),
        ({"username": "ok", "password": "long-enough", "role": "king"}, 400),
        ({"username": "ok", "password": "long-enough", "role": "member"}, 400),  # no member
        ({"username": "ok", "password": "long-enough", "role": "admin", "org": "A-W"}, 400),
        ({"username": "ok", "password": "long-enough", "role": "leader", "org": "nope"}, 404),
        ({"username": "ok", "password": "long-enough", "role": "member", "member": "zz"}, 404),
    )
    for body, status in bad:
        r = client.post("/api/admin/users", json=body)
        assert r.status_code == status, (body, r.text)
        assert r.json()["code"] and r.json()["description"]
    assert client.patch("/api/admin/users/nobody", json={"active": False}).status_code == 404
    r = client.patch("/api/admin/users/leader_a", json={"role": "member"})  # no member record
    assert r.status_code == 400, r.text
    r = client.patch("/api/admin/users/member_a", json={"role": "leader"})  # keeps its member
    assert r.status_code == 200 and r.json()["member"] == "A-M0"
    assert client.patch("/api/admin/users/leader_a", json={"colour": "red"}).status_code == 400


def test_no_self_lockout(client: TestClient, clean_db: str) -> None:
    for body in ({"active": False}, {"role": "leader"}):
        r = client.patch("/api/admin/users/admin", json=body)
        assert r.status_code == 409 and "another admin" in r.json()["description"], r.text
    assert client.post("/api/admin/users/admin/password").status_code == 409
    assert client.patch("/api/admin/users/admin", json={"active": True}).status_code == 200
    assert client.get("/api/admin/users").status_code == 200  # still an admin
    assert [act for _, act, *_ in _audit(clean_db, "users")] == ["update"]  # the no-op only


def test_password_reset(client: TestClient, clean_db: str) -> None:
    r = client.post("/api/admin/users/leader_b/password")
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    new = r.json()["password"]
    assert len(new) >= 12 and r.json()["username"] == "leader_b"
    old = {"username": "leader_b", "password": PASSWORD}
    assert client.post("/api/auth/token", data=old).status_code == 401
    assert bearer(client, "leader_b", new)
    rows = _audit(clean_db, "users")
    assert rows[-1][1] == "update" and rows[-1][4]["password"] == "reset"
    assert new not in str(rows)
    assert client.post("/api/admin/users/nobody/password").status_code == 404


def test_embed_keys(client: TestClient, clean_db: str) -> None:
    bad = {"name": "门户", "origins": ["https://ok.example.cn", "ftp://x.cn", "https://a.cn/path"]}
    r = client.post("/api/admin/embed-keys", json=bad)
    assert r.status_code == 400, r.text
    assert [e["loc"] for e in r.json()["errors"]] == [
        ["body", "origins", 1],
        ["body", "origins", 2],
    ]
    assert (
        client.post("/api/admin/embed-keys", json={"name": "x", "origins": []}).status_code == 400
    )
    body = {"name": "门户", "origins": ["https://Portal.Example.cn/", "http://localhost:8080"]}
    r = client.post("/api/admin/embed-keys", json=body)
    assert r.status_code == 201, r.text
    key = r.json()
    assert key["allowed_origins"] == ["http://localhost:8080", "https://portal.example.cn"]
    listed = client.get("/api/admin/embed-keys").json()["keys"]
    # in full: the portal publishes it (other tests of this run may have made keys too)
    assert [k["key"] for k in listed if k["id"] == key["id"]] == [key["key"]]
    r = client.patch(f"/api/admin/embed-keys/{key['key']}", json={"origins": ["https://b.cn"]})
    assert r.status_code == 200 and r.json()["allowed_origins"] == ["https://b.cn"]
    r = client.patch(f"/api/admin/embed-keys/{key['id']}", json={"active": False})
    assert r.status_code == 200 and r.json()["active"] is False
    bad_patch = client.patch(f"/api/admin/embed-keys/{key['id']}", json={"origins": ["b.cn"]})
    assert bad_patch.status_code == 400 and bad_patch.json()["errors"][0]["code"] == "bad_origin"
    assert client.patch("/api/admin/embed-keys/nope", json={"active": True}).status_code == 404
    assert client.get(f"/embed?key={key['key']}").status_code == 403  # revoked: refused
    rows = _audit(clean_db, "embed_keys")
    assert [act for _, act, *_ in rows] == ["create", "update", "update"]
    assert key["key"] not in str(rows) and rows[0][4]["key"] == key["key"][:4] + "…"


def test_screen_keys(client: TestClient, clean_db: str) -> None:
    r = client.post("/api/admin/screen-keys", json={"name": "大厅大屏", "org": "A-W"})
    assert r.status_code == 201 and r.headers["cache-control"] == "no-store"
    key = r.json()
    assert len(key["key"]) == 32 and key["org"] == "A-W" and key["active"]
    assert client.get(f"/api/screen?key={key['key']}").status_code == 200
    listed = client.get("/api/admin/screen-keys").json()["keys"]
    assert [k["key"] for k in listed] == [key["key"][:4] + "…"]  # a secret: masked
    assert (
        client.post("/api/admin/screen-keys", json={"name": "x", "org": "nope"}).status_code == 404
    )
    assert client.post("/api/admin/screen-keys", json={"name": "  "}).status_code == 400
    r = client.delete(f"/api/admin/screen-keys/{key['id']}")
    assert r.status_code == 200 and r.json()["active"] is False and "…" in r.json()["key"]
    assert client.delete(f"/api/admin/screen-keys/{key['key']}").status_code == 200
    assert client.get(f"/api/screen?key={key['key']}").status_code in (401, 403)  # revoked
    assert client.delete("/api/admin/screen-keys/99999").status_code == 404
    rows = _audit(clean_db, "screen_keys")
    assert [act for _, act, *_ in rows] == ["create", "delete", "delete"]
    assert key["key"] not in str(rows)


def test_admin_page_zh_and_en(client: TestClient) -> None:
    """The page holds no data (its script reads the API): the same for anyone, in either
    language, framed by nobody."""
    zh = client.get("/admin", headers={"Authorization": ""})
    assert zh.status_code == 200 and "用户与角色" in zh.text and "大屏密钥" in zh.text
    assert "frame-ancestors 'none'" in zh.headers["content-security-policy"]
    assert "leader_a" not in zh.text and 'href="/admin?lang=zh-CN"' in zh.text
    en = client.get("/admin?lang=en")
    assert "Users and roles" in en.text and "Screen keys" in en.text and "用户与角色" not in en.text
