"""A small world for the registration and check-in-code tests: two committees, a branch under
each, members in them, activities at one point, and clients acting as any principal."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from fastapi.testclient import TestClient

from api.app import create_app
from api.deps import get_principal
from api.settings import Settings
from geo.scope import Principal
from geo.settings import DatabaseSettings

LON, LAT = 116.40, 39.90
HOME = (116.4321, 39.9123)  # every member's home: must never come back


def _org(conn: psycopg.Connection, code: str, kind: str, parent: int | None, lon: float) -> int:
    return conn.execute(
        "INSERT INTO organisations (code, name, type, parent_id, geom) VALUES "
        "(%s, %s, %s, %s, ST_SetSRID(ST_MakePoint(%s, 39.9), 4326)) RETURNING id",
        (code, f"{code}支部", kind, parent, lon),
    ).fetchone()[0]


def _member(conn: psycopg.Connection, name: str, branch: int) -> int:
    return conn.execute(
        "INSERT INTO members (external_id, name, branch_id, status, home) VALUES "
        "(%s, %s, %s, '正式', ST_SetSRID(ST_MakePoint(%s, %s), 4326)) RETURNING id",
        (name, f"党员{name}", branch, *HOME),
    ).fetchone()[0]


def activity(
    url: str,
    code: str,
    organiser: int,
    *,
    start_min: int = -60,
    end_min: int = 60,
    capacity: int | None = None,
    lon: float = LON,
    status: str = "scheduled",
) -> int:
    """An activity at (lon, LAT) from `start_min` to `end_min` minutes from now."""
    now = datetime.now(UTC)
    with psycopg.connect(url) as conn:
        return conn.execute(
            "INSERT INTO activities (code, title, kind, organiser_id, starts_at, ends_at, "
            "capacity, status, cancel_reason, geom) VALUES (%s, %s, '主题党日', %s, %s, %s, %s, %s, "
            "%s, ST_SetSRID(ST_MakePoint(%s, %s), 4326)) RETURNING id",
            (
                code,
                f"活动{code}",
                organiser,
                now + timedelta(minutes=start_min),
                now + timedelta(minutes=end_min),
                capacity,
                status,
                "天气原因" if status == "cancelled" else None,
                lon,
                LAT,
            ),
        ).fetchone()[0]


def make_world(url: str, members_per_branch: int = 3) -> dict[str, int]:
    """c1 ⊃ b1 and c2 ⊃ b2; members m1.. in b1 and n1.. in b2; activity `run` by c1, running."""
    ids: dict[str, int] = {}
    with psycopg.connect(url) as conn:
        conn.execute("TRUNCATE events")  # clean_db keeps them; these tests read their own
        ids["c1"] = _org(conn, "c1", "党委", None, 116.40)
        ids["b1"] = _org(conn, "b1", "党支部", ids["c1"], 116.401)
        ids["c2"] = _org(conn, "c2", "党委", None, 116.50)
        ids["b2"] = _org(conn, "b2", "党支部", ids["c2"], 116.501)
        for i in range(1, members_per_branch + 1):
            ids[f"m{i}"] = _member(conn, f"m{i}", ids["b1"])
            ids[f"n{i}"] = _member(conn, f"n{i}", ids["b2"])
    ids["run"] = activity(url, "run", ids["c1"])
    return ids


def member(ids: dict[str, int], name: str) -> Principal:
    """A member principal as a member's login gives it."""
    branch = ids["b1"] if name.startswith("m") else ids["b2"]
    return Principal(role="member", member_id=ids[name], org_id=branch, username=name)


@contextmanager
def client(url: str, principal: Principal, home: Path | None = None) -> Iterator[TestClient]:
    """A test client acting as `principal` (home: where the token key lives)."""
    db = DatabaseSettings(database_url=url, **({"home": home} if home else {}))
    app = create_app(Settings(db=db))
    app.dependency_overrides[get_principal] = lambda: principal
    with TestClient(app) as c:
        yield c


def events_of(url: str, event_type: str) -> list[tuple[str | None, int | None, str, dict]]:
    """(subject, org_id, audience, data) of every stored event of a type, oldest first."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT subject, org_id, audience, data FROM events WHERE type = %s ORDER BY id",
            (event_type,),
        ).fetchall()
    return [tuple(r) for r in rows]  # type: ignore[misc]
