"""Initial schema: organisations, members, service points, activities, check-ins, buildings,
roads, panoramas, the import audit and per-table data versions.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from pathlib import Path

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SCHEMA = Path(__file__).resolve().parents[2] / "sql" / "schema_0001.sql"
TABLES = (
    "checkins",
    "panoramas",
    "activities",
    "members",
    "service_points",
    "organisations",
    "org_types",
    "buildings",
    "districts",
    "roads",
    "imports",
    "data_versions",
)


def upgrade() -> None:
    # Straight to the driver: the file holds dollar-quoted bodies and format() patterns that
    # SQLAlchemy's text() would read as bind parameters.
    raw = op.get_bind().connection.driver_connection
    assert raw is not None
    raw.execute(SCHEMA.read_text(encoding="utf-8"))


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP TABLE IF EXISTS {table} CASCADE")
    op.execute("DROP FUNCTION IF EXISTS org_subtree(bigint)")
    op.execute("DROP FUNCTION IF EXISTS bump_data_version()")
