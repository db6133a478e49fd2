"""Tiles: precomputed cluster tables, published privacy-safe heat cells (H3), build states, and a
NOTIFY on `djmap_data_versions` whenever a table's data version moves.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

from geo.db.migrate import create_tables, drop_tables, run_sql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TABLES = ("heat_cells", "tile_agg", "tile_agg_count", "tile_agg_state", "heat_state")
SHAPE = "ab91185a3c56f390"  # geo.db.migrate.shape(TABLES): see 0001


def upgrade() -> None:
    """Create the tile tables (from the models) and the data-version notification."""
    conn = op.get_bind()
    create_tables(conn, TABLES)
    run_sql(conn, "0003_notify.sql")


def downgrade() -> None:
    """Drop the tile tables and the notification."""
    drop_tables(op.get_bind(), TABLES)
    op.execute("DROP TRIGGER IF EXISTS data_versions_notify ON data_versions")
    op.execute("DROP FUNCTION IF EXISTS notify_data_version()")
