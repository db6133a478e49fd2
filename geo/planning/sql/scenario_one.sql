SELECT id, name, org_id, created_by, changes, created_at, updated_at FROM scenarios WHERE id = $1 AND ($2::bigint IS NULL OR org_id IN (SELECT s.id FROM org_subtree($2::bigint) AS s))
