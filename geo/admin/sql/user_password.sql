-- A user's new password hash (a reset).
UPDATE users SET password_hash = $2::text WHERE id = $1
