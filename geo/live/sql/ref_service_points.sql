-- Service points a written feature names by code: id and location (an activity there without
-- a geometry is placed at it).
SELECT sp.code, sp.id, ST_X(sp.geom) AS lon, ST_Y(sp.geom) AS lat
FROM service_points sp WHERE sp.code = ANY($1::text[])
