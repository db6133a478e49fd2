"""/checkin and /card in Chromium on a phone-sized page: the organiser's page shows the rotating
QR code, the member's phone opens the code's URL and checks in; refusals read in the page's
language; the member card shows the branch, the registrations and a QR code."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from live_world import activity, make_world
from web_browser import Browser, login, serve

from geo.users import add_user

PHONE = {"width": 375, "height": 812}
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def site(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict]]:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("TRUNCATE activities, members, organisations, users RESTART IDENTITY CASCADE")
    ids = make_world(db_url)
    ids["later"] = activity(db_url, "later", ids["c1"], start_min=120, end_min=180)
    add_user(db_url, "sec1", PASSWORD, "leader", org_code="c1")
    add_user(db_url, "mem1", PASSWORD, "member", member="m1")
    add_user(db_url, "out1", PASSWORD, "member", member="n1")
    home = tmp_path_factory.mktemp("home")
    with serve(db_url, {"DJMAP_HOME": str(home)}) as base:
        yield base, ids


def _open(browser: Browser, base: str, path: str, user: str, **kw):
    """A page on `path` logged in as `user` only (the tests share one browser profile)."""
    page, log = browser.open(base, "/api/health", **kw)
    page.evaluate("() => localStorage.clear()")
    page.goto(base + path, wait_until="load")
    login(page, base, user, PASSWORD)
    return page, log


def _clean(log) -> None:
    assert not log.problems(), log.problems()


def test_qr_code_to_check_in(browser: Browser, site, db_url: str, output_dir: Path) -> None:
    base, ids = site
    organiser, olog = _open(
        browser, base, f"/checkin?activity={ids['run']}", "sec1", viewport=PHONE
    )
    organiser.wait_for_selector("#ck-qr svg")
    code = organiser.evaluate("() => document.body.dataset.code")
    url = organiser.evaluate("() => document.getElementById('ck-qr').dataset.url")
    assert url == f"/checkin?t={code}"
    organiser.screenshot(path=str(output_dir / "checkin-organiser.png"))
    organiser.evaluate("() => localStorage.clear()")  # one browser profile: log the leader out

    phone, plog = browser.open(base, url, viewport=PHONE)
    phone.wait_for_selector("#login-dialog[open]")  # asks to log in first
    login(phone, base, "mem1", PASSWORD)
    phone.wait_for_function("() => document.body.dataset.result")
    assert phone.evaluate("() => document.body.dataset.result") == "ok"
    assert phone.text_content("#ck-verdict") == "签到成功"
    phone.screenshot(path=str(output_dir / "checkin-phone.png"))
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT method FROM checkins WHERE activity_id = %s AND member_id = %s",
            (ids["run"], ids["m1"]),
        ).fetchone()
    assert row == ("code",)
    _clean(olog)
    _clean(plog)
    organiser.close()
    phone.close()


def test_refusal_reads_in_english(browser: Browser, site) -> None:
    base, ids = site
    organiser, _ = _open(browser, base, f"/checkin?activity={ids['later']}", "sec1")
    organiser.wait_for_selector("#ck-qr svg")
    code = organiser.evaluate("() => document.body.dataset.code")
    organiser.close()
    phone, _ = _open(browser, base, f"/checkin?t={code}&lang=en", "out1", viewport=PHONE)
    phone.wait_for_function("() => document.body.dataset.result")
    assert phone.evaluate("() => document.body.dataset.result") == "CheckinRefused.not_invited"
    assert "you cannot check in" in phone.text_content("#ck-verdict")
    phone.close()


def test_member_card(browser: Browser, site, output_dir: Path) -> None:
    base, ids = site
    page, log = _open(browser, base, "/card", "mem1", viewport=PHONE)
    page.wait_for_selector("#card-qr svg")
    status = page.evaluate(
        "async (id) => { const r = await fetch(`/api/activities/${id}/registrations`, {method:"
        " 'POST', headers: {Authorization: `Bearer ${localStorage.getItem('djmap_token')}`}});"
        " await r.text(); return r.status; }",
        ids["later"],
    )
    assert status == 201
    page.reload(wait_until="load")
    page.wait_for_selector("#card-qr svg")
    assert page.text_content("#card-branch") == "b1支部"
    assert page.text_content("#card-name") == "党员m1"
    assert page.locator(f"#card-upcoming li[data-activity='{ids['later']}']").count() == 1
    assert page.evaluate("() => document.body.dataset.code").startswith(f"m{ids['m1']}.")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(output_dir / "member-card.png"))
    _clean(log)
    page.close()
