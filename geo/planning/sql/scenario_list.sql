SELECT id, name, org_id, created_by, changes, created_at, updated_at FROM scenarios WHERE ($1::bigint IS NULL OR org_id IN (SELECT s.id FROM org_subtree($1::bigint) AS s)) ORDER BY id DESC LIMIT $2
