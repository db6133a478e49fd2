-- Pairs of grids whose interiors overlap by more than {tolerance} m² (edges that only touch are
-- no overlap), with the overlapping area in m² (geodesic), largest first.
SELECT a.code, b.code, o.m2
FROM grids a
JOIN grids b ON a.id < b.id AND a.geom && b.geom AND ST_Relate(a.geom, b.geom, '2********')
CROSS JOIN LATERAL (SELECT ST_Area(ST_Intersection(a.geom, b.geom)::geography) AS m2) o
WHERE o.m2 > {tolerance}
ORDER BY o.m2 DESC, a.code, b.code
