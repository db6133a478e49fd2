-- Revoke a screen key (its screens stop at their next request).
UPDATE screen_keys SET active = false WHERE id = $1
