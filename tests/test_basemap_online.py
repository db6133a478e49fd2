"""The optional online basemap (issue 11 §1, web/basemaps.py): off by default, the providers'
tiles, hosts and attribution, GCJ-02 tiles placed through gcoord (node), and in Chromium the
leader page drawing a tile server's tiles under our basemap with exactly its host in the CSP, the
attribution shown, and the session switch turning it off (the offline default is covered by the
pages' offline tests: no foreign request, a CSP naming no other host)."""

from __future__ import annotations

import io
import json
import math
import os
import shutil
import subprocess
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

import pytest
from pydantic import ValidationError
from web_browser import Browser, PageLog, colour_share, free_port, serve, wait_for_map

from web.basemaps import basemap_of
from web.catalog import page_layers
from web.decks import Sources, View, map_deck
from web.settings import WebSettings

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.access("/usr/bin/chromium", os.X_OK)
MAGENTA = (255, 0, 255)  # the test tile server's one tile


def _ws(**kw: Any) -> WebSettings:
    """Settings as given here (the environment's DJMAP_BASEMAP* never leaks in)."""
    base: dict[str, Any] = {
        "basemap": None,
        "basemap_url": None,
        "tianditu_key": "",
        "basemap_attribution": "",
    }
    return WebSettings(**{**base, **kw})


def test_settings_choose_the_basemap() -> None:
    """Off by default (no raster layer, no host); each provider's tiles, hosts and credit."""
    off = basemap_of(_ws())
    assert not off.on and off.hosts() == () and off.templates() == []
    doc = map_deck(page_layers("public"), View(120.15, 30.25), "zh-CN", Sources(mvt=True), off)
    assert "TileLayer" not in doc.to_json()

    osm = basemap_of(_ws(basemap="osm"))
    assert osm.hosts() == ("https://tile.openstreetmap.org",) and osm.crs == "wgs84"
    assert osm.page_config("en")["attribution"] == "© OpenStreetMap contributors"

    tdt = basemap_of(_ws(basemap="tianditu", tianditu_key="K123"))
    assert tdt.hosts() == tuple(f"https://t{i}.tianditu.gov.cn" for i in range(8))
    (base_id, vec), (label_id, cva) = tdt.templates()
    assert (base_id, label_id) == ("basemap", "basemap_labels") and len(vec) == len(cva) == 8
    assert "/vec_w/wmts?" in vec[0] and "LAYER=vec" in vec[0] and "tk=K123" in vec[0]
    assert "/cva_w/wmts?" in cva[3] and "TILEMATRIXSET=w" in cva[3] and "t3.tianditu" in cva[3]
    assert "TILEMATRIX={z}&TILEROW={y}&TILECOL={x}" in vec[0] and tdt.crs == "wgs84"
    assert "天地图" in tdt.attribution and "审图号" in tdt.attribution
    with pytest.raises(ValidationError):
        _ws(basemap="tianditu")  # no key

    gaode = basemap_of(_ws(basemap="gaode"))
    assert gaode.crs == "gcj02" and len(gaode.hosts()) == 4
    page = map_deck(page_layers("public"), View(120.15, 30.25), "zh-CN", Sources(mvt=True), gaode)
    layer = next(x for x in json.loads(page.to_json())["layers"] if x["id"] == "basemap")
    assert layer["gcj02"] is True and layer["loadOptions"]["fetch"]["credentials"] == "omit"

    custom = basemap_of(
        _ws(basemap_url="https://{s}.tiles.example.cn/{z}/{x}/{y}.png", basemap_subdomains="ab")
    )
    assert custom.provider == "custom"
    assert custom.hosts() == ("https://a.tiles.example.cn", "https://b.tiles.example.cn")
    assert not basemap_of(_ws(basemap="none", basemap_url="https://x.example.cn/{z}/{x}/{y}")).on


NODE_CHECK = """
import {toGcj, gcjTilePlacement, tileCorner} from '%s';
const out = {points: [], placed: []};
for (const p of JSON.parse(process.argv[1])) {
  out.points.push(toGcj(p));
  // The GCJ-02 tile under p's GCJ-02 image at z18, placed in WGS84: p's place in the tile's
  // quad (bilinear, Mercator fractions) must come back to p itself.
  const g = toGcj(p), z = 18, n = 2 ** z;
  const fx = (g[0] + 180) / 360 * n;
  const r = g[1] * Math.PI / 180;
  const fy = (1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2 * n;
  const x = Math.floor(fx), y = Math.floor(fy), u = fx - x, v = fy - y;
  const {corners} = gcjTilePlacement(x, y, z);  // bl, tl, tr, br
  const [bl, tl, tr, br] = corners;
  const lerp = (a, b, t) => [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t];
  const top = lerp(tl, tr, u), bottom = lerp(bl, br, u);
  out.placed.push(lerp(top, bottom, v));
}
out.corner = tileCorner(0, 0, 0);
console.log(JSON.stringify(out));
"""


def _metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    dx = (a[0] - b[0]) * 111_320 * math.cos(math.radians(a[1]))
    return math.hypot(dx, (a[1] - b[1]) * 110_574)


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_gcj02_placement_uses_gcoord() -> None:
    """WGS84 (116.397428, 39.90923) is GCJ-02 (116.403672, 39.910633) to 1 m with gcoord, which
    agrees with geo/crs.py to 1e-7 degree; a point's GCJ-02 tile, placed at its corners taken back
    to WGS84, puts that point where it is (to 0.5 m: the tile's edges are straight lines)."""
    from geo.crs import wgs84_to_gcj02

    points = [(116.397428, 39.90923), (120.155, 30.251), (113.94, 22.54)]
    script = NODE_CHECK % (ROOT / "web" / "src" / "gcj_tiles.js").as_uri()
    run = subprocess.run(
        ["node", "--input-type=module", "-e", script, json.dumps(points)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    out = json.loads(run.stdout)
    assert _metres(out["points"][0], (116.403672, 39.910633)) < 1.0
    for p, g in zip(points, out["points"], strict=True):
        gx, gy = wgs84_to_gcj02(*p)
        assert abs(g[0] - float(gx)) < 1e-7 and abs(g[1] - float(gy)) < 1e-7
    for p, placed in zip(points, out["placed"], strict=True):
        assert _metres(p, placed) < 0.5, (p, placed)
    assert out["corner"] == [-180, pytest.approx(85.0511287798)]


# ---- in Chromium: the leader page with a tile server of the test's own -----------------------


class _Tiles(BaseHTTPRequestHandler):
    """Any path is the one magenta PNG (CORS open, as public tile servers are)."""

    png: ClassVar[bytes] = b""
    seen: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        type(self).seen.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(self.png)))
        self.send_header("Access-Control-Allow-Origin", "*")
        self.end_headers()
        self.wfile.write(self.png)

    def log_message(self, *args: Any) -> None:
        """Quiet."""


@pytest.fixture(scope="module")
def tile_server() -> Iterator[str]:
    """A static tile server on 127.0.0.1 (another port: another origin) serving one PNG."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (256, 256), MAGENTA).save(buf, "PNG")
    _Tiles.png, _Tiles.seen = buf.getvalue(), []
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _Tiles)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def online_base(
    db_url: str, tile_server: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The app with the OSM basemap pointed at the test's tile server (a mirror)."""
    env = {
        "DJMAP_HOME": str(tmp_path_factory.mktemp("basemap-online-home")),
        "DJMAP_BASEMAP": "osm",
        "DJMAP_BASEMAP_URL": tile_server + "/{z}/{x}/{y}.png",
    }
    with serve(db_url, env) as url:
        yield url


def _open(browser: Browser, base: str, tiles: str) -> tuple[Any, PageLog]:
    """The leader page, requests to the server and the tile server let through, others aborted."""
    page = browser.context.new_page()
    log = PageLog(base)
    allowed = {urlsplit(base).netloc, urlsplit(tiles).netloc}

    def route(r: Any) -> None:
        url = r.request.url
        log.requests.append(url)
        if urlsplit(url).scheme in ("data", "blob") or urlsplit(url).netloc in allowed:
            r.continue_()
        else:
            log.foreign.append(url)
            r.abort()

    page.route("**/*", route)
    page.on("console", lambda m: log.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: log.page_errors.append(str(e)))
    page.goto(base + "/", wait_until="load")
    return page, log


def _csp(base: str) -> dict[str, list[str]]:
    with urllib.request.urlopen(base + "/", timeout=30) as res:
        policy = res.headers["Content-Security-Policy"]
    return {d.split()[0]: d.split()[1:] for d in policy.split(";") if d.strip()}


def _until_share(page: Any, want: bool, deadline_s: float = 90.0) -> float:
    """The map's share of tile magenta once it is (or is no longer) drawn."""
    import time

    end = time.monotonic() + deadline_s
    share = colour_share(page, MAGENTA, tol=30)
    while (share > 0.05) != want and time.monotonic() < end:
        page.wait_for_timeout(250)  # a poll between screenshots, not a timed assertion
        share = colour_share(page, MAGENTA, tol=30)
    return share


RASTER_LOADED = """() => window.djmapMap.deck.layerManager.getLayers()
  .some(l => l.id === 'basemap' && l.isLoaded)"""
HIDDEN_FILLS = """() => window.djmapMap.panel.filter(e => e.raster_hides)
  .map(e => window.djmapMap.layer(e.deck_id || e.id).props.visible)"""


@pytest.mark.skipif(not CHROMIUM, reason="Debian chromium is not installed")
def test_leader_page_draws_the_online_basemap(
    browser: Browser, online_base: str, tile_server: str, output_dir: Path
) -> None:
    """Tiles come from the configured host, which the CSP names alone beside our own; the
    attribution shows; our water and green fills hide under the raster; the layer panel's switch
    turns it off for the session (no tile drawn, fills back); no console error."""
    csp = _csp(online_base)
    for directive in ("img-src", "connect-src"):
        assert csp[directive] == ["'self'", tile_server, "data:", "blob:"], csp[directive]
    assert csp["default-src"] == ["'self'"] and csp["script-src"][0] == "'self'"

    page, log = _open(browser, online_base, tile_server)
    wait_for_map(page)
    page.wait_for_function(RASTER_LOADED)
    assert any(p.endswith(".png") and p.count("/") == 3 for p in _Tiles.seen), _Tiles.seen
    assert any(u.startswith(tile_server + "/") for u in log.requests)
    assert _until_share(page, True) > 0.05  # the raster is drawn
    page.screenshot(path=str(output_dir / "basemap-online-osm.png"))
    credit = page.locator("#basemap-credit .credit")
    assert credit.inner_text() == "© OpenStreetMap contributors"
    assert credit.get_attribute("href") == "https://www.openstreetmap.org/copyright"
    assert page.evaluate(HIDDEN_FILLS) == [False]  # landuse, under the raster
    switch = page.locator(".layer-list + .basemap-switch input#basemap-online")  # layer panel
    assert switch.is_checked()

    switch.click()
    assert page.evaluate("() => sessionStorage.getItem('djmap_basemap_off')") == "1"
    state = "() => { const l = window.djmapMap.layer('basemap'); return [l.props.visible, l.props.data]; }"
    assert page.evaluate(state) == [False, None]
    assert page.evaluate(HIDDEN_FILLS) == [True] and credit.is_hidden()
    assert _until_share(page, False) <= 0.05  # no raster drawn
    assert log.problems() == [], log.problems()
    page.close()
