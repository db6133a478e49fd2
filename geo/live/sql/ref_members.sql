-- Members a written feature names by external id (a grid's leader, 网格长): id only, never a
-- place (a member's home is never read here).
SELECT m.external_id AS code, m.id, NULL::float8 AS lon, NULL::float8 AS lat
FROM members m WHERE m.external_id = ANY($1::text[])
