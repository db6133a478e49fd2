-- Committee elections up to $1.
SELECT org_id, elected_on, term_years FROM committee_terms
WHERE elected_on <= $1
ORDER BY org_id, elected_on
