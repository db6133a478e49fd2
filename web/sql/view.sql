-- Bounds of the district, or of whatever data there is.
WITH b AS (
    SELECT ST_Extent(geom) AS box FROM districts
    UNION ALL SELECT ST_Extent(geom) FROM buildings
    UNION ALL SELECT ST_Extent(geom) FROM service_points
)
SELECT ST_XMin(box) AS w, ST_YMin(box) AS s, ST_XMax(box) AS e, ST_YMax(box) AS n
FROM b WHERE box IS NOT NULL LIMIT 1
