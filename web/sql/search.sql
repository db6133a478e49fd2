-- Service points whose name or address contains $1 (at most $2).
SELECT id, name, kind, ST_X(geom) AS lon, ST_Y(geom) AS lat FROM service_points
WHERE name ILIKE '%' || $1 || '%' OR address ILIKE '%' || $1 || '%'
ORDER BY length(name), id LIMIT $2
