"""The live loop: activities can be cancelled (status, reason) and carry `updated_at`; check-ins
say how they were made; registrations (versioned like the map's tables), the append-only audit of
writes, the event stream (NOTIFY djmap_events) and the portal's webhooks.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from geo.db.migrate import create_tables, drop_tables, run_sql
from geo.models import LIVE_VERSIONED_TABLES, Base

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLES = ("registrations", "audit_log", "events", "webhooks", "webhook_deliveries")
SEEDS = (LIVE_VERSIONED_TABLES,)
SHAPE = "598964de0ce8d1b7"  # geo.db.migrate.shape(TABLES, *SEEDS): see 0001


def _add_late(revision: str) -> None:
    """Add the columns and CHECK constraints the models mark `since` this revision (rendered
    from the models, as Alembic's autogenerate would)."""
    for table in Base.metadata.sorted_tables:
        for col in table.columns:
            if col.info.get("since") == revision:
                op.add_column(table.name, col._copy())
        for con in table.constraints:
            if con.info.get("since") == revision and isinstance(con, sa.CheckConstraint):
                op.create_check_constraint(str(con.name), table.name, con.sqltext)


def upgrade() -> None:
    """New columns on activities and check-ins, the live tables (from the models), their triggers."""
    _add_late(revision)
    op.alter_column("checkins", "distance_m", nullable=True)
    conn = op.get_bind()
    create_tables(conn, TABLES)
    run_sql(conn, "0004_live.sql")
    conn.execute(
        sa.insert(Base.metadata.tables["data_versions"]),
        [{"table_name": t} for t in LIVE_VERSIONED_TABLES],
    )
    for table in LIVE_VERSIONED_TABLES:
        run_sql(conn, "0001_version_trigger.sql", trigger=f"{table}_version", table=table)


def downgrade() -> None:
    """Drop the live tables, their functions and the new columns."""
    op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
    drop_tables(op.get_bind(), TABLES)
    op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    op.execute("DROP FUNCTION IF EXISTS notify_event()")
    op.execute("DELETE FROM data_versions WHERE table_name = 'registrations'")
    op.drop_constraint("checkins_method_check", "checkins")
    op.drop_column("checkins", "method")
    op.alter_column("checkins", "distance_m", nullable=False)
    op.drop_constraint("activities_status_check", "activities")
    for col in ("updated_at", "cancel_reason", "status"):
        op.drop_column("activities", col)
