"""Page-data routes (/web/*.json) keep to the privacy rules: cards follow the catalog and the
caller's subtree, stats stay inside it, and no member figure under 10 can be derived by differencing."""

from __future__ import annotations

import asyncio
import itertools
import json
import random
from collections.abc import Iterator
from fractions import Fraction
from typing import Any

import asyncpg
import psycopg
import pytest
from fastapi.testclient import TestClient
from privacy import add_users, all_homes, api_client, assert_no_member_points, bearer, two_subtrees

from geo.privacy import K as MIN_COUNT
from geo.privacy.groups import Group
from geo.privacy.groups import publish_groups as publish
from geo.settings import DatabaseSettings
from layers import catalog
from web import queries
from web.settings import WebSettings

KEY = "web-privacy-test-key-" + "q" * 32
CARD_EXTRAS = {"lon", "lat", "org_name", "panoramas", "upcoming"}


@pytest.fixture
def data(clean_db: str) -> dict[str, dict[str, Any]]:
    return two_subtrees(clean_db)


@pytest.fixture
def client(clean_db: str, data) -> Iterator[TestClient]:
    add_users(clean_db)
    yield from api_client(clean_db, KEY)


def names(layer: str, audience: str) -> set[str]:
    return {f.name for f in catalog.fields_for(catalog.get(layer), audience)}


def card(client: TestClient, sp: int, headers: dict[str, str] | None = None) -> dict[str, Any]:
    r = client.get(f"/web/service-points/{sp}.json", headers=headers or {})
    assert r.status_code == 200, r.text
    return r.json()


# service point card ------------------------------------------------------------------------------


def test_card_fields_follow_the_catalog(client: TestClient, data) -> None:
    a, b = data["A"], data["B"]
    public = card(client, a["service_point"])
    assert set(public) - CARD_EXTRAS == names("service_points", "public")
    assert "phone" not in public and "phone-secret" not in str(public)
    assert public["org_name"] == "A-W 名称" and public["name"] == "A 服务中心"
    assert public["upcoming"], "upcoming activities are public"
    for act in public["upcoming"]:
        assert set(act) == names("activities", "public")
        assert {"title", "kind", "starts_at"} <= set(act)  # what leader.js reads

    member = card(client, a["service_point"], bearer(client, "member_a"))
    assert member["phone"] == "phone-secret"
    assert set(member["upcoming"][0]) == names("activities", "member")
    # another branch's activities at B's point: seen, with public fields only
    other = card(client, b["service_point"], bearer(client, "member_a"))
    assert other["phone"] == "phone-secret"  # service point phones are member-level, not scoped
    assert other["upcoming"] and all(
        set(x) == names("activities", "public") for x in other["upcoming"]
    )
    for body in (public, member, other):
        assert_no_member_points(body, all_homes(data))


def test_bound_leader_card_of_another_subtree(client: TestClient, data) -> None:
    a, b = data["A"], data["B"]
    h = bearer(client, "leader_a")
    own = card(client, a["service_point"], h)
    assert own["phone"] == "phone-secret" and "org_id" in own
    assert {x["id"] for x in own["upcoming"]} == set(a["activities"][1:])  # [0] is over
    assert all(set(x) == names("activities", "leader") for x in own["upcoming"])

    foreign = card(client, b["service_point"], h)
    assert set(foreign) - CARD_EXTRAS == names("service_points", "public")
    assert "phone" not in foreign and "phone-secret" not in str(foreign)
    assert foreign["org_name"] == "B-W 名称"
    assert foreign["upcoming"] == []  # B's activities are outside A's subtree
    assert card(client, b["service_point"])["upcoming"], "the public does see them"
    # a planner bound to B's general branch: B's point is the committee's (above it), so public
    # fields only; its activities are those its general branch and branch organise
    pb = card(client, b["service_point"], bearer(client, "planner_b"))
    assert set(pb) - CARD_EXTRAS == names("service_points", "public")
    assert {x["id"] for x in pb["upcoming"]} == set(b["activities"][1:])
    assert all(set(x) == names("activities", "planner") for x in pb["upcoming"])


@pytest.mark.parametrize(
    ("path", "status"),
    [("0", 400), ("-3", 400), ("abc", 400), (str(2**70), 400), ("999999", 404)],
)
def test_card_bad_ids(client: TestClient, path: str, status: int) -> None:
    r = client.get(f"/web/service-points/{path}.json")
    assert r.status_code == status, r.text


# stats: the caller's subtree ---------------------------------------------------------------------


def test_stats_stay_inside_the_subtree(client: TestClient, data) -> None:
    a, b = data["A"], data["B"]
    h = bearer(client, "leader_a")
    r = client.get("/web/stats.json", params={"org": b["committee"]}, headers=h)
    assert r.status_code == 403, r.text
    assert "outside" in r.text
    for org in a["orgs"]:
        assert client.get("/web/stats.json", params={"org": org}, headers=h).status_code == 200
    mine = client.get("/web/stats.json", headers=h).json()
    assert mine["organisations"] == 3 and mine["members"] == 12
    # planner of B's general branch: not B's committee above it
    hp = bearer(client, "planner_b")
    assert (
        client.get("/web/stats.json", params={"org": b["committee"]}, headers=hp).status_code == 403
    )
    assert client.get("/web/stats.json", params={"org": b["branch"]}, headers=hp).status_code == 200
    # unknown → 404, malformed → 400 (the app's validation status), for everyone
    for headers in ({}, h, bearer(client, "admin")):
        assert client.get("/web/stats.json?org=999999", headers=headers).status_code == 404
        for bad in ("0", "-1", "x", str(2**70)):
            assert client.get(f"/web/stats.json?org={bad}", headers=headers).status_code == 400
    # an anonymous caller is refused what a bound leader is refused (no member figures for the
    # public audience, as the API's member heat); district-wide roles may look at any organisation
    r = client.get("/web/stats.json", params={"org": b["committee"]})
    assert r.status_code == 403 and r.json()["code"] == "Forbidden", r.text
    admin = bearer(client, "admin")
    assert (
        client.get("/web/stats.json", params={"org": b["committee"]}, headers=admin).status_code
        == 200
    )


def test_anonymous_callers_get_no_more_than_a_bound_leader(client: TestClient, data) -> None:
    """Page data keeps the API's audience rules for anonymous callers too: what a leader bound
    elsewhere is refused (another subtree's statistics) is refused to the public and to members,
    and member counts go only to the audiences of the catalog's member heat."""
    a, b = data["A"], data["B"]
    leader_a, member_a = bearer(client, "leader_a"), bearer(client, "member_a")
    for headers in (leader_a, {}, member_a):
        for org in (b["committee"], b["branch"]):
            r = client.get("/web/stats.json", params={"org": org}, headers=headers)
            assert r.status_code == 403, (headers, r.text)
            assert "members" not in r.text
    # below member heat's audience: no member figure anywhere, the rest of the page data stays
    heat = catalog.get("member_heat")
    for headers, audience in (({}, "public"), (member_a, "member")):
        assert not catalog.can_see(heat, audience)
        orgs = client.get("/web/orgs.json", headers=headers).json()["organisations"]
        assert orgs and all(o["members"] is None for o in orgs)
        overview = client.get("/web/stats.json", headers=headers).json()
        assert overview["members"] is None and overview["coverage_pct"] is None
        assert overview["organisations"] >= 1  # the counts of public layers stay
    # member heat's audiences read them (published under the rule: 0 or at least 10)
    assert catalog.can_see(heat, "leader")
    mine = client.get("/web/orgs.json", headers=leader_a).json()["organisations"]
    assert {o["id"] for o in mine} == set(a["orgs"])
    shown = [o["members"] for o in mine if o["members"] is not None]
    assert shown and all(n >= MIN_COUNT for n in shown)
    district = client.get("/web/stats.json", headers=bearer(client, "admin")).json()
    assert district["members"] == 24
    # the page scripts learn the same audiences from the page config, not from a literal
    page = client.get("/").text
    config = page.split('id="djmap-config" type="application/json">')[1].split("</script>")[0]
    expected = [x for x in catalog.AUDIENCES if catalog.can_see(heat, x)]
    assert json.loads(config)["member_audiences"] == expected
    assert "public" not in expected and "member" not in expected and "leader" in expected


# member figures: nothing under 10 can be derived -------------------------------------------------


def _rank(rows: list[list[Fraction]]) -> int:
    rows = [r[:] for r in rows]
    rank, cols = 0, len(rows[0]) if rows else 0
    for c in range(cols):
        pivot = next((i for i in range(rank, len(rows)) if rows[i][c] != 0), None)
        if pivot is None:
            continue
        rows[rank], rows[pivot] = rows[pivot], rows[rank]
        for i in range(len(rows)):
            if i != rank and rows[i][c] != 0:
                f = rows[i][c] / rows[rank][c]
                rows[i] = [x - f * y for x, y in zip(rows[i], rows[rank], strict=True)]
        rank += 1
    return rank


def derivable(published: list[list[int]], target: list[int]) -> bool:
    """True when `target` is a linear combination of the `published` group indicators."""
    if not published:
        return False
    base = [[Fraction(x) for x in row] for row in published]
    return _rank([*base, [Fraction(x) for x in target]]) == _rank(base)


def small_sets_derivable(
    units: list[Any], count: dict[Any, int], published: list[set[Any]]
) -> list[tuple[Any, ...]]:
    """Sets of units with 1..9 members whose count follows from the published groups."""
    rows = [[1 if u in g else 0 for u in units] for g in published]
    found = []
    for k in range(1, len(units) + 1):
        for combo in itertools.combinations(units, k):
            small = 0 < sum(count[u] for u in combo) < MIN_COUNT
            if small and derivable(rows, [1 if u in combo else 0 for u in units]):
                found.append(combo)
    return found


def _crafted_tree(url: str) -> dict[str, int]:
    """Committee W: branch X (3 members, homes far from any service point) and branch Y (12,
    covered); committee V: branches P (20) and Q (30), all covered."""
    ids: dict[str, int] = {}
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        for code, parent, n in (
            ("W", None, 0),
            ("X", "W", 3),
            ("Y", "W", 12),
            ("V", None, 0),
            ("P", "V", 20),
            ("Q", "V", 30),
        ):
            row = cur.execute(
                "INSERT INTO organisations (code, name, type, parent_id, geom) VALUES "
                "(%s, %s, %s, %s, ST_SetSRID(ST_MakePoint(116.3, 39.9), 4326)) RETURNING id",
                (code, code, "党委" if parent is None else "党支部", ids.get(parent or "")),
            ).fetchone()
            assert row is not None
            ids[code] = int(row[0])
            far = 0.5 if code == "X" else 0.0  # X's members live ~50 km from the service point
            for i in range(n):
                cur.execute(
                    "INSERT INTO members (external_id, name, branch_id, status, home) VALUES "
                    "(%s, %s, %s, '正式', ST_SetSRID(ST_MakePoint(%s, %s), 4326))",
                    (f"{code}{i}", f"{code}{i}", ids[code], 116.3 + far + i * 1e-4, 39.9),
                )
        cur.execute(
            "INSERT INTO service_points (code, name, kind, org_id, geom) VALUES "
            "('SP', 'SP', '党群服务中心', %s, ST_SetSRID(ST_MakePoint(116.3, 39.9), 4326))",
            (ids["V"],),
        )
    return ids


def test_small_branch_cannot_be_derived(clean_db: str) -> None:
    ids = _crafted_tree(clean_db)
    own = {"W": 0, "X": 3, "Y": 12, "V": 0, "P": 20, "Q": 30}
    subtree = {"W": {"W", "X", "Y"}, "V": {"V", "P", "Q"}}
    covered = {"W": 0, "X": 0, "Y": 12, "V": 0, "P": 20, "Q": 30}
    from geo.users import add_user

    add_user(clean_db, "leader_w", "correct-horse-battery", "leader", "W")
    add_user(clean_db, "admin_w", "correct-horse-battery", "admin", None)
    groups: list[tuple[set[str], int]] = []  # published member counts: (units, count)
    cover: list[tuple[set[str], float, int]] = []  # published coverage: (units, pct, members)
    for c in api_client(clean_db, KEY):
        admin = bearer(c, "admin_w")
        for headers in (admin, bearer(c, "leader_w")):
            for o in c.get("/web/orgs.json", headers=headers).json()["organisations"]:
                code = next(k for k, v in ids.items() if v == o["id"])
                if o["members"] is not None:
                    assert o["members"] == own[code] >= MIN_COUNT
                    groups.append(({code}, o["members"]))
        for org in [None, *ids.values()]:
            params = {} if org is None else {"org": org}
            s = c.get("/web/stats.json", params=params, headers=admin).json()
            code = next((k for k, v in ids.items() if v == org), None)
            units = set(own) if code is None else subtree.get(code, {code})
            if s["members"] is not None:
                assert s["members"] == sum(own[u] for u in units) >= MIN_COUNT
                groups.append((units, s["members"]))
            if s["coverage_pct"] is not None:
                assert s["members"] is not None
                cover.append((units, s["coverage_pct"], s["members"]))
        mine = c.get("/web/stats.json", headers=bearer(c, "leader_w")).json()

    # what this rule publishes: the committee's 15 (not its 12-member branch, 15 − 12 = 3), and
    # every figure of V; no coverage that would show W's 3 uncovered members
    published = {frozenset(u): n for u, n in groups}
    assert published[frozenset(subtree["W"])] == 15 and mine["members"] == 15
    assert frozenset({"Y"}) not in published and frozenset({"X"}) not in published
    assert {frozenset({"P"}), frozenset({"Q"}), frozenset(subtree["V"])} <= set(published)
    assert frozenset(own) in published  # the district: 65
    assert all("X" not in u for u, _, _ in cover)
    assert any(u == subtree["V"] for u, _, _ in cover)

    # no set of branches with 1..9 members follows from the published member counts ...
    units = list(own)
    assert small_sets_derivable(units, own, [u for u, _ in groups]) == []
    # ... nor 1..9 covered / uncovered members from the published coverage (pct × members)
    uncovered = {u: own[u] - covered[u] for u in units}
    for units_, pct, members in cover:
        cov = round(pct * members / 100)
        assert cov == sum(covered[u] for u in units_)
        assert cov in (0,) or cov >= MIN_COUNT
        assert members - cov in (0,) or members - cov >= MIN_COUNT
    for classes in (covered, uncovered):
        assert small_sets_derivable(units, classes, [u for u, _, _ in cover]) == []


# the rule itself, on random trees ----------------------------------------------------------------


def _random_forest(rng: random.Random) -> tuple[dict[Any, Group], dict[Any, set[str]], list[str]]:
    """A district of committees → branches; own counts by two classes, often small."""
    groups: dict[Any, Group] = {"D": Group(None, (0, 0))}
    units: list[str] = []
    members: dict[Any, set[str]] = {"D": set()}
    for w in range(rng.randint(1, 3)):
        wk = f"W{w}"
        groups[wk] = Group("D", (0, 0))
        members[wk] = set()
        for b in range(rng.randint(1, 3)):
            bk = f"{wk}B{b}"
            counts = tuple(rng.choice((0, 0, 1, 3, 8, 10, 12, 25)) for _ in range(2))
            groups[bk] = Group(wk, counts)
            units.append(bk)
            members[bk] = {bk}
            members[wk].add(bk)
            members["D"].add(bk)
    return groups, members, units


def test_publish_never_lets_a_small_count_be_derived() -> None:
    rng = random.Random(20261124)
    published_any = 0
    for _ in range(300):
        groups, members, units = _random_forest(rng)
        result = publish(groups)
        published_any += len(result)
        for cls in (0, 1):
            count = {u: groups[u].own[cls] for u in units}
            for key, counts in result.items():
                assert counts[cls] == sum(count[u] for u in members[key])
                assert sum(counts) >= MIN_COUNT
            assert small_sets_derivable(units, count, [members[k] for k in result]) == []
    assert published_any > 300  # the rule does publish figures, not only hold them back


def test_sample_district_figures_show(sample_url: str) -> None:
    """The sample district's branches are large: for the audiences of member heat every member
    count shows, and coverage shows for the district and some committees (read through the page
    queries: the sample database is read-only, so no user is added). Anonymous callers get none."""
    radius = WebSettings().coverage_radius_m

    async def figures() -> tuple[list[dict[str, Any]], dict[str, Any], list[dict[str, Any]]]:
        conn = await asyncpg.connect(DatabaseSettings(database_url=sample_url).url)
        try:
            orgs = await queries.org_tree(conn, None, "leader")
            district = await queries.stats(conn, None, radius, "leader")
            committees = [o["id"] for o in orgs if o["type"] == "党委"]
            shown = [await queries.stats(conn, o, radius, "leader") for o in committees]
        finally:
            await conn.close()
        return orgs, district, shown

    orgs, district, shown = asyncio.run(figures())
    branches = [o for o in orgs if o["type"] == "党支部"]
    assert branches and all(o["members"] is not None for o in branches)
    assert district["members"] == sum(o["members"] for o in branches)
    assert district["coverage_pct"] is not None
    assert all(s["members"] is not None for s in shown)
    assert any(s["coverage_pct"] is not None for s in shown)
    for c in api_client(sample_url, KEY):
        public = c.get("/web/orgs.json").json()["organisations"]
        assert len(public) == len(orgs) and all(o["members"] is None for o in public)
        anon = c.get("/web/stats.json").json()
        assert anon["members"] is None and anon["coverage_pct"] is None
        assert anon["organisations"] == district["organisations"]
        committee = next(o["id"] for o in orgs if o["type"] == "党委")
        assert c.get("/web/stats.json", params={"org": committee}).status_code == 403
