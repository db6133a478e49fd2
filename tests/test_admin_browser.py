"""The admin screen `/admin` in Chromium (issue 11 §5), one page load: the login prompt, an admin
logging in through the page's dialog, adding a user, creating an embed key and seeing it listed,
then a leader's refusal — with no console error and no request leaving the server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from privacy import PASSWORD, add_users, two_subtrees
from web_browser import Browser, serve

pytestmark = pytest.mark.skipif(
    not os.access("/usr/bin/chromium", os.X_OK), reason="Debian chromium is not installed"
)


@pytest.fixture(scope="module")
def base(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server on the test database emptied and holding two subtrees and a user per role."""
    from conftest import DATA_TABLES

    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("TRUNCATE " + ", ".join(DATA_TABLES) + " RESTART IDENTITY CASCADE")
        conn.execute("DELETE FROM embed_keys")
    two_subtrees(db_url)
    add_users(db_url)
    home = tmp_path_factory.mktemp("admin-home")
    with serve(db_url, {"DJMAP_HOME": str(home)}) as url:
        yield url


def _log_in(page: object, username: str) -> None:
    page.click("#gate button")  # type: ignore[attr-defined]
    page.fill("#login-form [name=username]", username)  # type: ignore[attr-defined]
    page.fill("#login-form [name=password]", PASSWORD)  # type: ignore[attr-defined]
    page.click("#login-form button[type=submit]")  # type: ignore[attr-defined]


def test_admin_adds_a_user_and_an_embed_key(browser: Browser, base: str, output_dir: Path) -> None:
    page, log = browser.open(base, "/admin")
    gate = page.locator("#gate")
    gate.get_by_text("请以管理员身份登录").wait_for()
    assert page.locator("#console-body").is_hidden()

    _log_in(page, "admin")
    page.locator("#users-rows tr[data-user=admin]").wait_for()
    assert page.locator("#users-rows tr").count() == 7  # add_users' users
    form = page.locator("#user-form")
    form.locator("[name=username]").fill("zhao_admin_ui")
    form.locator("[name=password]").fill("a-long-password")
    form.locator("[name=role]").select_option("leader")
    form.locator("[name=org]").fill("A-W")
    form.locator("button[type=submit]").click()
    row = page.locator("#users-rows tr[data-user=zhao_admin_ui]")
    row.wait_for()
    assert row.locator("[data-f=org]").input_value() == "A-W"
    assert row.locator("[data-f=role]").input_value() == "leader"

    page.click("#tab-embed")
    assert page.locator("#panel-users").is_hidden() and page.locator("#panel-embed").is_visible()
    embed = page.locator("#embed-key-form")
    embed.locator("[name=name]").fill("区门户")
    embed.locator("[name=origins]").fill("https://portal.example.cn\nhttp://localhost:8080")
    embed.locator("button[type=submit]").click()
    listed = page.locator("#embed-rows tr", has_text="区门户")
    listed.wait_for()
    key = listed.locator("code").inner_text()
    assert len(key) == 32 and key in page.locator("#notice").inner_text()
    origins = listed.locator("[data-f=origins]").input_value().split("\n")
    assert origins == ["http://localhost:8080", "https://portal.example.cn"]
    assert f"key={key}" in (listed.locator("a").get_attribute("href") or "")
    page.screenshot(path=str(output_dir / "admin_embed_keys.png"))

    page.click("#login-btn")  # log out, then in as a leader: refused in words
    gate.get_by_text("请以管理员身份登录").wait_for()
    _log_in(page, "leader_a")
    gate.get_by_text("仅管理员可以管理用户和密钥").wait_for()
    assert "leader_a" in gate.inner_text() and page.locator("#console-body").is_hidden()
    assert log.problems() == [], log.problems()
    page.close()
