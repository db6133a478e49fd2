UPDATE scenarios SET name = $2, changes = $3::jsonb, updated_at = now() WHERE id = $1 RETURNING id, name, org_id, created_by, changes, created_at, updated_at
