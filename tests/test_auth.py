"""Auth: token flow, disabled users, wrong passwords, role checks, embed keys, CORS, secret key."""

from __future__ import annotations

import asyncio
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import jwt
import pytest
from fastapi.testclient import TestClient
from privacy import PASSWORD, add_users, bearer, two_subtrees
from typer.testing import CliRunner

from api.app import create_app
from api.auth import SecretKeyMissing, signing_key
from api.cli import app as cli
from api.settings import ApiSettings, Settings
from geo import users
from geo.errors import Conflict, InvalidInput, NotFound
from geo.settings import DatabaseSettings

KEY = "auth-test-key-" + "z" * 32


def make_client(url: str, **api: Any) -> TestClient:
    settings = Settings(
        db=DatabaseSettings(database_url=url), api=ApiSettings(secret_key=KEY, **api)
    )
    return TestClient(create_app(settings))


@pytest.fixture
def client(clean_db: str) -> Iterator[TestClient]:
    two_subtrees(clean_db)
    add_users(clean_db)
    with make_client(clean_db, cors_origins=["https://portal.example.cn"]) as c:
        yield c


def test_token_flow_and_me(client: TestClient) -> None:
    anon = client.get("/api/auth/me").json()
    assert anon["role"] == "public" and anon["username"] is None
    r = client.post("/api/auth/token", data={"username": "leader_a", "password": PASSWORD})
    assert r.status_code == 200
    token = r.json()
    assert token["token_type"] == "bearer" and token["role"] == "leader"
    claims = jwt.decode(token["access_token"], KEY, algorithms=["HS256"], issuer="djmap")
    assert claims["name"] == "leader_a" and claims["exp"] > time.time()
    me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {token['access_token']}"})
    assert me.json()["role"] == "leader" and me.json()["audience"] == "leader"
    assert me.json()["org_id"] is not None


def test_wrong_password_and_unknown_user_401(client: TestClient) -> None:
    for user, pw in (("leader_a", "wrong-password"), ("nobody", PASSWORD), ("leader_a", "")):
        r = client.post("/api/auth/token", data={"username": user, "password": pw})
        assert r.status_code in (400, 401), r.text
        assert "access_token" not in r.text
    r = client.post("/api/auth/token", data={"username": "leader_a", "password": "wrong-password"})
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"


def test_bad_and_expired_tokens_401(client: TestClient) -> None:
    for token in ("garbage", jwt.encode({"sub": "1"}, "another-key-" * 4, algorithm="HS256")):
        r = client.get("/api/collections", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401
    headers = bearer(client, "admin")
    claims = jwt.decode(headers["Authorization"][7:], KEY, algorithms=["HS256"], issuer="djmap")
    claims.update(exp=int(time.time()) - 10, iat=int(time.time()) - 100)
    expired = jwt.encode(claims, KEY, algorithm="HS256")
    r = client.get("/api/auth/me", headers={"Authorization": f"Bearer {expired}"})
    assert r.status_code == 401 and "expired" in r.text
    none_alg = jwt.encode({**claims, "exp": int(time.time()) + 99}, None, algorithm="none")
    assert (
        client.get("/api/auth/me", headers={"Authorization": f"Bearer {none_alg}"}).status_code
        == 401
    )


def test_disabled_user_refused_and_tokens_revoked(client: TestClient, clean_db: str) -> None:
    headers = bearer(client, "leader_b")
    assert client.get("/api/auth/me", headers=headers).status_code == 200
    users.set_active(clean_db, "leader_b", False)
    assert client.get("/api/auth/me", headers=headers).status_code == 401
    r = client.post("/api/auth/token", data={"username": "leader_b", "password": PASSWORD})
    assert r.status_code == 403 and "disabled" in r.text
    users.set_active(clean_db, "leader_b", True)
    assert bearer(client, "leader_b")


def test_role_checks_403(client: TestClient) -> None:
    for user in ("leader_a", "member_a", "planner_b"):
        r = client.post("/api/imports", headers=bearer(client, user))
        assert r.status_code == 403 and r.json()["code"] == "Forbidden"
    assert client.post("/api/imports").status_code == 401


def test_user_core_rules(clean_db: str) -> None:
    two_subtrees(clean_db)
    with pytest.raises(InvalidInput):
        users.add_user(clean_db, "x", PASSWORD, "emperor")
    with pytest.raises(InvalidInput):
        users.add_user(clean_db, "x", "short", "leader", "A-W")
    with pytest.raises(InvalidInput):
        users.add_user(clean_db, "x", PASSWORD, "member")
    with pytest.raises(NotFound):
        users.add_user(clean_db, "x", PASSWORD, "leader", "NO-SUCH-ORG")
    with pytest.raises(InvalidInput):
        users.add_user(clean_db, "x", PASSWORD, "admin", "A-W")
    member = users.add_user(clean_db, "m", PASSWORD, "member", member="A-M3")
    assert member.org_code == "A-B" and member.member_external_id == "A-M3"
    with pytest.raises(Conflict):
        users.add_user(clean_db, "m", PASSWORD, "leader", "A-W")
    assert member.password_hash.startswith("$argon2id$") and PASSWORD not in member.password_hash


def test_cli_users_add_list_disable(clean_db: str) -> None:
    two_subtrees(clean_db)
    runner = CliRunner()
    r = runner.invoke(
        cli,
        ["users", "add", "cli_leader", "--role", "leader", "--org", "A-W", "--password-stdin"],
        input=PASSWORD + "\n",
    )
    assert r.exit_code == 0, r.output
    r = runner.invoke(
        cli,
        ["users", "add", "cli_m", "--role", "member", "--member", "B-M1", "--password", PASSWORD],
    )
    assert r.exit_code == 0, r.output
    r = runner.invoke(
        cli, ["users", "add", "bad", "--role", "leader", "--org", "NOPE", "--password", PASSWORD]
    )
    assert r.exit_code == 1
    r = runner.invoke(cli, ["users", "list", "--json"])
    assert '"username": "cli_leader"' in r.output and '"org": "A-W"' in r.output
    assert runner.invoke(cli, ["users", "disable", "cli_leader"]).exit_code == 0
    assert [u.active for u in users.list_users(clean_db) if u.username == "cli_leader"] == [False]
    assert runner.invoke(cli, ["users", "disable", "ghost"]).exit_code == 1
    r = runner.invoke(
        cli, ["embed-keys", "add", "portal", "--origin", "https://Portal.example.cn/"]
    )
    assert r.exit_code == 0, r.output
    key = r.stdout.strip().splitlines()[0]
    found = _strict_check(clean_db, key, "https://portal.example.cn", None)
    assert found is not None and found.name == "portal"


def _strict_check(
    url: str, key: str, origin: str | None, referer: str | None
) -> users.EmbedKey | None:
    """The embed check with an Origin or Referer required (None = refused)."""

    async def check() -> users.EmbedKey | None:
        conn = await asyncpg.connect(url)
        try:
            return await users.check_embed_key(conn, key, origin, referer, require_origin=True)
        finally:
            await conn.close()

    return asyncio.run(check())


def test_embed_key_checks(clean_db: str) -> None:
    key = users.add_embed_key(
        clean_db, "portal", ["https://portal.example.cn", "http://10.0.0.5:8080"]
    )
    ok = _strict_check(clean_db, key.key, "https://portal.example.cn", None)
    assert ok is not None
    assert ok.allowed_origins == ("http://10.0.0.5:8080", "https://portal.example.cn")
    assert _strict_check(clean_db, key.key, None, "http://10.0.0.5:8080/news/1.html?x=1")
    for origin, referer in (
        ("https://evil.example.com", None),
        (None, "https://evil.example.com/page"),
        ("https://portal.example.cn.evil.com", None),
        ("http://portal.example.cn", None),  # scheme matters
        (None, None),
        ("null", None),
    ):
        assert _strict_check(clean_db, key.key, origin, referer) is None
    assert _strict_check(clean_db, "no-such-key-at-all", "https://portal.example.cn", None) is None
    users.set_embed_key_active(clean_db, key.key, False)
    assert _strict_check(clean_db, key.key, "https://portal.example.cn", None) is None
    with pytest.raises(InvalidInput):
        users.add_embed_key(clean_db, "bad", ["ftp://x"])


def test_cors_allowlist(client: TestClient) -> None:
    allowed = client.get("/api/collections", headers={"Origin": "https://portal.example.cn"})
    assert allowed.headers["access-control-allow-origin"] == "https://portal.example.cn"
    denied = client.get("/api/collections", headers={"Origin": "https://evil.example.com"})
    assert "access-control-allow-origin" not in denied.headers
    pre = client.options(
        "/api/collections",
        headers={"Origin": "https://evil.example.com", "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in pre.headers
    ok = client.options(
        "/api/collections",
        headers={"Origin": "https://portal.example.cn", "Access-Control-Request-Method": "GET"},
    )
    assert ok.headers["access-control-allow-origin"] == "https://portal.example.cn"


def _preflight(client: TestClient, url: str, method: str, headers: str) -> Any:
    return client.options(
        url,
        headers={
            "Origin": "https://portal.example.cn",
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": headers,
        },
    )


def test_cors_lets_the_portal_write_and_resume_the_stream(client: TestClient) -> None:
    item = "/api/collections/activities/items/1"
    for method in ("PUT", "PATCH", "DELETE", "POST"):
        pre = _preflight(
            client, item, method, "authorization, content-type, if-match, x-request-id"
        )
        assert pre.status_code == 200, (method, pre.text)
        assert pre.headers["access-control-allow-origin"] == "https://portal.example.cn"
        assert method in pre.headers["access-control-allow-methods"].split(", ")
        allowed = {h.lower() for h in pre.headers["access-control-allow-headers"].split(", ")}
        assert {"authorization", "content-type", "if-match", "x-request-id"} <= allowed
    pre = _preflight(client, "/api/events", "GET", "last-event-id")
    assert pre.status_code == 200 and pre.headers["access-control-allow-origin"]
    refused = _preflight(client, item, "PATCH", "x-not-allowed")
    assert refused.status_code == 400  # only the listed headers
    r = client.get("/api/collections", headers={"Origin": "https://portal.example.cn"})
    exposed = {h.lower() for h in r.headers["access-control-expose-headers"].split(", ")}
    assert {"etag", "location", "x-request-id"} <= exposed


def test_cors_star_refused_and_no_list_no_header(clean_db: str) -> None:
    with pytest.raises(ValueError):
        make_client(clean_db, cors_origins=["*"])
    with make_client(clean_db) as c:
        r = c.get("/api/conformance", headers={"Origin": "https://portal.example.cn"})
        assert "access-control-allow-origin" not in r.headers


def test_secret_key_rules(tmp_path: Path, clean_db: str) -> None:
    prod = Settings(
        db=DatabaseSettings(database_url=clean_db, home=tmp_path),
        api=ApiSettings(env="production", secret_key=None),
    )
    with pytest.raises(SecretKeyMissing):
        create_app(prod)
    with pytest.raises(SecretKeyMissing):
        create_app(Settings(db=prod.db, api=ApiSettings(secret_key="short")))
    local = Settings(db=DatabaseSettings(home=tmp_path / "home"), api=ApiSettings(secret_key=None))
    key = signing_key(local)
    path = tmp_path / "home" / "secret_key"
    assert len(key) >= 32 and path.read_text().strip() == key
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert signing_key(local) == key  # kept, not regenerated


def test_async_embed_check_used_by_the_embed_page(clean_db: str) -> None:
    key = users.add_embed_key(clean_db, "portal", ["https://portal.example.cn"])

    async def check(k: str, origin: str | None, referer: str | None) -> users.EmbedKey | None:
        conn = await asyncpg.connect(clean_db)
        try:
            return await users.check_embed_key(conn, k, origin, referer)
        finally:
            await conn.close()

    found = asyncio.run(check(key.key, None, "https://portal.example.cn/news"))
    assert found is not None and found.origins == ("https://portal.example.cn",)
    # no Origin/Referer sent (referrer policy): accepted, the CSP frame-ancestors still binds it
    assert asyncio.run(check(key.key, None, None)) is not None
    assert asyncio.run(check(key.key, "https://evil.example.com", None)) is None
    assert asyncio.run(check("unknown-key-123456", "https://portal.example.cn", None)) is None
    users.set_embed_key_active(clean_db, key.key, False)
    assert asyncio.run(check(key.key, "https://portal.example.cn", None)) is None


def test_password_guessing_is_throttled(client: TestClient) -> None:
    for _ in range(5):
        r = client.post("/api/auth/token", data={"username": "leader_a", "password": "guess-guess"})
        assert r.status_code == 401
    r = client.post("/api/auth/token", data={"username": "leader_a", "password": PASSWORD})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    assert bearer(client, "leader_b")  # other names are not affected


def test_a_stranger_cannot_lock_a_name_out(clean_db: str) -> None:
    """Five wrong passwords lock the name for the guessing address only; the owner, elsewhere,
    still logs in. Guessing from many addresses locks the name for everyone after 100."""
    two_subtrees(clean_db)
    add_users(clean_db)
    app = create_app(
        Settings(db=DatabaseSettings(database_url=clean_db), api=ApiSettings(secret_key=KEY))
    )

    async def from_header(scope: Any, receive: Any, send: Any) -> None:
        """The client address the request names in X-Test-Client (tests only)."""
        if scope["type"] == "http":
            found = dict(scope["headers"]).get(b"x-test-client", b"10.0.0.1").decode()
            scope = {**scope, "client": (found, 40000)}
        await app(scope, receive, send)

    def login(password: str, address: str) -> int:
        return c.post(
            "/api/auth/token",
            data={"username": "leader_a", "password": password},
            headers={"X-Test-Client": address},
        ).status_code

    with TestClient(from_header) as c:
        assert [login("guess-guess", "203.0.113.9") for _ in range(5)] == [401] * 5
        assert login(PASSWORD, "203.0.113.9") == 429
        assert login(PASSWORD, "10.0.0.1") == 200  # the owner, from elsewhere
        for i in range(95):  # 100 failures of the name in all, from many addresses
            assert login("guess-guess", f"198.51.100.{i}") == 401
        assert login(PASSWORD, "10.0.0.1") == 429
