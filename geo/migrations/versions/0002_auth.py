"""Auth: users with roles scoped to an organisation subtree, and embed keys for the portal.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

from geo.db.migrate import create_tables, drop_tables

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = ("users", "embed_keys")
SHAPE = "8ec70cf295990eae"  # geo.db.migrate.shape(TABLES): see 0001


def upgrade() -> None:
    """Create users and embed_keys (from the models)."""
    create_tables(op.get_bind(), TABLES)


def downgrade() -> None:
    """Drop users and embed_keys."""
    drop_tables(op.get_bind(), TABLES)
