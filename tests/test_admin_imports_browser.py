"""The imports tab of /admin in Chromium (issue 11 §5), one page load: a data steward logs in and
sees only the imports tab, uploads a CSV whose parent column has a name the importer does not
know, maps it, validates (the report names the bad row, in Chinese, and downloads as CSV), then
uploads a good file, validates and confirms it — with no console error and no request leaving
the server."""

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
HEADER = "组织编码,组织名称,组织类型,上级单位,经度,纬度\n"  # 上级单位: not an alias of parent_code
BAD = HEADER + "H-W,新党委,党委,A-W,116.31,39.91\nH-B,,党支部,H-W,200,39.92\n"
GOOD = HEADER + "K-W,新党委,党委,A-W,116.31,39.91\nK-B,新支部,党支部,K-W,116.32,39.92\n"


@pytest.fixture(scope="module")
def base(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server on the test database emptied and holding two subtrees and a user per role."""
    from conftest import DATA_TABLES

    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("TRUNCATE " + ", ".join(DATA_TABLES) + " RESTART IDENTITY CASCADE")
    two_subtrees(db_url)
    add_users(db_url)
    home = tmp_path_factory.mktemp("admin-imports-home")
    with serve(db_url, {"DJMAP_HOME": str(home)}) as url:
        yield url


def _orgs(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        return {r[0] for r in conn.execute("SELECT code FROM organisations")}


def _upload(page: object, name: str, text: str) -> None:
    """Choose the file, upload it and wait for its preview."""
    file = {"name": name, "mimeType": "text/csv", "buffer": text.encode()}
    page.set_input_files("#imp-file", files=[file])  # type: ignore[attr-defined]
    page.click("#imp-upload")  # type: ignore[attr-defined]
    page.locator("#imp-summary", has_text=name).wait_for()  # type: ignore[attr-defined]


def _map_parent_and_validate(page: object) -> None:
    page.select_option("#imp-map select[data-target=parent_code]", "上级单位")  # type: ignore[attr-defined]
    page.click("#imp-validate")  # type: ignore[attr-defined]
    page.locator("#imp-report").wait_for()  # type: ignore[attr-defined]


def test_steward_maps_validates_and_imports(
    browser: Browser, base: str, db_url: str, output_dir: Path
) -> None:
    page, log = browser.open(base, "/admin")
    page.click("#gate button")
    page.fill("#login-form [name=username]", "steward_a")
    page.fill("#login-form [name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    panel = page.locator("#panel-imports")
    panel.wait_for()
    assert page.locator("#tab-imports").get_attribute("aria-selected") == "true"
    assert page.locator("#tab-users").is_hidden() and page.locator("#tab-screen").is_hidden()
    assert page.locator("#imp-kind option[value=buildings]").is_disabled()  # bound to A-W

    exe = {"name": "orgs.exe", "mimeType": "application/octet-stream", "buffer": b"MZ"}
    page.set_input_files("#imp-file", files=[exe])
    page.click("#imp-upload")  # refused in the page, in its language, before any upload
    page.locator("#imp-notice.bad", has_text="不支持的文件类型").wait_for()
    _upload(page, "bad.csv", BAD)
    assert page.locator("#imp-notice").is_hidden()
    assert page.locator("#imp-head th").count() == 6 and page.locator("#imp-rows tr").count() == 2
    assert page.locator("#imp-map select[data-target=code]").input_value() == "组织编码"
    assert page.locator("#imp-map select[data-target=parent_code]").input_value() == ""
    _map_parent_and_validate(page)
    feeds = page.locator("#imp-head th", has_text="上级单位").locator(".maps")
    assert feeds.inner_text() == "→ 上级组织"  # the column says which field it feeds
    bad_row = page.locator("#imp-issues tr.lv-error[data-row='2']").first
    bad_row.wait_for()
    assert "必填项为空" in page.locator("#imp-issues").inner_text()  # reasons in the page language
    assert page.locator("#imp-verdict").get_attribute("class") == "verdict bad"
    assert page.locator("#imp-confirm").is_disabled()
    with page.expect_download() as download:
        page.click("#imp-download")
    csv = Path(download.value.path()).read_text("utf-8-sig")
    assert csv.startswith("类别,行,文件行号,列,原因代码,说明") and "missing_required" in csv
    page.locator("#imp-verdict").scroll_into_view_if_needed()
    page.screenshot(path=str(output_dir / "admin_imports.png"))

    _upload(page, "good.csv", GOOD)
    assert page.locator("#imp-report").is_hidden()  # a new file starts over
    _map_parent_and_validate(page)
    page.locator("#imp-verdict", has_text="检查通过").wait_for()
    assert {"K-W", "K-B"}.isdisjoint(_orgs(db_url))  # validated, not written
    page.click("#imp-confirm")
    page.locator("#imp-notice", has_text="已导入 good.csv").wait_for()
    assert {"K-W", "K-B"} <= _orgs(db_url) and "H-W" not in _orgs(db_url)
    assert page.locator("#imp-preview").is_hidden() and page.locator("#imp-report").is_hidden()
    assert log.problems() == [], log.problems()
    page.close()
