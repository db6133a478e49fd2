"""The red route card on /coverage (issue 14 §5) in a real browser: sites listed, a route planned
through two red education sites, its ordered stops with their panoramas, the path drawn on the
map and the GPX link; no request leaves the server, no script error, none of its requests fails."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from web_browser import Browser, serve, wait_for_map


@pytest.fixture(scope="module")
def base(sample_url: str) -> Iterator[str]:
    with serve(sample_url) as url:
        yield url


def test_a_route_is_planned_shown_and_downloadable(
    browser: Browser, base: str, output_dir: Path
) -> None:
    page, log = browser.open(base, "/coverage")
    bad: list[str] = []
    page.on("response", lambda r: bad.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    wait_for_map(page)
    page.wait_for_function("() => document.querySelectorAll('#route-sites input').length >= 2")
    boxes = page.locator("#route-sites label.route-site")
    reds = [i for i in range(boxes.count()) if "红色教育基地" in boxes.nth(i).inner_text()]
    picks = (reds + [i for i in range(boxes.count()) if i not in reds])[:2]
    for i in picks:
        boxes.nth(i).locator("input").check()
    page.click("#route-plan")
    page.wait_for_selector("#route-result:not([hidden])")
    assert page.locator("#route-stops li").count() == 2
    assert "km" in page.text_content("#route-total")
    href = page.get_attribute("#route-gpx", "href")
    assert href and href.startswith("/api/routes/red.gpx?stops=")
    drawn = page.evaluate("() => window.djmapCoverage.map.deck.props.layers.map((l) => l.id)")
    assert "red-route" in drawn and "red-route-stops" in drawn
    gpx = page.evaluate("async (u) => (await fetch(u)).status", href)
    assert gpx == 200
    page.wait_for_timeout(800)
    page.screenshot(path=str(output_dir / "web-red-route.png"))
    assert not log.foreign and not log.page_errors, log.problems()  # offline, no JS errors
    mine = ("/api/routes/", "/api/panoramas/", "/api/collections/service_points", "planning.js")
    assert not [b for b in bad if any(m in b for m in mine)], bad
    page.close()
