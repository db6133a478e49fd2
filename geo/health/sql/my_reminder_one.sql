-- One of a user's reminders.
SELECT r.id, r.org_id, o.name AS org_name, r.rule_id, r.kind, r.due_on, r.title_zh, r.title_en,
       r.state, r.created_at, r.read_at, r.withdrawn_at, r.withdrawn_reason
FROM reminders r JOIN organisations o ON o.id = r.org_id
WHERE r.id = $1 AND r.user_id = $2
