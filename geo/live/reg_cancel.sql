-- Cancel a member's registration (kept, as cancelled); no row when there was none to cancel.
UPDATE registrations SET status = 'cancelled', updated_at = clock_timestamp()
WHERE activity_id = $1 AND member_id = $2 AND status <> 'cancelled'
RETURNING id, activity_id, member_id, status, created_at
