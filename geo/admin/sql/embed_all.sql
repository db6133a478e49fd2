-- Every embed key, oldest first.
SELECT id, key, name, allowed_origins, active, created_at FROM embed_keys ORDER BY id
