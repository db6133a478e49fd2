"""Live and scenario side by side on /coverage (issue 14 §1) in headless Chromium, zh-CN and en, on
a copy of the sample district: a planner picks a kept scenario (five sites removed, one added in
an uncovered cell, one moved), the page runs coverage live and with the scenario, splits the map (live
left, scenario right with the cells gained and lost) and shows the difference table; its figures
and cell counts equal the two API answers; offline, no script error."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h3
import psycopg
import pytest
from web_browser import Browser, login, serve, wait_for_map

from geo.users import add_user

DB = "djmap_compare_copy"
USER, PASSWORD = "cmp-planner", "correct horse battery"
RUN = {"minutes": 15, "mode": "walk", "weight": "buildings", "propose": 3}  # the form's defaults


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
    url = prefix + "/" + DB
    add_user(url, USER, PASSWORD, "planner")
    yield url
    with psycopg.connect(prefix + "/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")


def _call(base: str, path: str, token: str, body: dict[str, Any] | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method="POST" if data else "GET")
    req.add_header("Authorization", f"Bearer {token}")
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=120) as res:
        return json.loads(res.read())


@pytest.fixture(scope="module")
def base(sample_copy: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    home = tmp_path_factory.mktemp("cmp")
    with serve(sample_copy, {"DJMAP_HOME": str(home)}) as url:
        form = urllib.parse.urlencode({"username": USER, "password": PASSWORD}).encode()
        with urllib.request.urlopen(url + "/api/auth/token", data=form, timeout=30) as res:
            token = json.loads(res.read())["access_token"]
        live = _call(url, "/api/coverage", token, RUN)
        spot = h3.cell_to_latlng(live["uncovered_cells"]["features"][0]["properties"]["h3"])
        with psycopg.connect(sample_copy) as conn:
            ids = [r[0] for r in conn.execute("SELECT id FROM service_points ORDER BY id LIMIT 6")]
        mover = ids.pop()
        there = {"type": "Point", "coordinates": [spot[1] + 0.004, spot[0]]}
        changes = [{"op": "remove", "id": i} for i in ids] + [
            {"op": "add", "geometry": {"type": "Point", "coordinates": [spot[1], spot[0]]}},
            {"op": "move", "id": mover, "geometry": there},
        ]
        made = _call(url, "/api/scenarios", token, {"name": "撤五增一", "changes": changes})
        scen = _call(url, "/api/coverage", token, {**RUN, "scenario": made["id"]})
        yield {
            "url": url,
            "live": live,
            "scenario": scen,
            "id": made["id"],
            "removed": ids,
            "mover": mover,
        }


def _sites_drawn(page: Any, base: dict[str, Any]) -> None:
    """The scenario map draws the scenario's service points (added, moved at their new place,
    removed as rings at their live place), not the live layer, which only the live map shows."""
    scen = base["scenario"]
    counts: dict[str, int] = {}
    for f in scen["service_points"]["features"]:
        counts[f["properties"]["change"]] = counts.get(f["properties"]["change"], 0) + 1
    assert (counts["removed"], counts["added"], counts["moved"]) == (5, 1, 1), counts
    assert page.evaluate("() => window.djmapCompare.sites") == counts
    hidden = page.evaluate(
        "() => [window.djmapCoverage.map, window.djmapCompare.map()].map((m) => m.panel"
        ".filter((e) => e.card === 'service_point').map((e) => m.layer(e.deck_id).props.visible))"
    )
    assert hidden[0] == [True] and hidden[1] == [False], hidden
    drawn = page.evaluate(
        "() => Object.fromEntries(window.djmapCompare.map().deck.props.layers"
        ".filter((l) => l.id.startsWith('b-sites')).map((l) => [l.id, l.props.data"
        ".map((f) => [f.properties.service_point_id, f.geometry.coordinates])]))"
    )
    assert sorted(i for i, _ in drawn["b-sites-removed"]) == sorted(base["removed"])
    kept = dict((i, c) for i, c in drawn["b-sites"])
    assert not set(base["removed"]) & set(kept)
    assert len(kept) == scen["summary"]["service_points"]
    want = next(
        f
        for f in scen["service_points"]["features"]
        if f["properties"]["service_point_id"] == base["mover"]
    )
    assert kept[base["mover"]] == want["geometry"]["coordinates"]
    assert [i for i, _ in drawn["b-sites-moved"]] == [base["mover"]]


def _cells(answer: dict[str, Any]) -> set[str]:
    return {f["properties"]["h3"] for f in answer["uncovered_cells"]["features"]}


def test_live_and_scenario_side_by_side(
    browser: Browser, base: dict[str, Any], output_dir: Path
) -> None:
    """The whole flow in zh-CN (a run and two maps in software WebGL are slow); the English
    strings of the same page are checked over HTTP in test_the_compare_reads_in_english."""
    lang = "zh-CN"
    url = base["url"]
    page, log = browser.open(url, "/api/health")
    page.evaluate("() => localStorage.clear()")
    login(page, url, USER, PASSWORD)  # before the page loads: one load of the map, not two
    page.goto(f"{url}/coverage?lang={lang}", wait_until="load")
    assert page.is_hidden("#map-b")
    wait_for_map(page)
    page.wait_for_function("() => document.querySelectorAll('#cmp-scenario option').length >= 1")
    assert page.input_value("#cmp-scenario") == str(base["id"])
    page.click("#cmp-run")
    page.wait_for_function("() => document.body.dataset.compare === 'done'", timeout=120_000)
    live, scen = base["live"], base["scenario"]
    gained, lost = _cells(live) - _cells(scen), _cells(scen) - _cells(live)
    assert gained and lost  # the added site covers a cell, the removed ones leave some
    shown = page.evaluate("() => window.djmapCompare.last")
    assert shown == {
        "live": live["summary"],
        "scenario": scen["summary"],
        "gained": len(gained),
        "lost": len(lost),
    }
    rows = page.locator("#cmp-table tbody tr")
    assert rows.count() == 6
    head = page.text_content("#cmp-table thead") or ""
    assert ("现状" in head and "方案" in head) if lang == "zh-CN" else ("Live" in head)
    pct = f"{live['summary']['coverage_pct_weight']}%"
    assert pct in (rows.nth(0).text_content() or "")
    assert rows.nth(3).text_content().endswith("-4")  # 30 sites: five removed, one added
    assert (rows.nth(4).text_content() or "").endswith(str(len(gained)))
    assert page.is_visible("#map-b") and page.is_visible("#cmp-tag-b")
    boxes = [page.locator(s).bounding_box() for s in ("#map", "#map-b")]
    assert boxes[0] and boxes[1] and boxes[0]["x"] + boxes[0]["width"] <= boxes[1]["x"] + 1
    ids = page.evaluate(
        "() => [...document.querySelectorAll('#map-b canvas')].length"
        " && window.djmapCoverage.map.deck.props.layers.map((l) => l.id)"
    )
    assert "uncovered" in ids and "b-gained" not in ids  # the live map keeps the live layers
    right = page.evaluate("() => window.djmapCompare.map().deck.props.layers.map((l) => l.id)")
    assert {"b-uncovered", "b-service-areas", "b-gained", "b-lost"} <= set(right)
    _sites_drawn(page, base)
    page.wait_for_timeout(500)
    views = page.evaluate(
        "() => [window.djmapCoverage.map, window.djmapCompare.map()].map((m) => {"
        " const v = m.deck.getViewports()[0];"
        " return [v.longitude, v.latitude, v.zoom, v.width]; })"
    )
    assert views[0][:3] == pytest.approx(views[1][:3], abs=1e-6), views  # one view on both
    assert abs(views[0][3] - views[1][3]) <= 2  # halves of the room beside the panel
    page.screenshot(path=str(output_dir / f"web-compare-{lang}.png"))
    page.click("#cmp-close")
    assert page.is_hidden("#map-b") and page.is_hidden("#cmp-result")
    assert not log.foreign and not log.page_errors, log.problems()  # offline, no script errors
    page.close()


def test_the_compare_reads_in_english(base: dict[str, Any]) -> None:
    """The English /coverage page names the two sides and the table's columns in English: the
    scenario tag in its HTML, the table head and the tags from the strings the page hands its
    script (web/static/js/compare.js builds the table from cfg.t)."""
    with urllib.request.urlopen(base["url"] + "/coverage?lang=en", timeout=30) as res:
        html = res.read().decode()
    assert '<span class="cmp-tag a">Live</span>' in html
    start = html.index('<script id="djmap-config" type="application/json">')
    raw = html[html.index(">", start) + 1 : html.index("</script>", start)]
    cfg = json.loads(raw)
    t = cfg["t"]
    assert cfg["lang"] == "en"
    assert t["cmp_live"] == "Live"  # the zh-CN test sees 现状 and 方案 in the table head
    for key in ("cmp_scenario", "cmp_change", "cmp_gained", "cmp_lost", "cov_pct"):
        assert t[key].isascii() and t[key].strip(), (key, t[key])
