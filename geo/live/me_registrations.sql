-- A member's registrations ({member}), newest activity first, with the activity's state (a
-- cancelled activity says why), their place on a waitlist and whether they checked in. A
-- registration for an activity they may not attend ({attends}: geo.scope.attends over `r` and
-- `a`; made before registration applied the rule, or its invitation withdrawn since) says
-- not_invited: it is not counted and admits to no check-in.
SELECT a.id AS activity_id, a.title, a.kind, a.starts_at, a.ends_at,
       a.status AS activity_status, a.cancel_reason, sp.name AS service_point,
       CASE WHEN r.status = 'cancelled' OR {attends} THEN r.status ELSE 'not_invited' END
           AS status,
       r.created_at AS registered_at,
       CASE WHEN r.status = 'waitlisted' AND {attends} THEN (
           SELECT count(*) + 1 FROM registrations w
           WHERE w.activity_id = r.activity_id AND w.status = 'waitlisted'
             AND (w.created_at, w.id) < (r.created_at, r.id) AND {ahead}
       ) END AS position,
       c.checked_at
FROM registrations r
JOIN activities a ON a.id = r.activity_id
LEFT JOIN service_points sp ON sp.id = a.service_point_id
LEFT JOIN checkins c ON c.activity_id = r.activity_id AND c.member_id = r.member_id
WHERE r.member_id = {member}
ORDER BY a.starts_at DESC, a.id DESC
LIMIT {limit}
