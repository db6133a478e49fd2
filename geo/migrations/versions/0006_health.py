"""Organisation life and health (issue 13): meetings, committee terms, dues per month, the
admin's rule sets, the derived scores and their monthly snapshots, reminders; the evidence, the
rules and the scores are versioned (data_versions) like the map's tables.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from geo.db.migrate import create_tables, drop_tables, run_sql
from geo.models import Base

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TABLES = (
    "meetings",
    "committee_terms",
    "dues_months",
    "health_rule_sets",
    "org_health",
    "org_health_snapshots",
    "reminders",
)
# The versioned ones as this revision made them (geo.models.HEALTH_VERSIONED_TABLES then; 0011
# renamed the scores' table, so the list here keeps the name it had).
VERSIONED = ("meetings", "committee_terms", "dues_months", "health_rule_sets", "org_health")
SEEDS = (VERSIONED,)
SHAPE = "b15cdaa16c93c829"  # geo.db.migrate.shape(TABLES, *SEEDS): see 0001


def upgrade() -> None:
    """The tables (from the models), their data versions and version triggers."""
    conn = op.get_bind()
    create_tables(conn, TABLES)
    conn.execute(
        sa.insert(Base.metadata.tables["data_versions"]),
        [{"table_name": t} for t in VERSIONED],
    )
    for table in VERSIONED:
        run_sql(conn, "0001_version_trigger.sql", trigger=f"{table}_version", table=table)


def downgrade() -> None:
    """Drop the tables and their data versions."""
    drop_tables(op.get_bind(), TABLES)
    versions = Base.metadata.tables["data_versions"]
    op.execute(sa.delete(versions).where(versions.c.table_name.in_(VERSIONED)))
