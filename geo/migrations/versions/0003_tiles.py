"""Tiles: persistent tile cache and low-zoom aggregate tables (filled by the tiles work).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing yet: the tiles work adds its tables here."""


def downgrade() -> None:
    """Nothing yet."""
