-- A new version of the rules (an admin's).
INSERT INTO health_rule_sets (rules, actor) VALUES ($1::jsonb, $2) RETURNING id
