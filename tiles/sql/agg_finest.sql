-- Level-L grid cells of every point (L = AGG_MAXZOOM + log2(cells)), summed by kind.
CREATE TEMP TABLE __agg_{z} ON COMMIT DROP AS
SELECT floor((ST_X(ll) + 180.0) / 360.0 * {n})::bigint AS gx,
       floor(({half} - ST_Y(g)) / ({world} / {n}))::bigint AS gy,
       k, count(*)::bigint AS n, sum(ST_X(g)) AS sx, sum(ST_Y(g)) AS sy
FROM (SELECT r.ll, ST_Transform(r.ll, 3857) AS g, r.k
      FROM (SELECT {rep} AS ll, {breakdown} AS k FROM {source}
            WHERE t.{geom} IS NOT NULL) AS r) AS p
WHERE ST_X(ll) >= -180 AND ST_X(ll) < 180 AND abs(ST_Y(g)) < {half}
GROUP BY 1, 2, 3
