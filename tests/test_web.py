"""The pages in a real browser (Debian's Chromium): offline, no console errors, real interactions.

A uvicorn server runs against the sample district (terrain and 3D Tiles built into a private
home); every request the page makes is recorded and any other host is refused and reported.
Screenshots of every page go to test-output/.
"""

from __future__ import annotations

import gzip
import json
import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from web_browser import Browser, PageLog, canvas_variance, serve, wait_for_map

pytestmark = pytest.mark.skipif(
    not os.access("/usr/bin/chromium", os.X_OK), reason="Debian chromium is not installed"
)
PHONE = {"width": 375, "height": 812}


@pytest.fixture(scope="module")
def web_home(sample_files: Path, sample_url: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A djmap home with the sample's panoramas, terrain tiles and 3D Tiles of its buildings."""
    from geo.samples.load import stage_panoramas
    from tiles.terrain import build_terrain
    from tiles.threed import build_buildings

    home = tmp_path_factory.mktemp("webhome")
    stage_panoramas(sample_files, home / "panoramas")
    build_terrain(sample_files / "dem.tif", home, zooms=(10, 14), progress=False, workers=1)
    build_buildings(sample_url, home, progress=False, workers=1)
    return home


@pytest.fixture(scope="module")
def base(sample_url: str, web_home: Path) -> Iterator[str]:
    """The server on the sample district."""
    with serve(sample_url, {"DJMAP_HOME": str(web_home)}) as url:
        yield url


def _clean(log: PageLog) -> None:
    assert log.problems() == [], "\n".join(log.problems())
    assert log.requests, "the page made no requests"


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as res:
            return res.status, dict(res.headers), res.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def tap(page: Any, x: float, y: float, done: str, tries: int = 4) -> None:
    """Click the map until `done` holds (a click that lands while deck.gl is busy may be lost)."""
    for _ in range(tries):
        page.mouse.click(x, y)
        try:
            page.wait_for_function(done, timeout=8_000)  # a retry's interval, not a limit
            return
        except Exception:
            continue
    page.wait_for_function(done)  # a late answer to the last click


def _sample_row(url: str, sql: str) -> tuple[Any, ...]:
    with psycopg.connect(url) as conn:
        row = conn.execute(sql).fetchone()
    assert row is not None
    return tuple(row)


# ---- HTTP (no browser) -------------------------------------------------------------------


def test_pages_and_assets_over_http(base: str) -> None:
    """Pages answer HTML with their deck; assets come gzipped from here; no CDN anywhere."""
    for path in ("/", "/nearest", "/coverage", "/admin/embed", "/api/docs", "/?lang=en"):
        status, headers, body = _get(base + path)
        assert status == 200, path
        assert headers["content-type"].startswith("text/html")
        text = body.decode()
        assert "cdn" not in text.lower() and "unpkg" not in text and "googleapis" not in text
    status, headers, body = _get(base + "/static/dist/deck.js", {"Accept-Encoding": "gzip"})
    assert status == 200 and headers.get("content-encoding") == "gzip"
    assert b"Deck" in gzip.decompress(body)
    assert _get(base + "/static/../api/app.py")[0] == 404
    assert _get(base + "/static/dist/nothing.js")[0] == 404
    en = _get(base + "/?lang=en")[2].decode()
    assert "Leader view" in en and "Party-Building Map" in en
    assert "领导驾驶舱" in _get(base + "/")[2].decode()


def test_deck_document_is_built_from_the_catalog(base: str) -> None:
    """The leader deck is pydeck JSON with the catalog's public layers drawn from our own routes."""
    status, _, body = _get(base + "/web/deck/leader.json")
    assert status == 200
    doc = json.loads(body)
    ids = [layer["id"] for layer in doc["layers"]]
    for lid in ("boundary", "buildings_3d", "organisations", "service_points", "activities"):
        assert lid in ids
    assert "member_heat" not in ids  # leaders only
    assert "buildings_3d" in ids and "terrain" in ids
    assert {layer["@@type"] for layer in doc["layers"]} >= {
        "MVTLayer",
        "Tile3DLayer",
        "TerrainLayer",
    }
    for layer in doc["layers"]:
        for key in ("data", "elevationData"):
            if isinstance(layer.get(key), str):
                assert layer[key].startswith("/"), layer[key]  # same origin, never another host
        if "loadOptions" in layer:
            assert layer["loadOptions"]["worker"] is False  # no worker script fetched from a CDN
    assert doc["initialViewState"]["pitch"] > 0


def test_member_counts_under_ten_never_leave(base: str) -> None:
    """The organisation tree masks member counts under 10."""
    orgs = json.loads(_get(base + "/web/orgs.json")[2])["organisations"]
    assert orgs
    assert all(o["members"] is None or o["members"] >= 10 for o in orgs)
    assert {"党委", "党总支", "党支部"} <= {o["type"] for o in orgs}


# ---- in the browser ----------------------------------------------------------------------


def _set_checked(page: Any, selector: str, on: bool) -> None:
    """Tick or untick a layer box as a click would (the DOM click fires its change event):
    these check what the box does, not the pointer; Playwright's wait for a stable element
    waits for frames, which software WebGL makes slow."""
    page.evaluate(
        "([sel, on]) => { const el = document.querySelector(sel); if (el.checked !== on) el.click(); }",
        [selector, on],
    )
    assert page.is_checked(selector) is on, selector


def _renders_offline(page: Any, log: PageLog, output_dir: Path) -> None:
    """deck.gl draws tiles, 3D buildings and terrain; nothing from elsewhere."""
    page.wait_for_function(
        "() => { const l = window.djmapMap.layer('buildings_3d'); return l && l.isLoaded; }",
    )
    page.wait_for_timeout(1500)
    page.screenshot(path=str(output_dir / "web-leader.png"))
    assert canvas_variance(page) > 50
    assert page.locator("#stats .stat").count() == 6
    assert page.locator("#org-tree button[data-org]").count() > 10
    kinds = {u.split("/api/")[1].split("/")[0] for u in log.requests if "/api/" in u}
    assert {"tiles", "3dtiles", "terrain"} <= kinds
    assert any(".b3dm" in u or ".glb" in u for u in log.requests)


def _service_point_opens_its_panorama(
    page: Any, log: PageLog, sample_url: str, output_dir: Path
) -> None:
    """Click the point on the map: the card shows details, upcoming activities and the panorama."""
    sp_id, name, lon, lat, pano_id = _sample_row(
        sample_url,
        "SELECT s.id, s.name, ST_X(s.geom), ST_Y(s.geom), p.id FROM service_points s "
        "JOIN panoramas p ON p.service_point_id = s.id ORDER BY s.id LIMIT 1",
    )
    _set_checked(page, "input[data-layer=organisations]", False)
    _set_checked(page, "input[data-layer=activities]", False)
    page.evaluate(
        "([lon, lat]) => window.djmapMap.flyTo({longitude: lon, latitude: lat, zoom: 17.5, pitch: 0, bearing: 0}, 0)",
        [lon, lat],
    )
    hit = page.wait_for_function(  # until the point's tile is drawn where it projects
        """([lon, lat, id]) => {
            const d = window.djmapMap.deck;
            const vp = d.getViewports()[0];
            if (!vp || Math.abs(vp.zoom - 17.5) > 0.01) return null;
            const [x, y] = vp.project([lon, lat]);
            const i = d.pickObject({x, y, radius: 4});
            const p = i && i.object && i.object.properties;
            const r = document.querySelector('#map').getBoundingClientRect();
            return p && p.id === id ? [r.x + x, r.y + y] : null; }""",
        arg=[lon, lat, sp_id],
        timeout=60_000,
    )
    x, y = hit.json_value()
    tap(page, x, y, f"() => !!document.querySelector(\"#sp-body .sp-name[data-sp='{sp_id}']\")")
    # a click the busy page answered late and the next one reopen the card: wait for its text
    page.wait_for_function(
        "name => document.querySelector('#sp-body').textContent.includes(name)",
        arg=name,
    )
    assert name in page.text_content("#sp-body")
    page.wait_for_selector(f"#panorama[data-panorama='{pano_id}'].loaded")
    page.wait_for_timeout(800)
    page.screenshot(path=str(output_dir / "web-leader-panorama.png"))
    assert any(f"/api/panoramas/{pano_id}/image" in u for u in log.requests)
    assert canvas_variance(page, "#panorama canvas") > 50


def _organisation_filters_and_flies(page: Any, log: PageLog, sample_url: str) -> None:
    """Choosing a 党委 filters points to its subtree (org= on the tiles), flies, updates stats."""
    org_id, name = _sample_row(
        sample_url, "SELECT id, name FROM organisations WHERE type = '党委' ORDER BY code LIMIT 1"
    )
    before = page.evaluate("() => window.djmapMap.viewState().longitude")
    # a DOM click: this checks what choosing does, not the pointer
    page.locator(f"#org-tree button[data-org='{org_id}']").dispatch_event("click")
    page.wait_for_function("id => window.djmapLeader.state.org === id", arg=org_id)
    page.wait_for_function("() => window.djmapMap.layer('service_points').isLoaded")
    data = page.evaluate("() => window.djmapMap.layer('service_points').props.data")
    assert f"org={org_id}" in data
    # the filtered tiles are asked for and the camera moves (frames can lag seconds under load)
    page.wait_for_function(
        "id => performance.getEntriesByType('resource').some(e =>"
        " e.name.includes('/service_points/') && e.name.includes('org=' + id))",
        arg=org_id,
    )
    page.wait_for_function("b => window.djmapMap.viewState().longitude !== b", arg=before)
    assert any(f"org={org_id}" in u and "/service_points/" in u for u in log.requests)
    assert "on" in (page.get_attribute(f"#org-tree button[data-org='{org_id}']", "class") or "")
    assert name in page.text_content("#org-tree")


def _toggle_a_layer(page: Any) -> None:
    """Unticking a layer hides it on the map; the time slider filters activities."""
    visible = "id => window.djmapMap.layer(id).props.visible"
    assert page.evaluate(visible, "service_points") is True
    _set_checked(page, "input[data-layer=service_points]", False)
    assert page.evaluate(visible, "service_points") is False
    _set_checked(page, "input[data-layer=roads]", True)
    assert page.evaluate(visible, "roads") is True
    page.wait_for_function("() => window.djmapMap.layer('roads').isLoaded")
    # the time slider narrows activities to a window around the chosen day
    _set_checked(page, "#time-all", False)
    page.wait_for_function(
        "() => /from=.*&to=/.test(window.djmapMap.layer('activities').props.data)"
    )
    assert page.text_content("#time-label") != ""
    page.wait_for_function("() => window.djmapMap.layer('activities').isLoaded")


def test_leader_view_offline_organisation_and_layer_toggles(
    browser: Browser, base: str, sample_url: str, output_dir: Path
) -> None:
    """`/` on one page load (the map is slow to draw in software WebGL), in this order: it renders
    offline (tiles, 3D buildings, terrain, no console error, nothing elsewhere); choosing a 党委
    filters and flies; unticking a layer hides it and the time slider filters activities."""
    page, log = browser.open(base, "/")
    wait_for_map(page)
    _renders_offline(page, log, output_dir)
    _clean(log)
    _organisation_filters_and_flies(page, log, sample_url)
    _toggle_a_layer(page)
    _clean(log)
    page.close()


def test_clicking_a_service_point_opens_its_panorama(
    browser: Browser, base: str, sample_url: str, output_dir: Path
) -> None:
    """On a page of its own (choosing an organisation would filter the point away); then, the
    view pitched at z17.5 over the terrain, picks across the map log no console error or
    warning (a terrain drawn into the picking pass logged "Picked non-existent layer")."""
    page, log = browser.open(base, "/")
    warnings: list[str] = []
    page.on("console", lambda m: warnings.append(m.text) if m.type == "warning" else None)
    wait_for_map(page)
    _service_point_opens_its_panorama(page, log, sample_url, output_dir)
    _clean(log)
    _pitched_picks_are_quiet(page, log, warnings)
    page.close()


def _pitched_picks_are_quiet(page: Any, log: PageLog, warnings: list[str]) -> None:
    page.evaluate("() => window.djmapMap.flyTo({pitch: 50, bearing: -15}, 0)")
    page.wait_for_function(
        """() => { const d = window.djmapMap.deck, vp = d.getViewports()[0];
            return Math.abs(vp.pitch - 50) < 1e-3 && window.djmapMap.layer('terrain').isLoaded; }"""
    )
    picked = page.evaluate(  # the picks a hover makes, over a grid of the map
        """() => { const d = window.djmapMap.deck, c = d.getCanvas(); let n = 0;
            for (let i = 1; i < 8; i++) for (let j = 1; j < 6; j++) {
              d.pickObject({x: c.clientWidth * i / 8, y: c.clientHeight * j / 6, radius: 4}); n++; }
            return n; }"""
    )
    assert picked == 35
    assert log.problems() == [], log.problems()
    assert [w for w in warnings if "GL Driver Message" not in w] == []


def test_nearest_on_a_phone(browser: Browser, base: str, output_dir: Path) -> None:
    """`/nearest` at 375×812: tap the map, get a list sorted by walking distance with directions."""
    page, log = browser.open(base, "/nearest", viewport=PHONE)
    wait_for_map(page)
    box = page.locator("#map").bounding_box()
    assert box is not None and box["width"] <= 375
    tap(
        page,
        box["x"] + box["width"] * 0.5,
        box["y"] + box["height"] * 0.5,
        "() => window.djmapNearest.state.origin !== null",
    )
    page.wait_for_function("() => !document.getElementById('status').textContent.endsWith('…')")
    status = page.text_content("#status")
    assert page.locator("#results li[data-id]").count() > 0, (status, log.problems())
    page.wait_for_timeout(1500)
    page.screenshot(path=str(output_dir / "web-nearest-phone.png"))
    first = page.locator("#results li[data-id]")
    n = min(first.count(), 10)
    dists = [float(first.nth(i).get_attribute("data-distance") or "nan") for i in range(n)]
    assert n >= 3
    assert dists == sorted(dists)
    assert page.locator("#results a[href^='https://uri.amap.com/navigation']").count() >= n
    assert "分钟" in page.text_content("#results")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375  # no sideways scroll
    _clean(log)
    page.close()


def test_nearest_search_by_name(browser: Browser, base: str, sample_url: str) -> None:
    """Searching a service point's name locates there: it comes first in the list."""
    (name,) = _sample_row(sample_url, "SELECT name FROM service_points ORDER BY id LIMIT 1")
    page, log = browser.open(base, "/nearest", viewport=PHONE)
    wait_for_map(page)
    page.fill("#sp-search", name)
    page.press("#sp-search", "Enter")
    # the list may show the default location's results first: wait for the search's own answer
    first = "#results li[data-id] .title"
    page.wait_for_function(
        "([sel, name]) => document.querySelector(sel)?.textContent === name",
        arg=[first, name],
    )
    assert page.locator(first).first.text_content() == name
    _clean(log)
    page.close()


def test_coverage_run_shows_its_result(browser: Browser, base: str, output_dir: Path) -> None:
    """`/coverage`: a run draws service areas and proposals and offers the downloads."""
    page, log = browser.open(base, "/coverage")
    wait_for_map(page)
    page.select_option("#cov-weight", "buildings")
    page.fill("#cov-limit", "5")
    page.fill("#cov-propose", "3")
    page.click("#cov-run")
    page.wait_for_selector("body[data-coverage=done]", timeout=120_000)
    page.wait_for_timeout(1500)
    page.screenshot(path=str(output_dir / "web-coverage.png"))
    result = page.evaluate("() => window.djmapCoverage.state.result")
    assert result["service_areas"]["features"]
    assert "%" in page.text_content("#cov-figures")
    ranks = page.locator("#cov-proposals li[data-rank]")
    assert ranks.count() == len(result["proposed"])
    with page.expect_download() as dl:
        page.click("#dl-geojson")
    fc = json.loads(Path(dl.value.path()).read_text())
    assert fc["type"] == "FeatureCollection" and fc["features"]
    with page.expect_download() as dl:
        page.click("#dl-png")
    assert Path(dl.value.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    _clean(log)
    page.close()


def test_embed_refuses_an_unknown_key(browser: Browser, base: str, output_dir: Path) -> None:
    """`/embed` with a key nobody issued: 403, a refusal page any page may frame, and no map."""
    page, log = browser.open(base, "/embed?key=nobody-issued-this")
    page.screenshot(path=str(output_dir / "web-embed-refused.png"))
    assert page.locator("#refused-title").is_visible()
    assert page.locator("canvas").count() == 0
    status, headers, _ = _get(base + "/embed?key=nobody-issued-this")
    assert status == 403
    assert "frame-ancestors *" in headers["content-security-policy"]  # a portal sees the card
    assert [u for u in log.foreign] == []
    page.close()


def test_api_docs_offline(browser: Browser, base: str, output_dir: Path) -> None:
    """`/api/docs`: Swagger UI from local files shows the OpenAPI document."""
    page, log = browser.open(base, "/api/docs")
    page.wait_for_selector(".swagger-ui .opblock")
    page.screenshot(path=str(output_dir / "web-api-docs.png"))
    assert page.locator(".opblock").count() > 10
    _clean(log)
    page.close()
