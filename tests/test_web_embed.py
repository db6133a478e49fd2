"""The portal embed and the admin snippet page, on a small district of our own (embed keys are
written, so this runs on the writable test database, not the read-only sample)."""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

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
    assert status == 403
    assert "'none'" in headers["content-security-policy"]
    assert _status(f"{base}/embed?key=wrong", {"Referer": PORTAL + "/"})[0] == 403


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


def test_gcj02_shift_matches_the_core(browser: Browser, base: str) -> None:
    """The page's GCJ-02 offset (for an Amap basemap) equals geo/crs.py to a centimetre."""
    from geo.crs import wgs84_to_gcj02

    page, _ = browser.open(base, "/admin/embed")
    for lon, lat in ((120.155, 30.251), (116.397, 39.909), (113.94, 22.54)):
        dx, dy = page.evaluate("([x, y]) => window.djmap.gcjOffset(x, y)", [lon, lat])
        gx, gy = wgs84_to_gcj02(lon, lat)
        assert abs(lon + dx - float(gx)) < 1e-7 and abs(lat + dy - float(gy)) < 1e-7
    page.close()


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
