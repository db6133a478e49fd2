-- A stored activity as the import's fields (the base a merge patch applies to).
SELECT t.code, t.title, t.kind, o.code AS organiser_code, sp.code AS service_point_code,
       t.starts_at, t.ends_at, t.capacity, t.description, ST_X(t.geom) AS lon, ST_Y(t.geom) AS lat
FROM activities t
JOIN organisations o ON o.id = t.organiser_id
LEFT JOIN service_points sp ON sp.id = t.service_point_id
WHERE t.id = $1::bigint
