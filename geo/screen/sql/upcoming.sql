-- The next $2 scheduled activities organised within the ids $1 (ending after now).
SELECT a.id, a.title, a.kind, a.starts_at, a.ends_at, a.service_point_id,
       sp.name AS place, ST_X(a.geom) AS lon, ST_Y(a.geom) AS lat
FROM activities a LEFT JOIN service_points sp ON sp.id = a.service_point_id
WHERE a.organiser_id = ANY($1::bigint[]) AND a.status = 'scheduled' AND a.ends_at > now()
ORDER BY a.starts_at, a.id
LIMIT $2
