"""Basemap places (issue 11 §1): land use areas (water, green …) of the offline basemap,
versioned (data_versions) so the landuse layer's tiles move on with each import.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from geo.db.migrate import create_tables, drop_tables, run_sql
from geo.models import BASEMAP_VERSIONED_TABLES, Base

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TABLES = ("landuse",)
SEEDS = (BASEMAP_VERSIONED_TABLES,)
SHAPE = "4743ffd9a42d5c78"  # geo.db.migrate.shape(TABLES, *SEEDS): see 0001


def upgrade() -> None:
    """The table (from the model), its data version and version trigger."""
    conn = op.get_bind()
    create_tables(conn, TABLES)
    conn.execute(
        sa.insert(Base.metadata.tables["data_versions"]),
        [{"table_name": t} for t in BASEMAP_VERSIONED_TABLES],
    )
    for table in BASEMAP_VERSIONED_TABLES:
        run_sql(conn, "0001_version_trigger.sql", trigger=f"{table}_version", table=table)


def downgrade() -> None:
    """Drop the table and its data version."""
    drop_tables(op.get_bind(), TABLES)
    versions = Base.metadata.tables["data_versions"]
    op.execute(sa.delete(versions).where(versions.c.table_name.in_(BASEMAP_VERSIONED_TABLES)))
