"""The organisation health API (issue 13 §2-3): scores, breakdown and trend for leaders and up
within their subtree (the public 401, members 403, other subtrees 403, unknown 404), rankings,
the rules (admins write new versions), and organisation life entered by the secretary (scoped,
audited, checked)."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import asyncpg
import psycopg
import pytest
from health_world import build, make_world, principal
from live_world import client

from geo.health import clock, evidence, rules
from geo.health.score import score_all


@pytest.fixture
def world(clean_db: str) -> dict[str, int]:
    return make_world(clean_db)


def expected_scores(url: str, day: date) -> dict[int, float]:
    async def go() -> dict[int, float]:
        conn = await asyncpg.connect(url)
        try:
            orgs = await evidence.load(conn, day)
        finally:
            await conn.close()
        return {k: round(v.score, 1) for k, v in score_all(orgs, rules.defaults(), day).items()}

    return asyncio.run(go())


def test_scores_breakdown_and_trend_for_a_leader_in_scope(world: dict[str, int]) -> None:
    url = clean_url(world)
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO meetings (code, org_id, kind, held_on, source) VALUES "
            "('x1', %s, '党小组会', %s, 'entry')",
            (world["b1"], clock.today() - timedelta(days=40)),
        )
    build(url)
    want = expected_scores(url, clock.today())
    with client(url, principal("leader", world["c1"])) as c:
        r = c.get(f"/api/orgs/{world['b1']}/health")
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["score"] == want[world["b1"]]
        assert body["status"] in ("green", "amber", "red")
        parts = sum(line["points"] for line in body["breakdown"])
        assert parts == pytest.approx(body["score"], abs=0.1)
        group = next(x for x in body["breakdown"] if x["rule"] == "group_meeting")
        assert group["last_fulfilled"] == (clock.today() - timedelta(days=40)).isoformat()
        assert len(body["trend"]) == 12
        assert body["trend"][-1]["score"] == body["score"]
        top = c.get(f"/api/orgs/{world['c1']}/health").json()
        assert top["children_score"] is not None
        assert any(x["rule"] == "children" for x in top["breakdown"])


def clean_url(world: dict[str, int]) -> str:
    import os

    return os.environ["DJMAP_DATABASE_URL"]


def audit_since(url: str, first: int) -> list[tuple[str, str, str]]:
    """(collection, action, actor) of the audit entries after id `first` (the log is
    append-only: other tests' entries stay)."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT collection, action, actor FROM audit_log WHERE id > %s ORDER BY id", (first,)
        ).fetchall()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def last_audit(url: str) -> int:
    with psycopg.connect(url) as conn:
        return int(conn.execute("SELECT coalesce(max(id), 0) FROM audit_log").fetchone()[0])


@pytest.mark.parametrize(
    ("who", "status"),
    [
        (("public", None), 401),
        (("member", None), 403),
        (("leader", "c2"), 403),
        (("planner", "c2"), 403),
        (("steward", "b3"), 403),
        (("leader", None), 200),
        (("leader", "c1"), 200),
        (("leader", "b1"), 200),
        (("planner", None), 200),
        (("admin", None), 200),
    ],
)
def test_who_sees_a_branchs_health(
    world: dict[str, int], who: tuple[str, str | None], status: int
) -> None:
    url = clean_url(world)
    build(url)
    role, org = who
    p = principal(role, world[org] if org else None)
    if role == "member":
        p = principal("member", world["b1"])
    with client(url, p) as c:
        for path in (f"/api/orgs/{world['b1']}/health", f"/api/orgs/{world['c1']}/ranking"):
            r = c.get(path)
            want = 200 if (status == 200 or (path.endswith("ranking") and org == "b1")) else status
            if path.endswith("ranking") and org == "b1":
                want = 403  # b1's secretary does not see its committee's ranking
            assert r.status_code == want, (who, path, r.text)
            if r.status_code != 200:
                assert "score" not in r.text
        assert c.get("/api/orgs/999999/health").status_code in (401, 403, 404)


def test_unknown_organisation_is_404_for_leaders(world: dict[str, int]) -> None:
    url = clean_url(world)
    build(url)
    with client(url, principal("admin")) as c:
        assert c.get("/api/orgs/999999/health").status_code == 404
        assert c.get("/api/orgs/999999/ranking").status_code == 404


def test_ranking_of_a_committees_children(world: dict[str, int]) -> None:
    url = clean_url(world)
    build(url)
    want = expected_scores(url, clock.today())
    with client(url, principal("leader", world["c1"])) as c:
        body = c.get(f"/api/orgs/{world['c1']}/ranking").json()
        assert {i["org_id"] for i in body["items"]} == {world["b1"], world["b3"]}
        scores = [i["score"] for i in body["items"]]
        assert scores == sorted(scores, reverse=True)
        assert {i["org_id"]: i["score"] for i in body["items"]} == {
            world["b1"]: want[world["b1"]],
            world["b3"]: want[world["b3"]],
        }
        assert sum(body["distribution"].values()) == 2
        assert body["items"][0]["rank"] == 1
        branches = c.get(f"/api/orgs/{world['c1']}/ranking?of=branches").json()
        assert {i["org_id"] for i in branches["items"]} == {world["b1"], world["b3"]}
        assert c.get(f"/api/orgs/{world['c1']}/ranking?of=x").status_code == 400


def test_no_score_before_the_first_build_is_503(world: dict[str, int]) -> None:
    with client(clean_url(world), principal("admin")) as c:
        # the app's own scheduler may have built already: either the build or a 503
        r = c.get(f"/api/orgs/{world['b1']}/health")
        assert r.status_code in (200, 503)


def test_rules_read_by_leaders_written_by_admins(world: dict[str, int]) -> None:
    url = clean_url(world)
    first = last_audit(url)
    with client(url, principal("leader", world["b1"])) as c:
        body = c.get("/api/health-rules").json()
        assert body["version"] == rules.defaults().version and body["set_id"] is None
        assert {r["id"] for r in body["rules"]["rules"]} >= {"general_meeting", "term_election"}
        assert c.put("/api/health-rules", json=body["rules"]).status_code == 403
    with client(url, principal("member", world["b1"])) as c:
        assert c.get("/api/health-rules").status_code == 403
    with client(url, principal("public")) as c:
        assert c.get("/api/health-rules").status_code == 401
    with client(url, principal("admin", name="root")) as c:
        doc = c.get("/api/health-rules").json()["rules"]
        doc["thresholds"] = {"green": 95, "amber": 90}
        r = c.put("/api/health-rules", json=doc)
        assert r.status_code == 200, r.text
        assert r.json()["version"].startswith(rules.defaults().version + "+")
        assert c.get("/api/health-rules").json()["rules"]["thresholds"]["green"] == 95
        doc["thresholds"] = {"green": 50, "amber": 90}
        assert c.put("/api/health-rules", json=doc).status_code == 400
        doc["thresholds"] = {"green": 95, "amber": 90}
        doc["rules"][0]["period"] = "fortnight"
        assert c.put("/api/health-rules", json=doc).status_code == 400
    assert audit_since(url, first) == [("health_rules", "create", "root")]
    build(url)
    with psycopg.connect(url) as conn:
        versions = {r[0] for r in conn.execute("SELECT rules_version FROM org_health_scores")}
    assert len(versions) == 1 and "+" in versions.pop()


def test_the_secretary_records_meetings_terms_and_dues(world: dict[str, int]) -> None:
    url = clean_url(world)
    b1 = world["b1"]
    first = last_audit(url)
    day = (clock.today() - timedelta(days=3)).isoformat()
    with client(url, principal("leader", b1, "sec1")) as c:
        r = c.post(f"/api/orgs/{b1}/meetings", json={"kind": "支委会", "held_on": day})
        assert r.status_code == 201, r.text
        assert r.json()["source"] == "entry"
        again = c.post(f"/api/orgs/{b1}/meetings", json={"kind": "支委会", "held_on": day})
        assert again.status_code == 409
        bad = c.post(f"/api/orgs/{b1}/meetings", json={"kind": "茶话会", "held_on": day})
        assert bad.status_code == 400
        t = c.post(f"/api/orgs/{b1}/terms", json={"elected_on": "2025-03-01", "term_years": 3})
        assert t.status_code == 201, t.text
        d1 = c.post(
            f"/api/orgs/{b1}/dues", json={"month": "2026-01", "paid_share": 0.9, "arrears_count": 1}
        )
        assert d1.status_code == 201, d1.text
        d2 = c.post(
            f"/api/orgs/{b1}/dues", json={"month": "2026-01", "paid_share": 1, "arrears_count": 0}
        )
        assert d2.status_code == 200 and d2.json()["id"] == d1.json()["id"]
        other = c.post(f"/api/orgs/{world['b2']}/meetings", json={"kind": "党课", "held_on": day})
        assert other.status_code == 403
        assert c.post("/api/orgs/999999/terms", json={"elected_on": day}).status_code == 404
    for who in (principal("planner"), principal("leader"), principal("member", b1)):
        with client(url, who) as c:
            r = c.post(f"/api/orgs/{b1}/meetings", json={"kind": "党课", "held_on": day})
            assert r.status_code == 403, who
    with client(url, principal("public")) as c:
        assert (
            c.post(f"/api/orgs/{b1}/meetings", json={"kind": "党课", "held_on": day}).status_code
            == 401
        )
    with client(url, principal("steward", world["c1"], "st")) as c:
        assert (
            c.post(f"/api/orgs/{b1}/meetings", json={"kind": "党课", "held_on": day}).status_code
            == 201
        )
    assert audit_since(url, first) == [
        ("meetings", "create", "sec1"),
        ("committee_terms", "create", "sec1"),
        ("dues_months", "create", "sec1"),
        ("dues_months", "update", "sec1"),
        ("meetings", "create", "st"),
    ]


def test_an_activity_of_a_meeting_kind_with_check_ins_counts_as_held(world: dict[str, int]) -> None:
    url = clean_url(world)
    held = clock.today() - timedelta(days=20)
    with psycopg.connect(url) as conn:
        act = conn.execute(
            "INSERT INTO activities (code, title, kind, organiser_id, starts_at, ends_at, geom) "
            "VALUES ('pa', '党课', '三会一课', %s, %s::date + time '09:00', %s::date + time '10:00', "
            "ST_SetSRID(ST_MakePoint(116.4, 39.9), 4326)) RETURNING id",
            (world["b1"], held, held),
        ).fetchone()[0]
        member = conn.execute("SELECT id FROM members WHERE external_id = 'a0'").fetchone()[0]
    build(url)
    with client(url, principal("admin")) as c:
        line = next(
            x
            for x in c.get(f"/api/orgs/{world['b1']}/health").json()["breakdown"]
            if x["rule"] == "party_lecture"
        )
        assert line["last_fulfilled"] is None  # no check-in yet: not held
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO checkins (activity_id, member_id, method) VALUES (%s, %s, 'code')",
            (act, member),
        )
    build(url)
    with client(url, principal("admin")) as c:
        line = next(
            x
            for x in c.get(f"/api/orgs/{world['b1']}/health").json()["breakdown"]
            if x["rule"] == "party_lecture"
        )
        assert line["last_fulfilled"] == held.isoformat()
        r = c.post(
            f"/api/orgs/{world['b2']}/meetings",
            json={"kind": "党课", "held_on": held.isoformat(), "activity_id": act},
        )
        assert r.status_code == 400  # not b2's activity
