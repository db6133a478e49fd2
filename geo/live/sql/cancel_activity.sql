-- An activity with registrations or check-ins is cancelled, never deleted: it stays, with why.
UPDATE activities
SET status = 'cancelled', cancel_reason = $2::text, updated_at = now()
WHERE id = $1::bigint
