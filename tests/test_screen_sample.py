"""The big screen and the leader's health layer on a copy of the sample district (issue 13's
closing note): the screenshots test-output/screen-1920.png and health-layer-leader.png show the
real mix of green, amber and red over the 3D district. Offline, no script errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from health_world import build
from web_browser import Browser, login, serve, wait_for_map

from geo.screen.keys import add_screen_key
from geo.users import add_user

DB = "djmap_screen_sample"
PASSWORD = "screen-sample-pw"


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
    build(url)
    yield url


def test_screen_and_health_layer_on_the_sample(
    sample_copy: str, browser: Browser, output_dir: Path, tmp_path: Path
) -> None:
    with psycopg.connect(sample_copy) as conn:
        root = conn.execute("SELECT code FROM organisations WHERE parent_id IS NULL LIMIT 1")
        code = str(root.fetchone()[0])  # type: ignore[index]
    key = add_screen_key(sample_copy, "大厅", None).key
    add_user(sample_copy, "lead_root", PASSWORD, "leader", code)
    with serve(sample_copy, {"DJMAP_HOME": str(tmp_path)}) as base:
        page, log = browser.open(
            base, f"/screen?key={key}", viewport={"width": 1920, "height": 1080}
        )
        page.wait_for_function("() => window.djmapScreen && window.djmapScreen.state.summary")
        wait_for_map(page)
        page.wait_for_timeout(7000)  # the first stop of the tour
        dist = page.evaluate("() => window.djmapScreen.state.summary.distribution")
        assert sum(dist.values()) > 0
        page.screenshot(path=str(output_dir / "screen-1920.png"))
        assert log.problems() == [], "\n".join(log.problems())
        page.close()
        page, log = browser.open(base, "/")
        login(page, base, "lead_root", PASSWORD)
        wait_for_map(page)
        box = page.locator("[data-layer='org_health']")
        if not box.is_checked():
            box.check()
        page.wait_for_timeout(2500)
        page.screenshot(path=str(output_dir / "health-layer-leader.png"))
        assert log.page_errors == []
        page.close()
