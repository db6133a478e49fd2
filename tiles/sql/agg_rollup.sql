-- The next coarser level: each cell's four children summed.
CREATE TEMP TABLE __agg_{z} ON COMMIT DROP AS
SELECT gx >> 1 AS gx, gy >> 1 AS gy, k, sum(n)::bigint AS n, sum(sx) AS sx, sum(sy) AS sy
FROM __agg_{finer} GROUP BY 1, 2, 3
