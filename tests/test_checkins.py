"""POST /api/activities/{id}/checkins: geofence, time window, invitation, idempotence, 4xx paths."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from fastapi.testclient import TestClient
from pyproj import Geod

from api.app import create_app
from api.deps import get_principal
from api.settings import Settings
from geo.scope import Principal
from geo.settings import DatabaseSettings

GEOD = Geod(ellps="WGS84")
LON, LAT = 116.40, 39.90


@pytest.fixture
def world(clean_db: str) -> dict[str, int]:
    """Two committees; a branch under the first; one member in each tree; activities at LON/LAT."""
    now = datetime.now(UTC)
    ids: dict[str, int] = {}
    with psycopg.connect(clean_db) as conn:

        def org(code: str, kind: str, parent: int | None) -> int:
            return conn.execute(
                "INSERT INTO organisations (code, name, type, parent_id, geom) VALUES "
                "(%s, %s, %s, %s, ST_SetSRID(ST_MakePoint(116.4, 39.9), 4326)) RETURNING id",
                (code, code, kind, parent),
            ).fetchone()[0]

        ids["c1"] = org("c1", "党委", None)
        ids["b1"] = org("b1", "党支部", ids["c1"])
        ids["c2"] = org("c2", "党委", None)
        ids["b2"] = org("b2", "党支部", ids["c2"])
        for name, branch in (("m1", "b1"), ("m2", "b2")):
            ids[name] = conn.execute(
                "INSERT INTO members (external_id, name, branch_id, status) VALUES (%s, %s, %s, '正式') "
                "RETURNING id",
                (name, name, ids[branch]),
            ).fetchone()[0]
        spans = {"running": (-60, 60), "soon": (20, 120), "later": (45, 120), "over": (-120, -1)}
        for name, (a, b) in spans.items():
            ids[name] = conn.execute(
                "INSERT INTO activities (code, title, kind, organiser_id, starts_at, ends_at, geom) "
                "VALUES (%s, %s, '主题党日', %s, %s, %s, ST_SetSRID(ST_MakePoint(%s, %s), 4326)) RETURNING id",
                (
                    name,
                    name,
                    ids["c1"],
                    now + timedelta(minutes=a),
                    now + timedelta(minutes=b),
                    LON,
                    LAT,
                ),
            ).fetchone()[0]
    return ids


def _client(url: str, principal: Principal) -> TestClient:
    app = create_app(Settings(db=DatabaseSettings(database_url=url)))
    app.dependency_overrides[get_principal] = lambda: principal
    return TestClient(app)


@pytest.fixture
def member1(clean_db: str, world: dict[str, int]) -> Iterator[TestClient]:
    with _client(
        clean_db, Principal(role="member", member_id=world["m1"], org_id=world["b1"])
    ) as c:
        yield c


def _at(metres_north: float) -> dict[str, float]:
    lon, lat, _ = GEOD.fwd(LON, LAT, 0, metres_north)
    return {"lon": lon, "lat": lat}


def test_accepted_stores_distance_and_is_idempotent(member1: TestClient, world, clean_db) -> None:
    url = f"/api/activities/{world['running']}/checkins"
    r = member1.post(url, json=_at(150))
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["distance_m"] == pytest.approx(150, abs=0.5)
    again = member1.post(url, json=_at(10))
    assert again.status_code == 200
    assert again.json()["id"] == first["id"] and again.json()["distance_m"] == first["distance_m"]
    with psycopg.connect(clean_db) as conn:
        rows = conn.execute("SELECT member_id, distance_m FROM checkins").fetchall()
    assert rows == [(world["m1"], pytest.approx(150, abs=0.5))]


def test_opens_30_minutes_before_start(member1: TestClient, world) -> None:
    assert member1.post(f"/api/activities/{world['soon']}/checkins", json=_at(0)).status_code == 201
    r = member1.post(f"/api/activities/{world['later']}/checkins", json=_at(0))
    assert r.status_code == 403
    assert r.json()["code"] == "CheckinRefused.not_started"
    assert "not started" in r.json()["description"]


def test_refused_after_the_end(member1: TestClient, world) -> None:
    r = member1.post(f"/api/activities/{world['over']}/checkins", json=_at(0))
    assert r.status_code == 403 and r.json()["code"] == "CheckinRefused.ended"


def test_too_far_says_by_how_much(member1: TestClient, world, clean_db) -> None:
    r = member1.post(f"/api/activities/{world['running']}/checkins", json=_at(320))
    assert r.status_code == 403
    assert r.json()["code"] == "CheckinRefused.too_far"
    assert "too far by 120 m" in r.json()["description"]
    with psycopg.connect(clean_db) as conn:
        assert conn.execute("SELECT count(*) FROM checkins").fetchone()[0] == 0


def test_not_invited_outside_the_organisers_subtree(clean_db: str, world) -> None:
    with _client(clean_db, Principal(role="member", member_id=world["m2"])) as c:
        r = c.post(f"/api/activities/{world['running']}/checkins", json=_at(0))
    assert r.status_code == 403 and r.json()["code"] == "CheckinRefused.not_invited"


def test_anonymous_is_401_and_non_member_403(clean_db: str, world) -> None:
    url = f"/api/activities/{world['running']}/checkins"
    with _client(clean_db, Principal()) as c:
        r = c.post(url, json=_at(0))
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    with _client(clean_db, Principal(role="planner")) as c:
        assert c.post(url, json=_at(0)).status_code == 403


@pytest.mark.parametrize(
    "body",
    [{"lon": 200, "lat": 39.9}, {"lon": 116.4, "lat": -95}, {"lon": 116.4}, {"lat": "x", "lon": 1}],
)
def test_bad_position_is_400(member1: TestClient, world, body) -> None:
    assert (
        member1.post(f"/api/activities/{world['running']}/checkins", json=body).status_code == 400
    )


def test_unknown_activity_is_404(member1: TestClient) -> None:
    assert member1.post("/api/activities/999999/checkins", json=_at(0)).status_code == 404


def test_end_to_end_with_a_real_login(clean_db: str, world, tmp_path) -> None:
    from uuid import uuid4

    from geo.users import add_user

    name = f"m1-{uuid4().hex[:8]}"
    add_user(clean_db, name, "correct horse battery staple", "member", member="m1")
    app = create_app(Settings(db=DatabaseSettings(database_url=clean_db, home=tmp_path)))
    with TestClient(app) as c:
        token = c.post(
            "/api/auth/token", data={"username": name, "password": "correct horse battery staple"}
        )
        assert token.status_code == 200, token.text
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        url = f"/api/activities/{world['running']}/checkins"
        assert c.post(url, json=_at(20), headers=headers).status_code == 201
        assert c.post(url, json=_at(20), headers=headers).status_code == 200
        assert c.post(url, json=_at(20)).status_code == 401
        assert (
            c.post(url, json=_at(20), headers={"Authorization": "Bearer nonsense"}).status_code
            == 401
        )
