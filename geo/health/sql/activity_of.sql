-- The organiser of an activity.
SELECT organiser_id FROM activities WHERE id = $1
