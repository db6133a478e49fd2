-- An embed key's state and origins.
UPDATE embed_keys SET active = $2::boolean, allowed_origins = $3::text[] WHERE id = $1
RETURNING id, key, name, allowed_origins, active, created_at
