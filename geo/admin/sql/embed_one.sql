-- One embed key, locked for its update.
SELECT id, key, name, allowed_origins, active, created_at FROM embed_keys WHERE key = $1 FOR UPDATE
