-- Organisations a written feature names by code: id and location.
SELECT o.code, o.id, ST_X(o.geom) AS lon, ST_Y(o.geom) AS lat
FROM organisations o WHERE o.code = ANY($1::text[])
