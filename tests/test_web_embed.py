"""The portal embed and the admin snippet page, on a small district of our own (embed keys are
written, so this runs on the writable test database, not the read-only sample)."""

from __future__ import annotations

import http.server
import logging
import os
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import web_data
from web_browser import Browser, canvas_variance, serve, wait_for_map

pytestmark = pytest.mark.skipif(
    not os.access("/usr/bin/chromium", os.X_OK), reason="Debian chromium is not installed"
)
PORTAL = "https://portal.example.org"


@pytest.fixture(scope="module")
def small_db(db_url: str) -> str:
    """The test database emptied and holding the small district."""
    import psycopg
    from conftest import DATA_TABLES

    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("TRUNCATE " + ", ".join(DATA_TABLES) + " RESTART IDENTITY CASCADE")
        conn.execute("DELETE FROM embed_keys")
    web_data.load(db_url)
    return db_url


@pytest.fixture(scope="module")
def embed_key(small_db: str) -> str:
    """An embed key for the portal's origin."""
    from geo.users import add_embed_key

    return add_embed_key(small_db, "门户网站", [PORTAL]).key


@pytest.fixture(scope="module")
def base(small_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server on the small district with an empty home (no terrain, no 3D Tiles built)."""
    home = tmp_path_factory.mktemp("webhome-small")
    with serve(small_db, {"DJMAP_HOME": str(home)}) as url:
        yield url


def _status(url: str, headers: dict[str, str]) -> tuple[int, dict[str, str]]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as r:
            return r.status, dict(r.headers)
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers)


def test_embed_key_origins_become_frame_ancestors(base: str, embed_key: str) -> None:
    """A known key answers with its origins in CSP frame-ancestors; another site is refused."""
    status, headers = _status(f"{base}/embed?key={embed_key}", {"Referer": PORTAL + "/news/1"})
    assert status == 200
    policy = {d.split()[0]: d.split()[1:] for d in headers["content-security-policy"].split(";")}
    assert policy["frame-ancestors"] == [PORTAL]
    assert policy["script-src"] == ["'self'", "'wasm-unsafe-eval'"]  # no inline script, no eval
    status, headers = _status(f"{base}/embed?key={embed_key}", {"Referer": "https://evil.example/"})
    assert status == 403  # the refusal card, which any page may frame (test_refusal_* below)
    assert "frame-ancestors *" in headers["content-security-policy"]
    assert _status(f"{base}/embed?key=wrong", {"Referer": PORTAL + "/"})[0] == 403


# Portal refusals are visible (issue 11 §6): an unknown or disabled key, or a page the key does
# not allow, gets a card with no data that any page may frame, and one log line naming the key
# by its id (never the key), the embedding origin and the reason. An allowed origin keeps the map
# and its strict frame-ancestors.


@pytest.fixture(scope="module")
def client(small_db: str, embed_key: str) -> Iterator[Any]:
    """The app in this process (its log records reach caplog)."""
    from privacy import api_client

    yield from api_client(small_db, "embed-refusal-" + "e" * 32)


def _frame_ancestors(headers: Any) -> list[str]:
    policy = {d.split()[0]: d.split()[1:] for d in headers["content-security-policy"].split(";")}
    return policy["frame-ancestors"]


def _holds_no_data(body: str, small_db: str, *secrets: str) -> None:
    """No map, no feature, no figure, no key: the card's words and the page's UI strings only."""
    import psycopg

    with psycopg.connect(small_db) as conn:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM organisations UNION ALL SELECT name FROM service_points"
            ).fetchall()
        ]
    assert names
    assert not [n for n in names if n in body]
    assert "deck.js" not in body and "/api/tiles" not in body and "initialViewState" not in body
    assert not [s for s in secrets if s in body]


def _refusals(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "djmap.embed"]


def test_refusal_of_an_unknown_key_is_a_card_any_page_may_frame(
    client: Any, small_db: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="djmap.embed")
    r = client.get("/embed?key=nobody-issued-this", headers={"Referer": PORTAL + "/news/1?a=b"})
    assert r.status_code == 403
    assert _frame_ancestors(r.headers) == ["*"]
    assert "嵌入密钥无效" in r.text and 'data-reason="unknown"' in r.text
    _holds_no_data(r.text, small_db, "nobody-issued-this")
    assert _refusals(caplog) == [f"embed refused: key=unknown origin={PORTAL} reason=unknown"]


def test_refusal_of_a_page_the_key_does_not_allow_names_the_site(
    client: Any, small_db: str, embed_key: str, caplog: pytest.LogCaptureFixture
) -> None:
    import psycopg

    with psycopg.connect(small_db) as conn:
        key_id = conn.execute("SELECT id FROM embed_keys WHERE key = %s", (embed_key,)).fetchone()
    assert key_id is not None
    caplog.set_level(logging.INFO, logger="djmap.embed")
    r = client.get(f"/embed?key={embed_key}&lang=en", headers={"Referer": "https://evil.example/x"})
    assert r.status_code == 403
    assert _frame_ancestors(r.headers) == ["*"]
    assert "This site may not embed the map" in r.text and "https://evil.example" in r.text
    _holds_no_data(r.text, small_db, embed_key, PORTAL)
    expected = f"embed refused: key={key_id[0]} origin=https://evil.example reason=origin"
    assert _refusals(caplog) == [expected]  # the key's id, never the key; no path or query


def test_refusal_of_a_disabled_key_and_an_allowed_origin_gets_the_map(
    client: Any, small_db: str, embed_key: str, caplog: pytest.LogCaptureFixture
) -> None:
    from geo.users import add_embed_key, set_embed_key_active

    off = add_embed_key(small_db, "已停用", [PORTAL])
    set_embed_key_active(small_db, off.key, False)
    caplog.set_level(logging.INFO, logger="djmap.embed")
    r = client.get(f"/embed?key={off.key}", headers={"Referer": PORTAL + "/"})
    assert r.status_code == 403 and _frame_ancestors(r.headers) == ["*"]
    assert "嵌入密钥无效" in r.text
    _holds_no_data(r.text, small_db, off.key)
    assert _refusals(caplog) == [f"embed refused: key={off.id} origin={PORTAL} reason=disabled"]
    caplog.clear()
    r = client.get(f"/embed?key={embed_key}", headers={"Referer": PORTAL + "/news/1"})
    assert r.status_code == 200
    assert _frame_ancestors(r.headers) == [PORTAL]
    assert "deck.js" in r.text
    assert _refusals(caplog) == []


@contextmanager
def _portal(html: str) -> Iterator[str]:
    """A second local server (another origin: its own port) serving `html` at /news."""
    body = html.encode()

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_portal_on_another_origin_sees_the_refusal_card_in_its_frame(
    browser: Browser, base: str, embed_key: str, output_dir: Path
) -> None:
    """A portal page on another origin (a second local server) frames /embed: the unknown key
    and the key that does not allow the site both show their card inside the frame."""
    html = (
        "<!doctype html><meta charset=utf-8><title>portal</title>"
        f'<iframe id="unknown" src="{base}/embed?key=nobody-issued-this" width="640" height="360">'
        f'</iframe><iframe id="origin" src="{base}/embed?key={embed_key}&amp;lang=en" width="640"'
        ' height="360"></iframe>'
    )
    with _portal(html) as portal:
        page = browser.context.new_page()
        page.goto(f"{portal}/news", wait_until="load")
        unknown = page.frame_locator("#unknown").locator("#refused-title")
        assert unknown.text_content() == "嵌入密钥无效"
        card = page.frame_locator("#origin").locator(".card[data-reason=origin]")
        text = card.text_content() or ""
        assert "This site may not embed the map" in text and portal in text
        page.screenshot(path=str(output_dir / "web-embed-refused-framed.png"))
        page.close()


def test_embed_page_shows_public_layers_only(
    browser: Browser, base: str, embed_key: str, output_dir: Path
) -> None:
    """The embedded map: chrome-less, public layers only, the view from the query string."""
    page, log = browser.open(
        base,
        f"/embed?key={embed_key}&layers=boundary,buildings,service_points"
        "&center=120.155,30.251&zoom=15&pitch=40&bearing=20",
    )
    wait_for_map(page)
    page.wait_for_timeout(1000)
    page.screenshot(path=str(output_dir / "web-embed.png"))
    ids = page.evaluate("() => window.djmapMap.deck.props.layers.map(l => l.id)")
    assert set(ids) - {"district_mask"} == {"boundary", "buildings", "service_points"}  # + its mask
    view = page.evaluate("() => window.djmapMap.viewState()")
    assert round(view["zoom"]) == 15 and round(view["pitch"]) == 40
    assert page.locator(".topbar").count() == 0
    assert canvas_variance(page) > 20
    assert log.problems() == [], log.problems()


def test_embed_layers_cannot_ask_for_private_ones(base: str, embed_key: str) -> None:
    """Asking the embed for member heat gives a deck without it."""
    with urllib.request.urlopen(
        urllib.request.Request(
            f"{base}/embed?key={embed_key}&layers=member_heat,boundary",
            headers={"Referer": PORTAL + "/"},
        ),
        timeout=30,
    ) as res:
        html = res.read().decode()
    assert '"member_heat"' not in html and '"boundary"' in html


def test_admin_snippet_and_preview(
    browser: Browser, base: str, embed_key: str, output_dir: Path
) -> None:
    """The admin page builds a copy-paste iframe for a key and previews it."""
    page, log = browser.open(base, "/admin/embed")
    page.fill("#embed-key", embed_key)
    page.uncheck("#embed-layers input[value=activities]")
    snippet = page.input_value("#embed-snippet")
    assert snippet.startswith("<iframe ") and f"key={embed_key}" in snippet
    assert "activities" not in snippet.split("layers=")[1].split("&amp;")[0]
    page.click("button[type=submit]")
    frame = page.frame_locator("#embed-preview")
    frame.locator("#map canvas").wait_for()
    page.wait_for_timeout(3000)
    page.screenshot(path=str(output_dir / "web-admin-embed.png"))
    assert log.problems() == [], log.problems()


def test_pages_degrade_without_terrain(browser: Browser, base: str, output_dir: Path) -> None:
    """With no terrain built the leader view still draws, in English, without a console error."""
    page, log = browser.open(base, "/?lang=en")
    wait_for_map(page)
    page.wait_for_timeout(1000)
    page.screenshot(path=str(output_dir / "web-leader-small-en.png"))
    ids = page.evaluate("() => window.djmapMap.deck.props.layers.map(l => l.id)")
    assert "terrain" not in ids  # no DEM was built into this home
    assert "Leader view" in page.title()
    assert canvas_variance(page) > 20
    assert log.problems() == [], log.problems()


def test_online_basemap_is_off_by_default_and_configurable() -> None:
    """No raster basemap unless a URL template is set; Amap tiles are marked GCJ-02."""
    from web.catalog import page_layers
    from web.decks import Basemap, Sources, View, map_deck

    catalog = page_layers("public")
    view = View(120.15, 30.25)
    off = map_deck(catalog, view, "zh-CN", Sources(mvt=True), Basemap())
    assert "basemap" not in off.to_json()
    amap = Basemap(url="https://webrd01.is.autonavi.com/appmaptile?x={x}&y={y}&z={z}", crs="gcj02")
    doc = map_deck(catalog, view, "zh-CN", Sources(mvt=True), amap).to_json()
    assert '"id": "basemap"' in doc and '"gcj02": true' in doc


def _login(page: object, username: str, password: str) -> None:
    page.evaluate("() => localStorage.clear()")  # type: ignore[attr-defined]
    page.click("#login-btn")  # type: ignore[attr-defined]
    page.fill("#login-form input[name=username]", username)  # type: ignore[attr-defined]
    page.fill("#login-form input[name=password]", password)  # type: ignore[attr-defined]
    page.click("#login-form button[type=submit]")  # type: ignore[attr-defined]


def test_a_leader_sees_member_heat_after_login(
    browser: Browser, base: str, small_db: str, output_dir: Path
) -> None:
    """After a leader logs in, `/` reloads its deck for the leader audience: member heat appears."""
    from geo.users import add_user

    add_user(small_db, "web-leader", "leader-pass-123", "leader", org_code="O1")
    page, log = browser.open(base, "/")
    wait_for_map(page)
    assert "member_heat" not in page.evaluate("() => window.djmapMap.panel.map(p => p.id)")
    with page.expect_navigation():
        _login(page, "web-leader", "leader-pass-123")
    wait_for_map(page)
    page.wait_for_function("() => window.djmapMap.panel.some(p => p.id === 'member_heat')")
    page.check("input[data-layer=member_heat]")
    # The heat is a ZoomHeatLayer (web/src/basemap_heat.js): it fetches the cells of the H3
    # resolution the zoom asks for and keeps them in its state, one list per resolution.
    shown = (
        "() => { const l = window.djmapMap.deck.layerManager.getLayers()"
        ".find(x => x.id === 'member_heat'); return l && l.state && l.state.cells[l.state.res]; }"
    )
    page.wait_for_function(shown)
    page.wait_for_timeout(1000)
    page.screenshot(path=str(output_dir / "web-leader-member-heat.png"))
    cells = page.evaluate(shown)
    assert cells and all(c["count"] >= 10 for c in cells)  # aggregated cells only, none under 10
    assert any("/api/heatmap/members" in u for u in log.requests)
    assert log.problems() == [], log.problems()
    page.evaluate("() => localStorage.clear()")
    page.close()


def test_a_member_checks_in_from_the_finder(
    browser: Browser, base: str, small_db: str, output_dir: Path
) -> None:
    """A logged-in member at a running activity's site checks in and sees the answer."""
    import psycopg

    from geo.users import add_user

    add_user(small_db, "web-member", "member-pass-123", "member", member="M0001")
    with psycopg.connect(small_db) as conn:
        lon, lat = conn.execute(
            "SELECT ST_X(geom), ST_Y(geom) FROM activities WHERE code = 'ANOW'"
        ).fetchone()  # type: ignore[misc]
    page, log = browser.open(base, "/nearest?lang=zh-CN", viewport={"width": 375, "height": 812})
    wait_for_map(page)
    _login(page, "web-member", "member-pass-123")
    page.wait_for_function("() => !!localStorage.getItem('djmap_token')")
    page.click("#target button[data-v=activities]")
    page.evaluate("([lon, lat]) => window.djmapNearest.locate(lon + 0.0003, lat)", [lon, lat])
    button = page.locator("#results button.checkin").first
    button.wait_for()
    button.click()
    answer = page.locator("#results .answer.ok").first
    answer.wait_for()
    assert "签到" in answer.text_content()
    page.screenshot(path=str(output_dir / "web-nearest-checkin.png"))
    assert log.problems() == [], log.problems()
    page.evaluate("() => localStorage.clear()")
    page.close()
