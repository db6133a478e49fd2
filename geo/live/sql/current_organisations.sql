-- A stored organisation as the import's fields (the base a merge patch applies to).
SELECT t.code, t.name, t.type, p.code AS parent_code, b.code AS building_code, t.founded,
       t.contact, ST_X(t.geom) AS lon, ST_Y(t.geom) AS lat
FROM organisations t
LEFT JOIN organisations p ON p.id = t.parent_id
LEFT JOIN buildings b ON b.id = t.building_id
WHERE t.id = $1::bigint
