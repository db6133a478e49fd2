-- The event a new reminder was announced with.
UPDATE reminders SET event_id = $2 WHERE id = $1
