-- Mark one of the user's reminders read (the first time only); the row.
UPDATE reminders SET read_at = coalesce(read_at, now())
WHERE id = $1 AND user_id = $2
RETURNING id
