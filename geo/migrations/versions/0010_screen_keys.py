"""Screen keys (issue 13 §5): the keys big screens and kiosks open `/screen` with, each bound
to an organisation subtree (geo/models/system.py ScreenKey).

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from alembic import op

from geo.db.migrate import create_tables, drop_tables

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

TABLES = ("screen_keys",)
SHAPE = "faf3d01ad108d936"  # geo.db.migrate.shape(TABLES): see 0001


def upgrade() -> None:
    """The table, from the model."""
    create_tables(op.get_bind(), TABLES)


def downgrade() -> None:
    """Drop the table."""
    drop_tables(op.get_bind(), TABLES)
