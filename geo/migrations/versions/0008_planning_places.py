"""Planning places (issue 14 §4-5): 党建网格 grids with their coverage (derived) and saved red
education routes, all versioned (data_versions) so their layers' tiles move on with each write.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from geo.db.migrate import create_tables, drop_tables, run_sql
from geo.models import PLACES_VERSIONED_TABLES, Base

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TABLES = ("grids", "grid_coverage", "red_routes")
SEEDS = (PLACES_VERSIONED_TABLES,)
SHAPE = "179d7a46e24f4ed7"  # geo.db.migrate.shape(TABLES, *SEEDS): see 0001


def upgrade() -> None:
    """The tables (from the models), their data versions and version triggers."""
    conn = op.get_bind()
    create_tables(conn, TABLES)
    conn.execute(
        sa.insert(Base.metadata.tables["data_versions"]),
        [{"table_name": t} for t in PLACES_VERSIONED_TABLES],
    )
    for table in PLACES_VERSIONED_TABLES:
        run_sql(conn, "0001_version_trigger.sql", trigger=f"{table}_version", table=table)


def downgrade() -> None:
    """Drop the tables and their data versions."""
    drop_tables(op.get_bind(), TABLES)
    versions = Base.metadata.tables["data_versions"]
    op.execute(sa.delete(versions).where(versions.c.table_name.in_(PLACES_VERSIONED_TABLES)))
