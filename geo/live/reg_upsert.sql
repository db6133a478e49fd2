-- Register (or waitlist) a member; a cancelled registration comes back at the end of the queue.
-- No row comes back when the member is already registered or waitlisted.
INSERT INTO registrations AS r (activity_id, member_id, status, created_at, updated_at)
VALUES ($1, $2, $3, clock_timestamp(), clock_timestamp())
ON CONFLICT ON CONSTRAINT registrations_once DO UPDATE
SET status = EXCLUDED.status, created_at = clock_timestamp(), updated_at = clock_timestamp()
WHERE r.status = 'cancelled'
RETURNING r.id, r.activity_id, r.member_id, r.status, r.created_at
