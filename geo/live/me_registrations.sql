-- A member's registrations, newest activity first, with the activity's state (a cancelled
-- activity says why), their place on a waitlist and whether they checked in.
SELECT a.id AS activity_id, a.title, a.kind, a.starts_at, a.ends_at,
       a.status AS activity_status, a.cancel_reason, sp.name AS service_point,
       r.status, r.created_at AS registered_at,
       CASE WHEN r.status = 'waitlisted' THEN (
           SELECT count(*) + 1 FROM registrations w
           WHERE w.activity_id = r.activity_id AND w.status = 'waitlisted'
             AND (w.created_at, w.id) < (r.created_at, r.id)
       ) END AS position,
       c.checked_at
FROM registrations r
JOIN activities a ON a.id = r.activity_id
LEFT JOIN service_points sp ON sp.id = a.service_point_id
LEFT JOIN checkins c ON c.activity_id = r.activity_id AND c.member_id = r.member_id
WHERE r.member_id = $1
ORDER BY a.starts_at DESC, a.id DESC
LIMIT $2
