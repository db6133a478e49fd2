-- The first of the waitlist move up while places are free ($2 the capacity; NULL: no limit).
UPDATE registrations SET status = 'registered', updated_at = clock_timestamp()
WHERE id IN (
    SELECT w.id FROM registrations w
    WHERE w.activity_id = $1 AND w.status = 'waitlisted'
    ORDER BY w.created_at, w.id
    LIMIT CASE WHEN $2::int IS NULL THEN NULL ELSE greatest($2::int - (
        SELECT count(*) FROM registrations x WHERE x.activity_id = $1 AND x.status = 'registered'
    ), 0) END
)
RETURNING member_id
