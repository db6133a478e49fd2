-- A new screen key.
INSERT INTO screen_keys (key, name, org_id) VALUES ($1::text, $2::text, $3::bigint) RETURNING id
