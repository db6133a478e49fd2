-- The organiser's list: every active registration and every check-in of an activity, by name
-- (registered first, then the waitlist in its order, then check-ins without a registration).
WITH regs AS (
    SELECT r.id, r.member_id, r.status, r.created_at FROM registrations r
    WHERE r.activity_id = $1 AND r.status <> 'cancelled'
), ins AS (
    SELECT c.member_id, c.checked_at, c.method FROM checkins c WHERE c.activity_id = $1
)
SELECT coalesce(r.member_id, i.member_id) AS member_id, m.name, o.name AS branch, r.status,
       r.created_at AS registered_at, i.checked_at, i.method
FROM regs r FULL JOIN ins i ON i.member_id = r.member_id
JOIN members m ON m.id = coalesce(r.member_id, i.member_id)
LEFT JOIN organisations o ON o.id = m.branch_id
ORDER BY CASE r.status WHEN 'registered' THEN 0 WHEN 'waitlisted' THEN 1 ELSE 2 END,
         r.created_at, r.id, i.checked_at
