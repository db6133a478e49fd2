-- The activity a registration change is about, locked for the change: changes of one activity's
-- registrations happen one at a time, so the capacity and the waitlist order hold.
SELECT a.id, a.title, a.organiser_id, a.capacity, a.status, a.starts_at, a.ends_at
FROM activities a WHERE a.id = $1 FOR UPDATE
