-- An embed key's key by its id.
SELECT key FROM embed_keys WHERE id = $1
