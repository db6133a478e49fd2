"""Issue 11 §3: the activities `/api/nearest` ranks are the ones the caller may still attend,
filtered on the server: published (not cancelled) and not over, and for a member only those that
invite their branch (organised by it or an organisation above it) or that they registered for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from live_world import LAT, LON, activity, client, make_world, member

from api.app import create_app
from api.settings import Settings
from geo.scope import PUBLIC, Principal
from geo.settings import DatabaseSettings
from geo.users import add_user

PASSWORD = "correct horse battery"


@pytest.fixture
def world(clean_db: str) -> dict[str, int]:
    ids = make_world(clean_db)  # c1 ⊃ b1 (m1..m3), c2 ⊃ b2 (n1..n3); "run" by c1, running now
    ids["by_b1"] = activity(clean_db, "by_b1", ids["b1"], start_min=60, end_min=120)
    ids["by_c2"] = activity(clean_db, "by_c2", ids["c2"], start_min=60, end_min=120)
    ids["by_b2_reg"] = activity(clean_db, "by_b2_reg", ids["b2"], start_min=90, end_min=150)
    ids["by_b2_wait"] = activity(clean_db, "by_b2_wait", ids["b2"], start_min=90, end_min=150)
    ids["by_b2_gone"] = activity(clean_db, "by_b2_gone", ids["b2"], start_min=90, end_min=150)
    ids["cancelled"] = activity(
        clean_db, "cancelled", ids["b1"], start_min=60, end_min=120, status="cancelled"
    )
    ids["ended"] = activity(clean_db, "ended", ids["b1"], start_min=-180, end_min=-60)
    with psycopg.connect(clean_db) as conn:
        for code, status in (
            ("by_b2_reg", "registered"),
            ("by_b2_wait", "waitlisted"),
            ("by_b2_gone", "cancelled"),  # a registration cancelled: no longer theirs
            ("ended", "registered"),
            ("cancelled", "registered"),
        ):
            conn.execute(
                "INSERT INTO registrations (activity_id, member_id, status) VALUES (%s, %s, %s)",
                (ids[code], ids["m1"], status),
            )
    return ids


def _names(c: TestClient, **extra: str) -> set[str]:
    since = (datetime.now(UTC) - timedelta(days=1)).isoformat()  # a window that holds "ended"
    params = {"lon": LON, "lat": LAT, "target": "activities", "k": 50, "from": since, **extra}
    r = c.get("/api/nearest", params=params)
    assert r.status_code == 200, r.text
    return {x["name"].removeprefix("活动") for x in r.json()["results"]}


ANYONE = {"run", "by_b1", "by_c2", "by_b2_reg", "by_b2_wait", "by_b2_gone"}


@pytest.mark.parametrize("mode", ["straight", "walk"])
def test_a_member_is_offered_what_they_may_attend(
    clean_db: str, world: dict[str, int], mode: str
) -> None:
    with client(clean_db, member(world, "m1")) as c:
        # invited by their committee (run) and branch (by_b1); registered or waitlisted elsewhere
        assert _names(c, mode=mode) == {"run", "by_b1", "by_b2_reg", "by_b2_wait"}
    with client(clean_db, member(world, "n1")) as c:
        assert _names(c, mode=mode) == {"by_c2", "by_b2_reg", "by_b2_wait", "by_b2_gone"}


def test_the_public_is_offered_every_open_activity(clean_db: str, world: dict[str, int]) -> None:
    with client(clean_db, PUBLIC) as c:
        assert _names(c) == ANYONE  # never the cancelled or the ended one


def test_an_account_without_a_member_record_is_offered_none(
    clean_db: str, world: dict[str, int]
) -> None:
    with client(clean_db, Principal(role="member", member_id=None, username="x")) as c:
        assert _names(c) == set()
        r = c.get("/api/nearest", params={"lon": LON, "lat": LAT})  # service points still answer
        assert r.status_code == 200


def test_a_members_login_carries_the_rule(
    clean_db: str, world: dict[str, int], tmp_path: Path
) -> None:
    add_user(clean_db, "near-m1", PASSWORD, "member", member="m1")
    settings = Settings(db=DatabaseSettings(database_url=clean_db, home=tmp_path))
    with TestClient(create_app(settings)) as c:
        token = c.post(
            "/api/auth/token", data={"username": "near-m1", "password": PASSWORD}
        ).json()["access_token"]
        c.headers["Authorization"] = f"Bearer {token}"
        assert _names(c) == {"run", "by_b1", "by_b2_reg", "by_b2_wait"}


def test_service_points_are_not_filtered_by_membership(
    clean_db: str, world: dict[str, int]
) -> None:
    with psycopg.connect(clean_db) as conn:
        conn.execute(
            "INSERT INTO service_points (code, name, kind, org_id, geom) VALUES "
            "('sp', '站', '党群服务站', %s, ST_SetSRID(ST_MakePoint(%s, %s), 4326))",
            (world["c2"], LON, LAT),
        )
    with client(clean_db, member(world, "m1")) as c:
        r = c.get("/api/nearest", params={"lon": LON, "lat": LAT})
        assert [x["name"] for x in r.json()["results"]] == ["站"]
