INSERT INTO scenarios (name, org_id, created_by, changes) VALUES ($1, $2, $3, $4::jsonb) RETURNING id, name, org_id, created_by, changes, created_at, updated_at
