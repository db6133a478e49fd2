"""Pre-encoded dense point tiles (`tile_mvt`), built with the cluster tables per data version
(tiles/encoded.py).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op

from geo.db.migrate import create_tables, drop_tables

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TABLES = ("tile_mvt",)
SHAPE = "ac8b878b0232a3b8"  # geo.db.migrate.shape(TABLES): see 0001


def upgrade() -> None:
    """Create the table (from the model); builds of older formats are redone by the registry."""
    create_tables(op.get_bind(), TABLES)


def downgrade() -> None:
    """Drop the table."""
    drop_tables(op.get_bind(), TABLES)
