-- The run's new reminders at once ($1..$8 arrays of one length; $9 the run's day), once per
-- secretary, organisation, rule and due date: those already made are left as they are.
INSERT INTO reminders (user_id, org_id, rule_id, kind, due_on, title_zh, title_en, state, created_on)
SELECT u, o, r, k, d, tz, te, 'open', $8
FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::date[], $6::text[], $7::text[])
     AS n(u, o, r, k, d, tz, te)
ON CONFLICT ON CONSTRAINT reminders_once DO NOTHING
RETURNING id, org_id, rule_id, kind, due_on, title_zh, title_en
