SELECT p.id, ($2::bigint IS NULL OR p.org_id IN (SELECT s.id FROM org_subtree($2::bigint) AS s)) AS mine, md5(p::text) AS etag FROM service_points p WHERE p.id = ANY($1::bigint[])
