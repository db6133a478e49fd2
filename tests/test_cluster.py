"""The embedded cluster and migrations, against a real PostgreSQL + PostGIS."""

from __future__ import annotations

import socket
import tempfile
from pathlib import Path

import psycopg
import pytest
from alembic.script import ScriptDirectory

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
