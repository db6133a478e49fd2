"""The live loop in Chromium on the real database (issue 12, "Done when").

A branch secretary creates an activity on the leader page; a member's /nearest page, open
before, shows it without a reload; the member registers (报名) and checks in with the QR code's
link; the secretary's ticker counts the check-in. Then the edit form meets a version someone
else wrote (412: "changed by someone else: reload"), and cancelling the activity reaches the
member's page. The two people use two origins of the one server (127.0.0.1 and localhost), so
each page keeps its own login.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
from conftest import DATA_TABLES
from privacy import PASSWORD, add_users, two_subtrees
from web_browser import Browser, PageLog, login, serve

PHONE = {"width": 390, "height": 844}
TITLE = "主题党日 · 实时测试"


@pytest.fixture(scope="module")
def world(db_url: str) -> dict[str, Any]:
    """Two organisation trees, their users, and a branch secretary of A's branch (A-B)."""
    from geo.users import add_user

    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("TRUNCATE " + ", ".join(DATA_TABLES) + " RESTART IDENTITY CASCADE")
        conn.execute("TRUNCATE users RESTART IDENTITY CASCADE")
    data = two_subtrees(db_url)
    add_users(db_url)
    add_user(db_url, "secretary_a", PASSWORD, "leader", "A-B")
    return data


@pytest.fixture(scope="module")
def base(
    world: dict[str, Any], db_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    home = tmp_path_factory.mktemp("livehome")
    with serve(db_url, {"DJMAP_HOME": str(home)}) as url:
        yield url


def _other_origin(base: str) -> str:
    """The same server under another origin (its own localStorage: another person's login)."""
    return base.replace("127.0.0.1", "localhost")


def _beijing(when: datetime) -> str:
    return (when.astimezone(UTC) + timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M")


def _clean(log: PageLog, expected: str | None = None) -> None:
    """Nothing went wrong on the page (but the `expected` refusal, e.g. a 412)."""
    if expected:
        log.console_errors[:] = [m for m in log.console_errors if expected not in m]
    assert log.problems() == [], "\n".join(log.problems())


def _open_as(
    browser: Browser, base: str, path: str, username: str, **kw: Any
) -> tuple[Any, PageLog]:
    """A page on base+path logged in as `username` from its first load (the login is stored
    on a cheap page of the origin first: the map loads once, not twice)."""
    page, log = browser.open(base, "/api/health", **kw)
    _login(page, log, base, username)
    page.goto(base + path, wait_until="load")
    return page, log


def _login(page: Any, log: PageLog, base: str, username: str) -> None:
    """Log in (the reload aborts what the anonymous page was still loading: not a problem)."""
    login(page, base, username, PASSWORD)
    log.failed[:] = [f for f in log.failed if "ERR_ABORTED" not in f]


def _live(page: Any) -> None:
    page.wait_for_function("() => document.getElementById('live-badge')?.dataset.state === 'open'")


def _activity_layer(db_url: str) -> str:
    from web.catalog import page_layers
    from web.live import cards

    return cards(page_layers("public"))["activity"]


def _latency(db_url: str, act: str, leader: Any, member: Any, layer: str, out: Path) -> None:
    """Commit → page figures, written to test-output/live-latency.json (measured, not asserted:
    speed belongs in bench/; the event's `at` is its transaction's start, a little before the
    commit, so these are upper bounds)."""
    leader.wait_for_function(f"() => window.djmapLive.drawn['{layer}'] !== undefined")
    leader.wait_for_function(  # every tile of the new version has arrived
        "id => window.djmapMap.deck.layerManager.getLayers().find((l) => l.id === id).isLoaded",
        arg=layer,
    )
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT extract(epoch FROM at) * 1000 FROM events "
            "WHERE type = 'activity.created' AND subject = %s",
            (f"activities/{act}",),
        ).fetchone()
    assert row is not None
    at = float(row[0])
    figures = {
        "member_list_ms": member.evaluate("() => window.djmapLive.seen.at['activity.created']")
        - at,
        "leader_event_ms": leader.evaluate("() => window.djmapLive.seen.at['activity.created']")
        - at,
        # the last tile of the first version reloaded after the event
        "leader_layer_drawn_ms": leader.evaluate(f"() => window.djmapLive.drawn['{layer}'][0].at")
        - at,
    }
    (out / "live-latency.json").write_text(json.dumps(figures, indent=1))
    print("commit → page (ms):", {k: round(v) for k, v in figures.items()})


def test_the_loop(browser: Browser, base: str, db_url: str, output_dir: Path) -> None:
    """Create on the page → seen on /nearest without reload → 报名 → QR check-in → ticker."""
    member, mlog = _open_as(browser, _other_origin(base), "/nearest", "member_a", viewport=PHONE)
    _live(member)
    member.evaluate(
        "() => { window.__sameDocument = true; window.djmapNearest.locate(116.301, 39.901); }"
    )

    leader, llog = _open_as(browser, base, "/", "secretary_a")
    _live(leader)
    leader.wait_for_selector("#act-new:not([hidden])")
    assert leader.locator("#ticker").is_visible()

    # -- the secretary publishes an activity at A's service point, running now ----------------
    leader.click("#act-new")
    leader.wait_for_selector("#act-dialog[open]")
    form = leader.locator("#act-form")
    form.locator("[name=title]").fill(TITLE)
    form.locator("[name=kind]").select_option("主题党日")
    leader.wait_for_function(
        "() => document.querySelector('#act-form [name=organiser]').value === 'A-B'"
    )
    form.locator("[name=service_point]").select_option("A-SP")
    leader.wait_for_function("() => document.querySelector('#act-form [name=lon]').value !== ''")
    now = datetime.now(UTC)
    form.locator("[name=starts_at]").fill(_beijing(now - timedelta(minutes=20)))
    form.locator("[name=ends_at]").fill(_beijing(now + timedelta(hours=2)))
    form.locator("[name=capacity]").fill("20")
    form.locator("[name=description]").fill("学习与讨论")
    leader.click("#act-save")
    leader.wait_for_function("() => window.djmapActivities.lastCreated !== null")
    act = leader.evaluate("() => window.djmapActivities.lastCreated")
    leader.wait_for_selector(f"#act-card .act-name[data-activity='{act}']")
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT a.title, o.code, s.code, a.capacity, a.starts_at <= now() FROM activities a "
            "JOIN organisations o ON o.id = a.organiser_id "
            "JOIN service_points s ON s.id = a.service_point_id WHERE a.id = %s",
            (int(act),),
        ).fetchone()
    assert row == (TITLE, "A-B", "A-SP", 20, True)

    # -- the member's page, open before, shows it without a reload --------------------------
    member.wait_for_selector(f"#live-acts li[data-activity='{act}']")
    assert member.evaluate("() => window.__sameDocument") is True
    member.wait_for_selector(f"#results .reg[data-activity='{act}']")
    # and the leader's map reloaded only the activities layer, with a versioned URL
    layer = _activity_layer(db_url)
    leader.wait_for_function(f"() => (window.djmapLive.refreshed['{layer}'] || 0) >= 1")
    leader.wait_for_function(  # its loaded tiles hold the new activity
        "([layer, act]) => window.djmapMap.deck.layerManager.getLayers()"
        ".find((l) => l.id === layer).state.tileset.tiles"
        ".some((t) => (t.content || []).some((f) => String(f.properties.id) === act))",
        arg=[layer, act],
    )
    # unfiltered, `data` is a TileJSON document; with the page's time filter, a tile URL
    tiles = leader.evaluate(
        "(id) => { const d = window.djmapMap.layer(id).props.data;"
        " return typeof d === 'string' ? [d] : d.tiles; }",
        layer,
    )
    assert all("v=" in u for u in tiles), tiles
    # only the layers the events named were reloaded (not service points, roads …)
    # one snapshot (more data.changed events may name more layers between two reads)
    snap = leader.wait_for_function(
        "() => { const drawn = new Set(window.djmapMap.panel.map((e) => e.id));"
        " const named = Object.keys(window.djmapLive.seen.layers);"
        " const done = named.filter((id) => drawn.has(id))"
        ".every((id) => window.djmapLive.refreshed[id] >= 1);"
        " return done && {named, drawn: [...drawn],"
        " reloaded: Object.keys(window.djmapLive.refreshed),"
        " resets: window.djmapLive.seen.byType.reset || 0}; }"
    ).json_value()
    named, reloaded, drawn = (set(snap[k]) for k in ("named", "reloaded", "drawn"))
    assert layer in reloaded and "service_points" in drawn, (reloaded, drawn)
    if snap["resets"]:  # the server said the stream lost events: every layer reloads (right)
        assert named & drawn <= reloaded <= drawn, (reloaded, named, snap["resets"])
    else:
        assert reloaded == named & drawn, (reloaded, named)
        assert "service_points" not in reloaded
    _latency(db_url, act, leader, member, layer, output_dir)

    # -- 报名 ----------------------------------------------------------------------------------
    member.click(f"#live-acts button[data-register='{act}']")
    member.wait_for_function(
        f"() => [...document.querySelectorAll(\".reg[data-activity='{act}'] .reg-answer\")]"
        ".some((e) => e.textContent.includes('已报名'))"
    )
    with psycopg.connect(db_url) as conn:
        status = conn.execute(
            "SELECT r.status FROM registrations r JOIN members m ON m.id = r.member_id "
            "WHERE r.activity_id = %s AND m.external_id = 'A-M0'",
            (int(act),),
        ).fetchone()
    assert status == ("registered",)
    # the secretary's card counts the registration (the organiser sees the names)
    leader.wait_for_selector("#act-card .roster li")

    # -- check-in with the QR code's link -------------------------------------------------------
    leader.click("#act-qr-btn")
    leader.wait_for_selector("#act-qr:not([hidden]) #act-qr-url[data-url]")
    assert leader.evaluate("() => document.getElementById('act-qr-img').naturalWidth") > 0
    url = urlsplit(leader.get_attribute("#act-qr-url", "data-url") or "")
    assert url.path == "/checkin" and url.query.startswith("t=")
    member.goto(f"{_other_origin(base)}/checkin?{url.query}", wait_until="load")
    mlog.failed[:] = [f for f in mlog.failed if "ERR_ABORTED" not in f]  # left /nearest
    member.wait_for_function("() => document.body.dataset.result === 'ok'")
    with psycopg.connect(db_url) as conn:
        sql = "SELECT method FROM checkins WHERE activity_id = %s"
        found = conn.execute(sql, (int(act),)).fetchall()
    assert found == [("code",)]

    # -- the secretary's ticker counts it ------------------------------------------------------
    leader.wait_for_selector(f"#ticker li[data-activity='{act}']")
    assert leader.inner_text(f"#ticker li[data-activity='{act}'] .n") == "少于10"  # 1: held back
    leader.screenshot(path=str(output_dir / "live-leader.png"))
    member.screenshot(path=str(output_dir / "live-checkin.png"))
    _clean(llog)
    _clean(mlog)


def _api(base: str, method: str, path: str, token: str, body: Any = None, **headers: str) -> Any:
    req = urllib.request.Request(
        base + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", **headers},
    )
    with urllib.request.urlopen(req, timeout=30) as res:
        return res.status, dict(res.headers), res.read()


def _token(base: str, username: str) -> str:
    data = f"username={username}&password={PASSWORD}".encode()
    with urllib.request.urlopen(base + "/api/auth/token", data=data, timeout=30) as res:
        return str(json.loads(res.read())["access_token"])


def test_conflict_then_cancel(browser: Browser, base: str, db_url: str) -> None:
    """Edit meets someone else's write (412 → 'changed by someone else: reload'); reload and
    cancel with a reason: the activity is kept as cancelled and the member's page shows it."""
    with psycopg.connect(db_url) as conn:
        act = conn.execute("SELECT id FROM activities WHERE title = %s", (TITLE,)).fetchone()
    assert act is not None, "test_the_loop creates the activity"
    act_id = str(act[0])
    layer = _activity_layer(db_url)
    member, mlog = _open_as(browser, _other_origin(base), "/nearest", "member_a", viewport=PHONE)
    _live(member)
    leader, llog = _open_as(browser, base, "/", "secretary_a")
    _live(leader)
    leader.evaluate(f"() => window.djmapActivities.openCard('{act_id}')")
    leader.wait_for_selector("#act-edit")
    leader.click("#act-edit")
    leader.wait_for_selector("#act-dialog[open]")

    # someone else writes the activity while the form is open
    token = _token(base, "secretary_a")
    item = f"/api/collections/{layer}/items/{act_id}"
    _, headers, _ = _api(base, "GET", item, token)
    patch = {"properties": {"capacity": 30}}
    status, _, _ = _api(
        base,
        "PATCH",
        item,
        token,
        patch,
        **{"If-Match": headers["etag"], "Content-Type": "application/merge-patch+json"},
    )
    assert status == 200

    leader.locator("#act-form [name=title]").fill(TITLE + "（改）")
    leader.click("#act-save")
    leader.wait_for_selector("#act-error[data-conflict='1']")
    assert "已被他人修改，请刷新" in leader.inner_text("#act-error")
    leader.click("#act-close")
    with psycopg.connect(db_url) as conn:
        assert conn.execute(
            "SELECT title, capacity FROM activities WHERE id = %s", (int(act_id),)
        ).fetchone() == (TITLE, 30)

    # reload the card (fresh ETag), then cancel with a reason
    leader.evaluate(f"() => window.djmapActivities.openCard('{act_id}')")
    leader.wait_for_selector("#act-cancel")
    leader.click("#act-cancel")
    leader.wait_for_selector("#act-cancel-dialog[open]")
    leader.fill("#act-cancel-reason", "场地临时维修")
    leader.click("#act-cancel-form button[type=submit]")
    shown = leader.wait_for_function(  # cancelled, or the card's own message saying why not
        "() => document.querySelector('#act-card .act-status.cancelled') ? 'cancelled'"
        " : ((document.querySelector('#act-card .act-msg.no') || {}).textContent || '')"
        ".trim() || null"
    ).json_value()
    assert shown == "cancelled", shown
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT status, cancel_reason FROM activities WHERE id = %s", (int(act_id),)
        ).fetchone()
    assert row == ("cancelled", "场地临时维修")
    member.wait_for_selector(f"#live-acts li.cancelled[data-activity='{act_id}']")
    assert "场地临时维修" in member.inner_text(f"#live-acts li[data-activity='{act_id}']")
    _clean(llog, "412")
    _clean(mlog)


def test_form_checks_and_picks_a_place(browser: Browser, base: str, db_url: str) -> None:
    """Only writers see "new activity"; the form refuses an empty place and a reversed time span
    before sending, takes a place clicked on the map, and lists the server's problems (400)."""
    member, mlog = _open_as(browser, base, "/", "member_a")
    member.wait_for_function("() => window.djmapActivities.ready === true")
    assert member.locator("#act-new").is_hidden()
    _clean(mlog)

    with psycopg.connect(db_url) as conn:
        before = conn.execute("SELECT count(*) FROM activities").fetchone()
    leader, llog = _open_as(browser, base, "/", "secretary_a")
    leader.wait_for_selector("#act-new:not([hidden])")
    leader.click("#act-new")
    leader.wait_for_selector("#act-dialog[open]")
    form = leader.locator("#act-form")
    form.locator("[name=title]").fill("地图选点的活动")
    form.locator("[name=kind]").select_option("志愿服务")
    now = datetime.now(UTC)
    form.locator("[name=starts_at]").fill(_beijing(now + timedelta(hours=3)))
    form.locator("[name=ends_at]").fill(_beijing(now + timedelta(hours=1)))
    leader.click("#act-save")
    error = leader.locator("#act-error")
    error.wait_for(state="visible")
    assert "结束时间须晚于开始时间" in error.inner_text()
    assert "请选择服务点或在地图上选点" in error.inner_text()

    leader.click("#act-pick")
    leader.wait_for_selector("#act-pick-hint:not([hidden])")
    assert leader.locator("#act-dialog[open]").count() == 0
    box = leader.locator("#map").bounding_box()
    assert box is not None
    leader.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    leader.wait_for_selector("#act-dialog[open]")
    lon = float(form.locator("[name=lon]").input_value())
    lat = float(form.locator("[name=lat]").input_value())
    view = leader.evaluate("() => window.djmapMap.viewState()")
    assert abs(lon - view["longitude"]) < 0.05 and abs(lat - view["latitude"]) < 0.05
    assert form.locator("[name=service_point]").input_value() == ""

    form.locator("[name=ends_at]").fill(_beijing(now + timedelta(hours=5)))
    form.locator("[name=capacity]").fill("-5")
    leader.click("#act-save")
    leader.wait_for_function(
        "() => document.getElementById('act-error').textContent.includes('capacity')"
    )
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM activities").fetchone() == before
    _clean(llog, "400")


def test_page_reconnects_by_itself(
    browser: Browser, world: dict[str, Any], db_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The server goes away and comes back on the same address: the open page reconnects with
    the last event id it had, and shows what was published while it was away."""
    from web_browser import free_port

    home = tmp_path_factory.mktemp("reconnect")
    port = free_port()
    with serve(db_url, {"DJMAP_HOME": str(home)}, port=port) as url:
        page, log = browser.open(url, "/nearest", viewport=PHONE)
        _live(page)
        page.wait_for_function(  # every tile drawn before the server goes
            "() => window.djmapPerf.deckReady !== null && window.djmapMap.deck.layerManager"
            ".getLayers().filter((l) => l.constructor.layerName === 'MVTLayer')"
            ".every((l) => l.isLoaded)",
        )
        page.evaluate("() => { window.__sameDocument = true; }")
    page.wait_for_function("() => document.getElementById('live-badge').dataset.state !== 'open'")
    with serve(db_url, {"DJMAP_HOME": str(home)}, port=port) as url:
        token = _token(url, "secretary_a")
        layer = _activity_layer(db_url)
        now = datetime.now(UTC)
        feature = {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [116.302, 39.902]},
            "properties": {
                "title": "断线重连后发布",
                "kind": "学习",
                "organiser_code": "A-B",
                "starts_at": (now + timedelta(days=1)).isoformat(),
                "ends_at": (now + timedelta(days=1, hours=2)).isoformat(),
            },
        }
        status, _, body = _api(
            url,
            "POST",
            f"/api/collections/{layer}/items",
            token,
            feature,
            **{"Content-Type": "application/geo+json"},
        )
        assert status == 201
        act = str(json.loads(body)["id"])
        _live(page)
        page.wait_for_selector(f"#live-acts li[data-activity='{act}']")
        assert page.evaluate("() => window.__sameDocument") is True
    # while the server was away its requests were refused (and the browser said so)
    away = ("/api/events", "ERR_CONNECTION_REFUSED")
    log.failed[:] = [f for f in log.failed if not any(a in f for a in away)]
    cut = ("ERR_CONNECTION_REFUSED", "ERR_INCOMPLETE_CHUNKED_ENCODING")  # the stream, cut
    log.console_errors[:] = [m for m in log.console_errors if not any(c in m for c in cut)]
    _clean(log)


def test_form_invites_organisations(
    browser: Browser, base: str, db_url: str, output_dir: Path
) -> None:
    """受邀组织: the form lists the organiser's tree beyond its own subtree, searchable, with a
    checkbox each; the choice is written (invited_org_ids), shown on the card, and unchecking it
    on edit removes it. Screenshot test-output/live-invite-form.png."""
    with psycopg.connect(db_url) as conn:
        orgs = dict(conn.execute("SELECT code, id FROM organisations").fetchall())
    leader, llog = _open_as(
        browser, base, "/", "leader_a"
    )  # bound to A-W: its tree is A-W ⊃ A-Z ⊃ A-B
    leader.wait_for_selector("#act-new:not([hidden])")
    leader.click("#act-new")
    leader.wait_for_selector("#act-dialog[open]")
    form = leader.locator("#act-form")
    assert "受邀组织" in form.inner_text()
    form.locator("[name=title]").fill("联合党日（邀请）")
    form.locator("[name=kind]").select_option("主题党日")
    form.locator("[name=organiser]").select_option("A-B")
    choices = leader.locator("#act-invited label.org-choice")
    choices.first.wait_for()
    shown = {leader.locator("#act-invited input").nth(i).get_attribute("value") for i in range(2)}
    assert choices.count() == 2 and shown == {str(orgs["A-W"]), str(orgs["A-Z"])}
    leader.fill("#act-invited-q", "a-z")
    assert leader.locator("#act-invited label.org-choice:visible").count() == 1
    leader.check(f"#act-invited input[value='{orgs['A-Z']}']")
    assert "已选 1 个组织" in leader.inner_text("#act-invited-count")
    leader.fill("#act-invited-q", "")
    leader.locator("#act-dialog").screenshot(path=str(output_dir / "live-invite-form.png"))
    form.locator("[name=lon]").fill("116.304")
    form.locator("[name=lat]").fill("39.904")
    now = datetime.now(UTC)
    form.locator("[name=starts_at]").fill(_beijing(now + timedelta(days=1)))
    form.locator("[name=ends_at]").fill(_beijing(now + timedelta(days=1, hours=2)))
    leader.evaluate("() => { window.djmapActivities.lastCreated = null; }")
    leader.click("#act-save")
    leader.wait_for_function("() => window.djmapActivities.lastCreated !== null")
    act = leader.evaluate("() => window.djmapActivities.lastCreated")
    leader.wait_for_selector(f"#act-card .act-name[data-activity='{act}']")
    query = "SELECT org_id FROM activity_invitations WHERE activity_id = %s"
    with psycopg.connect(db_url) as conn:
        assert conn.execute(query, (int(act),)).fetchall() == [(orgs["A-Z"],)]
    card = leader.inner_text("#act-card")
    assert "受邀组织" in card and "A-Z 名称" in card

    leader.click("#act-edit")
    leader.wait_for_selector("#act-dialog[open]")
    box = leader.locator(f"#act-invited input[value='{orgs['A-Z']}']")
    assert box.is_checked()
    box.uncheck()
    leader.click("#act-save")
    leader.wait_for_selector("#act-dialog:not([open])", state="attached")
    leader.wait_for_function(
        "() => !document.getElementById('act-card').innerText.includes('A-Z 名称')",
    )
    with psycopg.connect(db_url) as conn:
        assert conn.execute(query, (int(act),)).fetchall() == []
    _clean(llog)
