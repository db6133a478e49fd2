"""The schema's own guarantees: the migrated database is the models (geo/models), constraints,
the vocabulary, the subtree query, data versions."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import CheckConstraint, Connection, create_engine, pool, text

from geo import vocab
from geo.db import alembic_config, sqlalchemy_url
from geo.db.migrate import COMPARE, shape
from geo.models import (
    BASEMAP_VERSIONED_TABLES,
    HEALTH_VERSIONED_TABLES,
    INVITATION_VERSIONED_TABLES,
    LIVE_VERSIONED_TABLES,
    PLACES_VERSIONED_TABLES,
    PLANNING_VERSIONED_TABLES,
    VERSIONED_TABLES,
    Base,
)

CHECKS = """
SELECT t.relname, c.conname, pg_get_constraintdef(c.oid)
FROM pg_constraint c
JOIN pg_class t ON t.oid = c.conrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
WHERE c.contype = 'c' AND n.nspname = :schema
"""


@pytest.fixture
def sa_conn(db_url: str) -> Iterator[Connection]:
    """A SQLAlchemy connection to the migrated test database, rolled back at the end."""
    engine = create_engine(sqlalchemy_url(db_url), poolclass=pool.NullPool)
    with engine.connect() as conn:
        yield conn
        conn.rollback()
    engine.dispose()


def test_migrated_database_matches_the_models(sa_conn: Connection) -> None:
    """Tables, columns, types, nullability, defaults, comments, keys, foreign keys and indexes."""
    diff = compare_metadata(MigrationContext.configure(sa_conn, opts=COMPARE), Base.metadata)
    assert diff == []


def test_revisions_create_what_they_created() -> None:
    """Revisions 0001-0003 build their tables from the models. Were a model of one of them to
    change, a fresh database would get the new shape from the old revision while the databases
    that revision migrated keep the old one, and the comparison above could not tell."""
    scripts = ScriptDirectory.from_config(alembic_config("postgresql://unused/x"))
    for script in scripts.walk_revisions():
        module = script.module
        if not hasattr(module, "TABLES"):
            continue
        assert shape(module.TABLES, *getattr(module, "SEEDS", ())) == module.SHAPE, (
            f"the models (or seeds) revision {script.revision} creates changed. Databases it "
            "migrated keep what it created: put the change in a new revision "
            "(geo.db.migrate.autogenerate), and make this one create what it did before (render "
            "its tables from the previous models with Alembic instead of create_tables). If only "
            "the DDL's rendering changed (a new SQLAlchemy), update its SHAPE."
        )


def _checks(conn: Connection, schema: str) -> dict[tuple[str, str], str]:
    rows = conn.execute(text(CHECKS), {"schema": schema}).all()
    return {(t, name): d for t, name, d in rows if t in Base.metadata.tables}


def test_check_constraints_are_the_models(sa_conn: Connection) -> None:
    """Alembic does not compare CHECK constraints: the models' own, created in a scratch schema,
    must equal the migrated ones as PostgreSQL normalises them (the transaction is rolled back)."""
    sa_conn.execute(text("CREATE SCHEMA scratch"))
    Base.metadata.create_all(sa_conn.execution_options(schema_translate_map={None: "scratch"}))
    migrated, modelled = _checks(sa_conn, "public"), _checks(sa_conn, "scratch")
    declared = [c for t in Base.metadata.tables.values() for c in t.constraints]
    assert len(modelled) == sum(isinstance(c, CheckConstraint) for c in declared) > 30
    assert migrated == modelled


def test_functions_and_triggers_the_models_cannot_express(sa_conn: Connection) -> None:
    triggers = set(sa_conn.execute(text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")))
    versioned = (*VERSIONED_TABLES, *LIVE_VERSIONED_TABLES, *HEALTH_VERSIONED_TABLES)
    versioned += PLANNING_VERSIONED_TABLES + PLACES_VERSIONED_TABLES + BASEMAP_VERSIONED_TABLES
    versioned += INVITATION_VERSIONED_TABLES
    expected = {f"{t}_version" for t in versioned} | {"data_versions_notify"}
    expected |= {"audit_log_append_only", "events_notify"}
    assert {name for (name,) in triggers} == expected
    functions = {"org_subtree", "bump_data_version", "notify_data_version"}
    functions |= {"audit_log_append_only", "notify_event"}
    found = sa_conn.execute(
        text("SELECT proname FROM pg_proc WHERE proname = ANY(:names)"), {"names": list(functions)}
    ).scalars()
    assert set(found) == functions


def test_the_audit_log_is_append_only(clean_db: str) -> None:
    """An audit row can be added, never changed or removed, not even by the table's owner."""
    with psycopg.connect(clean_db, autocommit=True) as conn:
        before = conn.execute("SELECT count(*) FROM audit_log").fetchone()[0]  # type: ignore[index]
        conn.execute(
            "INSERT INTO audit_log (action, collection, item_id) VALUES ('create', 'c', 1)"
        )
        for stmt in (
            "UPDATE audit_log SET actor = 'x'",
            "DELETE FROM audit_log",
            "TRUNCATE audit_log",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(stmt)
        assert conn.execute("SELECT count(*) FROM audit_log").fetchone() == (before + 1,)


def test_an_event_is_notified_at_its_commit(clean_db: str) -> None:
    """Each event row reaches listeners as a NOTIFY on djmap_events carrying its id, at commit."""
    with psycopg.connect(clean_db, autocommit=True) as listener, psycopg.connect(clean_db) as conn:
        listener.execute("LISTEN djmap_events")
        (event_id,) = conn.execute(
            "INSERT INTO events (type, data) VALUES ('data.changed', '{}') RETURNING id"
        ).fetchone() or (None,)
        assert list(listener.notifies(timeout=0.2, stop_after=1)) == []  # not before the commit
        conn.commit()
        got = list(listener.notifies(timeout=30, stop_after=1))
        assert [(n.channel, n.payload) for n in got] == [("djmap_events", str(event_id))]


def test_the_vocabulary_is_the_schema_s(clean_db: str) -> None:
    """Every value of geo.vocab is accepted where the schema checks it, and the seeded types."""
    with psycopg.connect(clean_db) as conn:
        seeded = conn.execute("SELECT code, name, level FROM org_types ORDER BY level").fetchall()
        assert tuple(seeded) == vocab.ORG_TYPE_ROWS
        branch = _org(conn, "V", vocab.ORG_TYPES[-1], None)
        for i, status in enumerate(vocab.MEMBER_STATUSES):
            conn.execute(
                "INSERT INTO members (external_id, name, branch_id, status) VALUES (%s, 'n', %s, %s)",
                (f"m{i}", branch, status),
            )
        for i, kind in enumerate(vocab.SERVICE_POINT_KINDS):
            conn.execute(
                "INSERT INTO service_points (code, name, kind, geom)"
                " VALUES (%s, 'n', %s, ST_SetSRID(ST_MakePoint(120, 30), 4326))",
                (f"s{i}", kind),
            )
        for status in vocab.IMPORT_STATUSES:
            conn.execute(
                "INSERT INTO imports (kind, source_name, status) VALUES ('k', 'f', %s)", (status,)
            )
        for role in vocab.ROLES:
            conn.execute(
                "INSERT INTO users (username, password_hash, role, member_id)"
                " VALUES (%s, 'h', %s, (SELECT min(id) FROM members))",
                (role, role),
            )
        conn.rollback()


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
