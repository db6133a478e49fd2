"""Issue 11 §3, the member's phone (`/nearest`) in Chromium, zh-CN and en: check-in countdown,
refusals in the page's language, only the activities the member may attend, one pin per shared
place, ordering by day then distance with 今天/本周/全部, search that never moves "me", tap targets
of 44 px."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from live_world import LAT, LON, activity, make_world
from web_browser import Browser, PageLog, login, serve

from geo.health import clock
from geo.users import add_user

PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1440, "height": 900}
PASSWORD = "correct horse battery"
SP_NAME = "测试党群服务站"


@pytest.fixture(scope="module")
def site(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict]]:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "TRUNCATE activities, members, organisations, users, service_points "
            "RESTART IDENTITY CASCADE"
        )
        conn.execute(
            "INSERT INTO service_points (code, name, kind, geom) VALUES "
            "('sp1', %s, '党群服务站', ST_SetSRID(ST_MakePoint(%s, %s), 4326))",
            (SP_NAME, LON + 0.004, LAT + 0.002),
        )
    ids = make_world(db_url)
    # "run" is on now at (LON, LAT); "later" shares its place, 2 h from now
    ids["later"] = activity(db_url, "later", ids["c1"], start_min=120, end_min=180)
    ids["week"] = activity(db_url, "week", ids["c1"], start_min=3 * 1440, end_min=3 * 1440 + 60)
    ids["far"] = activity(
        db_url, "far", ids["c1"], start_min=20 * 1440, end_min=20 * 1440 + 60, lon=LON + 0.002
    )
    add_user(db_url, "in1", PASSWORD, "member", member="m1")  # b1 under c1: invited to all four
    add_user(db_url, "out1", PASSWORD, "member", member="n1")  # b2: invited to none of them
    with psycopg.connect(db_url) as conn:  # out1 is on the waitlist of "run": listed, not let in
        conn.execute(
            "INSERT INTO registrations (activity_id, member_id, status) VALUES (%s, %s, 'waitlisted')",
            (ids["run"], ids["n1"]),
        )
    home = tmp_path_factory.mktemp("home")
    with serve(db_url, {"DJMAP_HOME": str(home)}) as base:
        yield base, ids


def _beijing_day(at: datetime) -> date:
    return at.astimezone(clock.TZ).date()


def _open(
    browser: Browser, base: str, lang: str, viewport: dict[str, int], user: str = "in1"
) -> tuple[Any, PageLog]:
    page, log = browser.open(base, "/api/health", viewport=viewport)
    page.evaluate("() => localStorage.clear()")
    login(page, base, user, PASSWORD)  # before the page loads: one load of the map, not two
    page.goto(f"{base}/nearest?lang={lang}", wait_until="load")
    page.wait_for_function("() => window.djmapNearest && window.djmapMap")
    return page, log


def _clean(log: PageLog, refused: bool = False) -> None:
    """No console error, page error or foreign request; a request the page itself cancelled
    (tiles left behind by a fly, the stream of the page before the login reload) is no fault."""
    problems = [p for p in log.problems() if "ERR_ABORTED" not in p]
    if refused:  # Chromium logs the refusal the test asked for
        problems = [p for p in problems if "status of 403" not in p]
    assert problems == [], problems


def _activities_at_home(page: Any, when: str = "all") -> list[str]:
    # DOM clicks: the filters are checked, not the pointer (Playwright's wait for a stable
    # element waits for frames, which software WebGL makes slow); tap sizes are checked below
    page.locator(f"#when button[data-v={when}]").dispatch_event("click")
    page.locator("#target button[data-v=activities]").dispatch_event("click")
    page.evaluate(f"() => window.djmapNearest.locate({LON + 0.0005}, {LAT})")
    page.wait_for_function(
        "() => !document.getElementById('status').textContent.endsWith('…')"
        " && window.djmapNearest.state.target === 'activities'",
    )
    page.wait_for_timeout(300)
    return [str(t) for t in page.locator("#results li[data-id] .title").all_text_contents()]


def _tap_targets_are_44_px(page: Any) -> None:
    small = page.evaluate(
        """() => [...document.querySelectorAll('.finder button, .finder input, #results a,'
              + ' #results button, .topbar a, .topbar button')]
            .filter((e) => e.offsetParent !== null)
            .map((e) => [e.textContent.trim() || e.id, e.getBoundingClientRect().height])
            .filter(([, h]) => h < 44)"""
    )
    assert small == [], small
    assert page.evaluate("document.documentElement.scrollWidth") <= 375


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_list_orders_by_day_filters_counts_down_and_taps_are_44_px(
    browser: Browser, site: tuple[str, dict], lang: str, output_dir: Path, db_url: str
) -> None:
    """One page load a language for the invited member: the list orders by day then distance
    and filters 今天/本周/全部; its tap targets are 44 px with no sideways scroll; the check-in
    countdown reads in the page's language."""
    base, ids = site
    with psycopg.connect(db_url) as conn:
        later_start = conn.execute(
            "SELECT starts_at FROM activities WHERE id = %s", (ids["later"],)
        ).fetchone()[0]
    page, log = _open(browser, base, lang, PHONE)
    titles = _activities_at_home(page, "all")
    # today's two first (the nearer "run"/"later" share a place), then day 3, then day 20
    assert titles[:2] in (["活动run", "活动later"], ["活动later", "活动run"]), titles
    assert titles[2:] == ["活动week", "活动far"], titles
    _tap_targets_are_44_px(page)
    if lang == "zh-CN":
        page.wait_for_timeout(800)
        page.screenshot(path=str(output_dir / "ux-member-list-zh-phone.png"))
    assert sorted(_activities_at_home(page, "week")) == ["活动later", "活动run", "活动week"]
    later = page.locator(f"#results li[data-id='{ids['later']}'] .opens")
    text = later.text_content() or ""
    assert ("签到" in text and "开放" in text) if lang == "zh-CN" else "Check-in opens" in text
    assert ":" in text  # the time it opens
    # 今天 is Beijing's day: "later" (2 h from now) is tomorrow from 22:00 on, and then only
    # "run" is today
    today = ["活动later", "活动run"] if _beijing_day(later_start) == clock.today() else ["活动run"]
    assert sorted(_activities_at_home(page, "today")) == today
    _clean(log)
    page.close()


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_refusal_in_the_page_language(browser: Browser, site: tuple[str, dict], lang: str) -> None:
    base, ids = site
    # out1 is only on the waitlist of "run" (listed for it, not invited): the refusal is in words
    # of the page's language
    page, log = _open(browser, base, lang, PHONE, user="out1")
    assert _activities_at_home(page, "today") == ["活动run"]  # nothing it is not invited to
    page.click(f"#results li[data-id='{ids['run']}'] button.checkin")
    answer = page.locator(f"#results li[data-id='{ids['run']}'] .answer")
    answer.wait_for(state="visible")
    said = answer.text_content() or ""
    assert "subtree" not in said and "not invited" not in said, said
    if lang == "zh-CN":
        assert "不能签到" in said, said
    else:
        assert "you cannot check in" in said, said
    _clean(log, refused=True)
    page.close()


def test_pins_sharing_a_place_become_one_with_a_count(
    browser: Browser, site: tuple[str, dict]
) -> None:
    base, _ = site
    page, log = _open(browser, base, "zh-CN", DESKTOP)
    # the next 7 days, whatever the hour: "run", "later" and "week" share a place, ranks 1-3
    _activities_at_home(page, "week")
    labels = page.evaluate(
        "() => window.djmapMap.deck.props.layers.find((l) => l.id === 'found-rank')"
        ".props.data.map((p) => p.label)"
    )
    assert labels == ["1×3"], labels
    _clean(log)
    page.close()


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_search_never_moves_me(
    browser: Browser, site: tuple[str, dict], viewport: dict[str, int]
) -> None:
    base, _ = site
    page, log = _open(browser, base, "en", viewport)
    page.evaluate(f"() => window.djmapNearest.locate({LON}, {LAT})")
    page.wait_for_function("() => window.djmapNearest.state.origin !== null")
    page.fill("#sp-search", SP_NAME)
    page.press("#sp-search", "Enter")
    page.wait_for_selector("#results li.picked")
    origin = page.evaluate("() => window.djmapNearest.state.origin")
    assert origin == [LON, LAT]
    dist = float(page.locator("#results li.picked").get_attribute("data-distance") or "0")
    assert dist > 300  # its distance from me, not "93 m" from itself
    _clean(log)
    page.close()
