-- Record a check-in once (a repeat, or a concurrent call that lost the race, gets no row).
INSERT INTO checkins (activity_id, member_id, checked_at, distance_m, method)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT ON CONSTRAINT checkins_once DO NOTHING
RETURNING id, activity_id, member_id, checked_at, distance_m, method
