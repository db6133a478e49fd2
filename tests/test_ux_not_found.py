"""Issue 11 §7, a friendly 404 page: an unknown page path answers 404 with a page in zh-CN (en with
?lang=en or the language cookie) that links back to the map; the API's 404s stay JSON Problems.
In Chromium on desktop and phone: offline, no console errors, the link leads to the map."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from web_browser import Browser, serve

from api.app import create_app
from api.settings import ApiSettings, Settings
from geo.settings import DatabaseSettings

PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1440, "height": 900}
KEY = "not-found-test-key-" + "x" * 32


@pytest.fixture(scope="module")
def client(db_url: str) -> Iterator[TestClient]:
    settings = Settings(db=DatabaseSettings(database_url=db_url), api=ApiSettings(secret_key=KEY))
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.mark.parametrize(
    ("lang", "title", "back"),
    [
        (None, "页面不存在", "返回地图"),
        ("zh-CN", "页面不存在", "返回地图"),
        ("en", "Page not found", "Back to the map"),
    ],
)
def test_unknown_page_path_is_the_404_page(
    client: TestClient, lang: str | None, title: str, back: str
) -> None:
    res = client.get("/no/such/page", params={"lang": lang} if lang else None)
    assert res.status_code == 404
    assert res.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in res.headers["content-security-policy"]  # its CSS may load
    html = res.text
    assert f"<h1>{title}</h1>" in html
    assert f'href="/?lang={lang or "zh-CN"}">{back}</a>' in html
    assert f'<html lang="{lang or "zh-CN"}">' in html
    assert "/no/such/page" in html
    assert '"detail"' not in html


def test_language_cookie_and_escaping(client: TestClient) -> None:
    res = client.get("/nope<script>", headers={"Cookie": "djmap_lang=en"})
    assert res.status_code == 404
    assert "<h1>Page not found</h1>" in res.text
    assert "<script>" not in res.text.split("<body", 1)[1].split('<script id="djmap-config"')[0]


@pytest.mark.parametrize(
    "path", ["/api/no-such-route", "/api/x/y", "/web/no-such.json", "/static/no-such.css"]
)
def test_api_and_data_404s_stay_json(client: TestClient, path: str) -> None:
    res = client.get(path, headers={"Accept": "text/html,*/*"})
    assert res.status_code == 404
    assert res.headers["content-type"].startswith("application/json")
    assert res.json()["code"] == "NotFound"


def test_json_only_clients_and_writes_get_json(client: TestClient) -> None:
    res = client.get("/no-such-page", headers={"Accept": "application/json"})
    assert res.status_code == 404 and res.json()["code"] == "NotFound"
    res = client.post("/no-such-page", json={})
    assert res.status_code in (404, 405)
    assert res.headers["content-type"].startswith("application/json")


def test_known_collection_404_stays_json(client: TestClient) -> None:
    res = client.get("/api/collections/nope", headers={"Accept": "text/html"})
    assert res.status_code == 404
    assert res.json()["code"] == "NotFound"


@pytest.fixture(scope="module")
def base(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve(db_url, {"DJMAP_HOME": str(tmp_path_factory.mktemp("nf"))}) as url:
        yield url


@pytest.mark.skipif(not os.access("/usr/bin/chromium", os.X_OK), reason="no Debian chromium")
@pytest.mark.parametrize(("lang", "viewport"), [("zh-CN", PHONE), ("en", DESKTOP)])
def test_404_page_in_chromium(
    browser: Browser, base: str, output_dir: Path, lang: str, viewport: dict[str, int]
) -> None:
    page, log = browser.open(base, "/api/health", viewport=viewport)
    statuses: dict[str, int] = {}
    page.on("response", lambda r: statuses.__setitem__(r.url, r.status))
    answer = page.goto(f"{base}/no-such-page?lang={lang}", wait_until="load")
    assert answer is not None and answer.status == 404
    heading = page.locator("#not-found h1")
    assert heading.inner_text() == ("页面不存在" if lang == "zh-CN" else "Page not found")
    colour = heading.evaluate("e => getComputedStyle(e).color")
    assert colour == "rgb(142, 11, 33)", "the page's stylesheet did not apply"
    link = page.locator("#back-to-map")
    box = link.bounding_box()
    assert box is not None and box["height"] >= 44 and box["x"] >= 0
    assert box["x"] + box["width"] <= viewport["width"]
    name = "phone" if viewport is PHONE else "desktop"
    page.screenshot(path=str(output_dir / f"not-found-{lang}-{name}.png"))
    assert any("/static/css/ux.css" in u for u in statuses), statuses
    loaded = {u: code for u, code in statuses.items() if "/no-such-page" not in u}
    assert loaded and all(code == 200 for code in loaded.values()), loaded
    # Chromium reports the document's own 404 on the console; nothing else may be there
    own = "Failed to load resource: the server responded with a status of 404 (Not Found)"
    assert log.console_errors == [own], log.console_errors
    assert log.page_errors == [] and log.foreign == [] and log.failed == []
    with page.expect_navigation(wait_until="load") as nav:
        link.click()
    response = nav.value
    assert response is not None and response.status == 200
    assert page.url == f"{base}/?lang={lang}"
    page.close()
