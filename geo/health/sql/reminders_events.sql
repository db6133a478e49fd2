-- One reminder.created event per new reminder ($1 ids, $2 organisations, $3 data), in order.
INSERT INTO events (type, subject, org_id, audience, data)
SELECT 'reminder.created', 'reminders/' || i, o, 'leader', d
FROM unnest($1::bigint[], $2::bigint[], $3::jsonb[]) WITH ORDINALITY AS n(i, o, d, pos)
ORDER BY pos
RETURNING id, subject
