-- The first of the waitlist move up while places are free ({capacity}; NULL: no limit). Only
-- members who may attend the activity move up and hold a place ({waiting}, {holding}:
-- geo.scope.attends): a registration of one who may not is not invited and stays as it is.
UPDATE registrations SET status = 'registered', updated_at = clock_timestamp()
WHERE id IN (
    SELECT w.id FROM registrations w JOIN activities a ON a.id = w.activity_id
    WHERE w.activity_id = {activity} AND w.status = 'waitlisted' AND {waiting}
    ORDER BY w.created_at, w.id
    LIMIT CASE WHEN {capacity}::int IS NULL THEN NULL ELSE greatest({capacity}::int - (
        SELECT count(*) FROM registrations x JOIN activities xa ON xa.id = x.activity_id
        WHERE x.activity_id = {activity} AND x.status = 'registered' AND {holding}
    ), 0) END
)
RETURNING member_id
