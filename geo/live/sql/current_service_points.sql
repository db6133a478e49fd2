-- A stored service point as the import's fields (the base a merge patch applies to).
SELECT t.code, t.name, t.kind, o.code AS org_code, t.address, t.opening_hours, t.capacity,
       t.phone, ST_X(t.geom) AS lon, ST_Y(t.geom) AS lat
FROM service_points t
LEFT JOIN organisations o ON o.id = t.org_id
WHERE t.id = $1::bigint
