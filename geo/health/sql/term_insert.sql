-- A committee election entered by the secretary (one per day: none when recorded).
INSERT INTO committee_terms (code, org_id, elected_on, term_years)
VALUES ($1, $2, $3, $4)
ON CONFLICT (code) DO NOTHING
RETURNING id, code, org_id, elected_on, term_years
