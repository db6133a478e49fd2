"""Runtime access to the database, in one package.

- `pool`: asyncpg pools for requests (`GuardedPool`: bounded waits, statement timeouts, the one
  mapping of driver errors to "the database is away").
- `sync`: psycopg for the CLI, ingest and analysis: which database, short-lived connections, and
  the pooled connections coverage runs on (`analysis_pool`, owned by the app's lifespan).
- `migrate`: Alembic configured in code; revisions build the schema from geo/models.
"""

from __future__ import annotations

from geo.db.migrate import (
    MIGRATIONS,
    alembic_config,
    create_extensions,
    current_revision,
    downgrade,
    migrate,
    sqlalchemy_url,
)
from geo.db.sync import (
    Connections,
    Direct,
    analysis_pool,
    connect,
    data_versions,
    embedded_cluster,
    ensure_database,
)

__all__ = [
    "MIGRATIONS",
    "Connections",
    "Direct",
    "alembic_config",
    "analysis_pool",
    "connect",
    "create_extensions",
    "current_revision",
    "data_versions",
    "downgrade",
    "embedded_cluster",
    "ensure_database",
    "migrate",
    "sqlalchemy_url",
]
