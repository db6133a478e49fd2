"""Initial schema: organisations, members, service points, activities, check-ins, buildings,
roads, panoramas, the import audit and per-table data versions.

Tables come from the models (geo/models), seeds from geo.vocab and geo.models; functions and
triggers from geo/migrations/sql/. `SHAPE` fingerprints what this revision takes from the code
(geo.db.migrate.shape): when it changes, tests/test_schema.py says how to keep this revision
creating what it created for the databases it has migrated.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from alembic import op

from geo.db.migrate import create_tables, drop_tables, run_sql
from geo.models import VERSIONED_TABLES, Base
from geo.vocab import ORG_TYPE_ROWS

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TABLES = (
    "org_types",
    "districts",
    "buildings",
    "organisations",
    "members",
    "service_points",
    "activities",
    "checkins",
    "roads",
    "panoramas",
    "imports",
    "data_versions",
)
SEEDS = (ORG_TYPE_ROWS, VERSIONED_TABLES)
SHAPE = "5e07e643538a1af8"


def upgrade() -> None:
    """Create the tables, seed the organisation types, and version every data table."""
    conn = op.get_bind()
    create_tables(conn, TABLES)
    op.bulk_insert(
        Base.metadata.tables["org_types"],
        [{"code": c, "name": n, "level": lv} for c, n, lv in ORG_TYPE_ROWS],
    )
    run_sql(conn, "0001_functions.sql")
    op.bulk_insert(
        Base.metadata.tables["data_versions"], [{"table_name": t} for t in VERSIONED_TABLES]
    )
    for table in VERSIONED_TABLES:
        run_sql(conn, "0001_version_trigger.sql", trigger=f"{table}_version", table=table)


def downgrade() -> None:
    """Drop the tables (their triggers with them) and the functions."""
    drop_tables(op.get_bind(), TABLES)
    op.execute("DROP FUNCTION IF EXISTS org_subtree(bigint)")
    op.execute("DROP FUNCTION IF EXISTS bump_data_version()")
