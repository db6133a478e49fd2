"""Read-only queries behind the page panels (view, organisation tree, stats, service point card).

Member figures leave here only as counts of at least 10 (smaller counts become None = "<10").
"""

from __future__ import annotations

from typing import Any

import asyncpg
import orjson

MIN_COUNT = 10

VIEW_SQL = """
WITH b AS (
    SELECT ST_Extent(geom) AS box FROM districts
    UNION ALL SELECT ST_Extent(geom) FROM buildings
    UNION ALL SELECT ST_Extent(geom) FROM service_points
)
SELECT ST_XMin(box) AS w, ST_YMin(box) AS s, ST_XMax(box) AS e, ST_YMax(box) AS n
FROM b WHERE box IS NOT NULL LIMIT 1
"""

ORG_TREE_SQL = """
SELECT o.id, o.code, o.name, o.type, o.parent_id,
       ST_X(o.geom) AS lon, ST_Y(o.geom) AS lat,
       (SELECT count(*) FROM members m WHERE m.branch_id = o.id) AS members,
       (SELECT max(a.starts_at) FROM activities a
         WHERE a.organiser_id = o.id AND a.starts_at <= now()) AS last_activity
FROM organisations o
WHERE $1::bigint IS NULL OR o.id IN (SELECT id FROM org_subtree($1::bigint))
ORDER BY o.parent_id NULLS FIRST, o.code
"""

STATS_SQL = """
WITH scope AS (
    SELECT o.id FROM organisations o
    WHERE $1::bigint IS NULL OR o.id IN (SELECT id FROM org_subtree($1::bigint))
)
SELECT
  (SELECT count(*) FROM scope) AS organisations,
  (SELECT count(*) FROM members m WHERE m.branch_id IN (SELECT id FROM scope)) AS members,
  (SELECT count(*) FROM service_points s
    WHERE $1::bigint IS NULL OR s.org_id IN (SELECT id FROM scope)) AS service_points,
  (SELECT count(*) FROM activities a
    WHERE a.organiser_id IN (SELECT id FROM scope)
      AND a.starts_at >= date_trunc('month', now())
      AND a.starts_at < date_trunc('month', now()) + interval '1 month') AS activities_month,
  (SELECT count(*) FROM scope o WHERE NOT EXISTS (
      SELECT 1 FROM activities a WHERE a.organiser_id = o.id
        AND a.starts_at > now() - interval '90 days' AND a.starts_at <= now())) AS inactive_90d,
  (SELECT CASE WHEN count(*) = 0 THEN NULL ELSE
      round(100.0 * count(*) FILTER (WHERE EXISTS (
          SELECT 1 FROM service_points s
          WHERE ST_DWithin(s.geom::geography, m.home::geography, $2))) / count(*), 1) END
     FROM members m WHERE m.home IS NOT NULL
       AND m.branch_id IN (SELECT id FROM scope)) AS coverage_pct
"""

SERVICE_POINT_SQL = """
SELECT s.id, s.code, s.name, s.kind, s.address, s.opening_hours, s.capacity, s.phone,
       ST_X(s.geom) AS lon, ST_Y(s.geom) AS lat, o.name AS org_name,
       COALESCE((SELECT json_agg(json_build_object('id', p.id, 'title', p.title,
                                                   'heading', p.heading) ORDER BY p.id)
                 FROM panoramas p WHERE p.service_point_id = s.id), '[]') AS panoramas,
       COALESCE((SELECT json_agg(x ORDER BY x.starts_at) FROM (
                   SELECT a.id, a.title, a.kind, a.starts_at, a.ends_at FROM activities a
                   WHERE a.service_point_id = s.id AND a.ends_at >= now()
                   ORDER BY a.starts_at LIMIT 5) x), '[]') AS upcoming
FROM service_points s LEFT JOIN organisations o ON o.id = s.org_id
WHERE s.id = $1
"""

SEARCH_SQL = """
SELECT id, name, kind, ST_X(geom) AS lon, ST_Y(geom) AS lat FROM service_points
WHERE name ILIKE '%' || $1 || '%' OR address ILIKE '%' || $1 || '%'
ORDER BY length(name), id LIMIT $2
"""


def _count(n: int | None) -> int | None:
    return n if n is not None and n >= MIN_COUNT else None


async def district_view(conn: asyncpg.Connection) -> tuple[float, float, float, float] | None:
    """Bounds (w, s, e, n) of the district, or of whatever data there is; None when empty."""
    row = await conn.fetchrow(VIEW_SQL)
    return None if row is None else (row["w"], row["s"], row["e"], row["n"])


async def org_tree(conn: asyncpg.Connection, root: int | None) -> list[dict[str, Any]]:
    """Organisations of a subtree (all when root is None) with masked member counts."""
    rows = await conn.fetch(ORG_TREE_SQL, root)
    return [
        {
            "id": r["id"],
            "code": r["code"],
            "name": r["name"],
            "type": r["type"],
            "parent_id": r["parent_id"],
            "lon": r["lon"],
            "lat": r["lat"],
            "members": _count(r["members"]),
            "last_activity": r["last_activity"].isoformat() if r["last_activity"] else None,
        }
        for r in rows
    ]


async def stats(conn: asyncpg.Connection, root: int | None, radius_m: float) -> dict[str, Any]:
    """Statistics cards: counts, activities this month, inactive organisations, coverage %."""
    row = await conn.fetchrow(STATS_SQL, root, radius_m)
    out = dict(row) if row else {}
    out["members"] = _count(out.get("members"))
    pct = out.get("coverage_pct")
    out["coverage_pct"] = float(pct) if pct is not None else None
    out["coverage_radius_m"] = radius_m
    return out


async def service_point(conn: asyncpg.Connection, sp_id: int) -> dict[str, Any] | None:
    """A service point's card: details, upcoming activities, panoramas."""
    row = await conn.fetchrow(SERVICE_POINT_SQL, sp_id)
    if row is None:
        return None
    out = dict(row)
    out["panoramas"] = orjson.loads(out["panoramas"])
    out["upcoming"] = orjson.loads(out["upcoming"])
    return out


async def search_service_points(
    conn: asyncpg.Connection, text: str, limit: int = 10
) -> list[dict[str, Any]]:
    """Service points whose name or address contains the text."""
    return [dict(r) for r in await conn.fetch(SEARCH_SQL, text, limit)]
