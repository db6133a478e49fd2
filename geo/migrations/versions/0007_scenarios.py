"""Planning (issue 14): the planners' scenarios and the derived accessibility surface, whose
table is versioned (data_versions) so its layer's tiles move on with each build.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from geo.db.migrate import create_tables, drop_tables, run_sql
from geo.models import PLANNING_VERSIONED_TABLES, Base

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TABLES = ("scenarios", "accessibility_cells")
SEEDS = (PLANNING_VERSIONED_TABLES,)
SHAPE = "ee2a9d9cd8265ec5"  # geo.db.migrate.shape(TABLES, *SEEDS): see 0001


def upgrade() -> None:
    """The tables (from the models), the surface's data version and version trigger."""
    conn = op.get_bind()
    create_tables(conn, TABLES)
    conn.execute(
        sa.insert(Base.metadata.tables["data_versions"]),
        [{"table_name": t} for t in PLANNING_VERSIONED_TABLES],
    )
    for table in PLANNING_VERSIONED_TABLES:
        run_sql(conn, "0001_version_trigger.sql", trigger=f"{table}_version", table=table)


def downgrade() -> None:
    """Drop the tables and their data versions."""
    drop_tables(op.get_bind(), TABLES)
    versions = Base.metadata.tables["data_versions"]
    op.execute(sa.delete(versions).where(versions.c.table_name.in_(PLANNING_VERSIONED_TABLES)))
