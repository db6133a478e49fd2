"""SQL templates of the vector tiles (identifiers are filled in from the catalog only; values are $N).

Parameters common to every tile statement: $1 z, $2 x, $3 y (ST_TileEnvelope), $4..$7 the tile's
west, south, east, north in degrees (morecantile), $8 the feature budget; filters follow from $9.
A point (or a shape's representative point) belongs to exactly one tile per zoom: west and south
edges inclusive... precisely lon in [west, east) and lat in (south, north], so tiles partition it.
"""

from __future__ import annotations

FIRST_FILTER_PARAM = 9

# Rows of a point layer whose point lies in the tile (half-open, so tiles partition the points).
POINT_ROWS = """
    SELECT {cols}
    FROM {source}
    WHERE t.{geom} && ST_MakeEnvelope($4, $5, $6, $7, 4326)
      AND ST_X(t.{geom}) >= $4 AND ST_X(t.{geom}) < $6
      AND ST_Y(t.{geom}) > $5 AND ST_Y(t.{geom}) <= $7
      {filters}
"""

# Rows of a line or polygon layer touching the tile and its buffer.
SHAPE_ROWS = """
    SELECT {cols}
    FROM {source}
    WHERE t.{geom} && ST_Expand(ST_MakeEnvelope($4, $5, $6, $7, 4326), ($6 - $4) * {buffer_ratio})
      {filters}
"""

# Representative points of shapes in the tile (each shape counted in exactly one tile).
REP_ROWS = """
    SELECT {cols}
    FROM (SELECT t.*, ST_PointOnSurface(t.{geom}) AS __rep FROM {source}
          WHERE t.{geom} && ST_MakeEnvelope($4, $5, $6, $7, 4326) {filters}) AS t
    WHERE ST_X(t.__rep) >= $4 AND ST_X(t.__rep) < $6 AND ST_Y(t.__rep) > $5 AND ST_Y(t.__rep) <= $7
"""

# Features as they are.
FEATURES_MVT = """
    SELECT ST_AsMVT(q, '{layer}', 4096, 'geom', '__fid') FROM (
        SELECT r.__fid, ST_AsMVTGeom({geom_expr}, ST_TileEnvelope($1, $2, $3), 4096, {buffer}, true)
               AS geom {props}
        FROM ({rows}) AS r
    ) AS q WHERE q.geom IS NOT NULL
"""

# Clusters on a cells×cells grid in tile pixel space, each with its count and breakdown by kind.
CLUSTER_MVT = """
    WITH env AS (SELECT ST_TileEnvelope($1, $2, $3) AS e),
    pts AS (
        SELECT ST_Transform(r.__pt, 3857) AS g, r.__k AS k FROM ({rows}) AS r
    ),
    cells AS (
        SELECT least(floor((ST_X(p.g) - ST_XMin(env.e)) / (ST_XMax(env.e) - ST_XMin(env.e)) * {cells}),
                     {cells} - 1)::int AS cx,
               least(floor((ST_YMax(env.e) - ST_Y(p.g)) / (ST_YMax(env.e) - ST_YMin(env.e)) * {cells}),
                     {cells} - 1)::int AS cy,
               p.k, count(*) AS n, sum(ST_X(p.g)) AS sx, sum(ST_Y(p.g)) AS sy
        FROM pts AS p, env GROUP BY 1, 2, 3
    ),
    clusters AS (
        SELECT cx, cy, sum(n)::bigint AS count, sum(sx) / sum(n) AS x, sum(sy) / sum(n) AS y,
               jsonb_object_agg('{breakdown}:' || coalesce(k, ''), n) AS kinds
        FROM cells GROUP BY cx, cy
    )
    SELECT ST_AsMVT(q, '{layer}', 4096, 'geom') FROM (
        SELECT ST_AsMVTGeom(ST_SetSRID(ST_MakePoint(c.x, c.y), 3857), env.e, 4096, 0, false) AS geom,
               c.count, true AS cluster, c.cx * {cells} + c.cy AS cell, c.kinds
        FROM clusters AS c, env
    ) AS q
"""

# Points whose tile is known to be under budget, in tile coordinates computed directly (x is
# linear in longitude; y is the spherical Mercator of the latitude): the same integers as
# ST_AsMVTGeom(ST_Transform(…)) gives, at two thirds of the cost. Parameters: $1..$4 the tile's
# west, south, east, north in degrees, $5 and $6 its Mercator bottom and top.
POINTS_MVT = """
    SELECT ST_AsMVT(q, '{layer}', 4096, 'geom', '__fid') FROM (
        SELECT t.{key} AS __fid,
               ST_MakePoint(round((ST_X(t.{geom}) - $1) / ($3 - $1) * 4096),
                            round(($6 - ln(tan(pi() / 4 + radians(ST_Y(t.{geom})) / 2)) * 6378137.0)
                                  / ($6 - $5) * 4096)) AS geom {cols}
        FROM {source}
        WHERE t.{geom} && ST_MakeEnvelope($1, $2, $3, $4, 4326)
          AND ST_X(t.{geom}) >= $1 AND ST_X(t.{geom}) < $3
          AND ST_Y(t.{geom}) > $2 AND ST_Y(t.{geom}) <= $4
    ) AS q
"""

# One statement: features when the tile holds at most $8 of them, else clusters.
GUARDED_MVT = """
    SELECT CASE WHEN (SELECT count(*) FROM (SELECT 1 FROM ({count_rows}) AS c LIMIT $8::bigint + 1) AS n) <= $8::bigint
           THEN ({features}) ELSE ({clusters}) END
"""
