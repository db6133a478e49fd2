"""Capacity on /coverage (issue 14 §2) in headless Chromium, zh-CN, on a copy of the sample
district: 计算容量 runs POST /api/capacity for the map's area and draws the answer's cells coloured
by class (as many as the API answers for the same body), the legend names the three classes with
their thresholds, and a site's tooltip shows its catchment load; no script error, offline."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from web_browser import Browser, serve, wait_for_map

DB = "djmap_capacity_copy"


@pytest.fixture(scope="module")
def sample_copy(cluster, sample_url: str) -> Iterator[str]:  # type: ignore[no-untyped-def]
    prefix = cluster.url.rsplit("/", 1)[0]
    with psycopg.connect(prefix + "/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        conn.execute(  # the template must have no sessions: idle ones left behind are closed
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = 'djmap_sample' AND state = 'idle'"
        )
        conn.execute(f"CREATE DATABASE {DB} TEMPLATE djmap_sample STRATEGY FILE_COPY")
    yield prefix + "/" + DB
    with psycopg.connect(prefix + "/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")


@pytest.fixture(scope="module")
def base(sample_copy: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve(sample_copy, {"DJMAP_HOME": str(tmp_path_factory.mktemp("cap"))}) as url:
        yield url


def _capacity(base: str, body: dict[str, Any]) -> Any:
    req = urllib.request.Request(base + "/api/capacity", data=json.dumps(body).encode())
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=120) as res:
        return json.loads(res.read())


def _hover_a_site(page: Any, answer: dict[str, Any]) -> dict[str, Any]:
    """Move the mouse onto a loaded site shown right of the panel; that site."""
    spots = page.evaluate(
        "(sites) => { const m = window.djmapCoverage.map; const v = m.deck.getViewports()[0];"
        " const r = document.getElementById('map').getBoundingClientRect();"
        " return sites.map((s) => { const [x, y] = v.project([s.lon, s.lat]);"
        " return [s.service_point_id, r.left + x, r.top + y]; }); }",
        [s for s in answer["sites"] if s["load_pct"] is not None],
    )
    width, height = page.viewport_size["width"], page.viewport_size["height"]
    inside = [(i, x, y) for i, x, y in spots if 400 < x < width - 200 and 40 < y < height - 200]
    assert inside, spots
    sid, x, y = inside[0]
    page.mouse.move(x, y)
    page.wait_for_selector(".cap-tip")
    return next(s for s in answer["sites"] if s["service_point_id"] == sid)


def test_capacity_view_draws_cells_legend_and_loads(
    browser: Browser, base: str, output_dir: Path
) -> None:
    page, log = browser.open(base, "/api/health")
    page.evaluate("() => localStorage.clear()")
    page.goto(f"{base}/coverage?lang=zh-CN", wait_until="load")
    wait_for_map(page)
    assert page.is_hidden("#cap-result") and page.is_hidden("#cap-legend")
    page.click("#cap-run")
    page.wait_for_function("() => document.body.dataset.capacity === 'done'", timeout=120_000)
    body = page.evaluate("() => window.djmapCapacity.state.body")
    assert set(body) == {"bbox"}  # logged out: no scenario, households (no member figure)
    answer = _capacity(base, body)
    cells = answer["cells"]["features"]
    assert cells and answer["sites"]
    drawn = page.evaluate(
        "() => window.djmapCoverage.map.deck.props.layers"
        ".filter((l) => l.id === 'capacity-cells').map((l) => l.props.data.features.length)"
    )
    assert drawn == [len(cells)]
    sites = page.evaluate(
        "() => window.djmapCoverage.map.deck.props.layers"
        ".filter((l) => l.id === 'capacity-sites').map((l) => l.props.data.length)"
    )
    assert sites == [len(answer["sites"])]
    legend = page.text_content("#cap-legend") or ""
    per = answer["params"]["m2_per_100_households"]
    for words in ("服务不足", "供需均衡", "服务富余", f"< {per:g}", f"> {2 * per:g}", "㎡/百户"):
        assert words in legend, (words, legend)
    assert page.is_visible("#cap-legend")
    site = _hover_a_site(page, answer)
    tip = page.text_content(".cap-tip") or ""
    assert site["name"] in tip and f"负荷: {round(site['load_pct'])}%" in tip, tip
    assert page.locator("#cap-sites li").count() == len(answer["sites"])
    page.screenshot(path=str(output_dir / "coverage_capacity.png"))
    assert not log.foreign and not log.page_errors and not log.console_errors, log.problems()
    page.close()
    with urllib.request.urlopen(base + "/coverage?lang=en", timeout=30) as res:
        html = res.read().decode()
    start = html.index('<script id="djmap-config" type="application/json">')
    t = json.loads(html[html.index(">", start) + 1 : html.index("</script>", start)])["t"]
    assert (t["cap_title"], t["cap_under"], t["cap_over"]) == (
        "Capacity",
        "Under-served",
        "Over-served",
    )
