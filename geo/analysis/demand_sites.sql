-- Existing service points in a box, by id.
SELECT id, name, kind, ST_X(geom), ST_Y(geom) FROM service_points s
WHERE s.geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326) ORDER BY id
