"""The embedded cluster and migrations, against a real PostgreSQL + PostGIS."""

from __future__ import annotations

import socket
import tempfile
from pathlib import Path

import psycopg
import pytest
from alembic.script import ScriptDirectory
from psycopg import sql

from geo import db as geodb
from geo.cluster import Cluster, free_port
from geo.errors import ClusterError


def _cluster(port: int | None = None) -> Cluster:
    home = Path(tempfile.mkdtemp(prefix="djmap-cl-"))
    home.chmod(0o755)
    return Cluster(home=home, port=port or free_port(), dbname="t")


def test_lifecycle_is_idempotent_and_truthful() -> None:
    cl = _cluster()
    try:
        assert cl.status()["running"] is False
        assert cl.start() is True
        assert cl.start() is False  # second `db up` is fine
        assert cl.status()["running"] is True
        with psycopg.connect(cl.url) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == ("t",)
        assert cl.stop() is True
        assert cl.stop() is False
        assert cl.status()["running"] is False
    finally:
        cl.destroy()


def test_stale_pid_file_is_recovered() -> None:
    cl = _cluster()
    try:
        cl.start()
        cl.stop()
        # A crash leaves postmaster.pid behind naming a process that is gone.
        (cl.datadir / "postmaster.pid").write_text("999999\n" + str(cl.datadir) + "\n")
        assert cl.start() is True
        assert cl.running()
    finally:
        cl.destroy()


def test_port_taken_names_the_port() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        cl = _cluster(port)
        try:
            with pytest.raises(ClusterError, match=str(port)):
                cl.start()
        finally:
            cl.destroy()


def test_migrations_up_down_up(db_url: str) -> None:
    extensions = {"postgis", "postgis_raster", "postgis_sfcgal", "pgrouting"}
    with psycopg.connect(db_url) as conn:
        have = {r[0] for r in conn.execute("SELECT extname FROM pg_extension")}
    assert extensions <= have
    geodb.downgrade(db_url, "base")
    assert geodb.current_revision(db_url) is None
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT to_regclass('public.members')").fetchone() == (None,)
    geodb.migrate(db_url, "0003")  # a database of before the live loop …
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT to_regclass('public.events')").fetchone() == (None,)
    geodb.migrate(db_url)  # … is brought to the head by 0004's own operations (then the later ones)
    head = ScriptDirectory.from_config(geodb.alembic_config(db_url)).get_current_head()
    assert head is not None and head >= "0007"
    assert geodb.current_revision(db_url) == head
    with psycopg.connect(db_url) as conn:
        added = conn.execute(
            "SELECT table_name, column_name, is_nullable FROM information_schema.columns"
            " WHERE (table_name, column_name) IN (('activities', 'status'),"
            " ('checkins', 'method'), ('checkins', 'distance_m')) ORDER BY 1, 2"
        ).fetchall()
    assert added == [
        ("activities", "status", "NO"),
        ("checkins", "distance_m", "YES"),
        ("checkins", "method", "NO"),
    ]
    with psycopg.connect(db_url) as conn:
        cols = conn.execute(
            "SELECT f_table_name, f_geometry_column, srid FROM geometry_columns"
            " WHERE f_table_schema = 'public'"
        ).fetchall()
        gist = {
            (r[0], r[1])
            for r in conn.execute(
                "SELECT t.relname, a.attname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid"
                " JOIN pg_class t ON t.oid = x.indrelid JOIN pg_am am ON am.oid = i.relam"
                " JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = ANY(x.indkey)"
                " WHERE am.amname = 'gist'"
            )
        }
    assert len(cols) >= 7
    for table, column, srid in cols:
        assert srid == 4326, (table, column)
        assert (table, column) in gist, f"{table}.{column} has no GiST index"


RENAMED = """
SELECT (SELECT array_agg(conname::text ORDER BY conname) FROM pg_constraint
        WHERE conrelid = to_regclass(%(t)s)),
       (SELECT array_agg(tgname::text) FROM pg_trigger
        WHERE tgrelid = to_regclass(%(t)s) AND NOT tgisinternal),
       (SELECT version FROM data_versions WHERE table_name = %(t)s)
"""


def _delete(table: str) -> sql.Composed:
    return sql.SQL("DELETE FROM {}").format(sql.Identifier(table))


def _named(url: str, table: str) -> tuple[object, ...] | None:
    with psycopg.connect(url) as conn:
        if conn.execute("SELECT to_regclass(%s)", (table,)).fetchone() == (None,):
            return None
        return conn.execute(RENAMED, {"t": table}).fetchone()


def test_the_health_scores_table_renamed_and_back(db_url: str) -> None:
    """0011 renames 0006's `org_health` (table, constraints, version trigger, data_versions
    row, whose version is kept) to `org_health_scores`; its downgrade gives 0006's names back."""
    old, new = "org_health", "org_health_scores"
    parts = ["org_id_fkey", "pkey", "score_check", "status_check"]
    geodb.downgrade(db_url, "0010")
    try:
        assert _named(db_url, new) is None
        with psycopg.connect(db_url, autocommit=True) as conn:
            conn.execute(_delete(old))  # a write: the trigger bumps the version
        before = _named(db_url, old)
        assert before is not None
        assert before[:2] == ([f"{old}_{p}" for p in parts], [f"{old}_version"])
        assert isinstance(before[2], int) and before[2] > 1
    finally:
        geodb.migrate(db_url)
    assert _named(db_url, old) is None
    assert _named(db_url, new) == ([f"{new}_{p}" for p in parts], [f"{new}_version"], before[2])
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(_delete(new))
        got = conn.execute("SELECT version FROM data_versions WHERE table_name = %s", (new,))
        assert got.fetchone() == (before[2] + 1,)
        assert conn.execute(
            "SELECT count(*) FROM data_versions WHERE table_name = %s", (old,)
        ).fetchone() == (0,)
