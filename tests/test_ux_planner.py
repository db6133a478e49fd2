"""Issue 11 §4 and §7, the planner (`/coverage`) in Chromium, zh-CN and en, desktop and phone:
walk is the default mode; a logged-out caller choosing the members weight reads a refusal in
words of the page's language, never "Log in: [object Object]"."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from web_browser import Browser, serve

PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1440, "height": 900}


@pytest.fixture(scope="module")
def base(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("uxplanner")
    with serve(db_url, {"DJMAP_HOME": str(home)}) as url:
        yield url


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_walk_by_default_and_refusals_in_words(
    browser: Browser, base: str, lang: str, viewport: dict[str, int]
) -> None:
    page, log = browser.open(base, "/api/health", viewport=viewport)
    page.evaluate("() => localStorage.clear()")
    page.goto(f"{base}/coverage?lang={lang}", wait_until="load")
    assert page.input_value("#cov-mode") == "walk"
    page.select_option("#cov-weight", "members")
    page.click("#cov-run")
    page.wait_for_selector("#cov-error:not([hidden])")
    said = page.text_content("#cov-error") or ""
    assert "[object Object]" not in said
    assert said == ("请先登录" if lang == "zh-CN" else "Please log in first"), said
    # Chromium logs each refused request ("Failed to load resource"); anything else is a fault
    errors = [p for p in log.problems() if "Failed to load resource" not in p]
    assert errors == [], errors
    page.close()
