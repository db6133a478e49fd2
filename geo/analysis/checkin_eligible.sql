-- May this member check in to the activity ($2 its organiser, $3 its id)? Registered for it (not
-- waitlisted), or invited: a member of a branch in the organiser's subtree. No row: no member.
SELECT m.id,
       EXISTS (SELECT 1 FROM registrations r WHERE r.activity_id = $3 AND r.member_id = m.id
               AND r.status = 'registered') AS registered,
       m.branch_id IN (SELECT s.id FROM org_subtree($2) AS s) AS invited
FROM members m WHERE m.id = $1
