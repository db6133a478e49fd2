"""Tiles: the published privacy-safe heat cells (H3) and their build state.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

UPGRADE = """
CREATE TABLE heat_cells (
    layer   text NOT NULL,
    token   text NOT NULL,
    res     smallint NOT NULL CHECK (res BETWEEN 0 AND 15),
    cell    text NOT NULL,
    merged  boolean NOT NULL,
    count   integer NOT NULL CHECK (count >= 10),
    geom    geometry(Polygon, 4326) NOT NULL,
    PRIMARY KEY (layer, token, res, cell, merged)
);
COMMENT ON TABLE heat_cells IS
    'Published heat cells: merged = members of the cell not in any finer published cell (tiles/heat.py)';
CREATE INDEX heat_cells_geom_gist ON heat_cells USING gist (geom);
CREATE TABLE heat_state (
    layer     text PRIMARY KEY,
    token     text NOT NULL,
    built_at  timestamptz NOT NULL DEFAULT now()
);
"""


def upgrade() -> None:
    """Create the heat tables."""
    for statement in UPGRADE.split(";"):
        if statement.strip():
            op.execute(statement)


def downgrade() -> None:
    """Drop the heat tables."""
    op.execute("DROP TABLE IF EXISTS heat_cells")
    op.execute("DROP TABLE IF EXISTS heat_state")
