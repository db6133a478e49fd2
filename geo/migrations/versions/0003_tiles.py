"""Tiles: precomputed cluster tables, published privacy-safe heat cells (H3), build states, and a
NOTIFY on `djmap_data_versions` whenever a table's data version moves.

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
CREATE TABLE tile_agg (
    layer   text NOT NULL,
    token   text NOT NULL,
    z       smallint NOT NULL,
    x       integer NOT NULL,
    y       integer NOT NULL,
    cell    integer NOT NULL,
    n       bigint NOT NULL,
    mx      double precision NOT NULL,
    my      double precision NOT NULL,
    kinds   jsonb NOT NULL,
    PRIMARY KEY (layer, token, z, x, y, cell)
);
COMMENT ON TABLE tile_agg IS 'Clusters of every tile up to z16 for one data version (tiles/aggregate.py)';
CREATE TABLE tile_agg_count (
    layer  text NOT NULL,
    token  text NOT NULL,
    z      smallint NOT NULL,
    x      integer NOT NULL,
    y      integer NOT NULL,
    n      bigint NOT NULL,
    PRIMARY KEY (layer, token, z, x, y)
);
CREATE TABLE tile_agg_state (
    layer     text PRIMARY KEY,
    token     text NOT NULL,
    built_at  timestamptz NOT NULL DEFAULT now()
);
CREATE FUNCTION notify_data_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('djmap_data_versions', NEW.table_name);
    RETURN NULL;
END $$;
CREATE TRIGGER data_versions_notify AFTER INSERT OR UPDATE ON data_versions
    FOR EACH ROW EXECUTE FUNCTION notify_data_version();
CREATE TABLE heat_state (
    layer     text PRIMARY KEY,
    token     text NOT NULL,
    built_at  timestamptz NOT NULL DEFAULT now()
);
"""


def upgrade() -> None:
    """Create the tile tables and the data-version notification."""
    raw = op.get_bind().connection.driver_connection
    assert raw is not None
    raw.execute(UPGRADE)  # straight to the driver: a dollar-quoted function body


def downgrade() -> None:
    """Drop the tile tables."""
    for table in ("tile_agg", "tile_agg_count", "tile_agg_state", "heat_cells"):
        op.execute(f"DROP TABLE IF EXISTS {table}")
    op.execute("DROP TABLE IF EXISTS heat_state")
    op.execute("DROP TRIGGER IF EXISTS data_versions_notify ON data_versions")
    op.execute("DROP FUNCTION IF EXISTS notify_data_version()")
