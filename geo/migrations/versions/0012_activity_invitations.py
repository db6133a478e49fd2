"""Invited organisations (issue 12 §1): `activity_invitations` lists the organisations an activity
invites besides its organiser (their members may attend, register and check in), versioned
(data_versions) so the activities layer, which serves them as `invited_org_ids`, moves on with
each write.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from geo.db.migrate import create_tables, drop_tables, run_sql
from geo.models import INVITATION_VERSIONED_TABLES, Base

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

TABLES = ("activity_invitations",)
SEEDS = (INVITATION_VERSIONED_TABLES,)
SHAPE = "20b15d30f0b8d6f4"  # geo.db.migrate.shape(TABLES, *SEEDS): see 0001


def upgrade() -> None:
    """The table (from the model), its data version and version trigger."""
    conn = op.get_bind()
    create_tables(conn, TABLES)
    conn.execute(
        sa.insert(Base.metadata.tables["data_versions"]),
        [{"table_name": t} for t in INVITATION_VERSIONED_TABLES],
    )
    for table in INVITATION_VERSIONED_TABLES:
        run_sql(conn, "0001_version_trigger.sql", trigger=f"{table}_version", table=table)


def downgrade() -> None:
    """Drop the table (its trigger with it) and its data version."""
    drop_tables(op.get_bind(), TABLES)
    versions = Base.metadata.tables["data_versions"]
    op.execute(sa.delete(versions).where(versions.c.table_name.in_(INVITATION_VERSIONED_TABLES)))
