"""The big screen and kiosk (issue 13 §5) in Chromium on the real database: a screen key bound
to a scope reads what that subtree's leader sees (and nothing else, no writes); /screen renders
at 1920×1080 offline with 0 console errors; its member figures move in steps of 10 (held back
under 10) as check-ins happen, the stream telling only of an activity reaching 10, 20, …; ten minutes of simulated screen time (tour, idle returns, synthetic events) keep the JS
heap bounded; the kiosk's touch targets are ≥ 48 px, a tap opens a service point and the kiosk
returns to the tour after 60 s idle."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from conftest import DATA_TABLES
from health_world import build, make_world
from web_browser import Browser, PageLog, serve

from geo.health import clock
from geo.live.events import NewEvent, insert
from geo.screen.keys import add_screen_key, list_screen_keys, revoke_screen_key

BIG = {"width": 1920, "height": 1080}


@pytest.fixture(scope="module")
def world(db_url: str) -> dict[str, Any]:
    """health_world (c1 over b1, b3; c2 over b2) with ten more members in b1, a service point of
    b1 with an activity on now (12 check-ins), an activity of b3 (3 check-ins), screen keys for
    c1, c2, b3 and a revoked one."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("TRUNCATE " + ", ".join(DATA_TABLES) + " RESTART IDENTITY CASCADE")
        conn.execute("TRUNCATE users, screen_keys RESTART IDENTITY CASCADE")
    ids: dict[str, Any] = make_world(db_url)
    now = datetime.now(UTC)
    # both activities are on now and started today in Beijing (the screen's day), even in the
    # first half hour after Beijing's midnight
    midnight = datetime.combine(clock.today(), time(0), clock.TZ)
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
            (
                ids["b1"],
                ids["sp"],
                max(now - timedelta(minutes=30), midnight),
                now + timedelta(hours=2),
            ),
        ).fetchone()[0]
        conn.execute(
            "INSERT INTO members (external_id, name, branch_id, status, home) SELECT 'x' || i, "
            "'党员x' || i, %s, '正式', ST_SetSRID(ST_MakePoint(116.43, 39.91), 4326) "
            "FROM generate_series(0, 9) AS i",
            (ids["b1"],),
        )
        ids["act3"] = conn.execute(
            "INSERT INTO activities (code, title, kind, organiser_id, starts_at, ends_at, geom) "
            "VALUES ('a3', '小支部学习', '主题党日', %s, %s, %s, "
            "ST_SetSRID(ST_MakePoint(116.402, 39.9), 4326)) RETURNING id",
            (ids["b3"], max(now - timedelta(minutes=20), midnight), now + timedelta(hours=1)),
        ).fetchone()[0]
    _checkins(db_url, ids["act"], ids["b1"], 12)  # c1's screen: at least 10 (not 12, not 15)
    _checkins(db_url, ids["act3"], ids["b3"], 3)  # b3's screen: fewer than 10 (never 3)
    build(db_url)
    ids["key_c1"] = add_screen_key(db_url, "大厅", "hc1").key
    ids["key_c2"] = add_screen_key(db_url, "街道", "hc2").key
    ids["key_b3"] = add_screen_key(db_url, "小支部", "hb3").key
    ids["key_off"] = add_screen_key(db_url, "旧屏", "hc1").key
    revoke_screen_key(db_url, ids["key_off"])
    return ids


@pytest.fixture(scope="module")
def base(
    world: dict[str, Any], db_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    with serve(db_url, {"DJMAP_HOME": str(tmp_path_factory.mktemp("screenhome"))}) as url:
        yield url


def _checkins(db_url: str, activity_id: int, branch_id: int, upto: int) -> int:
    """Check in the branch's members (by id) until the activity has `upto`; the count."""
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "INSERT INTO checkins (activity_id, member_id, distance_m) SELECT %s, id, 5 "
            "FROM members m WHERE branch_id = %s AND NOT EXISTS (SELECT 1 FROM checkins c "
            "WHERE c.activity_id = %s AND c.member_id = m.id) ORDER BY id "
            "LIMIT greatest(0, %s - (SELECT count(*) FROM checkins WHERE activity_id = %s))",
            (activity_id, branch_id, activity_id, upto, activity_id),
        )
        n = conn.execute("SELECT count(*) FROM checkins WHERE activity_id = %s", (activity_id,))
        return int(n.fetchone()[0])


def _get(url: str, method: str = "GET") -> tuple[int, Any]:
    req = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, None


def _event(
    db_url: str, org_id: int, activity_id: int, count: int, title: str = "主题党日 · 大屏测试"
) -> None:
    """A `checkin.created` event as a check-in writes it (the activity's count after it)."""
    text, args = insert(
        NewEvent(
            "checkin.created",
            f"activities/{activity_id}",
            org_id,
            "leader",
            {"activity_id": activity_id, "title": title, "count": count},
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
    counters = c1["counters"]
    assert counters["activities_today"] == 2  # activities, not people: exact
    # 15 check-ins and 15 members reached (12 of b1, 3 of b3): at least 10, in steps of 10, so
    # b3's screen subtracted from c1's cannot give b3's 3
    assert counters["checkins_today"] == 10 and counters["members_reached_month"] == 10
    assert counters["fewer_than"] is None and counters["step"] == 10
    status, b3 = _get(f"{base}/api/screen?key={world['key_b3']}")
    assert status == 200 and b3["counters"]["activities_today"] == 1
    assert b3["counters"]["checkins_today"] is None  # 3: held back
    assert b3["counters"]["members_reached_month"] is None and b3["counters"]["fewer_than"] == 10
    status, c2 = _get(f"{base}/api/screen?key={world['key_c2']}")
    assert status == 200 and {b["code"] for b in c2["top"] + c2["bottom"]} == {"hb2"}
    assert c2["service_points"] == [] and c2["counters"]["activities_today"] == 0
    assert c2["counters"]["checkins_today"] == 0 and c2["counters"]["fewer_than"] is None
    assert _get(f"{base}/api/screen?key={world['key_off']}")[0] == 403
    assert _get(f"{base}/api/screen?key=nosuchkey0123456789")[0] == 403
    assert _get(f"{base}/api/screen")[0] == 400
    # The key is no login: nothing else reads with it, and nothing writes.
    assert _get(f"{base}/api/orgs/{world['b1']}/health?key={world['key_c1']}")[0] == 401
    assert _get(f"{base}/api/screen?key={world['key_c1']}", "POST")[0] == 405
    assert {k.name for k in list_screen_keys(db_url) if k.active} == {"大厅", "街道", "小支部"}


def _ready(page: Any) -> None:
    page.wait_for_function("() => window.djmapScreen && window.djmapScreen.state.summary")
    page.wait_for_function("() => window.djmapScreen.state.streamState === 'open'")


def _clean(log: PageLog) -> None:
    assert log.problems() == [], "\n".join(log.problems())


def _text(page: Any, selector: str) -> str:
    return str(page.inner_text(selector))


def test_screen_counts_checkins_live_and_stays_bounded(
    world: dict[str, Any], base: str, browser: Browser, db_url: str, output_dir: Path
) -> None:
    page, log = browser.open(base, f"/screen?key={world['key_c1']}", viewport=BIG)
    bad: list[str] = []
    page.on("response", lambda r: bad.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    _ready(page)
    assert _text(page, "#c-activities") == "2"
    assert _text(page, "#c-checkins") == "10+"  # 15: at least 10
    assert _text(page, "#c-reached") == "10+"
    for n in range(13, 20):  # check-ins 13 … 19: the screen's stream tells of none of them
        assert _checkins(db_url, world["act"], world["b1"], n) == n
        _event(db_url, world["b1"], world["act"], n)
    _event(db_url, world["b2"], world["act"], 30)  # another scope's event: never arrives
    assert _checkins(db_url, world["act"], world["b1"], 20) == 20
    _event(db_url, world["b1"], world["act"], 20)  # the activity reaches 20: told
    page.wait_for_function("() => window.djmapScreen.state.ticker.length > 0")
    assert page.evaluate("() => window.djmapScreen.state.ticker") == ["主题党日 · 大屏测试 · 20"]
    # 23 check-ins in the scope now: the counters are read again, in steps of 10
    page.wait_for_function("() => document.getElementById('c-checkins').textContent === '20+'")
    assert _text(page, "#c-reached") == "20+"
    assert "少于" not in _text(page, ".scr-left")
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
    assert played["events"] >= 600 + 1 and played["ticker"] <= 6
    assert played["stop"] >= 0  # the tour moved on
    assert after < before + 8 * 1024 * 1024, (before, after)  # bounded: no per-event growth
    ticker = page.evaluate("() => window.djmapScreen.state.ticker")
    assert ticker and all(x.endswith(" · 少于10人") for x in ticker)  # an activity's 1: held back
    _event(db_url, world["b1"], world["act"], 30)  # still live after the simulation
    page.wait_for_function("() => window.djmapScreen.state.ticker[0].endsWith(' · 30')")
    assert bad == []
    _clean(log)
    page.close()


def test_under_ten_nothing_exact_reaches_the_page(
    world: dict[str, Any], base: str, browser: Browser, db_url: str
) -> None:
    """b3's screen: 3 check-ins by 3 members today; neither the page nor what it fetched holds a
    3, and its stream tells of no check-in (none reached 10)."""
    page, log = browser.open(base, f"/screen?key={world['key_b3']}", viewport=BIG)
    _ready(page)
    assert _text(page, "#c-activities") == "1"
    assert _text(page, "#c-checkins") == "少于10人" and _text(page, "#c-reached") == "少于10人"
    counters = page.evaluate("() => window.djmapScreen.state.summary.counters")
    assert {counters[k] for k in ("checkins_today", "members_reached_month")} == {None}
    assert counters["fewer_than"] == 10
    _event(db_url, world["b3"], world["act3"], 3, "小支部学习")  # as the 3rd check-in wrote it
    _event(db_url, world["b3"], world["act3"], 10, "小支部学习")  # a barrier: in order
    page.wait_for_function("() => window.djmapScreen.state.ticker.length > 0")
    assert page.evaluate("() => window.djmapScreen.state.ticker") == ["小支部学习 · 10"]
    assert " 3" not in _text(page, ".scr-left").replace("10", "")
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
