-- The organiser's list: every active registration and every check-in of an activity, by name
-- (registered first, then the waitlist in its order, then check-ins without a registration, then
-- registrations of members who may not attend: status not_invited, {attends}: geo.scope.attends).
WITH regs AS (
    SELECT r.id, r.member_id, r.created_at,
           CASE WHEN {attends} THEN r.status ELSE 'not_invited' END AS status
    FROM registrations r JOIN activities a ON a.id = r.activity_id
    WHERE r.activity_id = {activity} AND r.status <> 'cancelled'
), ins AS (
    SELECT c.member_id, c.checked_at, c.method FROM checkins c WHERE c.activity_id = {activity}
)
SELECT coalesce(r.member_id, i.member_id) AS member_id, m.name, o.name AS branch, r.status,
       r.created_at AS registered_at, i.checked_at, i.method
FROM regs r FULL JOIN ins i ON i.member_id = r.member_id
JOIN members m ON m.id = coalesce(r.member_id, i.member_id)
LEFT JOIN organisations o ON o.id = m.branch_id
ORDER BY CASE r.status WHEN 'registered' THEN 0 WHEN 'waitlisted' THEN 1
                       WHEN 'not_invited' THEN 3 ELSE 2 END,
         r.created_at, r.id, i.checked_at
