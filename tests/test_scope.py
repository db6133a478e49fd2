"""Who sees what: geo.scope rules in SQL, and two organisations × every features/auth endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from privacy import add_users, all_homes, api_client, assert_no_member_points, bearer, two_subtrees

from geo.scope import PUBLIC, Principal, row_scope, scope_filter, scope_filter_psycopg

KEY = "scope-test-key-" + "q" * 32


@pytest.fixture
def data(clean_db: str) -> dict[str, dict[str, Any]]:
    return two_subtrees(clean_db)


@pytest.fixture
def client(clean_db: str, data) -> Iterator[TestClient]:
    add_users(clean_db)
    yield from api_client(clean_db, KEY)


def rows(url: str, table: str, principal: Principal, strict: bool = False) -> set[int]:
    if strict:
        compiled = row_scope(principal, table).cond.compile_psycopg()
        sql, params = compiled.text, list(row_scope(principal, table).params)
    else:
        sql, params = scope_filter_psycopg(principal, table)
    with psycopg.connect(url) as conn:
        return {
            r[0] for r in conn.execute(f"SELECT t.id FROM {table} t WHERE {sql}", params or None)
        }


def test_scope_rules_in_sql(clean_db: str, data) -> None:
    a, b = data["A"], data["B"]
    every = lambda key: set(a[key]) | set(b[key])  # noqa: E731
    leader_a = Principal("leader", a["committee"], None, "la")
    planner_bz = Principal("planner", b["general"], None, "pb")
    member_a = Principal("member", a["branch"], a["members"][0], "ma")
    admin = Principal("admin")
    district_planner = Principal("planner")

    assert rows(clean_db, "organisations", leader_a) == set(a["orgs"])
    assert rows(clean_db, "activities", leader_a) == set(a["activities"])
    assert rows(clean_db, "members", leader_a) == set(a["members"])
    assert rows(clean_db, "organisations", planner_bz) == {b["general"], b["branch"]}
    assert rows(clean_db, "activities", planner_bz) == set(b["activities"][1:])
    for p in (admin, district_planner):
        assert rows(clean_db, "organisations", p) == every("orgs")
        assert rows(clean_db, "members", p) == every("members")
    assert rows(clean_db, "members", PUBLIC) == set()
    assert rows(clean_db, "checkins", PUBLIC) == set()
    # a member: public rows, and at the member audience their branch chain and themselves
    assert rows(clean_db, "organisations", member_a) == every("orgs")
    assert rows(clean_db, "organisations", member_a, strict=True) == set(a["orgs"])
    assert rows(clean_db, "activities", member_a, strict=True) == set(a["activities"])
    assert rows(clean_db, "members", member_a) == {a["members"][0]}
    # service points are public places: all rows, other subtrees' with public fields only
    assert rows(clean_db, "service_points", leader_a) == {a["service_point"], b["service_point"]}
    assert rows(clean_db, "service_points", leader_a, strict=True) == {a["service_point"]}
    sql, params = scope_filter(leader_a, "activities", alias="x", start=4)
    assert "$4" in sql and "x.organiser_id" in sql and params == [a["committee"]]


def props(
    client: TestClient, collection: str, headers: dict[str, str], **params: Any
) -> dict[int, dict[str, Any]]:
    r = client.get(
        f"/api/collections/{collection}/items", headers=headers, params={"limit": 1000, **params}
    )
    assert r.status_code == 200, r.text
    return {f["id"]: f["properties"] for f in r.json()["features"]}


def test_leaders_never_see_the_other_subtree(client: TestClient, data) -> None:
    a, b = data["A"], data["B"]
    for me, other, user in ((a, b, "leader_a"), (b, a, "leader_b")):
        h = bearer(client, user)
        assert set(props(client, "organisations", h)) == set(me["orgs"])
        assert set(props(client, "activities", h)) == set(me["activities"])
        sps = props(client, "service_points", h)
        assert "phone" in sps[me["service_point"]] and "org_id" in sps[me["service_point"]]
        assert set(sps[other["service_point"]]) <= {
            "id",
            "code",
            "name",
            "kind",
            "address",
            "opening_hours",
            "capacity",
            "org_id",  # which organisation runs a service point is public (a signboard fact)
        }
        assert sps[other["service_point"]]["org_id"] == other["committee"]
        for org in other["orgs"]:
            assert (
                client.get(f"/api/collections/organisations/items/{org}", headers=h).status_code
                == 404
            )
        for act in other["activities"]:
            assert (
                client.get(f"/api/collections/activities/items/{act}", headers=h).status_code == 404
            )
        assert (
            client.get(
                f"/api/collections/organisations/items/{me['branch']}", headers=h
            ).status_code
            == 200
        )
        # filters cannot reach the other subtree, nor probe the masked fields of its places
        assert props(client, "organisations", h, filter=f"id = {other['committee']}") == {}
        assert props(client, "activities", h, org=str(other["committee"])) == {}
        assert props(client, "service_points", h, filter="phone IS NOT NULL") == {
            me["service_point"]: sps[me["service_point"]]
        }
        extent = client.get("/api/collections/organisations", headers=h).json()["extent"]
        west, _, east, _ = extent["spatial"]["bbox"][0]
        assert (east < 116.45) if me is a else (west > 116.45)


def test_member_sees_public_rows_and_only_own_branch_details(client: TestClient, data) -> None:
    a, b = data["A"], data["B"]
    h = bearer(client, "member_a")
    orgs = props(client, "organisations", h)
    assert set(orgs) == set(a["orgs"]) | set(b["orgs"])
    assert all(
        orgs[o]["contact"] == f"contact-{code}"
        for o, code in zip(a["orgs"], ("A-W", "A-Z", "A-B"), strict=True)
    )
    assert all("contact" not in orgs[o] for o in b["orgs"])
    acts = props(client, "activities", h)
    assert set(acts) == set(a["activities"]) | set(b["activities"])
    assert all("description" not in acts[x] for x in b["activities"])
    assert all(acts[x]["description"].startswith("secret description A") for x in a["activities"])
    assert props(client, "activities", h, filter="description LIKE 'secret description B%'") == {}
    assert acts[a["activities"][0]]["organiser_id"] in a["orgs"]  # organisers are public


def test_every_owned_endpoint_for_two_organisations(client: TestClient, data) -> None:
    """No response to leader A carries B's private values (and the reverse); no member points."""
    homes = all_homes(data)
    private = {
        "A": ["contact-A", "secret description A", "A-W 名称", "A 活动"],
        "B": ["contact-B", "secret description B", "B-W 名称", "B 活动"],
    }
    for user, other in (
        ("leader_a", "B"),
        ("leader_b", "A"),
        ("planner_b", "A"),
        ("member_a", "B"),
        ("member_b", "A"),
        (None, "A"),
    ):
        h = bearer(client, user) if user else {}
        paths = ["/api", "/api/conformance", "/api/collections", "/api/auth/me"]
        for c in (
            "organisations",
            "service_points",
            "activities",
            "buildings",
            "roads",
            "boundary",
        ):
            paths += [
                f"/api/collections/{c}",
                f"/api/collections/{c}/queryables",
                f"/api/collections/{c}/items?limit=10000",
            ]
        for ids_key, c in (("orgs", "organisations"), ("activities", "activities")):
            paths += [f"/api/collections/{c}/items/{i}" for i in data[other][ids_key]]
        for path in paths:
            r = client.get(path, headers=h)
            assert r.status_code in (200, 404), (user, path, r.status_code)
            assert_no_member_points(r.content, homes)
            text = r.content.decode()
            secrets = (
                private[other][:2] if user in ("member_a", "member_b", None) else private[other]
            )
            for s in secrets:
                assert s not in text, (user, path, s)
    admin = bearer(client, "admin")
    everything = client.get("/api/collections/organisations/items", headers=admin).text
    assert "contact-A" in everything and "contact-B" in everything
