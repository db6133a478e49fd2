-- Every activity with the members it invites (its organiser's subtree), in id order.
SELECT a.id, a.capacity, a.starts_at, a.ends_at,
       array(SELECT m.id FROM members m
             WHERE m.branch_id IN (SELECT s.id FROM org_subtree(a.organiser_id) AS s)
             ORDER BY m.id) AS invited
FROM activities a
WHERE a.status = 'scheduled'
  AND NOT EXISTS (SELECT 1 FROM registrations r WHERE r.activity_id = a.id)
ORDER BY a.id
