"""Hardening at the service's edges (issue 9, item 10): security headers on pages and API
answers, the request body cap, and embed keys kept out of access logs."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from privacy import add_users, api_client, bearer, two_subtrees
from test_auth_attacks import KEY, PORTAL, free_port

from geo import users

# scripts from this server only; WebAssembly may compile, strings never run as JavaScript
SCRIPT_SRC = ["'self'", "'wasm-unsafe-eval'"]


# security headers -------------------------------------------------------------------------------


@pytest.fixture
def client(clean_db: str) -> Iterator[TestClient]:
    two_subtrees(clean_db)
    add_users(clean_db)
    yield from api_client(clean_db, KEY)


def _directives(csp: str) -> dict[str, list[str]]:
    out = {}
    for part in csp.split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


def test_pages_and_api_send_security_headers(client: TestClient, clean_db: str) -> None:
    """Pages: a CSP with scripts from this server only, framed by no one; every response:
    nosniff and a referrer policy; API answers may not run or be framed at all."""
    for path in ("/", "/nearest", "/coverage", "/admin/embed", "/api/docs"):
        r = client.get(path)
        assert r.status_code == 200, (path, r.status_code)
        csp = _directives(r.headers["content-security-policy"])
        assert csp["script-src"] == SCRIPT_SRC, (path, csp)
        assert csp["frame-ancestors"] == ["'none'"] and csp["object-src"] == ["'none'"]
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "same-origin"
        scripts = r.text.split("<script")[1:]  # no inline script to allow: src= or JSON data
        assert all(" src=" in s.split(">")[0] or "application/json" in s for s in scripts)
    for path in ("/api/health", "/api/layers", "/api/collections", "/api/nope", "/web/orgs.json"):
        r = client.get(path)
        assert r.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "same-origin"
    key = users.add_embed_key(clean_db, "门户", [PORTAL]).key
    r = client.get(f"/embed?key={key}", headers={"Referer": PORTAL + "/news"})
    assert r.status_code == 200
    csp = _directives(r.headers["content-security-policy"])
    assert csp["frame-ancestors"] == [PORTAL] and csp["script-src"] == SCRIPT_SRC
    r = client.get("/embed?key=nobody-issued-this")  # the refusal card: no data, any frame
    assert r.status_code == 403 and "deck.js" not in r.text
    assert _directives(r.headers["content-security-policy"])["frame-ancestors"] == ["*"]


# body size cap ----------------------------------------------------------------------------------


def test_json_bodies_are_capped_uploads_are_not(client: TestClient) -> None:
    """A JSON body over DJMAP_MAX_JSON_KB (256 KB) is 413 with a JSON error, declared or
    streamed; multipart uploads (imports, panoramas) keep their own caps."""
    planner = bearer(client, "admin")
    big = b'{"lon": 120.1, "lat": 30.2, "pad": "' + b"x" * 300_000 + b'"}'
    headers = {**planner, "Content-Type": "application/json"}
    r = client.post("/api/coverage", content=big, headers=headers)
    assert r.status_code == 413, r.text
    assert r.json()["code"] == "PayloadTooLarge" and "256 KB" in r.json()["description"]

    def chunks() -> Iterator[bytes]:
        for i in range(0, len(big), 16_384):
            yield big[i : i + 16_384]

    r = client.post("/api/coverage", content=chunks(), headers=headers)
    assert r.status_code == 413 and r.json()["code"] == "PayloadTooLarge"
    small = client.post("/api/coverage", content=b'{"meters": -1}', headers=headers)
    assert small.status_code == 400  # under the cap: validated as before
    steward = bearer(client, "steward_a")
    csv = b"nothing,useful\n" + b"".join(b"X%06d,name %d\n" % (i, i) for i in range(20_000))
    assert len(csv) > 300_000
    r = client.post(
        "/api/imports",
        files={"file": ("orgs.csv", csv, "text/csv")},
        data={"kind": "organisations"},
        headers=steward,
    )
    assert r.status_code != 413 and r.status_code < 500, r.text
    r = client.post(
        "/api/panoramas",
        files={"file": ("p.jpg", b"\xff\xd8\xff" + b"\0" * 300_000, "image/jpeg")},
        headers=steward,
    )
    assert r.status_code != 413 and r.status_code < 500, r.text


# embed keys in access logs ----------------------------------------------------------------------


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_embed_key_never_reaches_the_access_log(
    clean_db: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A real uvicorn server with its access log on: the line for /embed?key=… shows key=***."""
    import uvicorn

    key = users.add_embed_key(clean_db, "门户", [PORTAL]).key
    monkeypatch.setenv("DJMAP_DATABASE_URL", clean_db)
    monkeypatch.setenv("DJMAP_SECRET_KEY", KEY)
    monkeypatch.setenv("DJMAP_HOME", str(tmp_path))
    port = free_port()
    config = uvicorn.Config(
        "api.app:create_app",
        factory=True,
        port=port,
        log_level="info",
        access_log=True,
        lifespan="on",
    )
    capture = _Capture()
    access = logging.getLogger("uvicorn.access")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    try:
        while not srv.started:
            assert thread.is_alive(), "uvicorn stopped"
            time.sleep(0.1)
        access.addHandler(capture)
        url = f"http://127.0.0.1:{port}/embed?key={key}&layers=boundary&lang=en"
        req = urllib.request.Request(url, headers={"Referer": PORTAL + "/"})
        with urllib.request.urlopen(req, timeout=60) as r:
            assert r.status == 200
        # a page that may not exist yet: its status does not matter, its log line does
        with contextlib.suppress(urllib.error.HTTPError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/checkin?t=qr-secret", timeout=60)
    finally:
        srv.should_exit = True
        thread.join(timeout=30)
        access.removeHandler(capture)
    embed = [line for line in capture.lines if "/embed" in line]
    assert embed, capture.lines
    assert all(key not in line for line in capture.lines), capture.lines
    assert "key=***&layers=boundary" in embed[0]
    assert all("qr-secret" not in line for line in capture.lines)
