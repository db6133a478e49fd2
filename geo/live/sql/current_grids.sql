-- A stored 党建网格 as the import's fields and its shape as GeoJSON (the base a merge patch
-- applies to).
SELECT t.code, t.name, t.community, o.code AS branch_code, m.external_id AS leader_code,
       ST_AsGeoJSON(t.geom, 9) AS geometry
FROM grids t
LEFT JOIN organisations o ON o.id = t.org_id
LEFT JOIN members m ON m.id = t.leader_member_id
WHERE t.id = $1::bigint
