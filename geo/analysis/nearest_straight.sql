-- The {k} nearest rows of {table} to {pt} by spheroid distance, exactly as a brute-force ranking
-- orders them. KNN on the GiST index finds k rows in degree order; the k-th of them bounds the
-- true k-th geodesic distance D from above, so every true top-k row lies within D: take all rows
-- in a degree window that surely contains the D-circle and rank them by spheroid distance.
-- The point is written out (not taken from a CTE) so `<->` sees a constant and walks the index.
WITH knn AS (
    SELECT t.geom FROM {table} t
    WHERE {where}
    ORDER BY t.geom <-> {pt}
    LIMIT {k}
),
r AS (SELECT max(ST_Distance(knn.geom::geography, {pt}::geography)) AS d FROM knn),
w AS (
    SELECT r.d, r.d / 110000.0 + 1e-7 AS dlat,
           CASE WHEN abs({lat}) + r.d / 110000.0 >= 89 THEN 360.0
                ELSE 1.01 * r.d / (111000.0 * cos(radians(abs({lat}) + r.d / 110000.0))) + 1e-7 END AS dlon
    FROM r
)
SELECT {columns}, ST_X(t.geom) AS lon, ST_Y(t.geom) AS lat,
       ST_Distance(t.geom::geography, {pt}::geography) AS distance_m
FROM {table} t, w
WHERE {where}
  AND t.geom && ST_Expand({pt}, w.dlon, w.dlat)
  AND ST_DWithin(t.geom::geography, {pt}::geography, w.d + 0.001)
ORDER BY distance_m, t.id
LIMIT {k}
