-- One reminder, once per secretary, organisation, rule and due date (a rerun adds nothing).
INSERT INTO reminders (user_id, org_id, rule_id, kind, due_on, title_zh, title_en, state, created_on)
VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', $8)
ON CONFLICT ON CONSTRAINT reminders_once DO NOTHING
RETURNING id
