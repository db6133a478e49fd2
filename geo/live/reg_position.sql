-- A waitlisted member's place in the queue (1 = next to move up).
SELECT count(*) + 1 AS position
FROM registrations me JOIN registrations w
  ON w.activity_id = me.activity_id AND w.status = 'waitlisted'
 AND (w.created_at, w.id) < (me.created_at, me.id)
WHERE me.activity_id = $1 AND me.member_id = $2
