-- The floor for the benchmark: the bare index-ordered KNN of service points, no re-ranking.
SELECT t.id, ST_Distance(t.geom::geography, ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography)
FROM service_points t ORDER BY t.geom <-> ST_SetSRID(ST_MakePoint($1, $2), 4326) LIMIT $3
