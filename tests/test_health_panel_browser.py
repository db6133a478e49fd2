"""Organisation health on the leader page (issue 13 §3-4) in Chromium on the real database: the
organisation card shows the score, what is missing since when and a 12-month sparkline; the
ranking (排名) lists a 党委's branches as the API ranks them; the statistics strip shows the
green/amber/red distribution; the bell counts unread reminders and marking one read lowers it;
the map's org_health layer can be switched on (screenshot)."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import psycopg
import pytest
from conftest import DATA_TABLES
from health_world import build, make_world
from web_browser import Browser, login, serve

from geo.health import clock, reminders
from geo.users import add_user

PASSWORD = "health-panel-pw"


@pytest.fixture(scope="module")
def world(db_url: str) -> dict[str, Any]:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("TRUNCATE " + ", ".join(DATA_TABLES) + " RESTART IDENTITY CASCADE")
        conn.execute("TRUNCATE users RESTART IDENTITY CASCADE")
    ids: dict[str, Any] = make_world(db_url)
    build(db_url)
    add_user(db_url, "lead_c1", PASSWORD, "leader", "hc1")
    add_user(db_url, "sec_b1", PASSWORD, "leader", "hb1")

    async def go() -> None:
        conn = await asyncpg.connect(db_url)
        try:
            await reminders.run(conn, clock.today())
        finally:
            await conn.close()

    asyncio.run(go())
    return ids


@pytest.fixture(scope="module")
def base(
    world: dict[str, Any], db_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    with serve(db_url, {"DJMAP_HOME": str(tmp_path_factory.mktemp("hphome"))}) as url:
        yield url


def _api(base: str, path: str, user: str) -> Any:
    data = f"username={user}&password={PASSWORD}".encode()
    with urllib.request.urlopen(base + "/api/auth/token", data=data, timeout=30) as r:
        token = json.loads(r.read())["access_token"]
    req = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def test_card_ranking_strip_and_layer(
    world: dict[str, Any], base: str, browser: Browser, output_dir: Path
) -> None:
    page, log = browser.open(base, "/api/health")
    login(page, base, "lead_c1", PASSWORD)  # before the map loads: one load, not two
    page.goto(base + "/", wait_until="load")
    page.wait_for_function("() => window.djmapHealth && window.djmapHealth.state.me")
    ranking = _api(base, f"/api/orgs/{world['c1']}/ranking?of=branches", "lead_c1")
    health = _api(base, f"/api/orgs/{world['c1']}/health", "lead_c1")
    dist = ranking["distribution"]
    page.wait_for_selector("#health-dist")
    shown = page.locator("#health-dist .hp-dist i").all_inner_texts()
    assert shown == [str(dist[k]) for k in ("green", "amber", "red")]
    page.click(f"#org-tree button[data-org='{world['c1']}']")
    page.wait_for_selector("#health-card:not([hidden]) .hp-score")
    assert page.inner_text("#health-card .hp-score b") == str(round(health["score"]))
    assert page.locator("#health-card svg.hp-spark polyline").count() == 1
    names = [
        li.split(".", 1)[1].rsplit("\n", 1)[0].strip()
        for li in page.locator("#health-card .hp-rank li").all_inner_texts()
    ]
    assert names == [r["name"] for r in ranking["items"]]
    missing = [
        r for r in health["breakdown"] if r["lost"] > 0.05 and r["state"] != "not_applicable"
    ]
    assert page.locator("#health-card .hp-missing li").count() == len(missing)
    # The strip is redrawn by the page; the distribution stays in it.
    assert page.is_visible("#health-dist")
    box = page.locator("[data-layer='org_health']")
    if box.count() and not box.is_checked():
        box.check()
    page.wait_for_timeout(1500)
    page.screenshot(path=str(output_dir / "health-layer-leader.png"))
    assert log.page_errors == []
    page.close()


def test_inbox_bell_counts_and_marks_read(
    world: dict[str, Any], base: str, browser: Browser
) -> None:
    page, log = browser.open(base, "/api/health")
    login(page, base, "sec_b1", PASSWORD)  # before the map loads: one load, not two
    page.goto(base + "/", wait_until="load")
    mine = _api(base, "/api/me/reminders", "sec_b1")
    assert mine["unread"] > 0, "the world's branch b1 has items due or overdue"
    page.wait_for_selector("#hp-bell")
    page.wait_for_function(
        f"() => document.getElementById('hp-count').textContent === '{mine['unread']}'"
    )
    bell = page.locator("#hp-bell").bounding_box()
    assert bell["width"] >= 44 and bell["height"] >= 44
    page.click("#hp-bell")
    page.wait_for_selector("#hp-inbox:not([hidden]) button[data-read]")
    page.locator("#hp-inbox button[data-read]").first.click()
    left = mine["unread"] - 1
    page.wait_for_function(
        f"() => (document.getElementById('hp-count').textContent || '0') === '{left}' || (document.getElementById('hp-count').hidden && {left} === 0)"
    )
    assert _api(base, "/api/me/reminders", "sec_b1")["unread"] == left
    assert log.page_errors == []
    page.close()
