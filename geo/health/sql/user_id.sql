-- The id of an active user by name.
SELECT id FROM users WHERE username = $1 AND active
