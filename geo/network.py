"""The walkable street network: pgRouting source/target vertex ids and lengths in metres for `roads`."""

from __future__ import annotations

from typing import Any

import psycopg

from geo.compose import raw, sql, sql_file

_EDGES = raw(sql_file(__file__, "network_edges.sql"))
COUNT_SQL = sql(sql_file(__file__, "network_count.sql"), edges=_EDGES).compile_psycopg().text
UPDATE_SQL = sql(sql_file(__file__, "network_update.sql"), edges=_EDGES).compile_psycopg().text


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
