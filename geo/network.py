"""The walkable street network: pgRouting source/target vertex ids and lengths in metres for `roads`."""

from __future__ import annotations

from typing import Any

import psycopg

# Vertices are the distinct road end points snapped to 1e-7° (~1 cm), numbered in a stable order;
# the same result as pgr_createTopology on noded lines, computed set-wise in one statement.
_EDGES = """
WITH ends AS (
    SELECT id,
           round(ST_X(ST_StartPoint(geom))::numeric, 7) AS sx,
           round(ST_Y(ST_StartPoint(geom))::numeric, 7) AS sy,
           round(ST_X(ST_EndPoint(geom))::numeric, 7) AS ex,
           round(ST_Y(ST_EndPoint(geom))::numeric, 7) AS ey,
           ST_Length(geom::geography) AS len
    FROM roads
), pts AS (
    SELECT sx AS x, sy AS y FROM ends UNION SELECT ex, ey FROM ends
), v AS (
    SELECT x, y, row_number() OVER (ORDER BY x, y) AS vid FROM pts
), edges AS (
    SELECT e.id, vs.vid AS source, ve.vid AS target, e.len
    FROM ends e
    JOIN v vs ON vs.x = e.sx AND vs.y = e.sy
    JOIN v ve ON ve.x = e.ex AND ve.y = e.ey
)
"""
_STALE = "SELECT 1 FROM edges e JOIN roads r ON r.id = e.id WHERE (r.source, r.target, r.length_m) IS DISTINCT FROM (e.source, e.target, e.len)"
COUNT_SQL = (
    _EDGES
    + f"SELECT (SELECT count(*) FROM roads), (SELECT count(*) FROM v), (SELECT count(*) FROM ({_STALE}) s)"
)
UPDATE_SQL = (
    _EDGES
    + "UPDATE roads r SET source = e.source, target = e.target, length_m = e.len FROM edges e "
    "WHERE r.id = e.id AND (r.source, r.target, r.length_m) IS DISTINCT FROM (e.source, e.target, e.len)"
)


def build_topology_in(conn: psycopg.Connection) -> dict[str, Any]:
    """Fill roads.source/target/length_m inside the caller's transaction; returns counts.

    Nothing is written when the topology is already right, so a rerun moves no data version.
    """
    row = conn.execute(COUNT_SQL).fetchone()
    assert row is not None
    edges, vertices, stale = (int(v) for v in row)
    updated = conn.execute(UPDATE_SQL).rowcount if stale else 0
    return {"edges": edges, "vertices": vertices, "edges_updated": updated}


def build_topology(url: str) -> dict[str, Any]:
    """Rebuild the pgRouting topology of `roads` (source/target vertex ids, length_m in metres)."""
    with psycopg.connect(url) as conn, conn.transaction():
        return build_topology_in(conn)
