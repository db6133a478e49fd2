"""Database access for the core: which database, migrations, and short-lived connections."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine

from geo.cluster import EXTENSIONS, Cluster
from geo.cluster_auth import redact
from geo.errors import ClusterError
from geo.settings import DatabaseSettings, get_db_settings

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def embedded_cluster(settings: DatabaseSettings) -> Cluster:
    """The embedded cluster described by the settings."""
    return Cluster(
        home=settings.home,
        port=settings.db_port,
        dbname=settings.db_name,
        superuser=settings.db_user,
    )


def ensure_database(settings: DatabaseSettings | None = None) -> str:
    """Make sure the database in use is reachable (starting the embedded cluster); return its URL."""
    settings = settings or get_db_settings()
    if settings.embedded:
        embedded_cluster(settings).start()
    try:
        with psycopg.connect(settings.url, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError as exc:
        raise ClusterError(f"cannot connect to {redact(settings.url)}: {exc}".strip()) from exc
    return settings.url


@contextmanager
def connect(url: str, autocommit: bool = False) -> Iterator[psycopg.Connection]:
    """A psycopg 3 connection to `url`, closed on exit (committed unless an error escapes)."""
    with psycopg.connect(url, autocommit=autocommit) as conn:
        yield conn


def sqlalchemy_url(url: str) -> str:
    """The libpq URL in SQLAlchemy's psycopg 3 form."""
    return "postgresql+psycopg://" + url.split("://", 1)[1]


def engine(url: str) -> Engine:
    """A SQLAlchemy engine for the ORM models (callers dispose of it)."""
    return create_engine(sqlalchemy_url(url), pool_pre_ping=True)


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


def data_versions(url: str) -> dict[str, int]:
    """Current data version of every versioned table."""
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT table_name, version FROM data_versions").fetchall()
    return {str(name): int(version) for name, version in rows}
