"""Check-in with codes: the activity's rotating QR code (member's phone, method 'code') and the
member card scanned by the organiser (method 'scan'); signed, 60-second, kind-bound tokens."""

from __future__ import annotations

import stat
import time

import psycopg
import pytest
from live_world import _member, _org, activity, client, events_of, make_world, member

from geo.live import tokens
from geo.scope import Principal

KEY = b"k" * 48


@pytest.fixture
def world(clean_db: str) -> dict[str, int]:
    return make_world(clean_db)


def test_tokens_are_signed_kind_bound_and_expire() -> None:
    now = 1_800_000_000
    signed = tokens.sign(KEY, "activity", 42, now=now)
    assert tokens.verify(KEY, signed.token, "activity", now=now + 60) == 42
    assert signed.expires_at.timestamp() == now + tokens.TTL_S
    with pytest.raises(tokens.TokenExpired):
        tokens.verify(KEY, signed.token, "activity", now=now + 61)
    with pytest.raises(tokens.TokenInvalid):
        tokens.verify(KEY, signed.token, "member", now=now)  # an activity code is no card
    with pytest.raises(tokens.TokenInvalid):
        tokens.verify(b"x" * 48, signed.token, "activity", now=now)  # another server's key
    letter_id, expires, sig = signed.token.split(".")
    for forged in (
        f"a43.{expires}.{sig}",  # another activity
        f"{letter_id}.{int(expires) + 3600}.{sig}",  # a longer life
        f"m42.{expires}.{sig}",  # another kind
        "",
        "a1.2.3",
        "x" * 500,
    ):
        with pytest.raises(tokens.TokenInvalid):
            tokens.verify(KEY, forged, "activity", now=now)


def test_key_file_is_private_and_stable(tmp_path) -> None:
    first = tokens.token_key(None, tmp_path)
    assert tokens.token_key(None, tmp_path) == first
    mode = stat.S_IMODE((tmp_path / tokens.SECRET_FILE).stat().st_mode)
    assert mode == 0o600
    configured = tokens.token_key("s" * 40, tmp_path)
    assert configured != first and configured == tokens.token_key("s" * 40, tmp_path / "other")


def _code(url: str, ids: dict[str, int], act: int, home) -> dict:
    with client(url, Principal(role="leader", org_id=ids["c1"]), home) as c:
        r = c.get(f"/api/activities/{act}/checkin-token")
    assert r.status_code == 200, r.text
    return r.json()


def test_organiser_gets_a_code_with_a_qr(clean_db: str, world, tmp_path) -> None:
    body = _code(clean_db, world, world["run"], tmp_path)
    assert body["url"] == "/checkin?t=" + body["token"] and body["ttl_s"] == 60
    assert body["qr_svg"].startswith("<svg") and "path" in body["qr_svg"]
    key = tokens.token_key(None, tmp_path)
    assert tokens.verify(key, body["token"], "activity") == world["run"]
    url = f"/api/activities/{world['run']}/checkin-token"
    for who, status in (
        (Principal(), 401),
        (member(world, "m1"), 403),
        (Principal(role="leader", org_id=world["c2"]), 403),
        (Principal(role="planner", org_id=world["c1"]), 403),
    ):
        with client(clean_db, who, tmp_path) as c:
            assert c.get(url).status_code == status, who
    with client(clean_db, Principal(role="admin"), tmp_path) as c:
        assert c.get("/api/activities/999999/checkin-token").status_code == 404


def test_member_checks_in_with_the_code(clean_db: str, world, tmp_path) -> None:
    code = _code(clean_db, world, world["run"], tmp_path)["token"]
    with client(clean_db, member(world, "m1"), tmp_path) as c:
        r = c.post("/api/checkins", json={"token": code})
        assert r.status_code == 201, r.text
        assert r.json()["method"] == "code" and r.json()["distance_m"] is None
        again = c.post("/api/checkins", json={"token": code, "lon": 116.5, "lat": 39.9})
    assert again.status_code == 200 and again.json()["id"] == r.json()["id"]
    with client(clean_db, member(world, "m2"), tmp_path) as c:
        r = c.post("/api/checkins", json={"token": code, "lon": 116.401, "lat": 39.9})
    assert r.status_code == 201 and r.json()["distance_m"] == pytest.approx(85.4, abs=1)
    (_, org_id, audience, data), *_ = events_of(clean_db, "checkin.created")
    assert audience == "leader" and org_id == world["c1"]
    assert data == {"activity_id": world["run"], "title": "活动run", "count": 1}
    assert [d["count"] for *_, d in events_of(clean_db, "checkin.created")] == [1, 2]


def test_outsider_cannot_register_an_invited_member_registers(
    clean_db: str, world, tmp_path
) -> None:
    """An activity of b1 inviting b3 (a sibling under c1): n1 (c2's tree) is refused at
    registration as at check-in, by the same reason; k1 (b3) registers and checks in."""
    act = activity(clean_db, "joint", world["b1"])
    with psycopg.connect(clean_db) as conn:
        b3 = _org(conn, "b3", "党支部", world["c1"], 116.402)
        k1 = _member(conn, "k1", b3)
        conn.execute(
            "INSERT INTO activity_invitations (activity_id, org_id) VALUES (%s, %s)", (act, b3)
        )
    code = _code(clean_db, world, act, tmp_path)["token"]
    with client(clean_db, member(world, "n1"), tmp_path) as c:
        r = c.post("/api/checkins", json={"token": code})
        assert r.status_code == 403 and r.json()["code"] == "CheckinRefused.not_invited"
        r = c.post(f"/api/activities/{act}/registrations")
        assert r.status_code == 403 and r.json()["code"] == "Registration.not_invited"
        r = c.post("/api/checkins", json={"token": code})
        assert r.status_code == 403 and r.json()["code"] == "CheckinRefused.not_invited"
    invited = Principal(role="member", member_id=k1, org_id=b3, username="k1")
    with client(clean_db, invited, tmp_path) as c:
        r = c.post(f"/api/activities/{act}/registrations")
        assert r.status_code == 201 and r.json()["status"] == "registered", r.text
        r = c.post("/api/checkins", json={"token": code})
    assert r.status_code == 201 and r.json()["member_id"] == k1
    with psycopg.connect(clean_db) as conn:
        rows = conn.execute("SELECT member_id FROM registrations WHERE activity_id = %s", (act,))
        assert [m for (m,) in rows] == [k1]  # nothing of n1's was stored


def test_bad_expired_and_misused_codes(clean_db: str, world, tmp_path) -> None:
    key = tokens.token_key(None, tmp_path)
    old = tokens.sign(key, "activity", world["run"], now=time.time() - 61).token
    card = tokens.sign(key, "member", world["m1"]).token
    gone = activity(clean_db, "gone", world["c1"], status="cancelled")
    cancelled = tokens.sign(key, "activity", gone).token
    later = tokens.sign(
        key, "activity", activity(clean_db, "later", world["c1"], start_min=90, end_min=150)
    ).token
    with client(clean_db, member(world, "m1"), tmp_path) as c:
        for body, status, code in (
            ({"token": old}, 403, "Token.expired"),
            ({"token": card}, 400, "Token.invalid"),
            ({"token": "a1.1.AAAAAAAAAAAAAAAAAAAAAA"}, 400, "Token.invalid"),
            ({"token": cancelled}, 403, "CheckinRefused.cancelled"),
            ({"token": later}, 403, "CheckinRefused.not_started"),
            ({"token": card, "lon": 500, "lat": 0}, 400, "InvalidParameterValue"),
            ({}, 400, "InvalidParameterValue"),
        ):
            r = c.post("/api/checkins", json=body)
            assert (r.status_code, r.json()["code"]) == (status, code), body
    with client(clean_db, Principal(), tmp_path) as c:
        assert c.post("/api/checkins", json={"token": card}).status_code == 401
    with psycopg.connect(clean_db) as conn:
        assert conn.execute("SELECT count(*) FROM checkins").fetchone()[0] == 0


def _card(url: str, ids: dict[str, int], who: str, home) -> str:
    with client(url, member(ids, who), home) as c:
        r = c.get("/api/me/card-token")
    assert r.status_code == 200 and r.json()["qr_svg"].startswith("<svg")
    return r.json()["token"]


def test_organiser_scans_a_member_card(clean_db: str, world, tmp_path) -> None:
    card = _card(clean_db, world, "m1", tmp_path)
    url = f"/api/activities/{world['run']}/checkins"
    for who, status in (
        (Principal(), 401),
        (member(world, "m2"), 403),  # a member cannot check another in
        (Principal(role="leader", org_id=world["c2"]), 403),
    ):
        with client(clean_db, who, tmp_path) as c:
            assert c.post(url, json={"member_code": card}).status_code == status, who
    with client(clean_db, Principal(role="leader", org_id=world["c1"]), tmp_path) as c:
        r = c.post(url, json={"member_code": card})
        assert r.status_code == 201, r.text
        assert r.json()["method"] == "scan" and r.json()["member_id"] == world["m1"]
        assert c.post(url, json={"member_code": card}).status_code == 200
        outsider = _card(clean_db, world, "n1", tmp_path)
        r = c.post(url, json={"member_code": outsider})
        assert r.status_code == 403 and r.json()["code"] == "CheckinRefused.not_invited"
        code = _code(clean_db, world, world["run"], tmp_path)["token"]
        r = c.post(url, json={"member_code": code})  # an activity code is no card
        assert r.status_code == 400 and r.json()["code"] == "Token.invalid"
    with client(clean_db, Principal(role="leader", org_id=world["c1"])) as c:
        r = c.get(f"/api/activities/{world['run']}/registrations")
    (entry,) = r.json()["members"]
    assert entry["name"] == "党员m1" and entry["status"] is None and entry["method"] == "scan"
    assert r.json()["attended"] == 1
