-- Whether an activity has a live registration or a check-in (then DELETE cancels it).
SELECT EXISTS (SELECT 1 FROM registrations r WHERE r.activity_id = $1::bigint AND r.status <> 'cancelled')
    OR EXISTS (SELECT 1 FROM checkins c WHERE c.activity_id = $1::bigint)
