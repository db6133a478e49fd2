-- Clusters on a cells×cells grid in tile pixel space, each with its count and breakdown by kind.
WITH env AS (SELECT ST_TileEnvelope({z}, {x}, {y}) AS e),
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
           jsonb_object_agg({breakdown} || coalesce(k, ''), n) AS kinds
    FROM cells GROUP BY cx, cy
)
SELECT ST_AsMVT(q, {layer}, 4096, 'geom') FROM (
    SELECT ST_AsMVTGeom(ST_SetSRID(ST_MakePoint(c.x, c.y), 3857), env.e, 4096, 0, false) AS geom,
           c.count, true AS cluster, c.cx * {cells} + c.cy AS cell, c.kinds
    FROM clusters AS c, env
) AS q
