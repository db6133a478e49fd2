"""A small world for the organisation health tests: a committee c1 over branches b1 (12 members,
a known history) and b3 (3 members), a committee c2 over b2; secretaries (leaders bound to a
branch), and helpers to build the scores and to act as any principal."""

from __future__ import annotations

import asyncio
from datetime import date

import asyncpg
import psycopg

from geo.health import clock
from geo.scope import Principal
from tiles.builds import Built
from tiles.health_build import build_scores


def _org(conn: psycopg.Connection, code: str, kind: str, parent: int | None, lon: float) -> int:
    return conn.execute(
        "INSERT INTO organisations (code, name, type, parent_id, founded, geom) VALUES "
        "(%s, %s, %s, %s, '2000-01-01', ST_SetSRID(ST_MakePoint(%s, 39.9), 4326)) RETURNING id",
        (code, f"{code}组织", kind, parent, lon),
    ).fetchone()[0]


def _members(conn: psycopg.Connection, prefix: str, branch: int, n: int) -> None:
    for i in range(n):
        conn.execute(
            "INSERT INTO members (external_id, name, branch_id, status, home) VALUES "
            "(%s, %s, %s, '正式', ST_SetSRID(ST_MakePoint(116.43, 39.91), 4326))",
            (f"{prefix}{i}", f"党员{prefix}{i}", branch),
        )


def _user(conn: psycopg.Connection, name: str, role: str, org: int | None) -> int:
    return conn.execute(
        "INSERT INTO users (username, password_hash, role, org_id) VALUES (%s, '', %s, %s) "
        "RETURNING id",
        (name, role, org),
    ).fetchone()[0]


def make_world(url: str) -> dict[str, int]:
    """The world above; returns ids by name (orgs c1 c2 b1 b2 b3; users sec1 sec2 sec3)."""
    ids: dict[str, int] = {}
    with psycopg.connect(url) as conn:
        conn.execute("TRUNCATE events, health_rule_sets")
        conn.execute("DELETE FROM users")
        ids["c1"] = _org(conn, "hc1", "党委", None, 116.40)
        ids["c2"] = _org(conn, "hc2", "党委", None, 116.50)
        ids["b1"] = _org(conn, "hb1", "党支部", ids["c1"], 116.401)
        ids["b3"] = _org(conn, "hb3", "党支部", ids["c1"], 116.402)
        ids["b2"] = _org(conn, "hb2", "党支部", ids["c2"], 116.501)
        _members(conn, "a", ids["b1"], 12)
        _members(conn, "b", ids["b2"], 20)
        _members(conn, "c", ids["b3"], 3)
        ids["sec1"] = _user(conn, "sec1", "leader", ids["b1"])
        ids["sec2"] = _user(conn, "sec2", "leader", ids["b2"])
        ids["sec3"] = _user(conn, "sec3", "leader", ids["b3"])
    return ids


def principal(role: str, org: int | None = None, name: str | None = None) -> Principal:
    """A principal as a login gives it."""
    return Principal(role=role, org_id=org, username=name or f"{role}-{org}")


def build(url: str, day: date | None = None) -> Built:
    """Build the scores now (as the registry does after a write)."""

    async def go() -> Built:
        pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
        try:
            return await build_scores(pool, day or clock.today())
        finally:
            await pool.close()

    return asyncio.run(go())
