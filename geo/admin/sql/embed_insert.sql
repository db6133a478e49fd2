-- A new embed key.
INSERT INTO embed_keys (key, name, allowed_origins) VALUES ($1::text, $2::text, $3::text[])
RETURNING id, key, name, allowed_origins, active, created_at
