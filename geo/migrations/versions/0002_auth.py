"""Auth: users with roles scoped to an organisation subtree, and embed keys (filled by the API work).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing yet: the API work adds users and embed keys here."""


def downgrade() -> None:
    """Nothing yet."""
