"""Scenarios (issue 14 §1): kept, scoped to the planner's subtree, applied only inside the
analyses: a scenario never changes a live table (checksums of every table before and after each
operation), and coverage of a scenario equals coverage of the same change made live."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient
from test_coverage import make_data

from api.app import create_app
from api.deps import get_principal
from api.settings import Settings
from geo.models import LIVE_VERSIONED_TABLES, VERSIONED_TABLES
from geo.scope import Principal
from geo.settings import DatabaseSettings

# The live data (not the derived builds the app makes meanwhile: tiles, heat, health scores).
LIVE = (*VERSIONED_TABLES, *LIVE_VERSIONED_TABLES, "meetings", "committee_terms", "dues_months")
LIVE_TABLES = (*LIVE, "users", "audit_log", "events", "imports")
RUN = {"meters": 800, "weight": "buildings", "district": "D1"}


# `data.changed` events announce data versions (checked below); the live worker writes them
# whenever a served version moves, e.g. after the fixture's inserts, whatever the test does.
ONLY = {"events": " WHERE x.type <> 'data.changed'"}


def checksums(url: str) -> dict[str, str]:
    """md5 of every live table's rows, and the data versions of the live tables."""
    with psycopg.connect(url) as conn:
        sums = {
            t: conn.execute(
                "SELECT md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), ''))"
                f" FROM {t} x{ONLY.get(t, '')}"
            ).fetchone()[0]
            for t in LIVE_TABLES
        }
        sums["data_versions"] = conn.execute(
            "SELECT string_agg(table_name || version, ',' ORDER BY table_name) FROM data_versions "
            "WHERE table_name = ANY(%s)",
            (list(LIVE),),
        ).fetchone()[0]
    assert len(sums) > 12
    return sums


def client(url: str, principal: Principal) -> TestClient:
    app = create_app(Settings(db=DatabaseSettings(database_url=url)))
    app.dependency_overrides[get_principal] = lambda: principal
    return TestClient(app)


@pytest.fixture
def world(clean_db: str) -> dict[str, object]:
    """The coverage fixture, with two branches under a committee; the sites split between them."""
    data = make_data(clean_db)
    with psycopg.connect(clean_db) as conn:
        top = conn.execute(
            "INSERT INTO organisations (code, name, type, geom) VALUES ('top', '党委', '党委', "
            "ST_SetSRID(ST_MakePoint(116.4, 39.9), 4326)) RETURNING id"
        ).fetchone()[0]
        a, b = (
            conn.execute(
                "INSERT INTO organisations (code, name, type, parent_id, geom) VALUES "
                "(%s, %s, '党支部', %s, ST_SetSRID(ST_MakePoint(116.4, 39.9), 4326)) RETURNING id",
                (code, code, top),
            ).fetchone()[0]
            for code in ("A", "B")
        )
        sites = [r[0] for r in conn.execute("SELECT id FROM service_points ORDER BY id")]
        conn.execute("UPDATE service_points SET org_id = %s WHERE id = ANY(%s)", (a, sites[:3]))
        conn.execute("UPDATE service_points SET org_id = %s WHERE id = ANY(%s)", (b, sites[3:]))
    return {**data, "top": top, "a": a, "b": b, "site_ids": sites}


@pytest.fixture
def planner(world) -> Iterator[TestClient]:
    with client(world["url"], Principal(role="planner", username="p")) as c:
        yield c


def _add(lon: float, lat: float, capacity: float = 100) -> dict[str, object]:
    point = {"type": "Point", "coordinates": [lon, lat]}
    return {"op": "add", "geometry": point, "properties": {"capacity": capacity}}


def test_crud_never_touches_the_live_tables(planner: TestClient, world) -> None:
    url, ids = world["url"], world["site_ids"]
    before = checksums(url)
    body = {"name": "方案一", "changes": [_add(116.41, 39.9), {"op": "remove", "id": ids[0]}]}
    made = planner.post("/api/scenarios", json=body)
    assert made.status_code == 201, made.text
    sid = made.json()["id"]
    assert made.json()["url"] == f"/api/scenarios/{sid}"
    assert checksums(url) == before
    with psycopg.connect(url) as conn:  # saved with the versions of the points it names
        etag = dict(conn.execute("SELECT id, md5(p::text) FROM service_points p").fetchall())
    assert planner.get(f"/api/scenarios/{sid}").json()["changes"][1] == {
        "op": "remove",
        "id": ids[0],
        "etag": etag[ids[0]],
    }
    moved = {
        "op": "move",
        "id": ids[1],
        "geometry": {"type": "Point", "coordinates": [116.4, 39.9]},
    }
    put = planner.put(f"/api/scenarios/{sid}", json={"name": "方案二", "changes": [moved]})
    assert put.status_code == 200 and put.json()["name"] == "方案二"
    patch = planner.patch(f"/api/scenarios/{sid}", json={"name": "方案三"})
    assert patch.json()["changes"] == [{**moved, "etag": etag[ids[1]]}]
    assert patch.json()["name"] == "方案三"
    assert checksums(url) == before
    for run in (RUN, {**RUN, "mode": "walk", "propose": 2}):
        assert planner.post("/api/coverage", json={**run, "scenario": sid}).status_code == 200
    assert checksums(url) == before
    assert planner.get("/api/scenarios").json()["scenarios"][0]["id"] == sid
    assert planner.delete(f"/api/scenarios/{sid}").status_code == 204
    assert planner.get(f"/api/scenarios/{sid}").status_code == 404
    assert checksums(url) == before


def test_scenario_coverage_equals_the_change_made_live(planner: TestClient, world) -> None:
    """Remove two sites, move one, add one: the same coverage as when the rows are changed."""
    ids = world["site_ids"]
    spot = [116.4375, 39.9125]  # on the 25 m lattice? the scenario snaps; the live row uses it
    changes = [
        {"op": "remove", "id": ids[0]},
        {"op": "remove", "id": ids[2]},
        {"op": "move", "id": ids[1], "geometry": {"type": "Point", "coordinates": [116.40, 39.90]}},
        _add(*spot),
    ]
    sid = planner.post("/api/scenarios", json={"name": "s", "changes": changes}).json()["id"]
    base = planner.post("/api/coverage", json=RUN).json()
    seen = planner.post("/api/coverage", json={**RUN, "scenario": sid}).json()
    assert seen["summary"]["service_points"] == len(ids) - 1
    assert seen["summary"] != base["summary"]
    from geo.privacy import lattice

    (x, y), (mx, my) = lattice.snap_point(*spot), lattice.snap_point(116.40, 39.90)
    _the_scenario_s_points(base, seen, ids, (x, y), (mx, my))
    with psycopg.connect(world["url"]) as conn:
        conn.execute("DELETE FROM service_points WHERE id = ANY(%s)", ([ids[0], ids[2]],))
        conn.execute(
            "UPDATE service_points SET geom = ST_SetSRID(ST_MakePoint(%s, %s), 4326) WHERE id = %s",
            (mx, my, ids[1]),
        )
        conn.execute(
            "INSERT INTO service_points (code, name, kind, geom) VALUES "
            "('new', '新', '党群服务站', ST_SetSRID(ST_MakePoint(%s, %s), 4326))",
            (x, y),
        )
    live = planner.post("/api/coverage", json=RUN).json()
    assert live["summary"] == seen["summary"]


def _the_scenario_s_points(base: dict, seen: dict, ids: list[int], added: tuple[float, float],
                           moved: tuple[float, float]) -> None:  # fmt: skip
    """The answer's service points are the scenario's (the /coverage page draws its side from
    them): removed ones marked at their live place, the moved one at its new place (from the
    old), the added one at its place; the baseline's all unchanged at their live places."""
    was = {f["properties"]["service_point_id"]: f for f in base["service_points"]["features"]}
    assert {f["properties"]["change"] for f in was.values()} == {"unchanged"}
    assert len(was) == base["summary"]["service_points"] == len(ids)
    now = {f["properties"]["service_point_id"]: f for f in seen["service_points"]["features"]}
    change = {k: f["properties"]["change"] for k, f in now.items()}
    assert change[ids[0]] == change[ids[2]] == "removed"
    assert now[ids[0]]["geometry"] == was[ids[0]]["geometry"]
    assert change[ids[1]] == "moved"
    assert now[ids[1]]["geometry"]["coordinates"] == pytest.approx(list(moved))
    assert now[ids[1]]["properties"]["from"] == was[ids[1]]["geometry"]["coordinates"]
    (new,) = [k for k in now if k < 0]
    assert change[new] == "added"
    assert now[new]["geometry"]["coordinates"] == pytest.approx(list(added))
    assert all(change[k] == "unchanged" for k in ids[3:])
    counted = [k for k, c in change.items() if c != "removed"]
    assert len(counted) == seen["summary"]["service_points"]


def test_scenario_candidates_feed_proposals(planner: TestClient, world) -> None:
    spot = {"type": "Point", "coordinates": [116.449, 39.871]}
    sid = planner.post(
        "/api/scenarios", json={"name": "c", "changes": [{"op": "candidate", "geometry": spot}]}
    ).json()["id"]
    got = planner.post("/api/coverage", json={**RUN, "propose": 1, "scenario": sid}).json()
    assert got["params"]["candidates"] == "given"
    assert all(abs(p["lon"] - 116.449) < 0.001 for p in got["proposed"])


def test_scope_roles_and_bad_input(world) -> None:
    url, ids, a, b = world["url"], world["site_ids"], world["a"], world["b"]
    with client(url, Principal(role="planner", org_id=a, username="pa")) as pa:
        mine = pa.post(
            "/api/scenarios", json={"name": "a", "changes": [{"op": "remove", "id": ids[0]}]}
        )
        assert mine.status_code == 201 and mine.json()["org_id"] == a
        theirs = pa.post(
            "/api/scenarios", json={"name": "a", "changes": [{"op": "remove", "id": ids[4]}]}
        )
        assert theirs.status_code == 403
        assert (
            pa.post(
                "/api/scenarios", json={"name": "a", "changes": [{"op": "remove", "id": 10**9}]}
            ).status_code
            == 400
        )
        assert (
            pa.post("/api/scenarios", json={"name": "a", "changes": [{"op": "fly"}]}).status_code
            == 400
        )
        assert (
            pa.post("/api/scenarios", json={"name": "a", "changes": [{"op": "add"}]}).status_code
            == 400
        )
        assert pa.post("/api/scenarios", json={"name": "", "changes": []}).status_code == 400
    sid = mine.json()["id"]
    with client(url, Principal(role="planner", org_id=world["top"], username="pt")) as above:
        assert above.get(f"/api/scenarios/{sid}").status_code == 200  # shared within the subtree
    with client(url, Principal(role="planner", org_id=b, username="pb")) as pb:
        assert pb.get(f"/api/scenarios/{sid}").status_code == 404
        assert pb.post("/api/coverage", json={**RUN, "scenario": sid}).status_code == 404
        assert pb.delete(f"/api/scenarios/{sid}").status_code == 404
    with client(url, Principal(role="leader", org_id=a, username="l")) as leader:
        assert leader.get(f"/api/scenarios/{sid}").status_code == 403
        assert leader.post("/api/coverage", json={**RUN, "scenario": sid}).status_code == 403
    with client(url, Principal()) as public:
        assert public.get(f"/api/scenarios/{sid}").status_code == 401
