-- A waitlisted member's place in the queue (1 = next to move up), counting the members ahead who
-- may attend the activity ({attends}: geo.scope.attends over `w` and `a`; the others never move
-- up).
SELECT count(*) + 1 AS position
FROM registrations me JOIN registrations w
  ON w.activity_id = me.activity_id AND w.status = 'waitlisted'
 AND (w.created_at, w.id) < (me.created_at, me.id)
JOIN activities a ON a.id = w.activity_id
WHERE me.activity_id = {activity} AND me.member_id = {member} AND {attends}
