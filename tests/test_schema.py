"""The schema's own guarantees: constraints, the subtree query, data versions."""

from __future__ import annotations

import psycopg
import pytest


def _org(conn: psycopg.Connection, code: str, type_: str, parent: int | None) -> int:
    row = conn.execute(
        "INSERT INTO organisations (code, name, type, parent_id, geom)"
        " VALUES (%s, %s, %s, %s, ST_SetSRID(ST_MakePoint(120.1, 30.2), 4326)) RETURNING id",
        (code, code, type_, parent),
    ).fetchone()
    assert row is not None
    return int(row[0])


def test_subtree_in_one_query(clean_db: str) -> None:
    with psycopg.connect(clean_db) as conn:
        root = _org(conn, "A", "党委", None)
        other = _org(conn, "B", "党委", None)
        mid = _org(conn, "A1", "党总支", root)
        leaf = _org(conn, "A1a", "党支部", mid)
        _org(conn, "B1", "党支部", other)
        got = conn.execute(
            "SELECT id, depth FROM org_subtree(%s) ORDER BY depth", (root,)
        ).fetchall()
    assert got == [(root, 0), (mid, 1), (leaf, 2)]


@pytest.mark.parametrize(
    "sql",
    [
        # start after end
        "INSERT INTO activities (code, title, kind, organiser_id, starts_at, ends_at, geom) VALUES"
        " ('x', 't', '学习', {org}, '2026-01-02', '2026-01-01', ST_SetSRID(ST_MakePoint(120, 30), 4326))",
        # latitude out of range
        "INSERT INTO service_points (code, name, kind, geom) VALUES"
        " ('s', 'n', '党群服务站', ST_SetSRID(ST_MakePoint(120, 95), 4326))",
        # unknown kind
        "INSERT INTO service_points (code, name, kind, geom) VALUES"
        " ('s', 'n', '食堂', ST_SetSRID(ST_MakePoint(120, 30), 4326))",
        # self-intersecting (invalid) footprint
        "INSERT INTO buildings (code, height_m, geom) VALUES ('b', 10, ST_Multi(ST_GeomFromText("
        "'POLYGON((120 30, 120.001 30.001, 120.001 30, 120 30.001, 120 30))', 4326)))",
        # wrong SRID
        "INSERT INTO service_points (code, name, kind, geom) VALUES"
        " ('s', 'n', '党群服务站', ST_SetSRID(ST_MakePoint(120, 30), 3857))",
        # unknown member status
        "INSERT INTO members (external_id, name, branch_id, status) VALUES ('m', 'n', {org}, '退休')",
    ],
)
def test_constraints_refuse_bad_rows(clean_db: str, sql: str) -> None:
    with psycopg.connect(clean_db) as conn:
        org = _org(conn, "C", "党支部", None)
        conn.commit()
        with pytest.raises(psycopg.Error):
            conn.execute(sql.format(org=org))


def test_writes_bump_the_data_version(clean_db: str) -> None:
    with psycopg.connect(clean_db, autocommit=True) as conn:
        before = conn.execute(
            "SELECT version FROM data_versions WHERE table_name='organisations'"
        ).fetchone()
        _org(conn, "D", "党委", None)
        after = conn.execute(
            "SELECT version FROM data_versions WHERE table_name='organisations'"
        ).fetchone()
    assert before is not None and after is not None
    assert after[0] > before[0]
