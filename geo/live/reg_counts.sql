-- An activity's registered and waitlisted members and its check-ins (exact: publish through
-- geo.privacy.shown to anyone but the organiser).
SELECT count(*) FILTER (WHERE r.status = 'registered') AS registered,
       count(*) FILTER (WHERE r.status = 'waitlisted') AS waitlisted,
       (SELECT count(*) FROM checkins c WHERE c.activity_id = $1) AS attended
FROM registrations r WHERE r.activity_id = $1
