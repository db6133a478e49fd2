"""A 党建网格 drawn on /coverage in headless Chromium (issue 14 §4): a planner bound to tree B
presses "绘制网格", clicks four corners on the map (the last a double-click, which closes the
outline), fills the form with a branch of its subtree and saves; the grid is stored with those
corners, drawn on the map, the grid check runs again and lists its overlap with the grid already
there; the grid's card then renames it. The page was opened from a scenario's shared link
(/coverage?scenario=ID, issue 14 §1), which chooses that scenario for the comparison. Offline, no
script error. One page load for all of it; screenshot test-output/coverage_grid_draw.png."""

from __future__ import annotations

from pathlib import Path

import psycopg
from privacy import PASSWORD, add_users, two_subtrees
from web_browser import Browser, login, serve, wait_for_map

CORNERS = [(760, 300), (980, 320), (960, 520), (740, 500)]  # right of the panel (364 px)
BIG = "ST_Multi(ST_MakeEnvelope(115.5, 39.0, 117.5, 41.0, 4326))"  # under all of the view


def test_a_planner_draws_a_grid_by_clicks_and_saves_it(
    browser: Browser, clean_db: str, output_dir: Path, tmp_path: Path
) -> None:
    data = two_subtrees(clean_db)
    add_users(clean_db)
    with psycopg.connect(clean_db) as conn:
        conn.execute(
            f"INSERT INTO grids (code, name, org_id, geom) VALUES ('GB-0', '大网格', %s, {BIG})",
            (data["B"]["branch"],),
        )
        kept = (
            "INSERT INTO scenarios (name, org_id, created_by, changes) VALUES (%s, %s, 'x', '[]') "
        )
        shared = conn.execute(kept + "RETURNING id", ("共享方案", data["B"]["general"])).fetchone()
        conn.execute(kept, ("最新方案", data["B"]["general"]))  # the newest: listed first
    assert shared is not None
    with serve(clean_db, {"DJMAP_HOME": str(tmp_path)}) as base:
        page, log = browser.open(base, "/api/health")
        login(page, base, "planner_b", PASSWORD)
        page.goto(f"{base}/coverage?scenario={shared[0]}", wait_until="load")  # a shared link
        wait_for_map(page)
        page.wait_for_function(
            "() => document.querySelectorAll('#cmp-scenario option').length == 2"
        )
        assert page.input_value("#cmp-scenario") == str(shared[0])  # the link's, not the newest
        page.click("#grid-draw")
        page.wait_for_selector("#grid-drawing:not([hidden])")
        expected = page.evaluate(
            "(xy) => { const vp = window.djmapCoverage.map.deck.getViewports()[0];"
            " const r = document.getElementById('map').getBoundingClientRect();"
            " return xy.map(([x, y]) => vp.unproject([x - r.left, y - r.top])); }",
            CORNERS,
        )
        for x, y in CORNERS[:-1]:
            page.mouse.click(x, y)
        page.mouse.dblclick(*CORNERS[-1])  # the last corner, and the outline closes
        page.wait_for_selector("#grid-form:not([hidden])")
        assert page.text_content("#grid-count") == "4"
        page.wait_for_function("() => document.querySelectorAll('#grid-branch option').length > 1")
        branch_options = page.eval_on_selector_all(
            "#grid-branch option", "os => os.map(o => o.value)"
        )
        assert str(data["B"]["branch"]) in branch_options
        assert str(data["A"]["branch"]) not in branch_options  # only the caller's subtree
        page.fill("#grid-code", "GB-9")
        page.fill("#grid-name", "绘制网格一")
        page.fill("#grid-community", "东社区")
        page.select_option("#grid-branch", str(data["B"]["branch"]))
        page.click("#grid-save")
        page.wait_for_function("() => document.body.dataset.gridCheck")
        overlaps = page.text_content("#grid-check-list .overlap") or ""
        assert "GB-0" in overlaps and "GB-9" in overlaps, overlaps
        drawn = page.evaluate("() => window.djmapCoverage.map.deck.props.layers.map((l) => l.id)")
        assert "drawn-grids" in drawn
        with psycopg.connect(clean_db) as conn:
            row = conn.execute(
                "SELECT g.id, o.code, g.community, ST_AsGeoJSON(g.geom)::json, ST_IsValid(g.geom) "
                "FROM grids g JOIN organisations o ON o.id = g.org_id WHERE g.code = 'GB-9'"
            ).fetchone()
        assert row is not None
        gid, branch, community, geometry, valid = row
        assert (branch, community, valid) == ("B-B", "东社区", True)
        ring = geometry["coordinates"][0][0]
        assert len(ring) == 5 and ring[0] == ring[-1]  # four corners, closed
        for (lon, lat), (ex, ey) in zip(sorted(ring[:-1]), sorted(expected), strict=True):
            assert abs(lon - ex) < 1e-6 and abs(lat - ey) < 1e-6
        page.wait_for_timeout(800)  # let the frame with the grid be composited
        page.screenshot(path=str(output_dir / "coverage_grid_draw.png"))
        # the grid's card: a click inside it opens it; rename and save (PATCH with If-Match)
        cx = sum(x for x, _ in CORNERS) // 4
        cy = sum(y for _, y in CORNERS) // 4
        page.mouse.click(cx, cy)
        page.wait_for_selector("#grid-item:not([hidden])")
        page.fill("#grid-item-name", "改名网格")
        page.click("#grid-item-save")
        page.wait_for_function(
            "() => document.getElementById('grid-item-title').textContent.includes('改名网格')"
        )
        with psycopg.connect(clean_db) as conn:
            assert conn.execute("SELECT name FROM grids WHERE id = %s", (gid,)).fetchone() == (
                "改名网格",
            )
        assert not log.foreign and not log.page_errors, log.problems()
        page.close()
