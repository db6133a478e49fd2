"""Migrations: Alembic configured in code, and the helpers revisions build the schema with.

A revision creates its tables from the models' metadata (geo/models, the one schema definition)
and runs the SQL the models cannot express (functions, triggers) from geo/migrations/sql/.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import psycopg
from psycopg import sql
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection

from geo.cluster import EXTENSIONS
from geo.errors import ClusterError
from geo.models import Base

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
SQL = MIGRATIONS / "sql"


def sqlalchemy_url(url: str) -> str:
    """The libpq URL in SQLAlchemy's psycopg 3 form."""
    return "postgresql+psycopg://" + url.split("://", 1)[1]


def alembic_config(url: str) -> Config:
    """Alembic configuration built in code: no alembic.ini to keep in step."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", sqlalchemy_url(url).replace("%", "%%"))
    return cfg


def create_extensions(url: str) -> None:
    """Create the extensions djmap needs (needs a role allowed to, e.g. the owner or superuser)."""
    with psycopg.connect(url, autocommit=True) as conn:
        for ext in EXTENSIONS:
            try:
                conn.execute(f"CREATE EXTENSION IF NOT EXISTS {ext} CASCADE")
            except psycopg.Error as exc:
                raise ClusterError(
                    f"extension {ext} is not available on {url}: {exc}. Install PostGIS 3 and "
                    "pgRouting for the server (apt-get install postgresql-15-postgis-3 "
                    "postgresql-15-pgrouting)."
                ) from exc


def migrate(url: str, revision: str = "head") -> None:
    """Bring an empty or older database to `revision`, extensions included."""
    create_extensions(url)
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    """Take the schema back to `revision` (base = nothing)."""
    command.downgrade(alembic_config(url), revision)


def current_revision(url: str) -> str | None:
    """The migration revision the database is at, or None when unmigrated."""
    with psycopg.connect(url) as conn:
        exists = conn.execute("SELECT to_regclass('public.alembic_version')").fetchone()
        if not exists or exists[0] is None:
            return None
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        return str(row[0]) if row else None


# Used by the revisions in geo/migrations/versions ------------------------------------------


def create_tables(conn: Connection, names: Iterable[str]) -> None:
    """Create these tables of the models (constraints, indexes and comments included)."""
    tables = [Base.metadata.tables[name] for name in names]
    Base.metadata.create_all(conn, tables=tables, checkfirst=False)


def drop_tables(conn: Connection, names: Iterable[str]) -> None:
    """Drop these tables of the models, dependants first."""
    tables = [Base.metadata.tables[name] for name in names]
    Base.metadata.drop_all(conn, tables=tables, checkfirst=True)


def run_sql(conn: Connection, name: str, **identifiers: str) -> None:
    """Run geo/migrations/sql/`name` as one script, its `{key}` fields filled with `identifiers`
    quoted as SQL identifiers (psycopg's composer).

    Straight to the driver: function bodies are dollar-quoted and may hold `:` or `%` that
    SQLAlchemy's text() or a parameter pass would read as placeholders."""
    raw = conn.connection.driver_connection
    assert raw is not None
    script = (SQL / name).read_text(encoding="utf-8")
    if identifiers:
        names = {key: sql.Identifier(value) for key, value in identifiers.items()}
        raw.execute(sql.SQL(script).format(**names))  # type: ignore[arg-type]
    else:
        raw.execute(script)
