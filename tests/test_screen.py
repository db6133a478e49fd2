"""The big screen and kiosk (issue 13 §5) in Chromium on the real database: a screen key bound
to a scope reads what that subtree's leader sees (and nothing else, no writes); /screen renders
at 1920×1080 offline with 0 console errors and counts check-ins from the event stream as they
happen; ten minutes of simulated screen time (tour, idle returns, synthetic events) keep the JS
heap bounded; the kiosk's touch targets are ≥ 48 px, a tap opens a service point and the kiosk
returns to the tour after 60 s idle."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from conftest import DATA_TABLES
from health_world import build, make_world
from web_browser import Browser, PageLog, serve

from geo.live.events import NewEvent, insert
from geo.screen.keys import add_screen_key, list_screen_keys, revoke_screen_key

BIG = {"width": 1920, "height": 1080}


@pytest.fixture(scope="module")
def world(db_url: str) -> dict[str, Any]:
    """health_world (c1 over b1, b3; c2 over b2), a service point of b1 with an activity on now,
    screen keys for c1, c2 and a revoked one."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("TRUNCATE " + ", ".join(DATA_TABLES) + " RESTART IDENTITY CASCADE")
        conn.execute("TRUNCATE users, screen_keys RESTART IDENTITY CASCADE")
    ids: dict[str, Any] = make_world(db_url)
    now = datetime.now(UTC)
    with psycopg.connect(db_url) as conn:
        ids["sp"] = conn.execute(
            "INSERT INTO service_points (code, name, kind, org_id, geom) VALUES ('sp1', "
            "'和平里党群服务中心', '党群服务中心', %s, ST_SetSRID(ST_MakePoint(116.401, 39.9), 4326)) "
            "RETURNING id",
            (ids["b1"],),
        ).fetchone()[0]
        ids["act"] = conn.execute(
            "INSERT INTO activities (code, title, kind, organiser_id, service_point_id, starts_at, "
            "ends_at, geom) VALUES ('a1', '主题党日 · 大屏测试', '主题党日', %s, %s, %s, %s, "
            "ST_SetSRID(ST_MakePoint(116.401, 39.9), 4326)) RETURNING id",
            (ids["b1"], ids["sp"], now - timedelta(minutes=30), now + timedelta(hours=2)),
        ).fetchone()[0]
        conn.execute(  # three of b1's members checked in: reached this month 3, never shown
            "INSERT INTO checkins (activity_id, member_id, distance_m) SELECT %s, id, 5 "
            "FROM members WHERE branch_id = %s ORDER BY id LIMIT 3",
            (ids["act"], ids["b1"]),
        )
    build(db_url)
    ids["key_c1"] = add_screen_key(db_url, "大厅", "hc1").key
    ids["key_c2"] = add_screen_key(db_url, "街道", "hc2").key
    ids["key_off"] = add_screen_key(db_url, "旧屏", "hc1").key
    revoke_screen_key(db_url, ids["key_off"])
    return ids


@pytest.fixture(scope="module")
def base(
    world: dict[str, Any], db_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    with serve(db_url, {"DJMAP_HOME": str(tmp_path_factory.mktemp("screenhome"))}) as url:
        yield url


def _get(url: str, method: str = "GET") -> tuple[int, Any]:
    req = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, None


def _event(db_url: str, org_id: int, activity_id: int, count: int) -> None:
    text, args = insert(
        NewEvent(
            "checkin.created",
            f"activities/{activity_id}",
            org_id,
            "leader",
            {"activity_id": activity_id, "title": "主题党日 · 大屏测试", "count": count},
        ),
        psycopg=True,
    )
    with psycopg.connect(db_url) as conn:
        conn.execute(text, args)


def test_the_key_reads_its_scope_only(base: str, world: dict[str, Any], db_url: str) -> None:
    status, c1 = _get(f"{base}/api/screen?key={world['key_c1']}")
    assert status == 200
    assert c1["scope"]["code"] == "hc1"
    names = {b["code"] for b in c1["top"] + c1["bottom"]}
    assert names <= {"hb1", "hb3"} and names
    assert sum(c1["distribution"].values()) == 2  # b1 and b3, not c2's b2
    assert [p["id"] for p in c1["service_points"]] == [world["sp"]]
    assert c1["service_points"][0]["active_now"] == 1
    assert c1["counters"]["activities_today"] == 1
    assert c1["counters"]["checkins_today"] == 3
    assert c1["counters"]["members_reached_month"] is None  # 0 < n < 10 never shown
    assert c1["counters"]["fewer_than"] == 10
    status, c2 = _get(f"{base}/api/screen?key={world['key_c2']}")
    assert status == 200 and {b["code"] for b in c2["top"] + c2["bottom"]} == {"hb2"}
    assert c2["service_points"] == [] and c2["counters"]["activities_today"] == 0
    assert _get(f"{base}/api/screen?key={world['key_off']}")[0] == 403
    assert _get(f"{base}/api/screen?key=nosuchkey0123456789")[0] == 403
    assert _get(f"{base}/api/screen")[0] == 400
    # The key is no login: nothing else reads with it, and nothing writes.
    assert _get(f"{base}/api/orgs/{world['b1']}/health?key={world['key_c1']}")[0] == 401
    assert _get(f"{base}/api/screen?key={world['key_c1']}", "POST")[0] == 405
    assert {k.name for k in list_screen_keys(db_url) if k.active} == {"大厅", "街道"}


def _ready(page: Any) -> None:
    page.wait_for_function(
        "() => window.djmapScreen && window.djmapScreen.state.summary", timeout=30_000
    )
    page.wait_for_function("() => window.djmapScreen.state.streamState === 'open'", timeout=20_000)


def _clean(log: PageLog) -> None:
    assert log.problems() == [], "\n".join(log.problems())


def test_screen_counts_checkins_live_and_stays_bounded(
    world: dict[str, Any], base: str, browser: Browser, db_url: str, output_dir: Path
) -> None:
    page, log = browser.open(base, f"/screen?key={world['key_c1']}", viewport=BIG)
    bad: list[str] = []
    page.on("response", lambda r: bad.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    _ready(page)
    assert page.inner_text("#c-activities") == "1"
    assert page.inner_text("#c-checkins") == "3"
    assert "10" in page.inner_text("#c-reached")  # "少于10人": held back
    _event(db_url, world["b2"], world["act"], 9)  # another scope's event: never arrives
    _event(db_url, world["b1"], world["act"], 4)
    page.wait_for_function("() => document.getElementById('c-checkins').textContent === '4'")
    _event(db_url, world["b1"], world["act"], 6)  # two more meanwhile: counted by the total
    page.wait_for_function("() => document.getElementById('c-checkins').textContent === '6'")
    assert "大屏测试 · 6" in page.inner_text("#scr-ticker")
    assert " · 9" not in page.inner_text("#scr-ticker")
    page.wait_for_timeout(1500)
    page.screenshot(path=str(output_dir / "screen-1920.png"))
    size = "() => parseFloat(getComputedStyle(document.getElementById('c-checkins')).fontSize)"
    at_1080 = page.evaluate(size)
    assert at_1080 >= 80  # about 97 px: readable from 5 m
    page.set_viewport_size({"width": 3840, "height": 2160})
    page.wait_for_timeout(300)
    assert page.evaluate(size) == pytest.approx(2 * at_1080, rel=0.02)  # 4K: the same layout
    page.set_viewport_size(BIG)
    cdp = page.context.new_cdp_session(page)

    def heap() -> float:
        cdp.send("HeapProfiler.collectGarbage")
        return float(cdp.send("Runtime.getHeapUsage")["usedSize"])

    page.evaluate("() => window.djmapScreen.simulate(1, 60)")  # warm up
    before = heap()
    played = page.evaluate("() => window.djmapScreen.simulate(10, 60)")
    after = heap()
    assert played["events"] >= 600 + 2 and played["ticker"] <= 6 and played["known"] <= 500
    assert played["stop"] >= 0  # the tour moved on
    assert after < before + 8 * 1024 * 1024, (before, after)  # bounded: no per-event growth
    _event(db_url, world["b1"], world["act"], 7)  # still live after the simulation
    page.wait_for_function("() => window.djmapScreen.state.ticker[0].endsWith(' · 7')")
    assert bad == []
    _clean(log)
    page.close()


def test_kiosk_targets_tap_and_idle_return(
    world: dict[str, Any], base: str, browser: Browser, output_dir: Path
) -> None:
    page, log = browser.open(base, f"/screen?kiosk=1&key={world['key_c1']}", viewport=BIG)
    _ready(page)
    buttons = page.locator("#scr-points button")
    assert buttons.count() == 1
    for i in range(buttons.count()):
        box = buttons.nth(i).bounding_box()
        assert box["width"] >= 48 and box["height"] >= 48, box
    buttons.first.click()
    assert page.is_visible("#scr-card")
    assert page.inner_text("#scr-card-title") == "和平里党群服务中心"
    assert "大屏测试" in page.inner_text("#scr-card-acts")
    close = page.locator("#scr-card-close").bounding_box()
    assert close["width"] >= 48 and close["height"] >= 48
    page.wait_for_timeout(800)
    page.screenshot(path=str(output_dir / "kiosk.png"))
    page.evaluate("() => window.djmapScreen.simulate(0.5, 1)")
    assert page.is_visible("#scr-card")  # 30 s untouched: still open
    page.evaluate("() => window.djmapScreen.simulate(0.55, 1)")
    assert not page.is_visible("#scr-card")  # past 60 s: back to the tour
    _clean(log)
    page.close()


def test_an_unknown_key_is_refused_in_words(browser: Browser, base: str) -> None:
    page, log = browser.open(base, "/screen?key=nosuchkey0123456789", viewport=BIG)
    assert "大屏密钥无效" in page.inner_text("#refused-title")
    log.console_errors[:] = [m for m in log.console_errors if "403" not in m]
    _clean(log)
    page.close()
